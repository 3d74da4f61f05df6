"""Every command a task or a hint tells a learner to type runs as written in the lab's
terminal at that point of the chapter: after the chapter's cells have made what the
exercise reads, with the engine names the card shows (``{name:foo}`` is written as this
session's ``lk-<session>-foo``), as root, with the lab's ``labkit`` on the PATH.

A command is a backquoted span that starts with a program a terminal has (``docker``,
``cat``, ``labkit`` ...); Python spans (``lab.run(...)``) are the notebook's and are not run.
A span that keeps a placeholder to fill in (``<pid>``) is not a command a learner can type,
and fails this test: a hint gives a command that runs, or no command.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from labkit import exercises
from labkit.exercises import catalog, engine_names
from tests.conftest import need
from tests.integration.exercise_lab import Made, made_by_a_lab

PROGRAMS = {"docker", "cat", "ls", "readlink", "labkit", "ctr", "nsenter", "ps", "grep", "head",
            "tail", "ip", "stat", "find", "mkdir", "echo", "curl", "wget", "kill", "unshare",
            "hostname", "findmnt", "lsns", "ipcs", "ipcmk", "podman", "systemctl", "cp", "sh",
            "for", "pgrep", "awk", "cut", "sort", "uniq", "wc", "rmdir", "mount"}
SPAN = re.compile(r"`([^`]+)`")
VENV_BIN = os.path.dirname(sys.executable)


def commands(text: str) -> list[str]:
    """The spans of ``text`` that are commands a terminal runs."""
    return [span for span in SPAN.findall(text) if span.split()[0] in PROGRAMS]


def test_what_counts_as_a_command():
    assert commands("Run `docker ps` or `lab.run(\"x\")`; `State.Pid` is a field.") == \
        ["docker ps"]


@pytest.fixture(scope="module")
def made():
    need(os.geteuid() == 0, "the chapters' terminal commands are typed as root")
    yield from made_by_a_lab()


IDS = [i for i, spec in catalog.specs().items()
       if any(commands(t) for t in (spec.task, *spec.hints))]


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_command_runs_as_typed(made: Made, exercise_id):
    ex = exercises.get(exercise_id)
    exercises.use(made.lab)
    if ex.spec.setup is not None:
        made.prepare(ex.spec.setup)
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    failed = []
    try:
        for text in (ex.spec.task, *ex.spec.hints):
            for command in commands(text):
                typed = engine_names(command, made.lab.session.prefix)
                if re.search(r"<[a-z][^>]*>", typed):
                    failed.append(f"{typed!r} keeps a placeholder to fill in")
                    continue
                done = subprocess.run(["bash", "-c", typed], capture_output=True, text=True,
                                      timeout=60, env=env, stdin=subprocess.DEVNULL)
                if done.returncode != 0:
                    failed.append(f"{typed!r} exited {done.returncode}: "
                                  f"{(done.stderr or done.stdout).strip()[:300]}")
    finally:
        ex.reset()
        made.undo(keep=made.base | made.prepared)
    assert failed == []
