"""A new Lab removes what this user's dead sessions left, and never a live session's things."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import labkit
from labkit import liveness

from ..conftest import need
from .helpers import NOBODY, learner_command

# A session that starts a container, says its id, then waits (or dies where it stands).
OWNER = """
import os, signal, sys, labkit
lab = labkit.Lab(watch_owner=False)
lab.run("held", "busybox", "sleep 600", quiet=True)
print(lab.session.id, flush=True)
if sys.argv[1] == "die":
    os.kill(os.getpid(), signal.SIGKILL)
sys.stdin.read()
"""


def _start(argv: list[str], **options) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               **options)
    session = process.stdout.readline().strip()
    assert len(session) == 8, f"the owner did not start: {process.stderr}"
    return process, session


def _owner(how: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "LABKIT_OFFLINE": "1"}
    return _start([sys.executable, "-c", OWNER, how], env=env)


def _learner_owner() -> tuple[subprocess.Popen, str]:
    """Another learner (uid 65534 in the docker group) holding a live session."""
    argv, env = learner_command(OWNER, "live", docker_group=True, LABKIT_OFFLINE="1")
    return _start(argv, env=env, cwd="/tmp")


def _containers(client, session: str) -> list[str]:
    return [c.name for c in client.containers.list(
        all=True, filters={"label": f"io.labkit.session={session}"})]


def test_a_new_lab_reaps_dead_sessions_only(docker_client):
    need(os.geteuid() == 0, "this test starts sessions as root and as another learner")
    live, live_id = _owner("live")
    learner, learner_id = _learner_owner()
    dead, dead_id = _owner("die")  # last: a new Lab in the others would reap it
    dead.wait(30)
    try:
        assert _containers(docker_client, dead_id), "the dead session made nothing"
        assert dead_id in {r.session for r in liveness.records()}
        with labkit.Lab(watch_owner=False) as lab:
            assert dead_id in lab.reaped
            assert live_id not in lab.reaped and learner_id not in lab.reaped
        assert _containers(docker_client, dead_id) == []
        assert dead_id not in {r.session for r in liveness.records()}
        assert _containers(docker_client, live_id) == [f"lk-{live_id}-held"]
        assert _containers(docker_client, learner_id) == [f"lk-{learner_id}-held"]
    finally:
        for process, session in ((live, live_id), (learner, learner_id)):
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            subprocess.run([sys.executable, "-m", "labkit.cli", "clean", "--session", session],
                           capture_output=True, check=True, timeout=60)
            for directory in (liveness.records_dir(), f"/tmp/labkit-{NOBODY}/sessions"):
                liveness.remove(session, directory)
    assert _containers(docker_client, live_id) == _containers(docker_client, learner_id) == []


def test_a_closed_session_leaves_no_record(docker_client):
    with labkit.Lab(watch_owner=False) as lab:
        assert lab.session.id in {r.session for r in liveness.records()}
    assert lab.session.id not in {r.session for r in liveness.records()}


def test_what_is_made_after_close_is_owned_again(docker_client):
    """A learner who runs a cell after the chapter's `lab.close()` is still covered."""
    lab = labkit.Lab(watch_owner=False)
    lab.close()
    assert lab.session.id not in {r.session for r in liveness.records()}
    lab.run("late", "busybox", "sleep 600", quiet=True)
    assert lab.session.id in {r.session for r in liveness.records()}
    lab.close()
    assert lab.docker.session_containers() == []
    assert lab.session.id not in {r.session for r in liveness.records()}
