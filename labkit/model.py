"""The observation model: plain data that flows from the node reader to the views.

An :class:`Observation` is what the kernel said about a set of processes at one
moment. It has a stable JSON form (:meth:`Observation.to_json`), so it can be
recorded on a machine with an engine and replayed where there is none.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

NAMESPACE_TYPES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")
"""The eight namespace types of a Linux 5.6+ kernel, as named in /proc/<pid>/ns."""


@dataclass(frozen=True)
class Limits:
    """What a cgroup allows; None means no limit (or the controller is absent)."""

    memory_bytes: int | None = None
    cpu_quota_us: int | None = None
    cpu_period_us: int | None = None
    cpu_shares: int | None = None  # cgroup v1
    cpu_weight: int | None = None  # cgroup v2
    pids_max: int | None = None

    @property
    def cpus(self) -> float | None:
        """The CPU quota as a number of cores (quota / period)."""
        if self.cpu_quota_us is None or not self.cpu_period_us:
            return None
        return self.cpu_quota_us / self.cpu_period_us


@dataclass(frozen=True)
class Usage:
    """What a cgroup has used, and how often the kernel pushed back."""

    memory_bytes: int | None = None
    memory_inactive_file_bytes: int | None = None  # file cache the kernel reclaims first
    memory_peak_bytes: int | None = None
    memory_failcnt: int | None = None  # v1: times the limit was hit
    memory_max_events: int | None = None  # v2: memory.events "max"
    oom_kills: int | None = None
    cpu_usage_ns: int | None = None
    cpu_periods: int | None = None
    cpu_throttled_periods: int | None = None
    cpu_throttled_ns: int | None = None
    pids_current: int | None = None

    @property
    def memory_working_set_bytes(self) -> int | None:
        """Memory in use less the inactive file cache, which the kernel reclaims before it
        OOM-kills: the figure the kubelet (through cAdvisor) watches for eviction
        (Kubernetes' own sketch of it: kubernetes.io/examples/admin/resource/memory-available.sh).

        >>> Usage(memory_bytes=900, memory_inactive_file_bytes=600).memory_working_set_bytes
        300
        >>> Usage(memory_bytes=900).memory_working_set_bytes
        900
        """
        if self.memory_bytes is None:
            return None
        return max(0, self.memory_bytes - (self.memory_inactive_file_bytes or 0))


@dataclass(frozen=True)
class CgroupState:
    """One cgroup's limits and usage, gathered across the hierarchies that hold them."""

    path: str
    limits: Limits = field(default_factory=Limits)
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class Member:
    """What a runtime reports about one running container: enough to find it on the node."""

    name: str
    pid: int
    runtime_id: str = ""
    role: str = "container"  # "container", "sandbox", "app", "sidecar", ...
    asked: Limits = field(default_factory=Limits)  # the limits the learner asked for


@dataclass(frozen=True)
class ExecResult:
    """What a command run inside a container returned."""

    exit_code: int
    output: str

    def __str__(self) -> str:
        return self.output


@dataclass(frozen=True)
class MemberObservation:
    """The kernel's view of one member: namespaces, cgroups, limits and usage."""

    member: Member
    namespaces: dict[str, int]  # type -> inode
    cgroups: dict[str, str]  # hierarchy ("memory", "cpu,cpuacct", "unified", ...) -> path
    state: CgroupState
    hostname: str | None = None

    @property
    def cgroup(self) -> str:
        """Its cgroup: the path in the memory hierarchy on cgroup v1, the one path on v2."""
        return self.state.path

    @property
    def name(self) -> str:
        return self.member.name


@dataclass(frozen=True)
class CgroupNode:
    """A cgroup in a walked subtree, with its state and children."""

    name: str
    path: str
    state: CgroupState
    children: tuple[CgroupNode, ...] = ()

    def find(self, path: str) -> CgroupNode | None:
        if self.path == path:
            return self
        for child in self.children:
            found = child.find(path)
            if found is not None:
                return found
        return None

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Observation:
    """Everything read from the node at one moment."""

    members: tuple[MemberObservation, ...]
    host_namespaces: dict[str, int]
    cgroup_version: int
    gatherer: str  # "direct" or "helper"
    engine: str = ""
    trees: tuple[CgroupNode, ...] = ()  # walked subtrees, if asked for
    taken_at: float = 0.0

    def member(self, name: str) -> MemberObservation:
        for observed in self.members:
            if observed.name == name:
                return observed
        names = ", ".join(m.name for m in self.members)
        raise KeyError(f"no member named {name!r} in this observation (it has: {names})")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observation:
        return _build(cls, data)

    @classmethod
    def from_json(cls, text: str) -> Observation:
        return cls.from_dict(json.loads(text))


# -- a network namespace, as `ip -j` lists it (chapter 7) -------------------------------------

@dataclass(frozen=True)
class Address:
    """One address of an interface, as ``ip -j addr`` lists it."""

    family: str  # "inet" (IPv4) or "inet6"
    local: str  # 10.233.7.2
    prefixlen: int
    scope: str = "global"  # "global", "host" (loopback's), "link" (IPv6 link-local)

    def __str__(self) -> str:
        return f"{self.local}/{self.prefixlen}"


@dataclass(frozen=True)
class Link:
    """One network interface of a namespace: ``ip -j -d addr`` of it."""

    name: str
    ifindex: int
    kind: str  # "loopback", "veth", "bridge", "ether" (a real or virtual NIC), "dummy", ...
    up: bool  # administratively up (the UP flag)
    operstate: str = ""  # UP, DOWN, UNKNOWN (loopback), LOWERLAYERDOWN
    mtu: int = 0
    peer_ifindex: int | None = None  # a veth's peer: its ifindex (iflink), in peer's namespace
    master: str | None = None  # the bridge this interface is a port of
    addresses: tuple[Address, ...] = ()

    def ipv4(self) -> tuple[Address, ...]:
        return tuple(a for a in self.addresses if a.family == "inet")


@dataclass(frozen=True)
class Route:
    """One route of the main table, as ``ip -j route`` lists it."""

    destination: str  # "default", or a network ("10.233.7.0/24")
    device: str
    gateway: str | None = None
    protocol: str = ""  # "kernel" (made by the kernel for an address), "boot" (ip route add)
    scope: str = ""  # "link" (on the wire, no gateway), "global"
    source: str | None = None  # the preferred source address

    def __str__(self) -> str:
        via = f" via {self.gateway}" if self.gateway else ""
        return f"{self.destination}{via} dev {self.device}"


@dataclass(frozen=True)
class NetworkNamespace:
    """What the kernel says of one process's network namespace: its interfaces, their
    addresses and routes, where the namespace is kept, and for each veth its peer on the
    node (the namespace labkit reads from), with the bridge that peer is a port of."""

    owner: str  # "pod foo (on labkit's containerd): pause", as labkit names the process
    pid: int
    inode: int  # net:[inode]
    is_node: bool  # the node's own network namespace (the one labkit reads from)
    pinned_at: tuple[str, ...] = ()  # bind mounts of the namespace (nsfs), e.g. containerd's
    links: tuple[Link, ...] = ()
    routes: tuple[Route, ...] = ()
    peers: dict[str, Link] = field(default_factory=dict)  # link name -> its peer on the node
    bridges: dict[str, Link] = field(default_factory=dict)  # bridge name -> the bridge
    reported_ip: str | None = None  # what the runtime reports as the Pod's IP ("" for none)

    def link(self, name: str) -> Link:
        for link in self.links:
            if link.name == name:
                return link
        raise KeyError(f"no interface {name!r} in this network namespace (it has: "
                       f"{', '.join(link.name for link in self.links)})")

    @property
    def ip(self) -> str | None:
        """The Pod's IP: the first IPv4 address of an interface other than lo."""
        for link in self.links:
            if link.kind != "loopback":
                for address in link.ipv4():
                    return address.local
        return None


@dataclass(frozen=True)
class CniState:
    """labkit's containerd's CNI network, as the files say: the configuration containerd
    loads, and the addresses its IPAM plugin (host-local) has handed out."""

    plugins_version: str  # of the CNI plugins in /usr/lib/cni (the package's)
    config: dict[str, Any]  # the network configuration list (.conflist), as JSON
    ipam_directory: str  # where host-local keeps one file per address it handed out
    leases: tuple[str, ...] = ()  # the addresses handed out and not released
    last_reserved: str | None = None  # the last one it handed out (last_reserved_ip.0)

    @property
    def bridge(self) -> dict[str, Any]:
        """The bridge plugin's entry of the configuration."""
        return next(p for p in self.config.get("plugins", ()) if p.get("type") == "bridge")

    @property
    def subnet(self) -> str:
        return self.bridge["ipam"]["ranges"][0][0]["subnet"]


@dataclass(frozen=True)
class Forwarding:
    """What decides whether frames between two ports of a bridge get through on this node."""

    bridge: str
    policy: str  # the policy of iptables' FORWARD chain (filter table): ACCEPT or DROP
    bridged_through_iptables: bool | None  # net.bridge.bridge-nf-call-iptables (None: no
    # br_netfilter loaded, so bridged frames never pass iptables)
    rules: tuple[str, ...] = ()  # FORWARD rules that name this bridge, as iptables -S prints
    iptables: str = ""  # iptables' version, with its backend: "1.8.9 (nf_tables)"


_NESTED = {
    ("Observation", "members"): "MemberObservation",
    ("Observation", "trees"): "CgroupNode",
    ("CgroupNode", "children"): "CgroupNode",
    ("CgroupNode", "state"): "CgroupState",
    ("MemberObservation", "member"): "Member",
    ("MemberObservation", "state"): "CgroupState",
    ("Member", "asked"): "Limits",
    ("CgroupState", "limits"): "Limits",
    ("CgroupState", "usage"): "Usage",
}


def _build(cls, data: dict[str, Any]):
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        nested = _NESTED.get((cls.__name__, f.name))
        if nested is not None:
            target = globals()[nested]
            if isinstance(value, list):
                value = tuple(_build(target, item) for item in value)
            else:
                value = _build(target, value)
        kwargs[f.name] = value
    return cls(**kwargs)
