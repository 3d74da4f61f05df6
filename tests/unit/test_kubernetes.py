"""labkit's kubelet arithmetic against tables taken from Kubernetes' own tests.

Each table names the upstream test it comes from (kubernetes/kubernetes, as of the release
``labkit.kubernetes.VERSION`` follows; the rules are unchanged since 1.35 unless said), and
labkit's rule must give the upstream value for every row. Where labkit adds a row of its
own, the comment says why (a value a naive formula gets wrong, say).
"""

from __future__ import annotations

import pytest

from labkit import kubernetes as k8s
from labkit.kubernetes import Resources

MI = 2**20


# pkg/kubelet/cm/helpers_linux_test.go, TestMilliCPUToShares (negative inputs left out:
# labkit's quantities are never negative)
@pytest.mark.parametrize(("milli", "shares"), [
    (0, 2), (1, 2), (2, 2), (3, 3), (100, 102), (500, 512), (1000, 1024),
    (255999, 262142), (256000, 262144), (256001, 262144), (1000000, 262144),
    (200, 204),  # labkit's row: a rounded 1024 * 0.2 = 204.8 would say 205
    (150, 153), (333, 340), (700, 716), (1999, 2046),
])
def test_milli_cpu_to_shares(milli, shares):
    assert k8s.milli_cpu_to_shares(milli) == shares


# pkg/kubelet/cm/helpers_linux_test.go, TestMilliCPUToQuota (period 100000)
@pytest.mark.parametrize(("milli", "quota"), [
    (0, 0), (5, 1000), (9, 1000), (10, 1000), (200, 20000), (500, 50000), (1000, 100000),
    (1500, 150000),
    (1, 1000),  # labkit's row: 100 us would be refused by the kernel (below 1 ms)
])
def test_milli_cpu_to_quota(milli, quota):
    assert k8s.milli_cpu_to_quota(milli) == quota


# pkg/kubelet/cm/helpers_linux_test.go, TestResourceConfigForPod (enforceCPULimits true,
# period 100000, no pod-level resources); requests defaulted from limits first, as the API
# server does before the kubelet sees a pod
@pytest.mark.parametrize(("containers", "shares", "quota", "memory"), [
    pytest.param([Resources()], 2, 0, None, id="besteffort"),
    pytest.param([Resources(100, None, 100 * MI, None)], 102, 0, None,
                 id="burstable-no-limits"),
    pytest.param([Resources(100, 200, 100 * MI, 200 * MI)], 102, 20000, 200 * MI,
                 id="burstable-with-limits"),
    pytest.param([Resources(100, 200, 100 * MI, 200 * MI), Resources(100, None, 100 * MI, None)],
                 204, 0, None, id="burstable-partial-limits"),
    pytest.param([Resources(100, 100, 100 * MI, 100 * MI)], 102, 10000, 100 * MI,
                 id="guaranteed"),
    pytest.param([Resources(), Resources()], 2, 0, None,
                 id="labkit: a BestEffort pod of two, not 2 + 2"),
    pytest.param([Resources(200), Resources(), Resources()], 204, 0, None,
                 id="labkit: the sum of the requests, not of each one's shares (209)"),
])
def test_resource_config_for_pod(containers, shares, quota, memory):
    got = k8s.pod_resource_config(containers)
    assert (got.cpu_shares, got.cpu_quota, got.memory) == (shares, quota, memory)
    assert got.cpu_period == 100_000


# pkg/kubelet/qos/policy_test.go, TestGetContainerOOMScoreAdjust (the cases a Pod labkit runs
# can express: no node-critical priority, no sidecars, no pod-level resources)
@pytest.mark.parametrize(("resources", "capacity", "expected"), [
    pytest.param(Resources(cpu_limit=10_000), 4e9, 999, id="cpu-limit"),
    pytest.param(Resources(memory_limit=10 * 10**9), 8e9, 999,
                 id="memory-limit-cpu-request"),
    pytest.param(Resources(), 4e9, 1000, id="no-request-limit"),
    pytest.param(Resources(5, 5, 10 * 10**9, 10 * 10**9), 123456789, -997,
                 id="equal-request-limit-cpu-memory"),
    pytest.param(Resources(5, None, 4 * 10**9, 10 * 10**9), 8e9, 500,
                 id="cpu-unlimited-memory-limited-with-requests"),
    pytest.param(Resources(5, None, 7999999999, None), 8e9, 3, id="request-no-limit"),
    pytest.param(Resources(None, None, 10**9, 10**9 + 1000), 8e9, 875,
                 id="burstable-unique-container-pod"),
])
def test_oom_score_adjust(resources, capacity, expected):
    """The containers as the upstream test builds them (no API defaulting: a limit without
    a request has no request there)."""
    qos = k8s.qos_class([resources])
    assert k8s.oom_score_adj(qos, resources.memory_request, int(capacity)) == expected


# pkg/apis/core/v1/helper/qos/qos_test.go, TestComputePodQOS (container-level cases)
@pytest.mark.parametrize(("containers", "qos"), [
    ([Resources()], "BestEffort"),
    ([Resources(), Resources()], "BestEffort"),
    ([Resources(100, 100, MI, MI)], "Guaranteed"),
    ([Resources(100, 100, MI, MI), Resources(100, 100, MI, MI)], "Guaranteed"),
    ([Resources(100, 100, MI, MI), Resources()], "Burstable"),
    ([Resources(100, 200, MI, MI)], "Burstable"),
    ([Resources(memory_request=MI, memory_limit=MI)], "Burstable"),
    ([Resources(0, 100, MI, MI)], "Burstable"),  # an explicit zero request is not the limit
])
def test_qos_class(containers, qos):
    assert k8s.qos_class(containers) == qos


def test_requests_default_to_limits():
    """SetDefaults_Pod (pkg/apis/core/v1/defaults.go): only a request not given at all."""
    assert k8s.default_requests(Resources(cpu_limit=500, memory_limit=MI)) == \
        Resources(500, 500, MI, MI)
    assert k8s.default_requests(Resources(0, 500)).cpu_request == 0


# calculateLinuxResources (pkg/kubelet/kuberuntime/kuberuntime_container_linux.go): shares
# from the request, or from the limit when no request is given at all (cpuRequest == nil: an
# explicit 0 is a request, and gives 2); quota from the limit
@pytest.mark.parametrize(("resources", "shares", "quota", "memory"), [
    (Resources(), 2, 0, None),
    (Resources(250, None), 256, 0, None),
    (Resources(None, 500), 512, 50000, None),
    (Resources(0, 500), 2, 50000, None),
    (Resources(150, 5, MI, 64 * MI), 153, 1000, 64 * MI),
])
def test_container_resources(resources, shares, quota, memory):
    got = k8s.container_resources(resources)
    assert (got.cpu_shares, got.cpu_quota, got.memory, got.cpu_period) == \
        (shares, quota, memory, 100_000)


# opencontainers/cgroups utils_test.go TestConvertCPUSharesToCgroupV2Value (the second
# formula: runc >= 1.3.2, crun >= 1.23, the kubelet's pod cgroups from 1.35), and runc's
# linear one before it (libcontainer/cgroups/utils_test.go, runc 1.1); runc#4896: 2000
# shares gave 77, now 170
@pytest.mark.parametrize(("shares", "linear", "quadratic"), [
    (0, 0, 0), (2, 1, 1), (3, 1, 2), (1024, 39, 100), (2000, 77, 170),
    (262143, 9999, 10000), (262144, 10000, 10000),
])
def test_cpu_weight_both_formulas(shares, linear, quadratic):
    assert k8s.cpu_weight(shares) == linear
    assert k8s.cpu_weight_quadratic(shares) == quadratic


def test_the_runtime_decides_the_formula():
    from labkit.node.oci_runtime import weight_formula

    assert weight_formula("runc version 1.1.5+ds1") is k8s.cpu_weight
    assert weight_formula("runc version 1.3.1") is k8s.cpu_weight
    assert weight_formula("runc version 1.3.2") is k8s.cpu_weight_quadratic
    assert weight_formula("runc version 1.4.0-rc.1") is k8s.cpu_weight_quadratic
    assert weight_formula("crun version 1.22") is k8s.cpu_weight
    assert weight_formula("crun version 1.23.1") is k8s.cpu_weight_quadratic


# opencontainers/cgroups systemd: CPUQuotaPerSecUSec rounded up to 10 ms per second
@pytest.mark.parametrize(("quota", "percent"), [(1000, 1), (2500, 3), (50000, 50),
                                                (123400, 124), (100000, 100)])
def test_systemd_cpu_quota(quota, percent):
    assert k8s.systemd_cpu_quota(quota) == percent


# third_party/forked/golang/expansion/expand_test.go, TestMapReference / TestMapping
VARS = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}


@pytest.mark.parametrize(("text", "expanded"), [
    ("$(VAR_A)", "A"), ("___$(VAR_B)___", "___B___"), ("foo$(VAR_EMPTY)bar", "foobar"),
    ("$(VAR_REF)", "$(VAR_A)"), ("$(VAR_DNE)", "$(VAR_DNE)"), ("$$$$$$(BIG_MONEY)",
                                                             "$$$(BIG_MONEY)"),
    ("$$$$$$$(VAR_A)", "$$$A"), ("$VAR_A", "$VAR_A"), ("${VAR_A}", "${VAR_A}"),
    ("$?_boo_$!", "$?_boo_$!"), ("foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"),
    ("$(VAR_B)_______$(A", "B_______$(A"), ("$(VAR_A)foobarzab$", "Afoobarzab$"),
    ("$$$(VAR_A)", "$A"), ("$(VAR_A)$(VAR_B)$(VAR_C)", "ABC"),
])
def test_expansion(text, expanded):
    assert k8s.expand(text, VARS) == expanded


def test_environment_expands_in_order():
    """makeEnvironmentVariables: a value sees the variables before it, not after."""
    assert k8s.environment([("A", "x"), ("B", "$(A)-y"), ("C", "$(D)"), ("D", "d")]) == \
        {"A": "x", "B": "x-y", "C": "$(D)", "D": "d"}


# the table in "Define a Command and Arguments for a Container" (kubernetes.io), as
# containerd's WithProcessArgs merges them with the image
@pytest.mark.parametrize(("command", "args", "runs"), [
    ([], [], ["/ep-1", "foo", "bar"]),
    (["/ep-2"], [], ["/ep-2"]),
    ([], ["zoo", "boo"], ["/ep-1", "zoo", "boo"]),
    (["/ep-2"], ["zoo", "boo"], ["/ep-2", "zoo", "boo"]),
])
def test_command_and_args_with_the_image(command, args, runs):
    assert k8s.process_args(command, args, ["/ep-1"], ["foo", "bar"]) == runs


# setCPUCgroupConfig (pkg/kubelet/cm/qos_container_manager_linux.go)
def test_qos_tiers():
    assert k8s.qos_tier_shares("BestEffort") == 2
    assert k8s.qos_tier_shares("Burstable", [100, 100]) == 204
    assert k8s.qos_tier_shares("Burstable", []) == 2
    assert k8s.qos_tier_shares("Guaranteed") is None


# generateLinuxContainerResources: no swap (ConfigureNoSwap), a zero limit per huge page size,
# and on cgroup v2 memory.oom.group (singleProcessOOMKill false, the default since 1.32)
def test_linux_container_resources_on_both_cgroup_versions():
    v1 = k8s.NodeFacts(8 * 2**30, 1, True, ("2MB", "1GB"))
    got = k8s.linux_container_resources(Resources(None, None, 64 * MI, 64 * MI), "Burstable", v1)
    assert got.memory_swap_limit == 64 * MI and got.unified == ()
    assert got.hugepage_limits == (("2MB", 0), ("1GB", 0))
    assert got.oom_score_adj == 1000 - (1000 * 64 * MI) // (8 * 2**30)
    v2 = k8s.NodeFacts(8 * 2**30, 2, False)
    got = k8s.linux_container_resources(Resources(), "BestEffort", v2)
    assert got.unified == (("memory.oom.group", "1"),) and got.memory_swap_limit == 0
