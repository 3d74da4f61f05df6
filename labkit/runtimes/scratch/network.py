"""A pod from scratch's network, plumbed by hand the way CNI's bridge plugin plumbs a CRI
pod's (labkit's containerd runs it with ``isGateway: false`` and ``ipMasq: false``): a
bridge of the session's own, a veth pair per pod with one end in the pod's network
namespace as ``eth0`` and an address of the bridge's subnet, the other end a port of the
bridge; no address on the bridge, no default route, no NAT.

The session's bridge is ``lk<id>s``, its subnet a /24 of 10.234.0.0/16 that no route of
this machine covers, and each pod's host end ``lk<id>v<n>``; with the bridge comes the one
firewall rule the session needs (:mod:`labkit.node.firewall`). Each step is a
:class:`~labkit.plan.Command` of ``ip`` or ``iptables``, executed by labkit and printed by
``pod.commands()`` as a learner types it (``$PAUSE`` is pause's host PID).

>>> from labkit.plan import Plan
>>> net = SessionNetwork("0badcafe", "10.234.7.0/24")
>>> print("\\n".join(Plan(bridge_steps(net)).lines()))
ip link add name lk0badcafes type bridge
ip link set lk0badcafes up
iptables -I FORWARD -i lk0badcafes -o lk0badcafes -m comment --comment lk-0badcafe-pods -j ACCEPT
>>> print("\\n".join(Plan(pod_steps(net, net.assign("web"))).lines()))
ip link add lk0badcafev1 type veth peer name lk0badcafee1
ip link set lk0badcafee1 netns $PAUSE
nsenter --target $PAUSE --net ip link set lk0badcafee1 name eth0
nsenter --target $PAUSE --net ip addr add 10.234.7.2/24 dev eth0
nsenter --target $PAUSE --net ip link set eth0 up
ip link set lk0badcafev1 master lk0badcafes
ip link set lk0badcafev1 up
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
from dataclasses import dataclass, field

from ...errors import LabError
from ...node import firewall
from ...node.network import POOLS, delete_link, free_subnet, used_networks
from ...plan import Command

POOL = POOLS["scratch"]  # a /24 of it per session


@dataclass(frozen=True)
class Plumbing:
    """One pod's part of the network: its veth pair and its address."""

    host: str  # the end that stays on the node, a port of the bridge: lk<id>v<n>
    temporary: str  # the pod's end until it is renamed eth0 in the pod: lk<id>e<n>
    address: str  # with its prefix: 10.234.7.2/24


@dataclass
class SessionNetwork:
    """A session's bridge for pods from scratch, its subnet, and who uses it."""

    session_id: str
    subnet: str
    pods: dict[str, Plumbing] = field(default_factory=dict)  # pod name -> its plumbing
    numbered: int = 0  # veth pairs named so far
    next_host: int = 2  # the next address's host part (.1 left for a gateway, as host-local)

    @property
    def bridge(self) -> str:
        return f"lk{self.session_id}s"

    def assign(self, pod: str) -> Plumbing:
        """The pod's veth names and address (the same on every call for one pod)."""
        if pod not in self.pods:
            network = ipaddress.ip_network(self.subnet)
            if self.next_host >= network.num_addresses - 1:
                raise LabError(f"The session's bridge {self.bridge} has no address left in "
                               f"{self.subnet}: delete a pod from scratch first.")
            self.numbered += 1
            address = f"{network.network_address + self.next_host}/{network.prefixlen}"
            self.next_host += 1
            self.pods[pod] = Plumbing(f"lk{self.session_id}v{self.numbered}",
                                      f"lk{self.session_id}e{self.numbered}", address)
        return self.pods[pod]

    def exists(self) -> bool:
        return os.path.exists(f"/sys/class/net/{self.bridge}")


_networks: dict[str, SessionNetwork] = {}


def of(session_id: str) -> SessionNetwork:
    """The session's network, its subnet chosen on first use."""
    if session_id not in _networks:
        _networks[session_id] = SessionNetwork(session_id,
                                               free_subnet(session_id, used_networks(), POOL))
    return _networks[session_id]


def existing(session_id: str) -> SessionNetwork | None:
    """The session's network, if one of its pods has used it."""
    return _networks.get(session_id)


def bridge_steps(network: SessionNetwork) -> list[Command]:
    """The bridge, up, and the session's rule that lets its ports reach each other."""
    bridge = network.bridge
    return [Command(("ip", "link", "add", "name", bridge, "type", "bridge")),
            Command(("ip", "link", "set", bridge, "up")),
            Command(firewall.forward_rule(bridge, network.session_id))]


def pod_steps(network: SessionNetwork, plumbing: Plumbing, pause: str = "$PAUSE") -> list[Command]:
    """One pod's veth pair: made on the node, one end moved into pause's network namespace
    and renamed eth0 there, given its address and brought up; the other end plugged into
    the bridge and brought up."""
    host, pod_end = plumbing.host, plumbing.temporary
    inside = ("nsenter", "--target", pause, "--net")
    return [Command(("ip", "link", "add", host, "type", "veth", "peer", "name", pod_end)),
            Command(("ip", "link", "set", pod_end, "netns", pause)),
            Command((*inside, "ip", "link", "set", pod_end, "name", "eth0")),
            Command((*inside, "ip", "addr", "add", plumbing.address, "dev", "eth0")),
            Command((*inside, "ip", "link", "set", "eth0", "up")),
            Command(("ip", "link", "set", host, "master", network.bridge)),
            Command(("ip", "link", "set", host, "up"))]


def needs_rule(network: SessionNetwork) -> bool:
    """Whether the session's rule for its bridge is missing from the FORWARD chain."""
    rule = firewall.forward_rule(network.bridge, network.session_id)
    return not any(f"-i {rule[4]} -o {rule[6]} " in line
                   for line in firewall.session_rules(network.session_id))


def steps_for(network: SessionNetwork, pod: str, pause: str = "$PAUSE") -> list[Command]:
    """Everything it takes now to give ``pod`` its eth0: the bridge and the rule where they
    are missing, then the pod's veth pair."""
    steps = []
    if not network.exists():
        steps += bridge_steps(network)
    elif needs_rule(network):
        steps.append(bridge_steps(network)[2])
    return steps + pod_steps(network, network.assign(pod), pause)


def execute(steps: list[Command], values: dict[str, str]) -> None:
    """Run the steps in order, ``$PAUSE`` and the like written out."""
    for step in steps:
        argv = step.with_values(values)
        if argv[0] == "iptables":
            firewall.run(argv)
            continue
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise LabError(f"`{' '.join(argv)}` failed: "
                           f"{said[-1] if said else f'exit code {done.returncode}'}.")


def remove_bridge(network: SessionNetwork) -> None:
    """The session's rule for its bridge, and the bridge (its ports are let go)."""
    for rule in firewall.session_rules(network.session_id):
        if f"-i {network.bridge} " in rule:
            firewall.delete(rule)
    delete_link(network.bridge)


def let_go(network: SessionNetwork, pod: str) -> bool:
    """The pod no longer uses the bridge: its host end goes (if the kernel has not taken it
    with the pod's network namespace yet); True when no pod uses the bridge any more."""
    plumbing = network.pods.pop(pod, None)
    if plumbing is not None:
        deadline = time.monotonic() + 2  # a namespace's links go shortly after its last process
        while os.path.exists(f"/sys/class/net/{plumbing.host}") and time.monotonic() < deadline:
            time.sleep(0.02)
        delete_link(plumbing.host)
        delete_link(plumbing.temporary)
    return not network.pods
