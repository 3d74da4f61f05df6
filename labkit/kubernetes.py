"""What the kubelet and the API server compute from a Pod, computed once here for every kind
of pod, each rule named after the upstream function it mirrors.

labkit plays the kubelet (chapters 2, 4, 6): these rules turn a Pod into namespace modes,
a QoS class, cgroup values and OOM scores. Each runtime only says the answers in its own
terms (the CRI's ``NamespaceMode`` and ``LinuxContainerResources``, Docker's flags, cgroup
files). The rules follow Kubernetes :data:`VERSION`; the tests hold them against tables
taken from the upstream code and its tests (``tests/unit/test_kubernetes.py``).

CPU is counted as upstream counts it, in millicores (``cpu: 250m`` is 250), memory in bytes.

>>> namespace_modes(host_network=True)
NamespaceModes(net='node', ipc='pod', pid='container', uts='node')
>>> milli_cpu_to_shares(250), milli_cpu_to_quota(500)
(256, 50000)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

VERSION = "1.37"  # the Kubernetes release whose rules these are (read in kubernetes/kubernetes
# master after v1.37.0; each rule below names its function, unchanged since 1.35 unless it says)

Mode = Literal["pod", "container", "node"]
"""Whose namespace a container is in: the pod's (the sandbox holds it), its own, the node's."""

# pkg/kubelet/cm/helpers_linux.go
MIN_SHARES = 2
MAX_SHARES = 262144
SHARES_PER_CPU = 1024
MILLI_CPU_TO_CPU = 1000
QUOTA_PERIOD = 100_000  # µs: the CFS period the kubelet asks for (cm.QuotaPeriod)
MIN_QUOTA_PERIOD = 1000  # µs: the smallest quota it asks for (cm.MinQuotaPeriod)
CFS_PERIOD_US = QUOTA_PERIOD  # Docker's --cpus uses the same period

# pkg/kubelet/qos/policy.go
GUARANTEED_OOM_SCORE_ADJ = -997
BESTEFFORT_OOM_SCORE_ADJ = 1000
KUBELET_OOM_SCORE_ADJ = -999


@dataclass(frozen=True)
class NamespaceModes:
    """The namespaces a Pod's containers are in, for the four that a Pod spec can move."""

    net: Mode
    ipc: Mode
    pid: Mode
    uts: Mode


def namespace_modes(*, host_network: bool = False, host_ipc: bool = False,
                    host_pid: bool = False, share_process_namespace: bool = False
                    ) -> NamespaceModes:
    """The kubelet's reading of ``hostNetwork``, ``hostIPC``, ``hostPID`` and
    ``shareProcessNamespace`` (``namespacesForPod`` and ``pidNamespaceForPod`` in
    pkg/kubelet/kuberuntime/util/util.go): net, ipc and pid are the node's when asked;
    pid is the pod's with ``shareProcessNamespace``, else each container's own. The CRI has
    no UTS mode: the runtime keeps UTS with the network (containerd's sandbox joins the
    node's UTS namespace when its network is the node's).

    >>> namespace_modes()
    NamespaceModes(net='pod', ipc='pod', pid='container', uts='pod')
    >>> namespace_modes(share_process_namespace=True).pid, namespace_modes(host_pid=True).pid
    ('pod', 'node')
    """
    return NamespaceModes(
        net="node" if host_network else "pod",
        ipc="node" if host_ipc else "pod",
        pid="node" if host_pid else "pod" if share_process_namespace else "container",
        uts="node" if host_network else "pod",
    )


@dataclass(frozen=True)
class Resources:
    """One container's CPU and memory, as its ``resources`` say: requests and limits in
    millicores and bytes (None where not given)."""

    cpu_request: int | None = None
    cpu_limit: int | None = None
    memory_request: int | None = None
    memory_limit: int | None = None


def default_requests(resources: Resources) -> Resources:
    """The API server's defaulting: a request not given is its limit (``SetDefaults_Pod``
    in pkg/apis/core/v1/defaults.go).

    >>> default_requests(Resources(cpu_limit=500, memory_limit=64, cpu_request=250))
    Resources(cpu_request=250, cpu_limit=500, memory_request=64, memory_limit=64)
    """
    return replace(
        resources,
        cpu_request=resources.cpu_request if resources.cpu_request is not None
        else resources.cpu_limit,
        memory_request=resources.memory_request if resources.memory_request is not None
        else resources.memory_limit)


def qos_class(containers: Iterable[Resources]) -> str:
    """Guaranteed, Burstable or BestEffort (``ComputePodQOS`` in
    pkg/apis/core/v1/helper/qos/qos.go), from the containers' defaulted resources:
    BestEffort when no container asks for CPU or memory; Guaranteed when every container
    has CPU and memory limits and the requests add up to the limits, per resource;
    Burstable otherwise. Zero quantities count as not given.

    >>> qos_class([Resources()])
    'BestEffort'
    >>> qos_class([Resources(memory_limit=64 * 2**20, memory_request=64 * 2**20)])
    'Burstable'
    >>> qos_class([Resources(250, 250, 64, 64)])
    'Guaranteed'
    """
    requests = {"cpu": 0, "memory": 0}
    limits = {"cpu": 0, "memory": 0}
    asked = given = False
    guaranteed = True
    for c in containers:
        for key, request, limit in (("cpu", c.cpu_request, c.cpu_limit),
                                    ("memory", c.memory_request, c.memory_limit)):
            if request:
                requests[key] += request
                asked = True
            if limit:
                limits[key] += limit
                given = True
        if not (c.cpu_limit and c.memory_limit):
            guaranteed = False
    if not asked and not given:
        return "BestEffort"
    if guaranteed and requests == limits:
        return "Guaranteed"
    return "Burstable"


def milli_cpu_to_shares(milli_cpu: int | None) -> int:
    """cpu.shares for a CPU request (``MilliCPUToShares``, pkg/kubelet/cm/helpers_linux.go):
    1024 per core, rounded down, at least 2 (also for no request) and at most 262144.

    >>> milli_cpu_to_shares(250), milli_cpu_to_shares(150), milli_cpu_to_shares(None)
    (256, 153, 2)
    """
    if not milli_cpu:
        return MIN_SHARES
    shares = milli_cpu * SHARES_PER_CPU // MILLI_CPU_TO_CPU
    return max(MIN_SHARES, min(MAX_SHARES, shares))


def milli_cpu_to_quota(milli_cpu: int | None, period: int = QUOTA_PERIOD) -> int:
    """The CFS quota in µs per ``period`` for a CPU limit (``MilliCPUToQuota``,
    pkg/kubelet/cm/helpers_linux.go): rounded down, at least 1000 µs; 0 for no limit
    (the runtime then leaves the quota unset, ``-1`` in cpu.cfs_quota_us).

    >>> milli_cpu_to_quota(500), milli_cpu_to_quota(5), milli_cpu_to_quota(None)
    (50000, 1000, 0)
    """
    if not milli_cpu:
        return 0
    return max(MIN_QUOTA_PERIOD, milli_cpu * period // MILLI_CPU_TO_CPU)


@dataclass(frozen=True)
class ResourceConfig:
    """The values a cgroup is given (the kubelet's ``ResourceConfig``, and the CRI's
    ``LinuxContainerResources``): memory limit in bytes, cpu.shares, the CFS quota and period
    in µs. None (or a quota of 0) is left unset."""

    memory: int | None = None
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int = QUOTA_PERIOD


def container_resources(resources: Resources) -> ResourceConfig:
    """What the kubelet sends the runtime for a container's cgroup
    (``calculateLinuxResources``, pkg/kubelet/kuberuntime/kuberuntime_container_linux.go):
    shares from the request (from the limit if only that is given), the quota from the
    limit with period 100000 µs, the memory limit.

    >>> container_resources(Resources(cpu_limit=500, memory_limit=2**26))
    ResourceConfig(memory=67108864, cpu_shares=512, cpu_quota=50000, cpu_period=100000)
    >>> container_resources(Resources())
    ResourceConfig(memory=None, cpu_shares=2, cpu_quota=0, cpu_period=100000)
    """
    request = resources.cpu_request or resources.cpu_limit
    return ResourceConfig(memory=resources.memory_limit or None,
                          cpu_shares=milli_cpu_to_shares(request),
                          cpu_quota=milli_cpu_to_quota(resources.cpu_limit))


def pod_resource_config(containers: Iterable[Resources]) -> ResourceConfig:
    """The pod cgroup's values (``ResourceConfigForPod``, pkg/kubelet/cm/helpers_linux.go),
    from the containers' defaulted resources: shares from the summed CPU requests (2 for a
    BestEffort pod); the quota from the summed CPU limits only when every container has
    one; the memory limit, the sum, only when every container has one.

    >>> both = [Resources(250, 500, 2**26, 2**26), Resources(None, None, 2**25, 2**25)]
    >>> pod_resource_config(both)
    ResourceConfig(memory=100663296, cpu_shares=256, cpu_quota=0, cpu_period=100000)
    >>> pod_resource_config([Resources()])
    ResourceConfig(memory=None, cpu_shares=2, cpu_quota=0, cpu_period=100000)
    """
    containers = [default_requests(c) for c in containers]
    if qos_class(containers) == "BestEffort":
        return ResourceConfig(cpu_shares=MIN_SHARES, cpu_quota=0)
    cpu_requests = sum(c.cpu_request or 0 for c in containers)
    cpu_limits_declared = all(c.cpu_limit for c in containers)
    memory_limits_declared = all(c.memory_limit for c in containers)
    quota = milli_cpu_to_quota(sum(c.cpu_limit or 0 for c in containers)) \
        if cpu_limits_declared else 0
    memory = sum(c.memory_limit or 0 for c in containers) if memory_limits_declared else None
    return ResourceConfig(memory=memory, cpu_shares=milli_cpu_to_shares(cpu_requests),
                          cpu_quota=quota)


QOS_CGROUP = {"Guaranteed": "", "Burstable": "burstable", "BestEffort": "besteffort"}
"""Where the kubelet puts a pod of each QoS class under ``kubepods``
(``qosContainerManagerImpl``, pkg/kubelet/cm/qos_container_manager_linux.go): a tier of its
own for Burstable and BestEffort, none for Guaranteed (its pods sit right under kubepods)."""


def qos_tier_shares(qos: str, burstable_requests: Iterable[int | None] = ()) -> int | None:
    """cpu.shares of the kubelet's QoS tier cgroups (``setCPUCgroupConfig``,
    pkg/kubelet/cm/qos_container_manager_linux.go): ``besteffort`` 2, ``burstable`` the
    shares of the summed CPU requests of every Burstable pod on the node; Guaranteed pods
    have no tier of their own (None).

    >>> qos_tier_shares("BestEffort"), qos_tier_shares("Burstable", [250, None, 100])
    (2, 358)
    """
    if qos == "BestEffort":
        return MIN_SHARES
    if qos == "Burstable":
        return milli_cpu_to_shares(sum(r or 0 for r in burstable_requests))
    return None


@dataclass(frozen=True)
class NodeFacts:
    """What the kubelet knows of its node that changes what it asks for a container."""

    memory_capacity: int  # bytes (MemTotal)
    cgroup_version: int = 1
    swap_controller: bool = False  # memory.memsw.* (v1) or memory.swap.max (v2) exists
    hugepage_sizes: tuple[str, ...] = ()  # as the CRI names them: "2MB", "1GB"


@dataclass(frozen=True)
class LinuxContainerResources:
    """Everything the kubelet puts in a container's CRI ``LinuxContainerResources``."""

    config: ResourceConfig
    oom_score_adj: int
    memory_swap_limit: int = 0  # 0: not set
    hugepage_limits: tuple[tuple[str, int], ...] = ()
    unified: tuple[tuple[str, str], ...] = ()  # cgroup v2 files


def linux_container_resources(resources: Resources, qos: str,
                              node: NodeFacts) -> LinuxContainerResources:
    """A container's resources as the kubelet sends them to the runtime
    (``generateLinuxContainerResources``, pkg/kubelet/kuberuntime/
    kuberuntime_container_linux.go): the cgroup values of :func:`container_resources`, the
    OOM score, no swap (``ConfigureNoSwap``: on cgroup v1 memory+swap equal to the memory
    limit where the swap controller exists, on v2 ``memory.swap.max`` 0), a hugepage limit
    of 0 for every page size the node has (``GetHugepageLimitsFromResources``), and on
    cgroup v2 ``memory.oom.group`` 1 (the whole container is OOM-killed, the kubelet's
    default since 1.32: singleProcessOOMKill false).

    >>> node = NodeFacts(8 * 2**30, 1, True, ("2MB",))
    >>> got = linux_container_resources(Resources(250, 500, 2**26, 2**26), "Guaranteed", node)
    >>> got.oom_score_adj, got.memory_swap_limit, got.hugepage_limits, got.unified
    (-997, 67108864, (('2MB', 0),), ())
    >>> v2 = NodeFacts(8 * 2**30, 2, True)
    >>> linux_container_resources(Resources(), "BestEffort", v2).unified
    (('memory.oom.group', '1'), ('memory.swap.max', '0'))
    """
    config = container_resources(resources)
    swap = 0
    unified: list[tuple[str, str]] = []
    if node.cgroup_version == 2:
        unified.append(("memory.oom.group", "1"))
        if node.swap_controller:
            unified.append(("memory.swap.max", "0"))
    elif node.swap_controller and config.memory:
        swap = config.memory
    return LinuxContainerResources(
        config, oom_score_adj(qos, resources.memory_request, node.memory_capacity), swap,
        tuple((size, 0) for size in node.hugepage_sizes), tuple(unified))


def oom_score_adj(qos: str, memory_request: int | None, memory_capacity: int) -> int:
    """The OOM score adjustment the kubelet asks for a container
    (``GetContainerOOMScoreAdjust``, pkg/kubelet/qos/policy.go): -997 for Guaranteed, 1000
    for BestEffort; for Burstable 1000 less the request's thousandths of the node's memory,
    kept between 3 (above any Guaranteed container) and 999 (below BestEffort).

    >>> oom_score_adj("Guaranteed", 64 * 2**20, 8 * 2**30)
    -997
    >>> oom_score_adj("Burstable", 2 * 2**30, 8 * 2**30), oom_score_adj("Burstable", 0, 8)
    (750, 999)
    >>> oom_score_adj("Burstable", 8 * 2**30, 8 * 2**30), oom_score_adj("BestEffort", None, 8)
    (3, 1000)
    """
    if qos == "Guaranteed":
        return GUARANTEED_OOM_SCORE_ADJ
    if qos == "BestEffort":
        return BESTEFFORT_OOM_SCORE_ADJ
    adjust = 1000 - (1000 * (memory_request or 0)) // memory_capacity
    if adjust < 1000 + GUARANTEED_OOM_SCORE_ADJ:
        return 1000 + GUARANTEED_OOM_SCORE_ADJ
    if adjust == BESTEFFORT_OOM_SCORE_ADJ:
        return adjust - 1
    return adjust


def cpu_weight(shares: int | None) -> int | None:
    """cgroup v2's cpu.weight (1..10000) for cpu.shares (2..262144) by the first formula,
    a line from (2, 1) to (262144, 10000) (KEP-2254): what runc before 1.3.2 and crun
    before 1.23 write for a container (``ConvertCPUSharesToCgroupV2Value``, runc
    libcontainer/cgroups/utils.go), and the kubelet for its own cgroups before 1.35.

    >>> cpu_weight(1024), cpu_weight(2), cpu_weight(None)
    (39, 1, None)
    """
    if shares is None:
        return None
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def cpu_weight_quadratic(shares: int | None) -> int | None:
    """The same by the second formula, a quadratic in log2(shares) through (2, 1),
    (1024, 100) and (262144, 10000), so that one CPU keeps the default weight 100
    (opencontainers/cgroups utils.go, KEP-5246): runc from 1.3.2, crun from 1.23, and the
    kubelet's own pod and QoS cgroups from Kubernetes 1.35.

    >>> [cpu_weight_quadratic(s) for s in (0, 1, 2, 3, 1024, 2000, 262143, 262145)]
    [0, 1, 1, 2, 100, 170, 10000, 10000]
    """
    if shares is None:
        return None
    if shares == 0:
        return 0
    if shares <= 2:
        return 1
    if shares >= MAX_SHARES:
        return 10000
    log = math.log2(shares)
    exponent = (log * log + 125 * log) / 612.0 - 7.0 / 34.0
    return math.ceil(10 ** exponent)


def cpu_weights(shares: int) -> tuple[int, int]:
    """Both weights a runtime may write for ``shares``: (first formula, second).

    >>> cpu_weights(1024)
    (39, 100)
    """
    return cpu_weight(shares) or 0, cpu_weight_quadratic(shares) or 0


KUBELET_CPU_WEIGHT = cpu_weight_quadratic
"""How the kubelet of :data:`VERSION` turns shares into cpu.weight for the cgroups it writes
itself (pod, QoS tiers): the second formula, since 1.35."""


def systemd_cpu_quota(quota_us: int, period_us: int = QUOTA_PERIOD) -> int:
    """systemd's ``CPUQuota=`` percentage for a CFS quota, as the kubelet's systemd driver
    sets it (``CPUQuotaPerSecUSec`` in opencontainers/cgroups systemd, rounded up to 10 ms
    of CPU per second, that is to a whole percent).

    >>> systemd_cpu_quota(50_000), systemd_cpu_quota(2_500), systemd_cpu_quota(123_400)
    (50, 3, 124)
    """
    return -(-quota_us * 100 // period_us)


def milli_cpu(cores: float | None) -> int | None:
    """A CPU quantity in cores (0.25) as millicores (250); labkit's quantities are whole
    millicores already (:func:`labkit.quantity.parse_cpus`).

    >>> milli_cpu(0.15), milli_cpu(None)
    (150, None)
    """
    return None if cores is None else round(cores * MILLI_CPU_TO_CPU)


NO_VALUES = ResourceConfig(cpu_period=QUOTA_PERIOD)  # a cgroup given nothing


def expand(text: str, values: dict[str, str]) -> str:
    """``$(NAME)`` replaced by the variable's value, as the kubelet expands a container's
    command, args and env values (``Expand`` in third_party/forked/golang/expansion/
    expand.go): ``$$`` is a literal ``$``, an undefined or unterminated reference stays as
    written, and what a value holds is not expanded again.

    >>> values = {"VAR_A": "A", "VAR_EMPTY": "", "VAR_REF": "$(VAR_A)"}
    >>> [expand(t, values) for t in ("$(VAR_A)", "foo$(VAR_EMPTY)bar", "$(VAR_REF)")]
    ['A', 'foobar', '$(VAR_A)']
    >>> [expand(t, values) for t in ("$(VAR_DNE)", "$$$$$$(BIG_MONEY)", "foo$(VAR_Awhoops!")]
    ['$(VAR_DNE)', '$$$(BIG_MONEY)', 'foo$(VAR_Awhoops!']
    >>> expand("$(x$$", values)
    '$(x$'

    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] != "$" or i + 1 >= n:
            out.append(text[i])
            i += 1
            continue
        after = text[i + 1]
        if after == "$":  # an escaped $
            out.append("$")
            i += 2
        elif after == "(":
            end = text.find(")", i + 2)
            if end == -1:  # unterminated: "$(" kept, the rest read on
                out.append("$(")
                i += 2
                continue
            name = text[i + 2:end]
            out.append(values.get(name, f"$({name})"))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def environment(env: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A container's environment as the kubelet hands it to the runtime
    (``makeEnvironmentVariables``, pkg/kubelet/kubelet_pods.go): each value expanded
    against the variables before it; a repeated name keeps its last value.

    >>> environment([("A", "x"), ("B", "$(A)-y"), ("C", "$(D)"), ("D", "d")])
    {'A': 'x', 'B': 'x-y', 'C': '$(D)', 'D': 'd'}
    """
    values: dict[str, str] = {}
    for name, value in env:
        values[name] = expand(value, values)
    return values


def command_and_args(command: Iterable[str] | None, args: Iterable[str] | None,
                     env: dict[str, str]) -> tuple[list[str], list[str]]:
    """A container's command and args with ``$(VAR)`` expanded from its environment, each on
    its own (``ExpandContainerCommandAndArgs``, pkg/kubelet/container/helpers.go).

    >>> command_and_args(["echo", "$(GREETING)"], ["$$(x)"], {"GREETING": "hi"})
    (['echo', 'hi'], ['$(x)'])
    """
    return ([expand(c, env) for c in command or ()], [expand(a, env) for a in args or ()])


def process_args(command: list[str], args: list[str], entrypoint: Iterable[str] | None,
                 cmd: Iterable[str] | None) -> list[str]:
    """What runs, from a Pod's command and args and the image's ENTRYPOINT and CMD
    (containerd's ``WithProcessArgs``; the table in Kubernetes' "Define a Command and
    Arguments for a Container"): a command replaces both, args replace only CMD.

    >>> process_args(["sleep"], ["60"], ["/entry"], ["serve"])
    ['sleep', '60']
    >>> process_args([], ["--port", "8080"], ["/server"], ["--port", "80"])
    ['/server', '--port', '8080']
    >>> process_args([], [], ["/entry"], ["serve"])
    ['/entry', 'serve']
    """
    if command:
        return [*command, *args]
    return [*(entrypoint or ()), *(args or cmd or ())]
