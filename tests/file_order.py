"""A pytest plugin ``./lab test`` loads (``-p tests.file_order``): the heaviest files first.

``--dist loadfile`` hands each worker whole files in collection order (``./lab test`` turns
off xdist's own reordering, by number of tests), the next one when the worker is nearly
done with its last. With the heavy files first and the light ones last, the workers finish
together, instead of one starting a ten-second file as the others end.

A file's weight is the seconds it took the last time it ran here (pytest's cache: the
controller writes them when a run ends), else a guess from its tests: an integration test
or one on an engine about a second, a notebook cell half a second, anything else a
fiftieth. A run without the cache (CI's ``-p no:cacheprovider``) orders by the guess alone.
The order changes nothing but the time: each file's own tests keep theirs.
"""

from __future__ import annotations

import collections

import pytest

KEY = "labkit/file-seconds"
ENGINE_TEST_S, NOTEBOOK_CELL_S, OTHER_TEST_S = 1.0, 0.5, 0.02

_seconds: collections.Counter[str] = collections.Counter()


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _guess(item: pytest.Item) -> float:
    if item.path.suffix == ".ipynb":
        return NOTEBOOK_CELL_S
    if "integration" in item.path.parts or "docker_client" in getattr(item, "fixturenames", ()):
        return ENGINE_TEST_S  # tests/integration, or a test on an engine fixture's root
    return OTHER_TEST_S


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cache = getattr(config, "cache", None)
    measured = cache.get(KEY, {}) if cache is not None else {}
    guessed: collections.Counter[str] = collections.Counter()
    for item in items:
        guessed[_file(item.nodeid)] += _guess(item)
    weight = {name: measured.get(name, guess) for name, guess in guessed.items()}
    rank = {name: n for n, name in enumerate(sorted(weight, key=lambda name: -weight[name]))}
    items.sort(key=lambda item: rank[_file(item.nodeid)])  # stable: a file keeps its order


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[_file(report.nodeid)] += report.duration  # the controller hears every worker's


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    cache = getattr(session.config, "cache", None)
    if hasattr(session.config, "workerinput") or cache is None or not _seconds:
        return
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return  # interrupted: the files' seconds are not whole
    measured = cache.get(KEY, {})
    measured.update({name: round(seconds, 2) for name, seconds in _seconds.items()})
    cache.set(KEY, measured)
