"""What a learner node may send to this host: the hub's API, at a bounded rate, and nothing
else. The nodes' network already keeps them from each other (its bridge switches no
traffic between containers); this guards the host itself, whose other services a node
could otherwise reach at its gateway, and the hub, which a node flooding it with
connections would slow for the whole class.

One chain of the workshop's in iptables' filter table, jumped to from INPUT for what comes
in on the workshop's bridge (``lk-ws-<id>``, the network's own interface name):

>>> for rule in guard_rules("0badcafe", "172.23.0.1", 41234):
...     print(" ".join(rule))
-A LK-WS-0badcafe -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN
-A LK-WS-0badcafe -d 172.23.0.1 -p tcp --dport 41234 --syn -m connlimit --connlimit-above 32 \
--connlimit-mask 32 -j REJECT --reject-with tcp-reset
-A LK-WS-0badcafe -d 172.23.0.1 -p tcp --dport 41234 --syn -m hashlimit --hashlimit-upto \
20/sec --hashlimit-burst 40 --hashlimit-mode srcip --hashlimit-name lk-ws-0badcafe -j RETURN
-A LK-WS-0badcafe -j DROP

A node opens a handful of connections to the hub a minute (its server's activity and
token checks); 20 new ones a second, 40 at once, and 32 open are room to spare, and a
flood beyond them is dropped at the host's door. The limits are kept per source address:
a node's root could send from addresses not its own (the nodes share one bridge), so they
bound a flood, not a learner who forges addresses. What passes goes on through INPUT (a
RETURN): a host whose INPUT policy is DROP (ufw, firewalld) must allow the hub's port
there itself. The bridge gets no IPv6 address, so nothing of the host answers a node
there either.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ..errors import LabError
from .settings import Workshop

HUB_CONNECTIONS = 32
"""The most connections one node may hold open to the hub."""
HUB_NEW_PER_S = 20
HUB_BURST = 40


def chain(workshop_id: str) -> str:
    return f"LK-WS-{workshop_id}"


def bridge(workshop_id: str) -> str:
    """The workshop network's interface on this host (15 characters at most, as Linux asks)."""
    return f"lk-ws-{workshop_id}"


def guard_rules(workshop_id: str, hub_ip: str, hub_port: int) -> list[tuple[str, ...]]:
    """The chain's rules, in order, as ``iptables`` arguments."""
    name, port = chain(workshop_id), str(hub_port)
    return [
        ("-A", name, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"),
        ("-A", name, "-d", hub_ip, "-p", "tcp", "--dport", port, "--syn", "-m", "connlimit",
         "--connlimit-above", str(HUB_CONNECTIONS), "--connlimit-mask", "32", "-j", "REJECT",
         "--reject-with", "tcp-reset"),
        ("-A", name, "-d", hub_ip, "-p", "tcp", "--dport", port, "--syn", "-m", "hashlimit",
         "--hashlimit-upto", f"{HUB_NEW_PER_S}/sec", "--hashlimit-burst", str(HUB_BURST),
         "--hashlimit-mode", "srcip", "--hashlimit-name", f"lk-ws-{workshop_id}", "-j",
         "RETURN"),
        ("-A", name, "-j", "DROP"),
    ]


def _iptables(*args: str) -> subprocess.CompletedProcess:
    # -w: wait for the xtables lock (dockerd takes it as nodes come and go)
    return subprocess.run(["iptables", "-w", "10", *args], capture_output=True, text=True,
                          timeout=30)


def install(workshop: Workshop) -> None:
    """Put the guard in place (before any node starts); one sentence if iptables refuses."""
    remove(workshop)
    name = chain(workshop.id)
    no_ipv6 = Path(f"/proc/sys/net/ipv6/conf/{bridge(workshop.id)}/disable_ipv6")
    if no_ipv6.exists():
        no_ipv6.write_text("1\n")
    for rule in [("-N", name), *guard_rules(workshop.id, workshop.hub_ip, workshop.hub_port),
                 ("-I", "INPUT", "-i", bridge(workshop.id), "-j", name)]:
        done = _iptables(*rule)
        if done.returncode != 0:
            remove(workshop)
            raise LabError(f"iptables refused the workshop's guard ({done.stderr.strip()}): "
                           "the nodes' network needs iptables' conntrack, connlimit and "
                           "hashlimit matches (Debian's kernel has them).")


def remove(workshop: Workshop) -> None:
    """Take the guard away (``down``); nothing when it is not there."""
    name = chain(workshop.id)
    while _iptables("-D", "INPUT", "-i", bridge(workshop.id), "-j", name).returncode == 0:
        pass
    if _iptables("-F", name).returncode == 0:
        _iptables("-X", name)


def installed(workshop_id: str) -> bool:
    return _iptables("-S", chain(workshop_id)).returncode == 0
