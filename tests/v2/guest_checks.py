"""Checks that run inside the cgroup v2 + systemd guest (tests/v2/guest.sh), never on
the CI host itself: the file name keeps pytest from collecting it there.

They state, for a host where systemd owns the cgroup tree, what chapters 1-3, 5 and 6 state
for a cgroup v1 host.
"""

from __future__ import annotations

import os

import pytest

import labkit
from labkit.cleanup import lab_cgroup_dirs
from labkit.views import sharing_labels
from tests.manifests import FOO

HOG = ("awk 'BEGIN { c = sprintf(\"%1048576s\", \"\"); "
       "for (i = 0; ; i++) { a[i] = c; if (i % 8 == 0) system(\"sleep 0.1\") } }'; "
       "s=$?; sleep 2; exit $s")


@pytest.fixture
def lab():
    with labkit.Lab() as lab:
        yield lab
    assert lab_cgroup_dirs(lab.node.layout, lab.session.id) == []
    assert lab.docker.session_containers() == []


def test_the_guest_is_cgroup_v2_with_systemd(lab):
    assert lab.node.cgroup_version == 2
    assert lab.docker.cgroup_driver == "systemd"
    with open("/proc/1/comm") as handle:
        assert handle.read().strip() == "systemd"


def test_a_container_is_a_systemd_scope_with_v2_limits(lab):
    foo = lab.run("foo", "nginx", memory="512MB", cpus=0.5, quiet=True)
    obs = lab.observe(foo)
    state = obs.member("foo").state
    assert state.path == f"/system.slice/docker-{foo.id}.scope"
    assert state.limits.memory_bytes == 512 * 2**20  # memory.max
    assert (state.limits.cpu_quota_us, state.limits.cpu_period_us) == (50000, 100000)  # cpu.max
    assert state.limits.cpu_weight == 100 and state.limits.cpu_shares is None  # cpu.weight
    with open(f"/sys/fs/cgroup{state.path}/cpu.max") as handle:
        assert handle.read().split() == ["50000", "100000"]
    labels = sharing_labels(obs)["foo"]
    assert {ns for ns, label in labels.items() if label == "own"} == \
        {"cgroup", "mnt", "uts", "ipc", "pid", "net"}  # a private cgroupns on v2


def test_oom_and_throttling_counters_on_v2(lab):
    hog = lab.run("hog", "busybox", HOG, memory="64Mi", quiet=True)
    samples = lab.watch(hog, seconds=60, until=lambda s: bool(s.state.usage.oom_kills))
    usage = samples[-1].state.usage
    assert usage.oom_kills == 1 and usage.memory_max_events > 0  # memory.events
    assert usage.memory_failcnt is None  # a v1 file
    assert hog.wait(60) == 137 and hog.state["OOMKilled"] is True
    spin = lab.run("spin", "busybox", "while :; do :; done", cpus=0.5, quiet=True)
    first = lab.watch(spin, seconds=0.1)[0].state.usage
    last = lab.watch(spin, seconds=3, every=1.5)[-1].state.usage
    assert last.cpu_throttled_periods - first.cpu_throttled_periods >= 10  # cpu.stat


def test_the_docker_pod_hangs_from_a_slice(lab):
    pod = lab.docker_pod(FOO, quiet=True)
    sid = lab.session.id
    assert pod.parent.path == f"/lk_{sid}_foo.slice"
    assert any(line.startswith(f"systemctl set-property --runtime lk_{sid}_foo.slice")
               for line in pod.commands())
    obs = lab.observe(pod)
    tree = obs.trees[0]
    assert tree.state.limits.memory_bytes == 384 * 2**20
    limits = {c.name: c.state.limits.memory_bytes for c in tree.children}
    assert limits == {f"docker-{pod['sandbox'].id}.scope": None,
                      f"docker-{pod['app'].id}.scope": 256 * 2**20,
                      f"docker-{pod['sidecar'].id}.scope": 128 * 2**20}
    labels = sharing_labels(obs)
    assert labels["app"]["net"] == labels["app"]["ipc"] == "shared with sandbox"
    assert labels["app"]["uts"] == "own"
    assert "<html" in pod["sidecar"].exec("curl -s http://localhost:80/").output


def test_the_cri_pod_under_the_kubelets_systemd_slices(lab):
    pod = lab.cri_pod(FOO, quiet=True)
    sid, uid = lab.session.id, pod.spec.uid.replace("-", "_")
    node = f"lk_{sid}_node"
    assert pod.cgroup_parent == (f"/{node}.slice/{node}-kubepods.slice/"
                                 f"{node}-kubepods-burstable.slice/"
                                 f"{node}-kubepods-burstable-pod{uid}.slice")
    obs = lab.observe(pod)
    app = obs.member("app")
    assert app.state.path == f"{pod.cgroup_parent}/cri-containerd-{pod.containers['app'].id}.scope"
    assert app.state.limits.memory_bytes == 256 * 2**20
    assert obs.trees[0].state.limits.memory_bytes == 384 * 2**20
    labels = sharing_labels(obs)
    for member in ("app", "sidecar"):
        for ns in ("net", "ipc", "uts"):
            assert labels[member][ns] == "shared with pause"
    assert os.path.isdir(f"/sys/fs/cgroup{pod.cgroup_parent}")
    pod.delete()
    assert not os.path.isdir(f"/sys/fs/cgroup{pod.cgroup_parent}")


def test_the_podman_pod_is_a_machine_slice(lab):
    """Podman's systemd cgroup manager: the pod is ``machine-libpod_pod_<id>.slice`` under
    machine.slice, each container a ``libpod-<id>.scope`` in it, each conmon a scope of
    its own in the same slice; ``pod create --memory`` writes memory.max on the slice."""
    assert lab.podman.cgroup_manager == "systemd"
    pod = lab.podman_pod(FOO, quiet=True)
    assert pod.cgroup_parent == f"/machine.slice/machine-libpod_pod_{pod.id}.slice"
    obs = lab.observe(pod)
    for member in ("app", "sidecar"):
        assert obs.member(member).state.path == \
            f"{pod.cgroup_parent}/libpod-{pod[member]}.scope"
    assert obs.member("app").state.limits.memory_bytes == 256 * 2**20
    for pid in pod.conmon_pids().values():
        assert lab.node.cgroups(pid)["unified"].startswith(f"{pod.cgroup_parent}/")
    labels = sharing_labels(obs)["app"]
    assert {ns for ns, label in labels.items() if label == "shared with infra"} == \
        {"net", "ipc", "uts"}
    pod.delete()
    limited = {"app": {"image": "busybox", "command": "sleep 600", "memory": "64Mi"},
               "sidecar": {"image": "busybox", "command": "sleep 600", "memory": "32Mi"}}
    with lab.podman_pod(name="limited", containers=limited, quiet=True) as summed:
        slice_dir = f"/sys/fs/cgroup{summed.cgroup_parent}"
        assert int(open(f"{slice_dir}/memory.max").read()) == 96 * 2**20  # noqa: SIM115
    assert not os.path.exists(f"/sys/fs/cgroup{pod.cgroup_parent}")


def test_the_pod_from_scratch_on_v2(lab):
    """No engine and no systemd unit: the pod's cgroup is a directory at the unified root,
    with cpu, memory and pids handed down (cgroup.subtree_control) to one cgroup per member,
    each with its own memory.max and cpu.max; the members join it by ``echo $$``."""
    containers = {"app": {"image": "busybox", "command": "sleep 600", "memory": "64Mi",
                          "cpus": 0.5},
                  "sidecar": {"image": "busybox", "command": "sleep 600", "memory": "32Mi",
                              "cpus": 0.25}}
    pod = lab.scratch_pod(name="scratch", containers=containers, quiet=True)
    sid = lab.session.id
    assert pod.cgroup_parent == f"/lk-{sid}-scratch.scratch"
    top = f"/sys/fs/cgroup{pod.cgroup_parent}"
    with open(f"{top}/cgroup.subtree_control") as handle:
        assert {"cpu", "memory"} <= set(handle.read().split())
    with open(f"{top}/memory.max") as handle:
        assert int(handle.read()) == 96 * 2**20
    with open(f"{top}/cpu.max") as handle:
        assert handle.read().split() == ["75000", "100000"]
    with open(f"{top}/app/cpu.max") as handle:
        assert handle.read().split() == ["50000", "100000"]
    obs = lab.observe(pod)
    assert [m.name for m in obs.members] == ["pause", "app", "sidecar"]
    for member in obs.members:
        assert member.state.path == f"{pod.cgroup_parent}/{member.name}"
    assert obs.member("sidecar").state.limits.memory_bytes == 32 * 2**20
    labels = sharing_labels(obs)
    for member in ("app", "sidecar"):
        assert {ns: labels[member][ns] for ns in ("net", "ipc", "uts")} == \
            dict.fromkeys(("net", "ipc", "uts"), "shared with pause")
        assert labels[member]["mnt"] == labels[member]["pid"] == "own"
    assert "0::/lk-" in pod.exec("app", "cat /proc/self/cgroup").output  # exec joins it
    pod.delete()
    assert not os.path.exists(top)
