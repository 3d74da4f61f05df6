"""Session owners and their liveness, with real processes (no engine needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from labkit import liveness
from labkit.session import Session


def _dead_owner() -> dict:
    """The record a process wrote before it exited."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    owner = {"pid": child.pid, "start": liveness.process_start(child.pid)}
    child.communicate(b"")
    return owner


def test_a_process_is_alive_while_it_runs_and_not_after():
    assert liveness.alive({"pid": os.getpid(), "start": liveness.process_start(os.getpid())})
    assert not liveness.alive(_dead_owner())


def test_a_recycled_pid_is_not_the_owner():
    me = {"pid": os.getpid(), "start": liveness.process_start(os.getpid()) + 1}
    assert not liveness.alive(me)


def test_start_time_survives_a_command_name_with_spaces_and_parentheses(tmp_path):
    odd = tmp_path / "a (b) c"
    odd.symlink_to(sys.executable)
    child = subprocess.Popen([str(odd), "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        with open(f"/proc/{child.pid}/stat") as handle:
            assert "(" in handle.read()
        assert liveness.process_start(child.pid) > 0
    finally:
        child.communicate(b"")


def test_reap_cleans_only_dead_owners_and_drops_their_records_once_clean(tmp_path):
    directory = str(tmp_path)
    liveness.write("aaaaaaaa", directory)  # this process: alive
    for session, owner in (("bbbbbbbb", _dead_owner()), ("cccccccc", _dead_owner())):
        path = tmp_path / f"{session}.json"
        path.write_text(json.dumps({"session": session, **owner}))
    cleaned = []

    def clean(session):
        cleaned.append(session)
        return ["engine gone"] if session == "cccccccc" else []

    assert liveness.reap(clean, directory) == ["bbbbbbbb"]
    assert cleaned == ["bbbbbbbb", "cccccccc"]
    # A record is kept until its session is clean; a half-written one is never judged.
    (tmp_path / "dddddddd.json").write_text("{")
    assert sorted(r.session for r in liveness.records(directory)) == ["aaaaaaaa", "cccccccc"]


def test_a_session_that_cannot_record_its_owner_still_works(monkeypatch):
    monkeypatch.setattr(liveness, "records_dir", lambda: "/proc/labkit-cannot-be-here")
    session = Session()
    session.claim(watcher=lambda _id: True)
    assert session.record is None
    assert session.close() == []
