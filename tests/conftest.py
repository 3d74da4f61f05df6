"""Shared fixtures. In CI (CI=true) a skipped test is a failed test: engines must run there."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cluster`` need a live cluster: selected only with LABKIT_KUBE_CONTEXT."""
    if os.environ.get("LABKIT_KUBE_CONTEXT"):
        return
    kept = [i for i in items if i.get_closest_marker("cluster") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


def pytest_runtest_makereport(item, call):
    """Turn every skip into a failure when running in CI."""
    if not IN_CI:
        return None
    from _pytest.reports import TestReport

    report = TestReport.from_item_and_call(item, call)
    if report.skipped:
        report.outcome = "failed"
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI, which counts as a failure: {reason}"
    return report


def need(condition: bool, why: str) -> None:
    """Skip on a laptop without the engine; fail in CI."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must provide this: {why}")
        pytest.skip(why)


@pytest.fixture(scope="session")
def docker_client():
    from labkit.errors import LabError
    from labkit.runtimes.docker import connect

    try:
        return connect()
    except LabError as error:
        need(False, str(error))


@pytest.fixture
def lab(docker_client):
    import labkit

    # No watcher process per test: the test closes its lab itself, and a worker that dies
    # leaves its sessions to the next Lab's reaping (tests/integration/test_session_reaping.py;
    # the watcher has its own test in test_kernel_death.py, and every chapter starts one).
    with labkit.Lab(gather="direct" if os.geteuid() == 0 else "helper",
                    watch_owner=False) as lab:
        yield lab
    assert lab.docker.session_containers() == [], "the lab left containers behind"


@pytest.fixture
def recorded_tree(tmp_path):
    """Materialise a recorded /proc + /sys tree and return a Node that reads it."""
    from labkit.node import Node
    from labkit.node.gather import DirectGatherer
    from tests.fixtures.record_tree import build

    def load(name: str) -> Node:
        tree = json.loads((FIXTURES / name).read_text())
        root = build(tree, str(tmp_path / name))
        return Node(DirectGatherer(root))

    return load
