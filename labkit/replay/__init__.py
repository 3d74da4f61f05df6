"""Chapters recorded on a real machine, replayed where no engine answers (Binder).

:func:`labkit.chapter_lab` (``labkit/chapter.py``) chooses which lab a chapter holds: the
real one, a :class:`~labkit.replay.play.ReplayLab` of the chapter's recording
(``labkit/replay/tapes/01.json``), or a :class:`~labkit.replay.record.RecordingLab`.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from .play import ReplayLab, banner
from .record import RecordingLab
from .tape import TAPES, TAPES_V2, Tape, fingerprint

__all__ = [
    "TAPES",
    "TAPES_V2",
    "RecordingLab",
    "ReplayLab",
    "Tape",
    "banner",
    "choose_tape",
    "engine_answers",
    "fingerprint",
]


def engine_answers(timeout: float = 2.0) -> bool:
    """Whether a Docker engine answers a ping at DOCKER_HOST (or the default socket)."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if where.startswith("unix://"):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(where[len("unix://"):])
                sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return b" 200 " in sock.recv(64)
        except OSError:
            return False
    try:
        from ..runtimes.docker import connect

        connect().ping()
        return True
    except Exception:
        return False


def choose_tape(chapter: str, directory: Path | str = TAPES) -> Tape | None:
    """The recording a chapter replays: its cgroup v2 one (``v2/`` under ``directory``,
    recorded in the lab's v2 guest) where that one is of the chapter's current code, else
    the one the notebooks' outputs come from (cgroup v1). ``LABKIT_REPLAY_CGROUP=v1`` asks
    for that one; ``LABKIT_REPLAY_TAPES`` names another directory of v2 recordings (the lab's
    container in the v2 guest, ``tests/v2/container-tapes``)."""
    v1 = Tape.load(chapter, directory)
    if os.environ.get("LABKIT_REPLAY_CGROUP", "v2") == "v1":
        return v1
    v2 = Tape.load(chapter, os.environ.get("LABKIT_REPLAY_TAPES")
                   or Path(directory) / TAPES_V2.name)
    if v2 is not None and (v1 is None or v2.cells == v1.cells):
        return v2
    return v1
