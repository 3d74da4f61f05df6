"""What the kubelet and the API server compute from a Pod, computed once here for every kind
of pod, each rule named after the upstream function it mirrors.

labkit plays the kubelet (chapters 2, 4, 6, 7, 8): these rules turn a Pod into namespace modes,
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

VERSION = "1.37"  # the Kubernetes release whose rules these are (read in kubernetes/kubernetes
# master after v1.37.0; each rule below names its function, unchanged since 1.35 unless it says)

Mode = Literal["pod", "container", "node", "target"]
"""Whose namespace a container is in: the pod's (the sandbox holds it), its own, the node's, or
(PID only, an ephemeral container's) another container's of the pod."""

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


def ephemeral_pid_mode(modes: NamespaceModes, target: str | None) -> Mode:
    """The PID namespace of an ephemeral container (``kubectl debug --target=app``): the
    target container's (the CRI's ``TARGET``, with the target's container id) when it names
    one and the pod's containers each have their own; otherwise the pod's mode as for any
    container (``generateLinuxContainerConfig``, pkg/kubelet/kuberuntime/
    kuberuntime_container_linux.go: TARGET replaces CONTAINER only).

    >>> ephemeral_pid_mode(namespace_modes(), "app")
    'target'
    >>> ephemeral_pid_mode(namespace_modes(share_process_namespace=True), "app")
    'pod'
    >>> ephemeral_pid_mode(namespace_modes(), None)
    'container'
    """
    return "target" if target and modes.pid == "container" else modes.pid


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


@dataclass(frozen=True)
class InitActions:
    """What the kubelet does next for a Pod's init containers: which to start (their
    indexes), whether the Pod is initialized (its containers may start), and whether it
    gives up on the Pod (an init container failed and ``restartPolicy`` is Never)."""

    start: tuple[int, ...] = ()
    initialized: bool = False
    kill_pod: bool = False


def init_container_actions(sidecars: Sequence[bool],
                           states: Sequence[tuple[str, int] | None],
                           restart_policy: str = "Always", *,
                           containers_started: bool = False) -> InitActions:
    """One step of the kubelet's init containers (``computeInitContainerActions``,
    pkg/kubelet/kuberuntime/kuberuntime_container.go, sidecars stable since 1.33), from the
    runtime's state of each (``("Running", 0)``, ``("Exited", code)``, ``None`` if not
    made yet), in spec order: the first one not made is started; an init container that
    exited 0 lets the next start, one that failed is started again (or the Pod given up
    under ``restartPolicy: Never``); a sidecar lets the next start as soon as it runs (it
    has no startup probe here) and is started again whenever it has exited. The Pod is
    initialized when the last init container has done so, or once one of its containers
    has been made (``containers_started``: then only sidecars are started again).

    >>> init_container_actions([False, True], [None, None])
    InitActions(start=(0,), initialized=False, kill_pod=False)
    >>> init_container_actions([False, True], [("Exited", 0), None])
    InitActions(start=(1,), initialized=False, kill_pod=False)
    >>> init_container_actions([False, True], [("Exited", 0), ("Running", 0)])
    InitActions(start=(), initialized=True, kill_pod=False)
    >>> init_container_actions([False], [("Exited", 1)], "Never")
    InitActions(start=(), initialized=False, kill_pod=True)
    """
    if not sidecars:
        return InitActions(initialized=True)
    start: list[int] = []
    initialized = containers_started
    seen_one = containers_started  # a later one has a state (or the containers do): it ran
    last = len(sidecars) - 1
    for i in range(last, -1, -1):
        state = states[i]
        if state is None:
            if containers_started and sidecars[i]:
                start.append(i)
            continue
        word, code = state
        if seen_one and not sidecars[i]:
            continue  # done before the later one started; only sidecars are kept running
        if word == "Created":
            start.append(i)
        elif word == "Running":
            if sidecars[i]:
                if i == last:
                    initialized = True
                elif not seen_one:
                    start.append(i + 1)
        elif word == "Exited":
            if sidecars[i]:
                start.append(i)
            elif code != 0:
                if restart_policy == "Never":
                    return InitActions(kill_pod=True)
                start.append(i)
            elif i == last:
                initialized = True
            else:
                start.append(i + 1)
        else:  # Unknown: started again (or the Pod given up, for a failed init container)
            if not sidecars[i] and restart_policy == "Never":
                return InitActions(kill_pod=True)
            start.append(i)
        seen_one = True
    if not seen_one:
        start.append(0)
    return InitActions(tuple(reversed(start)), initialized)


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


def container_resources(resources: Resources,
                        pod: Resources | None = None) -> ResourceConfig:
    """What the kubelet sends the runtime for a container's cgroup
    (``calculateLinuxResources``, pkg/kubelet/kuberuntime/kuberuntime_container_linux.go):
    shares from the CPU request, or from the limit when no request is given at all (an
    explicit 0 is a request: 2 shares); the quota from the limit with period 100000 µs; the
    memory limit. With pod-level resources (``pod``, spec.resources), a container that sets no
    CPU or memory limit gets the pod's instead (``getCPULimit``, ``getMemoryLimit``, same
    file, PodLevelResources: alpha 1.32, beta 1.34).

    >>> container_resources(Resources(cpu_limit=500, memory_limit=2**26))
    ResourceConfig(memory=67108864, cpu_shares=512, cpu_quota=50000, cpu_period=100000)
    >>> container_resources(Resources())
    ResourceConfig(memory=None, cpu_shares=2, cpu_quota=0, cpu_period=100000)
    >>> container_resources(Resources(), pod=Resources(500, 500, 2**28, 2**28))
    ResourceConfig(memory=268435456, cpu_shares=512, cpu_quota=50000, cpu_period=100000)
    """
    cpu_limit, memory_limit = resources.cpu_limit, resources.memory_limit
    if pod is not None and pod_level_set(pod):
        cpu_limit = cpu_limit or pod.cpu_limit
        memory_limit = memory_limit or pod.memory_limit
    request = resources.cpu_request if resources.cpu_request is not None else cpu_limit
    return ResourceConfig(memory=memory_limit or None,
                          cpu_shares=milli_cpu_to_shares(request),
                          cpu_quota=milli_cpu_to_quota(cpu_limit))


# -- a whole Pod: containers, init containers (sidecars among them), pod-level resources ------

@dataclass(frozen=True)
class PodResources:
    """A Pod's CPU and memory as the kubelet reads them, after the API server's defaulting:
    its containers', its init containers' (each with whether it is a sidecar, an init
    container with ``restartPolicy: Always``), and the pod-level ones (``spec.resources``),
    None when the Pod sets none."""

    containers: tuple[Resources, ...]
    init: tuple[tuple[Resources, bool], ...] = ()
    pod: Resources | None = None


def pod_level_set(pod: Resources | None) -> bool:
    """Whether pod-level CPU or memory is set (``IsPodLevelResourcesSet``,
    staging/src/k8s.io/component-helpers/resource/helpers.go)."""
    return pod is not None and any(v is not None for v in (
        pod.cpu_request, pod.cpu_limit, pod.memory_request, pod.memory_limit))


def _pair(cpu: int | None, memory: int | None) -> tuple[int, int]:
    return cpu or 0, memory or 0


def _aggregate(pod: PodResources, pick) -> tuple[tuple[int, int], tuple[bool, bool]]:
    """``AggregateContainerRequests`` / ``AggregateContainerLimits``
    (staging/src/k8s.io/component-helpers/resource/helpers.go): the containers' and sidecars'
    sum, or the largest need of the init phase if that is more, per resource; an init
    container needs its own plus what the sidecars before it hold. Also whether every
    container, and every init container with the sidecars before it, has a non-zero value
    per resource (what ``ResourceConfigForPod``'s ``ContainerFn`` notes for limits)."""
    total = [0, 0]
    running = [0, 0]  # the sidecars started so far
    init_peak = [0, 0]
    declared = [True, True]
    for container in pod.containers:
        value = pick(container)
        for i in (0, 1):
            total[i] += value[i]
            declared[i] = declared[i] and value[i] > 0
    for container, sidecar in pod.init:
        value = pick(container)
        if sidecar:
            need = [running[i] + value[i] for i in (0, 1)]
            running = need
            total = [total[i] + value[i] for i in (0, 1)]
        else:
            need = [running[i] + value[i] for i in (0, 1)]
        for i in (0, 1):
            init_peak[i] = max(init_peak[i], need[i])
            declared[i] = declared[i] and need[i] > 0
    return ((max(total[0], init_peak[0]), max(total[1], init_peak[1])),
            (declared[0], declared[1]))


def _requests(c: Resources) -> tuple[int, int]:
    return _pair(c.cpu_request, c.memory_request)


def _limits(c: Resources) -> tuple[int, int]:
    return _pair(c.cpu_limit, c.memory_limit)


def aggregate_requests(pod: PodResources) -> tuple[int, int]:
    """The containers' effective CPU (millicores) and memory (bytes) requests, pod-level
    resources aside (``AggregateContainerRequests``): the larger of the containers and
    sidecars together, and the most any init container needs with the sidecars started
    before it.

    >>> sidecar, app = Resources(100, None, 2**26), Resources(200, None, 2**27)
    >>> aggregate_requests(PodResources((app,), ((Resources(500), False), (sidecar, True))))
    (500, 201326592)
    """
    return _aggregate(pod, _requests)[0]


def aggregate_limits(pod: PodResources) -> tuple[int, int]:
    """The same for limits (``AggregateContainerLimits``)."""
    return _aggregate(pod, _limits)[0]


def _all(pod: PodResources) -> list[Resources]:
    return [*pod.containers, *(c for c, _ in pod.init)]


def default_pod_resources(pod: PodResources) -> Resources | None:
    """The API server's defaulting of pod-level resources (``defaultPodRequests`` and
    ``defaultPodLimits``, pkg/apis/core/v1/defaults.go, after the containers' requests default
    to their limits): with a pod-level limit, a pod-level request not given is the
    containers' aggregate request when some container requests that resource, else the pod
    limit; with pod-level requests and no pod-level limit, a limit is derived from the
    containers' only when every container has one (from 1.36, KEP-2837's fix for issue
    136120). None when the Pod sets no pod-level CPU or memory.

    >>> default_pod_resources(PodResources((Resources(),), pod=Resources(cpu_limit=500)))
    Resources(cpu_request=500, cpu_limit=500, memory_request=None, memory_limit=None)
    >>> app = Resources(100, None, 2**26, 2**27)
    >>> default_pod_resources(PodResources((app,), pod=Resources(memory_limit=2**28)))
    Resources(cpu_request=100, cpu_limit=None, memory_request=67108864, memory_limit=268435456)
    """
    given = pod.pod
    if not pod_level_set(given):
        return None
    assert given is not None
    everyone = _all(pod)
    cpu_request, memory_request = given.cpu_request, given.memory_request
    cpu_limit, memory_limit = given.cpu_limit, given.memory_limit
    if cpu_limit is not None or memory_limit is not None:  # defaultPodRequests
        cpu, memory = aggregate_requests(pod)
        if cpu_request is None and any(c.cpu_request is not None for c in everyone):
            cpu_request = cpu
        if memory_request is None and any(c.memory_request is not None for c in everyone):
            memory_request = memory
        if cpu_request is None and cpu_limit is not None:
            cpu_request = cpu_limit
        if memory_request is None and memory_limit is not None:
            memory_request = memory_limit
    elif cpu_request is not None or memory_request is not None:  # defaultPodLimits
        cpu, memory = aggregate_limits(pod)
        if all(c.cpu_limit is not None for c in everyone):
            cpu_limit = cpu
        if all(c.memory_limit is not None for c in everyone):
            memory_limit = memory
    return Resources(cpu_request, cpu_limit, memory_request, memory_limit)


def pod_requests(pod: PodResources) -> Resources:
    """The Pod's effective requests (``PodRequests``, component-helpers resource/helpers.go):
    the containers' aggregate, where pod-level requests (``pod.pod``, defaulted) do not
    replace it. Overhead (RuntimeClass) left out: labkit runs no RuntimeClass."""
    cpu, memory = aggregate_requests(pod)
    level = pod.pod if pod_level_set(pod.pod) else None
    if level is not None and level.cpu_request is not None:
        cpu = level.cpu_request
    if level is not None and level.memory_request is not None:
        memory = level.memory_request
    return Resources(cpu_request=cpu, memory_request=memory)


def pod_limits(pod: PodResources) -> Resources:
    """The Pod's effective limits (``PodLimits``): the containers' aggregate, where pod-level
    limits do not replace it."""
    cpu, memory = aggregate_limits(pod)
    level = pod.pod if pod_level_set(pod.pod) else None
    if level is not None and level.cpu_limit is not None:
        cpu = level.cpu_limit
    if level is not None and level.memory_limit is not None:
        memory = level.memory_limit
    return Resources(cpu_limit=cpu, memory_limit=memory)


def _resource_qos(r: Resources) -> str:
    """``resourceQOS`` (pkg/apis/core/v1/helper/qos/qos.go): one set of requests and limits,
    CPU and memory: Guaranteed when each is requested as much as it is limited, BestEffort
    when neither is given, Burstable otherwise."""
    found = None
    for request, limit in ((r.cpu_request, r.cpu_limit), (r.memory_request, r.memory_limit)):
        if (request or 0) != (limit or 0):
            return "Burstable"
        best_effort = not request and not limit
        kind = "BestEffort" if best_effort else "Guaranteed"
        if found is None:
            found = kind
        elif found != kind:
            return "Burstable"
    return found or "BestEffort"


def pod_qos_class(pod: PodResources) -> str:
    """The Pod's QoS class (``ComputePodQOS``): from the pod-level resources when the Pod
    sets them (PodLevelResources), else from every container, init containers included
    (:func:`qos_class`).

    >>> pod_qos_class(PodResources((Resources(),), pod=Resources(500, 500, 2**28, 2**28)))
    'Guaranteed'
    >>> pod_qos_class(PodResources((Resources(250, 250, 64, 64),), ((Resources(), False),)))
    'Burstable'
    """
    level = pod.pod if pod_level_set(pod.pod) else None
    if level is not None:
        return _resource_qos(level)
    return qos_class(_all(pod))


def pod_resource_config(containers: Iterable[Resources] | PodResources) -> ResourceConfig:
    """The pod cgroup's values (``ResourceConfigForPod``, pkg/kubelet/cm/helpers_linux.go),
    from the effective requests and limits (:func:`pod_requests`, :func:`pod_limits`):
    cpu.shares from the CPU request (2 for a BestEffort pod); for a Burstable pod the quota
    only when every container (and every init container with the sidecars before it) has a
    CPU limit, the memory limit only when each has a memory limit, or when the pod-level
    resources set one; a Guaranteed pod gets all three. Given a list of containers, they are
    a Pod's only containers, requests defaulted here.

    >>> both = [Resources(250, 500, 2**26, 2**26), Resources(None, None, 2**25, 2**25)]
    >>> pod_resource_config(both)
    ResourceConfig(memory=100663296, cpu_shares=256, cpu_quota=0, cpu_period=100000)
    >>> pod_resource_config([Resources()])
    ResourceConfig(memory=None, cpu_shares=2, cpu_quota=0, cpu_period=100000)
    >>> init = ((Resources(None, None, 2**29, 2**29), False),)
    >>> pod_resource_config(PodResources(tuple(default_requests(c) for c in both), init))
    ResourceConfig(memory=536870912, cpu_shares=256, cpu_quota=0, cpu_period=100000)
    """
    if not isinstance(containers, PodResources):
        containers = PodResources(tuple(default_requests(c) for c in containers))
    pod = containers
    qos = pod_qos_class(pod)
    if qos == "BestEffort":
        return ResourceConfig(cpu_shares=MIN_SHARES, cpu_quota=0)
    requests, limits = pod_requests(pod), pod_limits(pod)
    cpu_declared, memory_declared = _aggregate(pod, _limits)[1]
    level = pod.pod if pod_level_set(pod.pod) else None
    if level is not None and level.cpu_limit:
        cpu_declared = True
    if level is not None and level.memory_limit:
        memory_declared = True
    quota = milli_cpu_to_quota(limits.cpu_limit)
    if qos == "Guaranteed":
        return ResourceConfig(memory=limits.memory_limit or None,
                              cpu_shares=milli_cpu_to_shares(requests.cpu_request),
                              cpu_quota=quota)
    return ResourceConfig(memory=limits.memory_limit if memory_declared else None,
                          cpu_shares=milli_cpu_to_shares(requests.cpu_request),
                          cpu_quota=quota if cpu_declared else 0)


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


def linux_container_resources(resources: Resources, qos: str, node: NodeFacts, *,
                              pod: Resources | None = None,
                              oom: int | None = None) -> LinuxContainerResources:
    """A container's resources as the kubelet sends them to the runtime
    (``generateLinuxContainerResources``, pkg/kubelet/kuberuntime/
    kuberuntime_container_linux.go): the cgroup values of :func:`container_resources`, the
    OOM score, no swap (``ConfigureNoSwap``: on cgroup v1 memory+swap equal to the memory
    limit where the swap controller exists, on v2 ``memory.swap.max`` 0), a hugepage limit
    of 0 for every page size the node has (``GetHugepageLimitsFromResources``), and on
    cgroup v2 ``memory.oom.group`` 1 (the whole container is OOM-killed, the kubelet's
    default since 1.32: singleProcessOOMKill false). ``pod`` is the Pod's pod-level
    resources, whose limits a container without its own takes (:func:`container_resources`);
    ``oom`` the score :func:`oom_score_adjs` gives it in its Pod (else this container's alone).

    >>> node = NodeFacts(8 * 2**30, 1, True, ("2MB",))
    >>> got = linux_container_resources(Resources(250, 500, 2**26, 2**26), "Guaranteed", node)
    >>> got.oom_score_adj, got.memory_swap_limit, got.hugepage_limits, got.unified
    (-997, 67108864, (('2MB', 0),), ())
    >>> v2 = NodeFacts(8 * 2**30, 2, True)
    >>> linux_container_resources(Resources(), "BestEffort", v2).unified
    (('memory.oom.group', '1'), ('memory.swap.max', '0'))
    """
    config = container_resources(resources, pod)
    swap = 0
    unified: list[tuple[str, str]] = []
    if node.cgroup_version == 2:
        unified.append(("memory.oom.group", "1"))
        if node.swap_controller:
            unified.append(("memory.swap.max", "0"))
    elif node.swap_controller and config.memory:
        swap = config.memory
    if oom is None:
        oom = oom_score_adj(qos, resources.memory_request, node.memory_capacity)
    return LinuxContainerResources(
        config, oom, swap,
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


def oom_score_adjs(pod: PodResources, qos: str,
                   memory_capacity: int) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """The OOM score adjustment the kubelet asks for every container of a Pod
    (``GetContainerOOMScoreAdjust``, pkg/kubelet/qos/policy.go): the containers', the init
    containers', and what an ephemeral container (no request) gets. Guaranteed -997,
    BestEffort 1000; Burstable from each one's memory request (:func:`oom_score_adj`), with
    two newer rules: a pod-level memory request not claimed by the containers' requests is
    shared out evenly over the containers and init containers (KEP-2837, PodLevelResources);
    and a sidecar never gets a higher score than the regular container with the smallest
    request would (KEP-753, so it is not killed before the app it serves).

    >>> gib, app, logs = 2**30, Resources(None, None, 2**30, 2**30), Resources(None, None, 0)
    >>> oom_score_adjs(PodResources((app,), ((logs, True),)), "Burstable", 8 * gib)
    ((875,), (875,), 999)
    >>> oom_score_adjs(PodResources((Resources(),) * 2, pod=Resources(None, None, gib, None)),
    ...                "Burstable", 8 * gib)
    ((938, 938), (), 938)
    """
    if qos in ("Guaranteed", "BestEffort"):
        one = oom_score_adj(qos, None, memory_capacity)
        return (tuple(one for _ in pod.containers), tuple(one for _ in pod.init), one)
    remaining = 0
    level = pod.pod if pod_level_set(pod.pod) else None
    requests_at_pod_level = level is not None and (
        level.cpu_request is not None or level.memory_request is not None)
    if requests_at_pod_level and level is not None and level.memory_request:
        claimed = aggregate_requests(pod)[1]
        remaining = (level.memory_request - claimed) // (len(pod.containers) + len(pod.init))

    def raw(request: int | None) -> int:
        return 1000 - (1000 * ((request or 0) + remaining)) // memory_capacity

    def clamp(adjust: int) -> int:
        if adjust < 1000 + GUARANTEED_OOM_SCORE_ADJ:
            return 1000 + GUARANTEED_OOM_SCORE_ADJ
        return adjust - 1 if adjust == BESTEFFORT_OOM_SCORE_ADJ else adjust

    smallest = min((c.memory_request or 0 for c in pod.containers), default=0)
    floor = raw(smallest)  # the score of the regular container that asks for least
    inits = tuple(clamp(min(raw(c.memory_request), floor) if sidecar else raw(c.memory_request))
                  for c, sidecar in pod.init)
    return (tuple(clamp(raw(c.memory_request)) for c in pod.containers), inits,
            clamp(raw(None)))


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
