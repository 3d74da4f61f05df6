"""Every chapter, replayed where no engine answers (Binder).

The child pytest sees no Docker engine (DOCKER_HOST is a socket that does not exist), so
each chapter's ``labkit.chapter_lab(...)`` replays a recording that ships with labkit.
Replaying the cgroup v1 recording (``LABKIT_REPLAY_CGROUP=v1``), nbval compares every cell's
output with the one stored from the real run (strict); the only differences allowed are the
replay's own words (its banner, the pre-flight's verdict), which tests/nbval-sanitize.cfg
removes. Replaying the cgroup v2 recording (Binder's default), every cell runs and the cells
tagged nbval-check-output, whose output holds on every host, compare (as in the v2 guest).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Every chapter once more, replayed: a slow suite (./lab test-slow).
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("cgroup", "mode"), [("v1", "--nbval"), ("v2", "--nbval-lax")])
def test_every_chapter_replays_with_no_engine(tmp_path, cgroup, mode):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "CI"))}
    env.update(DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock",
               LABKIT_PROGRESS=str(tmp_path / "progress.json"), LABKIT_OFFLINE="1",
               LABKIT_REPLAY_CGROUP=cgroup)
    env.pop("MPLBACKEND", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", mode, "-p", "no:cacheprovider", "-q",
         "--nbval-sanitize-with", "tests/nbval-sanitize.cfg", "notebooks/"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    tail = run.stdout[-4000:]
    assert run.returncode == 0, tail
    assert " failed" not in tail and " skipped" not in tail and " passed" in tail, tail
