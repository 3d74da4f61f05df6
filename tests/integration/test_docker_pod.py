"""Chapter 3 against the real Docker engine: the emulated pod, observed from the kernel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import labkit
from labkit.errors import EngineRefused, SpecError
from labkit.node import Node
from tests.manifests import BROKEN, FOO


def lab_cgroups(prefix: str) -> list[str]:
    return [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/{prefix}*")]


def test_pod_namespaces_traffic_ipc_and_hostnames(lab):
    pod = lab.docker_pod(FOO, quiet=True)
    obs = lab.observe(pod)
    labels = labkit.views.sharing_labels(obs)
    for member in ("app", "sidecar"):
        assert labels[member]["net"] == labels[member]["ipc"] == "shared with sandbox"
        assert labels[member]["pid"] == labels[member]["mnt"] == labels[member]["uts"] == "own"
        assert labels[member]["user"] == "host"
    assert "<html" in pod["sidecar"].exec("curl -s http://localhost:80/").output
    pod["app"].exec("echo shared > /dev/shm/x")
    assert pod["sidecar"].exec("cat /dev/shm/x").output.strip() == "shared"
    hostnames = {pod[m].exec("hostname").output.strip() for m in ("sandbox", "app", "sidecar")}
    assert hostnames == {"foo"}
    assert len({m.namespaces["uts"] for m in obs.members}) == 3


def test_pod_cgroup_tree_and_pod_level_limit(lab):
    pod = lab.docker_pod(FOO, quiet=True)
    tree = lab.observe(pod).trees[0]
    assert tree.path == f"/{lab.session.prefix}foo"
    assert tree.state.limits.memory_bytes == 384 * 2**20
    by_name = {pod.names()[c.name]: c.state.limits.memory_bytes for c in tree.children}
    assert by_name == {"sandbox": None, "app": 256 * 2**20, "sidecar": 128 * 2**20}
    memory = lab.node.layout.for_controller("memory").directory(tree.path)
    assert f"echo 402653184 > {memory}/memory.limit_in_bytes" in pod.commands()
    text = labkit.views.cgroup_tree_text(tree, pod.names())
    assert "app [" in text and "(memory 256 MiB" in text


def test_uts_sharing_is_refused_by_docker(lab):
    pod = lab.docker_pod(name="u", containers={"a": {"image": "busybox", "command": "sleep 60"}},
                         quiet=True)
    with pytest.raises(EngineRefused, match="uts_mode"):
        lab.run("uts", "busybox", "sleep 60", uts_mode=f"container:{pod.sandbox.id}")
    assert len(lab.docker.session_containers()) == 2  # nothing half-created


@pytest.mark.parametrize(("flag", "expected"), [
    ("share_process_namespace", {"pid": "shared with sandbox", "net": "shared with sandbox"}),
    ("host_network", {"net": "host", "ipc": "shared with sandbox"}),
    ("host_ipc", {"ipc": "host", "net": "shared with sandbox"}),
    ("host_pid", {"pid": "host"}),
])
def test_host_flags_map_to_docker_modes(lab, flag, expected):
    with lab.docker_pod(name="f", containers={"app": {"image": "busybox",
                                                      "command": "sleep 60"}},
                        quiet=True, **{flag: True}) as pod:
        app = labkit.views.sharing_labels(lab.observe(pod))["app"]
    assert {ns: app[ns] for ns in expected} == expected


def test_sandbox_death(lab):
    pod = lab.docker_pod(name="l", containers={"net": {"image": "busybox",
                                                       "command": "sleep 600"}}, quiet=True)
    sandbox = f"container:{pod.sandbox.id}"
    pid_too = lab.run("pid", "busybox", "sleep 600", network_mode=sandbox, pid_mode=sandbox,
                      quiet=True)
    pod.kill_sandbox()
    assert pod["net"].status == "running"
    assert pid_too.status == "exited" and pid_too.state["ExitCode"] == 137
    pod["net"].stop(timeout=1)
    for container in (pod["net"], pid_too):
        with pytest.raises(EngineRefused):
            container.start()


def test_cleanup_leaves_nothing_and_spares_the_foreign(docker_client):
    from labkit.runtimes.docker import DockerRuntime
    from labkit.session import Session

    foreign = docker_client.containers.run(DockerRuntime(Session()).toolbox(), ["sleep", "600"],
                                           detach=True, name="not-the-labs-pod")
    memory = Node().layout.for_controller("memory")
    foreign_cgroup = os.path.join(memory.mountpoint, "not-the-labs-cgroup")
    os.mkdir(foreign_cgroup)
    try:
        lab = labkit.Lab(gather="direct")
        pod = lab.docker_pod(FOO, quiet=True)
        assert len(lab_cgroups(lab.session.prefix)) >= 4  # one per hierarchy
        assert pod.cgroup_parent == f"/{lab.session.prefix}foo"
        lab.close()
        assert lab.docker.session_containers() == []
        assert lab_cgroups(lab.session.prefix) == []
        foreign.reload()
        assert foreign.status == "running" and os.path.isdir(foreign_cgroup)
    finally:
        foreign.remove(force=True)
        os.rmdir(foreign_cgroup)


@pytest.mark.parametrize("broken", BROKEN)
def test_bad_manifests_create_nothing(lab, broken):
    with pytest.raises(SpecError):
        lab.docker_pod(broken)
    assert lab.docker.session_containers() == []
    assert lab_cgroups(lab.session.prefix) == []


def test_unknown_image_in_a_pod_leaves_nothing(lab):
    with pytest.raises(labkit.LabError, match="docker load"):
        lab.docker_pod(FOO.replace("curlimages/curl", "example.invalid/nothing:1"), quiet=True)
    assert lab.docker.session_containers() == []
    assert lab_cgroups(lab.session.prefix) == []


def test_what_else_of_the_pod_docker_does(lab):
    """Requests become the kubelet's cpu.shares (a memory request has no cgroup value on a
    node, so none here); restartPolicy and the grace period become Docker's restart policy
    and stop timeout; the sandbox gets containerd's 2 shares."""
    manifest = FOO.replace("spec:\n", "spec:\n  restartPolicy: OnFailure\n"
                           "  terminationGracePeriodSeconds: 5\n").replace(
        '        memory: "128Mi"',
        '        memory: "128Mi"\n      requests:\n        cpu: "250m"\n        memory: "64Mi"')
    pod = lab.docker_pod(manifest, quiet=True)
    sidecar = pod["sidecar"].inspect()
    assert sidecar["HostConfig"]["RestartPolicy"]["Name"] == "on-failure"
    assert sidecar["Config"]["StopTimeout"] == 5
    assert sidecar["HostConfig"]["MemoryReservation"] == 0
    obs = lab.observe(pod)
    assert obs.member("sidecar").state.limits.cpu_shares == 256  # the kernel's file
    assert obs.member("app").state.limits.cpu_shares == 2  # no request: the kubelet's least
    assert obs.member("sandbox").state.limits.cpu_shares == 2


def test_no_swap_above_the_memory_limit_as_a_kubelet_asks(lab):
    """--memory-swap equal to --memory where Docker can limit swap: memory and swap together
    no more than the limit, as the kubelet's ConfigureNoSwap asks (Docker alone doubles it);
    a container without a memory limit gets no --memory-swap (Docker refuses it alone)."""
    manifest = FOO.replace('  - name: sidecar\n', '  - name: bare\n    image: busybox\n'
                           '    command: ["sleep", "3650d"]\n  - name: sidecar\n')
    pod = lab.docker_pod(manifest, quiet=True)
    swap_limit = bool(lab.docker.info.get("SwapLimit"))
    for name, limit in (("app", 256 * 2**20), ("sidecar", 128 * 2**20)):
        host = pod[name].inspect()["HostConfig"]
        assert host["Memory"] == limit
        assert host["MemorySwap"] == (limit if swap_limit else 2 * limit)
        asked = pod.linux_resources(next(c for c in pod.spec.containers if c.name == name))
        if lab.node.cgroup_version == 1 and swap_limit:
            assert asked.memory_swap_limit == limit
            cgroup = lab.observe(pod).member(name).cgroup
            memsw = lab.node.read(f"/sys/fs/cgroup/memory{cgroup}/memory.memsw.limit_in_bytes")
            assert int(memsw) == limit
    assert pod["bare"].inspect()["HostConfig"]["MemorySwap"] in (0, -1)
    bare = next(line for line in pod.commands() if line.startswith("docker run") and
                f"{lab.session.prefix}foo-bare " in line)
    assert "--memory-swap" not in bare and "--memory " not in bare
    app = next(line for line in pod.commands() if f"{lab.session.prefix}foo-app " in line)
    assert ("--memory-swap 268435456" in app) == swap_limit
