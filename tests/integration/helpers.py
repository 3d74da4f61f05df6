"""Running labkit as another user, to test what a learner without root gets."""

from __future__ import annotations

import grp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534


def run_as_learner(code: str, *, docker_group: bool) -> dict:
    """Run Python ``code`` as uid 65534 (in the docker group or not); it prints one JSON line."""
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run as a non-root learner"
    groups = f"--groups={grp.getgrnam('docker').gr_gid}" if docker_group else "--clear-groups"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp",
           "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", groups, sys.executable, "-c", code],
        capture_output=True, text=True, env=env, cwd="/tmp", timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
