"""The watcher: a detached process that cleans a session once its owner is gone.

A kernel killed with SIGKILL runs no cleanup, so each `Lab` starts one watcher
(``python -m labkit.watcher``) beside it. The watcher polls the owner's record
(:mod:`labkit.liveness`) and, when the owner has died without closing the session,
removes what the session made (:func:`labkit.cleanup.clean_session`). It leaves as
soon as the session closes normally (its record is gone).

It sits above the runtimes and the cleanup it calls; a session (below them) is handed
:func:`start` by the `Lab` that claims it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from . import liveness
from .cleanup import clean_session


def start(session_id: str) -> bool:
    """Start a detached watcher of this process's session ``session_id``.

    It outlives the owner on purpose (its own session, so a kernel's process group being
    killed does not take it along). False when it cannot be started: the next `Lab` of
    this user, or `labkit clean`, cleans up instead.
    """
    me = os.getpid()
    try:
        subprocess.Popen(
            [sys.executable, "-m", __name__, session_id, str(me),
             str(liveness.process_start(me)), liveness.records_dir()],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True, cwd="/")
    except OSError:
        return False
    return True


def watch_until_gone(session_id: str, owner: dict, directory: str,
                     every_s: float = 0.5) -> None:
    """Wait while the session's record exists and its owner lives; then, if the record is
    still there (the owner died without closing), clean the session and drop the record."""
    path = os.path.join(directory, f"{session_id}.json")
    while os.path.exists(path) and liveness.alive(owner):
        time.sleep(every_s)
    if not os.path.exists(path):
        return  # the session closed itself
    if not clean_session(session_id):
        liveness.remove(session_id, directory)


if __name__ == "__main__":
    watch_until_gone(sys.argv[1], {"pid": int(sys.argv[2]), "start": int(sys.argv[3])},
                     sys.argv[4])
