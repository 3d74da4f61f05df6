"""What the kernel holds for a CRI pod that labkit makes as the kubelet would: the pod's and
each container's cgroup values, for a table of resource specs, equal to the kubelet's.

The expected numbers are the kubelet's (ResourceConfigForPod and calculateLinuxResources,
checked against Kubernetes' own test tables in tests/unit/test_kubernetes.py): cpu.shares
from the requests (2 where there are none), the CFS quota from the limits (at least 1000
µs), the memory limit. On cgroup v2 the shares are a cpu.weight: the pod's by the kubelet's
formula, a container's by its runtime's (runc's version decides). This file runs on the CI
host (cgroup v1) and in the v2 guest (tests/v2/guest.sh).
"""

from __future__ import annotations

import os

import pytest

import labkit
from labkit import kubernetes
from labkit.node.oci_runtime import runc_weight
from tests.conftest import need

MI = 2**20
BOX = {"image": "busybox", "command": "sleep 600"}

# name: (containers, pod's (shares, quota, memory), each container's (shares, quota, memory))
TABLE = {
    "besteffort-of-three": (
        {"a": BOX, "b": BOX, "c": BOX},
        (2, None, None), {"a": (2, None, None), "b": (2, None, None), "c": (2, None, None)}),
    "burstable-fractional": (
        {"app": {**BOX, "cpus": "333m", "requests_cpus": "150m", "requests_memory": "64Mi"},
         "sidecar": {**BOX, "requests_cpus": "200m"}},
        (358, None, None), {"app": (153, 33300, None), "sidecar": (204, None, None)}),
    "guaranteed": (
        {"app": {**BOX, "cpus": "250m", "memory": "64Mi"},
         "sidecar": {**BOX, "cpus": "250m", "memory": "64Mi"}},
        (512, 50000, 128 * MI), {"app": (256, 25000, 64 * MI), "sidecar": (256, 25000, 64 * MI)}),
    "one-millicore": (
        {"app": {**BOX, "cpus": "1m", "memory": "64Mi"}},
        (2, 1000, 64 * MI), {"app": (2, 1000, 64 * MI)}),
}


@pytest.fixture(scope="module")
def node_lab():
    need(os.geteuid() == 0, "a containerd node needs root")
    lab = labkit.Lab(gather="direct", watch_owner=False)
    yield lab
    lab.close()


@pytest.mark.parametrize("case", TABLE)
def test_the_kernel_holds_the_kubelets_values(node_lab, case):
    containers, pod_values, container_values = TABLE[case]
    with node_lab.cri_pod(name="values", containers=containers, quiet=True) as pod:
        _holds(node_lab, pod, pod_values, container_values)
        assert pod.spec.qos_class == {"besteffort-of-three": "BestEffort",
                                      "burstable-fractional": "Burstable"}.get(case,
                                                                               "Guaranteed")


def test_the_qos_tiers_carry_the_kubelets_shares(node_lab):
    """besteffort 2; burstable the shares of every Burstable pod's requests, less when one
    goes (setCPUCgroupConfig)."""
    half = {"app": {**BOX, "requests_cpus": "500m"}}
    with node_lab.cri_pod(name="one", containers=half, quiet=True) as one:
        tier = one.cgroup_parent.rsplit("/", 1)[0]  # .../kubepods/burstable (or its slice)
        besteffort = tier.replace("burstable", "besteffort")
        with node_lab.cri_pod(name="two", containers=half, quiet=True):
            both = node_lab.node.tree(tier).state.limits
        after = node_lab.node.tree(tier).state.limits
        least = node_lab.node.tree(besteffort).state.limits
    v2 = both.cpu_shares is None
    value = (lambda s: kubernetes.KUBELET_CPU_WEIGHT(s)) if v2 else (lambda s: s)
    read = (lambda limits: limits.cpu_weight) if v2 else (lambda limits: limits.cpu_shares)
    assert read(least) == value(2)
    assert read(both) == value(1024) and read(after) == value(512)


# Pods of today (chapter 8): init containers and sidecars, pod-level resources. name:
# (keywords, pod's (shares, quota, memory), each running container's (shares, quota, memory),
# QoS class). A container without a limit takes the pod-level one (getCPULimit, getMemoryLimit);
# without a request, its shares come from that limit.
TODAY = {
    "init-and-sidecar": (
        {"init_containers": {
            "setup": {"image": "busybox", "command": "true", "memory": "512Mi"},
            "logs": {**BOX, "restart_policy": "Always", "requests_cpus": "100m",
                     "memory": "128Mi"}},
         "containers": {"app": {**BOX, "requests_cpus": "200m", "memory": "256Mi"}}},
        (307, None, 512 * MI), {"logs": (102, None, 128 * MI), "app": (204, None, 256 * MI)},
        "Burstable"),
    "pod-level-guaranteed": (
        {"containers": {"a": BOX, "b": BOX}, "resources": {"memory": "256Mi", "cpus": "500m"}},
        (512, 50000, 256 * MI), {"a": (512, 50000, 256 * MI), "b": (512, 50000, 256 * MI)},
        "Guaranteed"),
    "pod-level-memory-only": (
        {"containers": {"a": {**BOX, "requests_cpus": "100m"}, "b": BOX},
         "resources": {"memory": "128Mi"}},
        (102, None, 128 * MI), {"a": (102, None, 128 * MI), "b": (2, None, 128 * MI)},
        "Burstable"),
}


@pytest.mark.parametrize("case", TODAY)
def test_the_kernel_holds_the_kubelets_values_for_pods_of_today(node_lab, case):
    keywords, pod_values, container_values, qos = TODAY[case]
    with node_lab.cri_pod(name="today", quiet=True, **keywords) as pod:
        assert pod.spec.qos_class == qos
        _holds(node_lab, pod, pod_values, container_values)


def _holds(lab, pod, pod_values, container_values) -> None:
    """The kernel holds the kubelet's values: on the pod's cgroup (the weight by the kubelet's
    rule on v2) and each container's (by this machine's runc), each (shares, quota, memory);
    on cgroup v2 also memory.oom.group 1 in each container's cgroup, as the kubelet asks."""
    obs = lab.observe(pod)
    v2 = obs.cgroup_version == 2
    got = obs.trees[0].state.limits
    shares, quota, memory = pod_values
    expected = kubernetes.KUBELET_CPU_WEIGHT(shares) if v2 else shares
    assert (got.cpu_weight if v2 else got.cpu_shares) == expected, "the pod's cgroup"
    assert got.cpu_quota_us == quota and got.memory_bytes == memory
    for name, (shares, quota, memory) in container_values.items():
        member = obs.member(name)
        got = member.state.limits
        expected = runc_weight()(shares) if v2 else shares
        assert (got.cpu_weight if v2 else got.cpu_shares) == expected, name
        assert got.cpu_quota_us == quota and got.memory_bytes == memory, name
        if v2:
            with open(f"/sys/fs/cgroup{member.state.path}/memory.oom.group") as handle:
                assert handle.read().strip() == "1", name
