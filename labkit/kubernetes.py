"""What the kubelet computes from a Pod, computed once here for every kind of pod.

Each runtime translates these neutral answers into its own terms: the CRI pod into
``NamespaceMode`` numbers and ``LinuxContainerResources``, the Docker pod into
``--network``/``--ipc``/``--pid`` modes and ``--cpu-shares``.

>>> namespace_modes(host_network=True)
NamespaceModes(net='node', ipc='pod', pid='container', uts='node')
>>> cpu_shares(0.25), cfs_quota(0.5)
(256, 50000)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .spec import PodContainer

Mode = Literal["pod", "container", "node"]
"""Whose namespace a container is in: the pod's (the sandbox holds it), its own, the node's."""

CFS_PERIOD_US = 100_000  # the CFS period Docker and the kubelet use
SHARES_PER_CPU = 1024
MIN_SHARES = 2


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
    ``shareProcessNamespace``: net, ipc and uts are the pod's unless on the node (uts
    follows the network), pid is each container's own unless shared or the node's.

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


def requests(container: PodContainer) -> tuple[int | None, float | None]:
    """A container's memory and CPU requests; a request not given is its limit.

    >>> from labkit.spec import ContainerSpec, PodContainer
    >>> requests(PodContainer(ContainerSpec("app", "nginx", memory_bytes=64, cpus=0.5),
    ...                       requests_cpus=0.25))
    (64, 0.25)
    """
    return (container.requests_memory or container.spec.memory_bytes,
            container.requests_cpus or container.spec.cpus)


def qos_class(containers: Iterable[PodContainer]) -> str:
    """Guaranteed, Burstable or BestEffort, as the kubelet classes a Pod's containers.

    >>> from labkit.spec import ContainerSpec, PodContainer
    >>> qos_class([PodContainer(ContainerSpec("app", "nginx"))])
    'BestEffort'
    >>> qos_class([PodContainer(ContainerSpec("app", "nginx", memory_bytes=64 * 2**20))])
    'Burstable'
    >>> qos_class([PodContainer(ContainerSpec("app", "nginx", memory_bytes=64, cpus=0.25))])
    'Guaranteed'
    """
    containers = list(containers)
    limits = [(c.spec.memory_bytes, c.spec.cpus) for c in containers]
    asked = [requests(c) for c in containers]
    if all(m is None and cpu is None for m, cpu in limits + asked):
        return "BestEffort"
    if all(m is not None and cpu is not None for m, cpu in limits) and asked == limits:
        return "Guaranteed"
    return "Burstable"


def cpu_shares(cores: float | None) -> int:
    """cpu.shares for a CPU request in cores: 1024 per core, at least 2.

    >>> cpu_shares(0.25), cpu_shares(None), cpu_shares(0.001)
    (256, 2, 2)
    """
    return max(MIN_SHARES, round((cores or 0) * SHARES_PER_CPU))


def cpu_weight(shares: int | None) -> int | None:
    """cgroup v2's cpu.weight (1..10000) for cpu.shares (2..262144), as runc converts the
    shares the kubelet asks for.

    >>> cpu_weight(1024), cpu_weight(2), cpu_weight(None)
    (39, 1, None)
    """
    if shares is None:
        return None
    return 1 + ((shares - 2) * 9999) // 262142


def cfs_quota(cores: float | None) -> int | None:
    """The CFS quota in microseconds per period of ``CFS_PERIOD_US`` for a CPU limit in
    cores; None for no limit.

    >>> cfs_quota(0.5), cfs_quota(2), cfs_quota(None)
    (50000, 200000, None)
    """
    return round(cores * CFS_PERIOD_US) if cores else None


def oom_score_adj(qos: str, memory_request: int | None, memory_capacity: int) -> int:
    """The kubelet's OOM score adjustment for a container of a Pod of this QoS class.

    >>> oom_score_adj("Guaranteed", 64 * 2**20, 8 * 2**30)
    -997
    >>> oom_score_adj("Burstable", 2 * 2**30, 8 * 2**30)
    750
    >>> oom_score_adj("BestEffort", None, 8 * 2**30)
    1000
    """
    if qos == "Guaranteed":
        return -997
    if qos == "BestEffort":
        return 1000
    return min(999, max(2, 1000 - (1000 * (memory_request or 0)) // memory_capacity))
