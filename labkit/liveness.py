"""Who owns a session, and whether that owner is still alive.

Each `Lab` writes a small record, ``<records>/<session id>.json``, holding the
PID of the process that owns the session (a notebook's kernel) and that
process's start time, so a recycled PID is not taken for the owner. Records
live in a per-user directory: a learner only ever sees, and reaps, their own.

A session whose owner is gone left its things behind (a kernel killed with
SIGKILL runs no cleanup); its watcher (:mod:`labkit.watcher`), or else the next
`Lab` of the same user, removes them. A session without a record, or whose owner
still runs, is never touched. This module only keeps the records: it sits below the
runtimes, and the cleaning is done above them.

>>> alive({"pid": os.getpid(), "start": process_start(os.getpid())})
True
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass


def records_dir() -> str:
    """``/run/labkit/sessions`` for root; the user's runtime directory otherwise."""
    if os.geteuid() == 0:
        return "/run/labkit/sessions"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.access(runtime, os.W_OK):
        return os.path.join(runtime, "labkit", "sessions")
    return os.path.join(tempfile.gettempdir(), f"labkit-{os.getuid()}", "sessions")


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of its stat)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    return int(text[text.rindex(")") + 2:].split()[19])


def alive(record: dict) -> bool:
    """True while the process that wrote the record runs (the same process, not its PID's
    next owner)."""
    start = process_start(int(record.get("pid", 0)))
    return start is not None and start == record.get("start")


@dataclass(frozen=True)
class Record:
    session: str
    path: str
    owner: dict

    @property
    def alive(self) -> bool:
        return alive(self.owner)


def write(session_id: str, directory: str | None = None) -> str:
    """Record that this process owns the session; returns the record's path."""
    directory = directory or records_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, f"{session_id}.json")
    owner = {"session": session_id, "pid": os.getpid(), "start": process_start(os.getpid()),
             "uid": os.getuid()}
    temporary = f"{path}.tmp"
    with open(temporary, "w") as handle:
        json.dump(owner, handle)
    os.replace(temporary, path)
    return path


def remove(session_id: str, directory: str | None = None) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(directory or records_dir(), f"{session_id}.json"))


def records(directory: str | None = None) -> list[Record]:
    directory = directory or records_dir()
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for name in names:
        if not name.endswith(".json"):
            continue
        path = os.path.join(directory, name)
        try:
            with open(path) as handle:
                owner = json.load(handle)
        except (OSError, ValueError):
            continue  # half-written or unreadable: not ours to judge
        if isinstance(owner, dict) and owner.get("session") == name[:-5]:
            found.append(Record(name[:-5], path, owner))
    return found


def reap(clean: Callable[[str], list[str]], directory: str | None = None) -> list[str]:
    """Clean every recorded session of this user whose owner is gone.

    ``clean(session_id)`` removes a session's things and returns what it could not
    remove; a record is dropped only once nothing is left. Returns the reaped ids.
    """
    reaped = []
    for record in records(directory):
        if record.alive:
            continue
        if not clean(record.session):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(record.path)
            reaped.append(record.session)
    return reaped
