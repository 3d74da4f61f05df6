"""Chapter 2 on a real containerd (CRI runtime.v1), started by labkit as a kubelet's node: one
node for the module where a test leaves it as it found it (its pods are deleted after it),
a node of its own where the test breaks, restarts or stops it."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

import labkit
from labkit.errors import ImageUnavailable, LabError, SpecError
from labkit.views import sharing_labels
from tests.integration.exercise_lab import made_by_a_lab  # undone per test, closed at the end
from tests.manifests import BROKEN, FOO

BOX = {"app": {"image": "busybox", "command": "sleep 600"}}


def _traces(lab) -> list[str]:
    """Everything of this session's node that could be left on the host."""
    sid = lab.session.id
    found = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/lk-{sid}-*")]
    paths = (f"/run/labkit/lk-{sid}-containerd", f"/var/lib/labkit/lk-{sid}-containerd",
             f"/sys/class/net/lk{sid}")
    found += [p for p in paths if os.path.exists(p)]
    with open("/proc/self/mountinfo") as handle:
        found += [line.split()[4] for line in handle if f"lk-{sid}-" in line]
    results = Path("/var/lib/cni/results")
    if results.is_dir():
        found += [str(p) for p in results.glob(f"labkit-{sid}-*")]
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    found += [line for line in ps.splitlines() if f"lk-{sid}-containerd" in line]
    return found


@pytest.fixture
def node_lab(docker_client):
    need_root()
    lab = labkit.Lab(gather="direct")
    yield lab
    lab.close()
    assert _traces(lab) == []


@pytest.fixture(scope="module")
def node_made(docker_client):
    """One lab and one containerd for the tests that leave the node as they found it."""
    need_root()
    yield from made_by_a_lab("containerd", traces=_traces)


@pytest.fixture
def pod_lab(node_made):
    """The module's lab on its running node; the pods the test made go after it."""
    yield node_made.lab
    node_made.drop()


def need_root():
    from tests.conftest import need

    need(os.geteuid() == 0, "a containerd node needs root")


def test_the_pod_as_the_kubelet_runs_it(pod_lab):
    pod = pod_lab.cri_pod(FOO, quiet=True)
    obs = pod_lab.observe(pod)
    labels = sharing_labels(obs)
    assert [m.name for m in obs.members] == ["pause", "app", "sidecar"]
    assert {ns for ns, label in labels["pause"].items() if label == "own"} == \
        {"net", "ipc", "uts", "pid", "mnt"}
    for member in ("app", "sidecar"):
        assert {ns for ns, label in labels[member].items() if label == "shared with pause"} == \
            {"net", "ipc", "uts"}
        assert labels[member]["pid"] == labels[member]["mnt"] == "own"
    pause_pid = obs.member("pause").member.pid
    with open(f"/proc/{pause_pid}/comm") as handle:
        assert handle.read().strip() == "pause"
    # crictl pods: the sandbox; crictl ps: the manifest's containers only; ctr, below the
    # CRI, lists pause as the third container, with the sandbox's id
    assert [(r["POD ID"], r["NAME"], r["STATE"]) for r in pod.crictl_pods()] == [
        (pod.sandbox_id[:13], "foo", "Ready")]
    listed = pod.crictl_ps()
    assert [row["NAME"] for row in listed] == ["app", "sidecar"]
    assert {row["POD ID"] for row in listed} == {pod.sandbox_id[:13]}
    command, output = pod.ctr_containers()
    assert command.startswith("ctr -a /run/labkit/") and command.endswith("containers list")
    rows = output.splitlines()[1:]
    assert sorted(line.split()[0] for line in rows) == sorted(
        [pod.sandbox_id, pod["app"].id, pod["sidecar"].id])
    pause_row = next(line for line in rows if line.startswith(pod.sandbox_id))
    assert "labkit/pause" in pause_row


def test_pod_cgroups_and_limits(pod_lab):
    pod = pod_lab.cri_pod(FOO, quiet=True)
    obs = pod_lab.observe(pod)
    tree = obs.trees[0]
    assert tree.path == f"/lk-{pod_lab.session.id}-node/kubepods/burstable/pod{pod.spec.uid}"
    assert tree.state.limits.memory_bytes == 384 * 2**20
    names = pod.names()
    limits = {names[c.name]: c.state.limits.memory_bytes for c in tree.children}
    assert limits == {"pause": None, "app": 256 * 2**20, "sidecar": 128 * 2**20}
    assert obs.member("app").state.path == f"{tree.path}/{pod.containers['app'].id}"


def test_localhost_and_shared_memory(pod_lab):
    pod = pod_lab.cri_pod(FOO, quiet=True)
    assert "<html" in pod.exec("sidecar", "curl -s http://localhost:80/").output
    pod.exec("app", "echo from-app > /dev/shm/note")
    assert pod.exec("sidecar", "cat /dev/shm/note").output.strip() == "from-app"
    assert {pod.exec(c, "hostname").output.strip() for c in ("app", "sidecar")} == {"foo"}


@pytest.mark.parametrize(("flag", "expected"), [
    ("share_process_namespace", {"pid": "shared with pause", "net": "shared with pause"}),
    ("host_network", {"net": "host", "uts": "host", "ipc": "shared with pause"}),
    ("host_ipc", {"ipc": "host", "net": "shared with pause"}),
    ("host_pid", {"pid": "host"}),
])
def test_pod_flags_change_the_matrix(pod_lab, flag, expected):
    with pod_lab.cri_pod(name="flags", containers=BOX, quiet=True, **{flag: True}) as pod:
        app = sharing_labels(pod_lab.observe(pod))["app"]
        if flag == "share_process_namespace":
            assert pod.exec("app", "cat /proc/1/comm").output.strip() == "pause"
    assert {ns: app[ns] for ns in expected} == expected


@pytest.mark.parametrize(("resources", "qos_dir"), [
    ({"memory": "64Mi", "cpus": "250m"}, ""),  # limits only: requests = limits, Guaranteed
    ({}, "besteffort/"),
])
def test_qos_class_places_the_pod_cgroup(pod_lab, resources, qos_dir):
    containers = {"app": {"image": "busybox", "command": "sleep 600", **resources}}
    with pod_lab.cri_pod(name="qos", containers=containers, quiet=True) as pod:
        tree = pod_lab.observe(pod).trees[0]
    assert tree.path == f"/lk-{pod_lab.session.id}-node/kubepods/{qos_dir}pod{pod.spec.uid}"
    if resources:
        assert tree.state.limits.cpus == 0.25


def test_containerd_restarted_mid_chapter(node_lab):
    pod = node_lab.cri_pod(FOO, quiet=True)
    before = node_lab.observe(pod)
    os.kill(node_lab.containerd.pid, signal.SIGKILL)
    node_lab.containerd._process.wait()
    after = node_lab.observe(pod)  # labkit starts containerd again; the pod lived on in its shims
    assert node_lab.containerd.restarts == 1
    assert [m.member.pid for m in after.members] == [m.member.pid for m in before.members]
    assert "<html" in pod.exec("sidecar", "curl -s http://localhost:80/").output


def test_a_pod_that_fails_to_start_leaves_nothing(pod_lab):
    broken = {"app": {"image": "busybox", "command": ["/no/such/program"]}}
    with pytest.raises(LabError, match="containerd refused to start container app"):
        pod_lab.cri_pod(name="broken", containers=broken, quiet=True)
    cri = pod_lab.containerd.cri
    assert list(cri.call("ListPodSandbox", cri.pb.ListPodSandboxRequest()).items) == []
    node = Path("/sys/fs/cgroup/memory") / f"lk-{pod_lab.session.id}-node"
    assert [p for p in node.glob("kubepods/*/pod*") if p.is_dir()] == []  # the tiers stay


def test_a_sandbox_that_fails_to_start_leaves_nothing(node_lab):
    node = node_lab.containerd
    done = node._ctr("images", "rm", node.pause_image)
    assert done.returncode == 0, done.stderr
    with pytest.raises(LabError, match="run the sandbox of pod"):
        node_lab.cri_pod(name="nosandbox", containers=BOX, quiet=True)
    cri = node.cri
    assert list(cri.call("ListPodSandbox", cri.pb.ListPodSandboxRequest()).items) == []


def test_docker_is_not_disturbed(node_lab, docker_client):
    with labkit.Lab(gather="direct") as docker_lab:
        web = docker_lab.run("web", "nginx", quiet=True)
        pod = node_lab.cri_pod(FOO, quiet=True)
        pod.delete()
        node_lab.containerd.stop()
        assert web.status == "running"
        assert "<html" in web.exec("wget -q -O - http://localhost/").output
        assert docker_client.ping()
    node_lab._containerd = None


@pytest.mark.parametrize("broken", BROKEN)
def test_bad_manifests_create_nothing(node_lab, broken):
    with pytest.raises(SpecError):
        node_lab.cri_pod(broken)
    assert node_lab._containerd is None  # not even the node was started


def test_an_image_that_is_not_loaded(pod_lab):
    with pytest.raises(ImageUnavailable, match="not loaded into labkit's containerd"):
        pod_lab.cri_pod(FOO.replace("curlimages/curl", "example.invalid/tool:1"), quiet=True)
    cri = pod_lab.containerd.cri
    assert list(cri.call("ListPodSandbox", cri.pb.ListPodSandboxRequest()).items) == []
