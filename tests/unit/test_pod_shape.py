"""Every kind of pod is a labkit.runtimes.pod.PodBase and implements its contract, and takes
the kubelet's semantics from labkit.kubernetes. No engine is needed: the pods are made but
not started."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest

from labkit.manifest import pod_from_kwargs
from labkit.node.mounts import CgroupLayout
from labkit.runtimes.cluster import ClusterPod
from labkit.runtimes.containerd import CriPod
from labkit.runtimes.containerd.pod import namespace_option
from labkit.runtimes.docker import DockerPod
from labkit.runtimes.docker.pod import joiner_modes, sandbox_modes
from labkit.runtimes.pod import CONTRACT, PodBase
from labkit.runtimes.podman import PodmanPod
from labkit.runtimes.scratch import ScratchPod
from labkit.runtimes.scratch.commands import joiner_flags, pause_flags
from labkit.session import Session

SPEC = pod_from_kwargs("foo", {"app": {"image": "busybox", "memory": "64Mi"}})
FLAGS = ({}, {"share_process_namespace": True}, {"host_network": True}, {"host_ipc": True},
         {"host_pid": True})


def _pods() -> dict[str, object]:
    session = Session("0badcafe")
    node = SimpleNamespace(systemd=False, kubepods="/lk-0badcafe-node/kubepods",
                           session=session)
    return {
        "docker": DockerPod(SimpleNamespace(session=session), SPEC, None),
        "cri": CriPod(node, SPEC, CgroupLayout(())),
        "cluster": ClusterPod(SimpleNamespace(session=session), SPEC, "lk-0badcafe-foo"),
        "podman": PodmanPod(SimpleNamespace(session=session, api=SimpleNamespace(
            request=lambda *args, **kw: (404, b"")), cgroup_manager="cgroupfs"), SPEC,
            how="pod create"),
        "scratch": ScratchPod(session, SPEC, CgroupLayout(())),
    }


def _has(pod: object, name: str) -> bool:
    """Without evaluating a property (which would ask the engine)."""
    return name in vars(pod) or any(name in vars(cls) for cls in type(pod).__mro__)


@pytest.mark.parametrize("kind", ["docker", "cri", "cluster", "podman", "scratch"])
def test_every_pod_kind_keeps_the_bases_contract(kind):
    """A new kind must subclass PodBase and implement each verb of its contract itself
    (docs/architecture.md, "Adding a pod kind")."""
    pod = _pods()[kind]
    assert isinstance(pod, PodBase)
    missing = [name for name in CONTRACT if not any(
        name in vars(cls) for cls in type(pod).__mro__ if cls is not PodBase)]
    assert missing == []
    assert type(pod).kind and type(pod).sandbox_name
    assert list(inspect.signature(pod.exec).parameters)[:2] == ["container", "command"]
    if kind != "cluster":  # a cluster's pod is applied by kubectl, not started
        assert list(inspect.signature(pod.start).parameters) == ["quiet"]
        assert inspect.signature(type(pod).start).parameters["quiet"].default is False
    assert "observe" not in dir(pod)  # pods do not read the node: lab.observe(pod) does


@pytest.mark.parametrize("kind", ["docker", "cluster", "podman", "scratch"])
def test_a_deleted_pod_says_so_without_asking_the_engine(kind, monkeypatch):
    pod = _pods()[kind]
    if kind == "cluster":
        monkeypatch.setattr(pod.runtime, "kubectl", lambda *args, **kw: "", raising=False)
    with pod:
        pass
    assert pod.state == "deleted"


def test_the_cri_pods_cgroup_follows_its_qos_class():
    pod = _pods()["cri"]
    assert pod.cgroup_parent == f"/lk-0badcafe-node/kubepods/burstable/pod{SPEC.uid}"


@pytest.mark.parametrize("flags", FLAGS, ids=lambda f: next(iter(f), "none"))
def test_docker_and_the_cri_translate_the_same_modes(flags):
    """One reading of the four flags; each runtime only says it in its own terms."""
    spec = pod_from_kwargs("foo", {"app": {"image": "busybox"}}, **flags)
    modes = spec.namespace_modes
    pb = SimpleNamespace(NamespaceOption=lambda **modes: modes)
    cri = namespace_option(pb, spec)
    words = {0: "pod", 1: "container", 2: "node"}
    assert {k: words[v] for k, v in cri.items()} == {"network": modes.net, "pid": modes.pid,
                                                    "ipc": modes.ipc}
    sandbox, joiner = sandbox_modes(modes, "foo"), joiner_modes(modes, "id")
    assert (sandbox.get("network_mode") == "host") == (modes.net == "node")
    assert ("hostname" in sandbox) == (modes.uts == "pod")
    assert (joiner["ipc_mode"] == "host") == (modes.ipc == "node")
    assert joiner.get("pid_mode") == {"node": "host", "pod": "container:id",
                                      "container": None}[modes.pid]
    # from scratch: unshare makes what the pod owns, nsenter joins what it shares
    made, (enter, own) = pause_flags(modes), joiner_flags(modes, 4242)
    for ns, mode in (("net", modes.net), ("ipc", modes.ipc), ("uts", modes.uts)):
        assert (f"--{ns}" in made) == (f"--{ns}" in enter) == (mode == "pod")
    assert ("--pid" in made) == (modes.pid != "node")
    assert ("--pid" in enter, "--pid" in own) == (modes.pid == "pod", modes.pid == "container")
