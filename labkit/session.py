"""A lab session owns what it creates, and cleans up exactly that.

Every container carries the labels ``io.labkit.owner=labkit`` and
``io.labkit.session=<id>``; every name (containers, cgroups) starts with
``lk-<id>-`` (systemd slices, where a dash means nesting, with ``lk_<id>_``). Cleanup
runs on context exit, at interpreter exit, and through ``labkit clean``; it never
touches anything without the lab's marks.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import sys
import threading
from collections.abc import Callable

from . import liveness

OWNER_LABEL = "io.labkit.owner"
SESSION_LABEL = "io.labkit.session"
OWNER = "labkit"
SESSION_ID_RE = re.compile(r"[0-9a-f]{8}")


def prefix(session_id: str) -> str:
    """What every name a session gives starts with; ``NAME_RE`` finds it in a name.

    >>> prefix("0badcafe")
    'lk-0badcafe-'
    >>> NAME_RE.search("/lk-0badcafe-node/kubepods")["session"]
    '0badcafe'
    """
    return f"lk-{session_id}-"


def slice_prefix(session_id: str) -> str:
    """The same for systemd slices, where a dash would mean nesting: ``lk_<id>_``."""
    return f"lk_{session_id}_"


# Any session's prefix, in a name; match["session"] is the session's id.
NAME_RE = re.compile(prefix(f"(?P<session>{SESSION_ID_RE.pattern})"))
SLICE_RE = re.compile(slice_prefix(f"(?P<session>{SESSION_ID_RE.pattern})"))


class Session:
    """Names, labels and a cleanup stack for one lab session.

    >>> with Session() as s:
    ...     s.name("web").startswith("lk-")
    True
    """

    def __init__(self, session_id: str | None = None) -> None:
        self.id = session_id or secrets.token_hex(4)
        self.prefix = prefix(self.id)
        self.slice_prefix = slice_prefix(self.id)
        self._cleanups: list[tuple[str, Callable[[], None]]] = []
        self._lock = threading.Lock()
        self.closed = False
        self.record: str | None = None  # the owner record, once claimed
        self._said: set[str] = set()
        self._claimed = False  # a session only named is never claimed
        self._watcher: Callable[[str], bool] | None = None
        atexit.register(self.close)

    def claim(self, *, watcher: Callable[[str], bool] | None = None) -> None:
        """Record that this process owns the session, so that once it is gone (a kernel
        killed with SIGKILL runs no cleanup) what it left is removed: by the watcher
        process that ``watcher(session_id)`` starts (:func:`labkit.watcher.start`), else
        by the next `Lab` of this user or `labkit clean`."""
        self._claimed, self._watcher = True, watcher
        try:
            self.record = liveness.write(self.id)
        except OSError:  # nowhere to write it: closing and `labkit clean` still work
            return
        if watcher is not None:
            watcher(self.id)

    @property
    def labels(self) -> dict[str, str]:
        return {OWNER_LABEL: OWNER, SESSION_LABEL: self.id}

    def name(self, short: str) -> str:
        """The engine-wide name of something this session creates."""
        return f"{self.prefix}{short}"

    def say_once(self, sentence: str) -> None:
        """Print a notice the first time this session has it to say (which image stands in
        for which, for instance), not at every container."""
        if sentence and sentence not in self._said:
            self._said.add(sentence)
            print(sentence)

    def said(self, sentence: str) -> None:
        """Count a notice as said (it was shown another way)."""
        self._said.add(sentence)

    def on_cleanup(self, what: str, undo: Callable[[], None]) -> None:
        """Register how to remove something just created (run last-in, first-out)."""
        with self._lock:
            self._cleanups.append((what, undo))
            reopened, self.closed = self.closed, False
        if reopened and self._claimed and self.record is None:
            self.claim(watcher=self._watcher)  # made after close(): owned and watched again

    def holds(self, what: str) -> bool:
        """Whether ``what`` is still this session's to remove (made, and not removed yet)."""
        with self._lock:
            return any(w == what for w, _undo in self._cleanups)

    def forget(self, what: str) -> None:
        """Drop a cleanup because the thing was removed already."""
        with self._lock:
            self._cleanups = [(w, u) for w, u in self._cleanups if w != what]

    def close(self) -> list[str]:
        """Remove everything this session created; returns what could not be removed."""
        with self._lock:
            cleanups, self._cleanups = self._cleanups[::-1], []
        failed = []
        for what, undo in cleanups:
            try:
                undo()
            except Exception as error:  # cleanup must go on with the rest
                failed.append(f"{what}: {error}")
        if failed:
            print("labkit could not remove: " + "; ".join(failed) +
                  " (run `labkit clean` to retry)", file=sys.stderr)
        elif self.record is not None:
            liveness.remove(self.id, os.path.dirname(self.record))
            self.record = None
        self.closed = True
        return failed

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
