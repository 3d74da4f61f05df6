"""An engine that goes away: every call says so in one sentence, and the call after the
engine is back works on the same Lab.

Docker's case runs on a second, private dockerd (its own socket, data and exec roots and
bridge, no iptables), so the engine everyone else uses is never stopped. containerd's
case stops labkit's own containerd of the session.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

import labkit
from labkit.errors import EngineUnavailable
from tests.conftest import need
from tests.private_dockerd import PrivateDockerd

from .test_cri_pod import _traces

BOX = {"app": {"image": "busybox", "command": "sleep 600"}}


def _gone(url: str, what: str) -> str:
    return (f"No Docker engine answers at {url} any more, so labkit could not {what}: start it "
            "again (`sudo ./lab up` does, or `sudo systemctl start docker`), then re-run the "
            "cell.")


@pytest.fixture
def private_dockerd():
    need(os.geteuid() == 0 and shutil.which("dockerd") is not None,
         "a private dockerd needs root and dockerd")
    engine = PrivateDockerd()  # its own bridge: --bridge=none would delete the host's docker0
    try:
        yield engine.start()
    finally:
        engine.remove()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert [line for line in ps.splitlines() if str(engine.base) in line] == []
    assert not engine.base.exists()


@pytest.mark.engine("docker")
def test_docker_stopped_then_started_again(private_dockerd, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", private_dockerd.url)
    lab = labkit.Lab(gather="direct")
    try:
        box = lab.run("box", "busybox", "sleep 600", quiet=True, stop_timeout=1)  # toolbox too
        assert lab.observe(box).member("box").member.pid == box.pid

        private_dockerd.stop()
        for call, what in ((lambda: lab.run("again", "busybox", "sleep 600", quiet=True),
                            "look for the image busybox"),
                           (lambda: lab.docker_pod(name="pod", containers=BOX, quiet=True),
                            "say how it runs containers"),
                           (lambda: lab.observe(box), "inspect box"),
                           (lambda: box.exec("true"), "run sh in box"),
                           (box.logs, "read the logs of box")):
            with pytest.raises(EngineUnavailable) as caught:
                call()
            assert str(caught.value) == _gone(private_dockerd.url, what)

        private_dockerd.start()  # the engine stopped box on its way down
        again = lab.run("again", "busybox", "sleep 600", quiet=True, stop_timeout=1)
        assert again.exec("echo back").output == "back\n"
        box.start()
        assert lab.observe(box, again).member("again").member.pid == again.pid

        private_dockerd.stop()  # and back, with no call in between: the old connection is dead
        private_dockerd.start()
        pod = lab.docker_pod(name="pod", containers=BOX, quiet=True)
        assert [m.name for m in lab.observe(pod).members] == ["sandbox", "app"]
    finally:
        failed = lab.close()
    assert failed == []
    assert lab.docker.session_containers() == []


@pytest.mark.engine("containerd")
def test_containerd_stopped_between_calls(docker_client, monkeypatch):
    need(os.geteuid() == 0, "a containerd node needs root")
    lab = labkit.Lab(gather="direct")
    try:
        pod = lab.cri_pod(name="box", containers=BOX, quiet=True)
        node = lab.containerd
        before = [m.pid for m in pod.members()]

        _stop(node)  # the next call starts it again; the pod lived on in its shims
        assert pod.exec("app", "echo back").output == "back\n"
        assert node.restarts == 1
        assert [m.pid for m in pod.members()] == before

        _stop(node)  # as if it died just after labkit looked: one sentence, then it comes back
        with monkeypatch.context() as patched:
            patched.setattr(node, "ensure_running", lambda: None)
            with pytest.raises(EngineUnavailable) as caught:
                pod.exec("app", "true")
        assert str(caught.value) == (
            f"labkit's containerd does not answer on {node.socket}: re-run the cell (labkit "
            "starts it again), or see its log next to the socket.")
        assert pod.states() == {"pause": "Ready", "app": "Running"}
        assert node.restarts == 2

        _stop(node)
        other = lab.cri_pod(name="other", containers=BOX, quiet=True)
        assert other.exec("app", "echo other").output == "other\n"
        assert node.restarts == 3
        _stop(node)  # stopping the node starts it once more, to remove the pods in their shims
        node.stop()
    finally:
        lab.close()
    assert _traces(lab) == []


def _stop(node) -> None:
    node._process.send_signal(signal.SIGTERM)
    node._process.wait(20)
