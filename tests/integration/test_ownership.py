"""The lab removes exactly what it created; what it did not create survives."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from labkit.cleanup import clean
from labkit.node import Node

from .helpers import REPO

# A global clean removes what every session made, the other test workers' included: these
# run in ./lab test-slow, one test at a time.
GLOBAL_CLEAN = pytest.mark.slow

CRASHING_SESSION = """
import os, sys
sys.path.insert(0, {repo!r})
import labkit

lab = labkit.Lab()
lab.run("left", "busybox", "sleep 600", quiet=True)
os.makedirs("{cgroup_root}/" + lab.session.name("pod"), exist_ok=True)
print(lab.session.id)
os._exit(0)  # a crash: no context exit, no atexit
"""


@pytest.fixture
def foreign(docker_client):
    """A container and a cgroup that are not the lab's, removed by this test afterwards."""
    from labkit.runtimes.docker import DockerRuntime
    from labkit.session import Session

    image = DockerRuntime(Session()).toolbox()
    name = f"not-the-lab-{uuid.uuid4().hex[:6]}"
    container = docker_client.containers.run(image, ["sleep", "600"], name=name, detach=True)
    memory = Node().layout.for_controller("memory")
    cgroup = os.path.join(memory.mountpoint, f"lk-not-a-session-{name}")
    os.mkdir(cgroup)
    yield container, cgroup
    container.remove(force=True)
    os.rmdir(cgroup)


@GLOBAL_CLEAN
def test_close_and_clean_remove_only_the_labs(lab, foreign, docker_client):
    container, cgroup = foreign
    lab.run("mine", "busybox", "sleep 600", quiet=True)
    assert len(lab.docker.session_containers()) == 1
    lab.close()
    assert lab.docker.session_containers() == []

    memory = Node().layout.for_controller("memory")
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_SESSION.format(repo=str(REPO),
                                                       cgroup_root=memory.mountpoint)],
        capture_output=True, text=True, check=True, timeout=120)
    crashed = done.stdout.strip().splitlines()[-1]
    mine = {"label": f"io.labkit.session={crashed}"}
    left = docker_client.containers.list(all=True, filters=mine)
    assert len(left) == 1

    report = clean(client=docker_client)
    assert f"lk-{crashed}-left" in report.containers
    assert any(p.endswith(f"lk-{crashed}-pod") for p in report.cgroups)
    assert not report.failed
    assert docker_client.containers.list(all=True, filters=mine) == []
    container.reload()
    assert container.status == "running"
    assert os.path.isdir(cgroup)


@GLOBAL_CLEAN
def test_labkit_clean_command_runs(docker_client):
    done = subprocess.run([sys.executable, "-m", "labkit.cli", "clean"], capture_output=True,
                          text=True, cwd=REPO, check=True)
    assert done.stdout.startswith("removed ")
