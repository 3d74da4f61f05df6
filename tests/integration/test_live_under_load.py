"""Chapter 1's live lessons hold on a loaded machine.

Both cores are kept busy by ordinary busy loops (normal priority, started here,
each one ending by itself after LOAD_SECONDS and killed in a ``finally``) while
nbval runs the committed chapter 1 and compares every cell's output strictly,
exactly as ``./lab test`` does on an idle machine: the OOM lesson and the
throttling lesson must print the same sentences either way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import need

# Chapter 1 on a machine kept busy: a slow suite (./lab test-slow).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "01-containers.ipynb"
# one busy loop per core, at least two; LABKIT_LOAD_LOOPS=4 loads the machine twice over
LOOPS = int(os.environ.get("LABKIT_LOAD_LOOPS") or max(2, os.cpu_count() or 2))
LOAD_SECONDS = 200  # every loop ends by itself after this, whatever happens to the test
NBVAL_TIMEOUT = 170

BUSY = f"import time\nend = time.monotonic() + {LOAD_SECONDS}\nwhile time.monotonic() < end: pass\n"


def _busy_loops(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", BUSY], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
            for _ in range(count)]


def _stop(loops: list[subprocess.Popen]) -> None:
    for loop in loops:
        if loop.poll() is None:
            os.killpg(loop.pid, signal.SIGKILL)  # its own session: only this loop
    for loop in loops:
        loop.wait(timeout=10)


def _least_cpu_seconds(loops: list[subprocess.Popen]) -> float:
    """CPU seconds (user + system) the least busy loop has had so far."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = []
    for loop in loops:
        with open(f"/proc/{loop.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / tick
        seconds.append(cpu)
    return min(seconds)


@pytest.mark.engine("docker")
def test_chapter_one_holds_with_both_cores_busy(docker_client):
    need(NOTEBOOK.exists(), f"{NOTEBOOK} is missing")
    env = {**os.environ, "LABKIT_OFFLINE": "1"}
    env.pop("MPLBACKEND", None)
    # As a learner's CI runs it: the project's pytest configuration carries nbval's options.
    command = [sys.executable, "-m", "pytest", "--nbval", str(NOTEBOOK), "-p", "no:cacheprovider",
               "-q", "--no-header", "--durations=4"]
    loops = _busy_loops(LOOPS)
    try:
        time.sleep(1.0)
        assert all(loop.poll() is None for loop in loops), "a busy loop did not start"
        started = time.monotonic()
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                                timeout=NBVAL_TIMEOUT)
        took = time.monotonic() - started
        assert all(loop.poll() is None for loop in loops), "the load stopped during the run"
        busy = _least_cpu_seconds(loops)
    finally:
        _stop(loops)
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, f"chapter 1 under load (nbval, {took:.0f} s):\n{report}"
    assert "passed" in result.stdout and "failed" not in result.stdout
    # The machine really was loaded: each loop kept (most of) a core busy meanwhile.
    assert busy >= 0.3 * took, f"the busy loops got only {busy:.1f} s of CPU in {took:.0f} s"
