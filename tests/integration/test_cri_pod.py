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


# -- chapter 8: the Pod of today --------------------------------------------------------------

TODAY = {"init_containers": {
    "setup": {"image": "busybox", "command": "echo ready > /dev/shm/ready", "memory": "512Mi"},
    "logs": {"image": "busybox", "command": "sleep 600", "restart_policy": "Always",
             "requests_cpus": "100m", "memory": "128Mi"}},
    "containers": {"app": {"image": "busybox", "command": "cat /dev/shm/ready; sleep 600",
                           "requests_cpus": "200m", "memory": "256Mi"}}}


def _sent(pod) -> list[str]:
    """The CRI calls that made a pod: method and container (or pod) name, in order."""
    ids = {member.id: name for name, member in pod.containers.items()}
    return [f"{method} {request['config']['metadata']['name']}" if "config" in request
            else f"{method} {ids[request['container_id']]}" for method, request in pod.requests()]


def test_init_containers_run_in_the_kubelets_order(pod_lab):
    """computeInitContainerActions: setup to its end, logs until it runs, then app; setup's
    file is in the sandbox's /dev/shm for app; members are the running processes."""
    pod = pod_lab.cri_pod(name="today", quiet=True, **TODAY)
    assert _sent(pod) == ["RunPodSandbox today", "CreateContainer setup", "StartContainer setup",
                          "CreateContainer logs", "StartContainer logs", "CreateContainer app",
                          "StartContainer app"]
    life = {row["NAME"]: row for row in pod.timeline()}
    assert [life[n]["KIND"] for n in ("setup", "logs", "app")] == ["init", "sidecar", "container"]
    assert life["setup"]["STATE"] == "Exited" and life["setup"]["EXIT CODE"] == 0
    assert 0 < life["setup"]["FINISHED"] < life["logs"]["CREATED"]
    assert 0 < life["logs"]["STARTED"] < life["app"]["CREATED"]
    assert [m.name for m in pod.members()] == ["pause", "logs", "app"]
    assert pod.state == "running"
    assert pod.exec("app", "cat /dev/shm/ready").output.strip() == "ready"
    labels = sharing_labels(pod_lab.observe(pod))
    assert labels["logs"]["net"] == labels["app"]["net"] == "shared with pause"


def test_the_pod_cgroup_counts_init_containers_and_sidecars(pod_lab):
    """The pod's memory limit is setup's 512 MiB, more than logs and app together; its
    shares are logs' and app's requests (300m); the sidecar's OOM score is the app's."""
    pod = pod_lab.cri_pod(name="today", quiet=True, **TODAY)
    obs = pod_lab.observe(pod)
    held = obs.trees[0].state.limits
    assert held.memory_bytes == 512 * 2**20 and held.cpu_quota_us is None
    if obs.cgroup_version == 1:
        assert held.cpu_shares == 307
    scores = {m.member.name: int(pod_lab.node.read(f"/proc/{m.member.pid}/oom_score_adj"))
              for m in obs.members if m.member.name != "pause"}
    assert scores["logs"] == scores["app"]
    asked = {c.name: pod.linux_resources(c).oom_score_adj for c in pod.spec.all_containers}
    assert asked["logs"] == asked["app"] == scores["app"]


def test_an_init_container_that_fails_stops_the_pod_and_leaves_nothing(pod_lab):
    failing = {**TODAY, "init_containers": {"setup": {"image": "busybox", "command": "exit 3"}}}
    with pytest.raises(LabError, match="exited with code 3: the kubelet would start it again"):
        pod_lab.cri_pod(name="failing", quiet=True, **failing)
    cri = pod_lab.containerd.cri
    assert list(cri.call("ListPodSandbox", cri.pb.ListPodSandboxRequest()).items) == []


def test_a_sidecar_that_exits_while_the_pod_starts_stops_it(pod_lab):
    """The kubelet would start the sidecar again; labkit restarts nothing, and says so. (A
    sidecar that exits once the containers run is left exited: nothing watches it.)"""
    short = {**TODAY, "init_containers": {
        "logs": {"image": "busybox", "command": "true", "restart_policy": "Always"},
        "later": {"image": "busybox", "command": "sleep 1"}}}
    with pytest.raises(LabError, match="is a sidecar that exited"):
        pod_lab.cri_pod(name="short", quiet=True, **short)


def test_an_ephemeral_container_joins_its_targets_pid_namespace(pod_lab):
    """kubectl debug --target=app: the CRI's TARGET mode with app's id; containerd 1.6 puts
    the debugger in app's PID namespace, in pause's network, IPC and UTS ones."""
    pod = pod_lab.cri_pod(name="debugged", containers=BOX, quiet=True)
    pod.debug("debugger", target="app", quiet=True)
    _method, request = pod.requests()[-2]
    options = request["config"]["linux"]["security_context"]["namespace_options"]
    assert options == {"pid": "TARGET", "target_id": pod.containers["app"].id}
    assert pod.exec("debugger", ["cat", "/proc/1/cmdline"]).output.split("\0")[:2] == \
        ["sleep", "600"]  # BOX's app (busybox's sh -c runs its one command in its place)
    ns = {m.member.name: m.namespaces for m in pod_lab.observe(pod).members}
    assert ns["debugger"]["pid"] == ns["app"]["pid"] != ns["pause"]["pid"]
    assert all(ns["debugger"][t] == ns["pause"][t] for t in ("net", "ipc", "uts"))
    pod.debug("plain", quiet=True)  # no target: the pod's mode, a PID namespace of its own
    ns = {m.member.name: m.namespaces for m in pod_lab.observe(pod).members}
    assert ns["plain"]["pid"] not in (ns["app"]["pid"], ns["pause"]["pid"])
    assert pod.spec.ephemeral_containers[0].target == "app"
    with pytest.raises(SpecError, match="already has a container named 'app'"):
        pod.debug("app", quiet=True)
    with pytest.raises(SpecError, match="target 'nope' is not a container"):
        pod.debug("probe", target="nope", quiet=True)
    with pytest.raises(SpecError, match="an ephemeral container cannot be a target"):
        pod.debug("probe", target="plain", quiet=True)
    assert len(pod.spec.ephemeral_containers) == 2  # the refused ones made nothing


def test_a_shared_pid_namespace_keeps_the_debugger_in_the_pods(pod_lab):
    """With shareProcessNamespace the containers' PID mode is POD: TARGET does not apply."""
    pod = pod_lab.cri_pod(name="debugged", containers=BOX, quiet=True,
                          share_process_namespace=True)
    pod.debug("debugger", target="app", quiet=True)
    options = pod.requests()[-2][1]["config"]["linux"]["security_context"]["namespace_options"]
    assert options == {}  # POD is mode 0: not written
    ns = {m.member.name: m.namespaces for m in pod_lab.observe(pod).members}
    assert ns["debugger"]["pid"] == ns["pause"]["pid"] == ns["app"]["pid"]


def test_pod_level_resources_in_the_kernel(pod_lab):
    """spec.resources: Guaranteed from the pod's own; the pod's cgroup and each container's
    without a limit of its own hold the Pod's limits."""
    pod = pod_lab.cri_pod(name="shared", quiet=True,
                          containers={"app": BOX["app"], "helper": BOX["app"]},
                          resources={"memory": "256Mi", "cpus": "500m"})
    assert pod.spec.qos_class == "Guaranteed"
    obs = pod_lab.observe(pod)
    for limits in (obs.trees[0].state.limits, obs.member("app").state.limits,
                   obs.member("helper").state.limits):
        assert limits.memory_bytes == 256 * 2**20 and limits.cpu_quota_us == 50000
    assert "/kubepods/pod" in pod.cgroup_parent or "kubepods-pod" in pod.cgroup_parent
