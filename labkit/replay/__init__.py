"""Chapters recorded on a real machine, replayed where no engine answers (Binder).

``Lab(chapter="01")`` is the real lab wherever Docker answers. Where none does and the
chapter has a recording (``labkit/replay/tapes/01.json``), it is a
:class:`~labkit.replay.play.ReplayLab` instead, and says so once. ``LABKIT_REPLAY=1``
asks for the recording anyway, ``LABKIT_REPLAY=0`` never. ``LABKIT_RECORD=1`` (what
``./lab record`` sets) records the chapter while it runs for real.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from ..errors import LabError
from .play import ReplayLab, banner
from .record import RecordingLab
from .tape import TAPES, Tape, fingerprint

__all__ = [
    "TAPES",
    "RecordingLab",
    "ReplayLab",
    "Tape",
    "banner",
    "engine_answers",
    "fingerprint",
    "instead_of_lab",
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


def instead_of_lab(lab_class: type, args: tuple, kwargs: dict[str, Any]) -> Any | None:
    """What ``Lab(...)`` gives instead of a plain lab: a recording one, a replayed one, or
    None (the plain lab)."""
    chapter = kwargs.get("chapter")
    replay = os.environ.get("LABKIT_REPLAY", "")
    if os.environ.get("LABKIT_RECORD", "") not in ("", "0") and chapter:
        real = object.__new__(lab_class)
        real.__init__(*args, **kwargs)
        where = os.environ["LABKIT_RECORD"]
        return RecordingLab(real, chapter, TAPES if where == "1" else where)
    if replay == "0" or (replay in ("", "auto") and engine_answers()):
        return None
    tape = Tape.load(chapter) if chapter else None
    if tape is None:
        if replay not in ("", "auto"):
            raise LabError("LABKIT_REPLAY asks for a recording, but "
                           + (f"chapter {chapter} has none: run ./lab record on a machine "
                              "with Docker." if chapter else
                              "this Lab names no chapter: Lab(chapter=\"01\") replays "
                              "chapter 1."))
        return None  # no recording: the plain lab says what is missing, in its own words
    print(banner(tape))
    return ReplayLab(tape)
