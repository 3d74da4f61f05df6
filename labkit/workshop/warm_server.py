"""A warm node's last step before a learner (``workshop/node-entrypoint.sh`` runs it):
the single-user server's modules imported ahead (about 2 s of a login otherwise), then a
wait for the hand-over (:func:`labkit.workshop.warm.claim`), which prepares the learner's
work and writes their environment and the server's command; then the server, in this
same process.

    python -m labkit.workshop.warm_server       (in a warm node, by its entrypoint)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

CLAIM_DIR = Path("/run/labkit")
READY = CLAIM_DIR / "warm-ready"
CLAIMED = CLAIM_DIR / "claimed"
CLAIM = CLAIM_DIR / "claim.json"
WORK = "/root/work"


def main() -> None:
    import jupyterhub.singleuser  # noqa: F401 (imported ahead: the point of a warm node)
    import jupyterlab.labapp  # noqa: F401

    READY.touch()
    while not CLAIMED.exists():
        time.sleep(0.02)
    claim = json.loads(CLAIM.read_text())
    CLAIM.unlink()  # it holds the learner's API token
    os.environ.pop("LABKIT_WARM", None)
    os.environ.update(claim["environment"])
    os.chdir(WORK)  # the learner's volume, mounted on it since this process started
    command = claim["command"]
    if Path(command[0]).name != "jupyterhub-singleuser":
        os.execvp(command[0], command)
    from jupyterhub.singleuser import main as serve

    sys.argv = command
    sys.exit(serve())


if __name__ == "__main__":
    main()
