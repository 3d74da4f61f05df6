"""Running labkit as another user, to test what a learner without root gets.

The learner (uid 65534) may not be able to read this checkout or its virtual
environment (CI clones into a private directory), so labkit and the packages it
needs are copied once into a world-readable directory for these runs.
"""

from __future__ import annotations

import atexit
import functools
import grp
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
PACKAGES = ("labkit", "docker", "requests", "urllib3", "idna", "certifi", "charset_normalizer",
            "yaml")


@functools.cache
def learner_path() -> str:
    """A world-readable copy of labkit and its runtime dependencies."""
    directory = tempfile.mkdtemp(prefix="labkit-learner-")
    os.chmod(directory, 0o755)
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec and spec.submodule_search_locations, f"{name} is not installed"
        source = next(iter(spec.submodule_search_locations))
        shutil.copytree(source, os.path.join(directory, name),
                        ignore=shutil.ignore_patterns("__pycache__"))
    for root, dirs, files in os.walk(directory):
        for entry in dirs + files:
            os.chmod(os.path.join(root, entry), 0o755 if entry in dirs else 0o644)
    return directory


def learner_command(code: str, *args: str, docker_group: bool,
                    **env: str) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run Python ``code`` as uid 65534 (in the docker group
    or not), with labkit from a world-readable copy."""
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run as a non-root learner"
    groups = f"--groups={grp.getgrnam('docker').gr_gid}" if docker_group else "--clear-groups"
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": learner_path(),
           "PYTHONDONTWRITEBYTECODE": "1", **env}
    return ([setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", groups,
             os.path.realpath(sys.executable), "-c", code, *args], env)


def run_as_learner(code: str, *, docker_group: bool) -> dict:
    """Run Python ``code`` as uid 65534 (in the docker group or not); it prints one JSON line."""
    argv, env = learner_command(code, docker_group=docker_group)
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/tmp",
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
