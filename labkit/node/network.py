"""A network namespace as data: its interfaces, addresses and routes, where it is kept, and
each veth's peer on the node with the bridge that peer is a port of.

What iproute2 prints as JSON is parsed by pure functions (``parse_links``,
``parse_routes``, ``pinned``, ``peer_of``); the gathering around them is thin: ``ip -j``
run in the process's network namespace (``nsenter --target PID --net``) and on the node,
and ``/proc/self/mountinfo``. Reading another process's network namespace needs root.

>>> links = parse_links('[{"ifindex": 2, "ifname": "eth0", "flags": ["UP"], '
...     '"operstate": "UP", "link_index": 2653, "link_type": "ether", '
...     '"linkinfo": {"info_kind": "veth"}, "addr_info": [{"family": "inet", '
...     '"local": "10.233.7.2", "prefixlen": 24, "scope": "global"}]}]')
>>> links[0].kind, links[0].peer_ifindex, str(links[0].addresses[0])
('veth', 2653, '10.233.7.2/24')
>>> str(parse_routes('[{"dst": "10.233.7.0/24", "dev": "eth0", "protocol": "kernel", '
...                  '"scope": "link", "prefsrc": "10.233.7.2"}]')[0])
'10.233.7.0/24 dev eth0'
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence

from ..errors import LabError
from ..model import Address, CniState, Link, NetworkNamespace, Route

Run = Callable[[Sequence[str]], str]
LAB_LINK_RE = re.compile(r"lk(?P<session>[0-9a-f]{8})[a-z0-9]*")
"""The links a lab session names (its containerd's bridge ``lk<id>``, the bridge and veths
of its pods from scratch, ``lk<id>s``, ``lk<id>v1``): ``lk`` and the session's id."""


# -- pure: iproute2's JSON to data ---------------------------------------------------------

def parse_links(text: str) -> tuple[Link, ...]:
    """``ip -j -d addr`` (or ``ip -j -d link``) -> the interfaces, in ifindex order."""
    found = []
    for item in json.loads(text or "[]"):
        info = item.get("linkinfo") or {}
        kind = info.get("info_kind") or item.get("link_type") or "?"
        addresses = tuple(
            Address(a.get("family", ""), a.get("local", ""), int(a.get("prefixlen", 0)),
                    a.get("scope", ""))
            for a in item.get("addr_info") or () if a.get("local"))
        found.append(Link(
            name=item["ifname"], ifindex=int(item["ifindex"]), kind=kind,
            up="UP" in (item.get("flags") or ()), operstate=item.get("operstate", ""),
            mtu=int(item.get("mtu") or 0),
            peer_ifindex=int(item["link_index"]) if kind == "veth" and "link_index" in item
            else None,
            master=item.get("master"), addresses=addresses))
    return tuple(sorted(found, key=lambda link: link.ifindex))


def parse_routes(text: str) -> tuple[Route, ...]:
    """``ip -j route`` (the main table) -> its routes, as listed."""
    return tuple(Route(destination=item.get("dst", ""), device=item.get("dev", ""),
                       gateway=item.get("gateway"), protocol=item.get("protocol", ""),
                       scope=item.get("scope", ""), source=item.get("prefsrc"))
                 for item in json.loads(text or "[]"))


def pinned(inode: int, mountinfo: str) -> tuple[str, ...]:
    """The mount points where network namespace ``inode`` is bind-mounted (an nsfs mount
    whose root is ``net:[inode]``), as /proc/self/mountinfo lists them.

    >>> pinned(4026532246, "75 27 0:4 net:[4026532246] /run/netns/cni-1 rw - nsfs nsfs rw\\n"
    ...        "76 27 0:4 net:[4026532999] /run/netns/cni-2 rw - nsfs nsfs rw")
    ('/run/netns/cni-1',)
    """
    found = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[3] == f"net:[{inode}]" and " - nsfs " in line:
            found.append(fields[4].replace("\\040", " "))
    return tuple(found)


def peer_of(link: Link, node_links: Iterable[Link]) -> Link | None:
    """A veth's peer among the node's interfaces: the veth whose ifindex is this link's
    peer index (its iflink) and whose own peer index is this link's ifindex. Both ways,
    because ifindexes are numbered per network namespace.

    >>> eth0 = Link("eth0", 2, "veth", True, peer_ifindex=2653)
    >>> node = [Link("ifb0", 2, "ifb", False),
    ...         Link("vethc1964709", 2653, "veth", True, peer_ifindex=2, master="lk12b11570")]
    >>> peer_of(eth0, node).master
    'lk12b11570'
    """
    if link.kind != "veth" or link.peer_ifindex is None:
        return None
    return next((other for other in node_links if other.kind == "veth"
                 and other.ifindex == link.peer_ifindex and other.peer_ifindex == link.ifindex),
                None)


def next_lease(subnet: str, leases: Iterable[str], last_reserved: str | None,
               released: Iterable[str] = ()) -> str | None:
    """The address host-local hands out next in a range that is a whole subnet (CNI
    plugins 1.1: from the address after the last one it handed out, round the range
    ``.1``–``.254`` of a /24 but the gateway ``.1``, skipping those still handed out);
    ``released`` counts as free (an address given back before the next ADD).

    >>> next_lease("10.233.7.0/24", ["10.233.7.2", "10.233.7.3"], "10.233.7.3")
    '10.233.7.4'
    >>> next_lease("10.233.7.0/24", ["10.233.7.2"], "10.233.7.2", released=["10.233.7.2"])
    '10.233.7.3'
    >>> next_lease("10.233.7.0/30", ["10.233.7.2"], "10.233.7.2", released=["10.233.7.2"])
    '10.233.7.2'
    """
    network = ipaddress.ip_network(subnet)
    first, last = network.network_address + 1, network.broadcast_address - 1
    gateway = first
    taken = {ipaddress.ip_address(a) for a in leases} - \
        {ipaddress.ip_address(a) for a in released}
    start = ipaddress.ip_address(last_reserved) if last_reserved else None
    if start is None or not first <= start <= last:
        candidates = [first + i for i in range(int(last) - int(first) + 1)]
    else:
        after = int(start) - int(first) + 1
        span = int(last) - int(first) + 1
        candidates = [first + (after + i) % span for i in range(span)]
    for candidate in candidates:
        if candidate != gateway and candidate not in taken:
            return str(candidate)
    return None


# -- gathering ---------------------------------------------------------------------------------

def _run(argv: Sequence[str]) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise LabError(f"`{' '.join(argv)}` failed: "
                       f"{said[-1] if said else f'exit code {done.returncode}'}.")
    return done.stdout


def _need_root() -> None:
    if os.geteuid() != 0:
        raise LabError("Reading a pod's network namespace runs ip in it with nsenter, which "
                       "needs root: open the lab as root (sudo ./lab up).")
    if shutil.which("ip") is None:
        raise LabError("This machine has no ip command: install iproute2 "
                       "(sudo apt-get install iproute2).")


def node_links(run: Run = _run) -> tuple[Link, ...]:
    """The interfaces of the node's network namespace (the one labkit reads from)."""
    return parse_links(run(["ip", "-j", "-d", "addr"]))


def net_inode(pid: int | str) -> int:
    """The inode of a process's network namespace (``readlink /proc/<pid>/ns/net``)."""
    try:
        target = os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        raise LabError(f"The kernel has no process {pid} here (it has exited): read the "
                       "network of a pod while its members run.") from None
    return int(target.split("[")[1].rstrip("]"))


def read_namespace(pid: int, owner: str, reported_ip: str | None = None,
                   run: Run = _run) -> NetworkNamespace:
    """Process ``pid``'s network namespace: ``ip -j -d addr`` and ``ip -j route`` run in it
    (``nsenter --target PID --net``), each veth's peer found among the node's interfaces,
    and the bind mounts that keep the namespace."""
    _need_root()
    inode = net_inode(pid)
    is_node = inode == net_inode("self")
    enter = [] if is_node else ["nsenter", "--target", str(pid), "--net", "--"]
    links = parse_links(run([*enter, "ip", "-j", "-d", "addr"]))
    routes = parse_routes(run([*enter, "ip", "-j", "route"]))
    on_node = links if is_node else node_links(run)
    peers = {}
    bridges = {}
    by_name = {link.name: link for link in on_node}
    for link in links:
        peer = None if is_node else peer_of(link, on_node)
        if peer is not None:
            peers[link.name] = peer
            if peer.master and peer.master in by_name:
                bridges[peer.master] = by_name[peer.master]
    with open("/proc/self/mountinfo") as handle:
        kept = pinned(inode, handle.read())
    return NetworkNamespace(owner=owner, pid=pid, inode=inode, is_node=is_node,
                            pinned_at=kept, links=links, routes=routes, peers=peers,
                            bridges=bridges, reported_ip=reported_ip)


def lab_links(session: str | None = None, run: Run = _run) -> list[str]:
    """The node's interfaces that a lab session named (``lk<id>…``): of one session, or of
    any; bridges last, so that deleting in this order removes ports before their bridge."""
    if run is _run and shutil.which("ip") is None:
        return []  # no iproute2: nothing of a lab's network could have been made here
    found = []
    for link in node_links(run):
        match = LAB_LINK_RE.fullmatch(link.name)
        if match and (session is None or match["session"] == session):
            found.append(link)
    return [link.name for link in sorted(found, key=lambda link: link.kind == "bridge")]


POOLS = {"cri": "10.233.0.0/16", "scratch": "10.234.0.0/16", "podman": "10.235.0.0/16"}
"""Where each kind of the lab's bridges takes a session's /24: labkit's containerd's CNI
network, the pods from scratch's bridge, labkit's Podman's CNI network."""


def used_networks() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks this machine's routes cover (``ip -4 route``)."""
    done = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=False)
    found = []
    for line in done.stdout.splitlines():
        with contextlib.suppress(ValueError):
            found.append(ipaddress.ip_network(line.split()[0], strict=False))
    return found


def free_subnet(session_id: str, used: list[ipaddress.IPv4Network], pool: str) -> str:
    """A /24 of ``pool`` that no route of this machine covers, the first from one chosen by
    the session's id.

    >>> free_subnet("00000007", [ipaddress.ip_network("10.234.7.0/24")], "10.234.0.0/16")
    '10.234.8.0/24'
    """
    base = ipaddress.ip_network(pool)
    count = 2 ** (24 - base.prefixlen)
    start = int(session_id, 16) % count
    for offset in range(count):
        candidate = list(base.subnets(new_prefix=24))[(start + offset) % count]
        if not any(candidate.overlaps(u) for u in used if u.prefixlen > 0):
            return str(candidate)
    raise LabError(f"No free /24 in {pool} for the lab's bridge: remove a route in it or run "
                   "`labkit clean`.")


def delete_link(name: str) -> None:
    """``ip link delete NAME`` (a veth takes its peer with it); gone already is fine."""
    if os.path.exists(f"/sys/class/net/{name}"):
        subprocess.run(["ip", "link", "delete", name], capture_output=True, check=False,
                       timeout=30)


def plugins_version() -> str:
    """The version of the CNI plugins in /usr/lib/cni: Debian's package's, else what the
    bridge plugin says of itself ("unknown" in Debian's build)."""
    if shutil.which("dpkg-query"):
        done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                               "containernetworking-plugins"], capture_output=True, text=True,
                              check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip().split("+")[0]
    bridge = "/usr/lib/cni/bridge"
    if os.path.exists(bridge):
        done = subprocess.run([bridge], capture_output=True, text=True, check=False,
                              env={"PATH": "/usr/bin:/bin"})
        match = re.search(r"version (\S+)", done.stdout + done.stderr)
        if match:
            return match[1]
    return "unknown"


def read_cni(conf_dir: str) -> CniState:
    """labkit's containerd's CNI network from its files: the configuration list in
    ``conf_dir`` and host-local's directory (``ipam.dataDir``/the network's name)."""
    names = sorted(n for n in os.listdir(conf_dir) if n.endswith((".conflist", ".conf")))
    if not names:
        raise LabError(f"labkit's containerd has no CNI configuration in {conf_dir}: make a "
                       "pod with lab.cri_pod first (it starts the node).")
    with open(os.path.join(conf_dir, names[0])) as handle:
        config = json.load(handle)
    bridge = next(p for p in config["plugins"] if p.get("type") == "bridge")
    directory = os.path.join(bridge["ipam"].get("dataDir", "/var/lib/cni/networks"),
                             config["name"])
    leases, last = [], None
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            try:
                ipaddress.ip_address(name)
            except ValueError:
                continue
            leases.append(name)
        path = os.path.join(directory, "last_reserved_ip.0")
        if os.path.exists(path):
            with open(path) as handle:
                last = handle.read().strip() or None
    return CniState(plugins_version(), config, directory,
                    tuple(sorted(leases, key=ipaddress.ip_address)), last)
