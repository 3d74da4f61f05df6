"""A network namespace as text and as a table: interfaces, addresses, routes, where the
namespace is kept, and each veth's peer on the node with its bridge. Labels, not ifindexes
(those are numbered per namespace and differ from run to run).

>>> from labkit.model import Address, Link, NetworkNamespace, Route
>>> eth0 = Link("eth0", 2, "veth", True, "UP", 1500, 9,
...             addresses=(Address("inet", "10.233.7.2", 24),))
>>> net = NetworkNamespace("pod foo (on labkit's containerd): pause", 42, 4026532246, False,
...     ("/run/netns/cni-1",), (Link("lo", 1, "loopback", True, "UNKNOWN", 65536), eth0),
...     (Route("10.233.7.0/24", "eth0", protocol="kernel", scope="link"),),
...     {"eth0": Link("veth1", 9, "veth", True, "UP", 1500, 2, "lk0badcafe")},
...     {"lk0badcafe": Link("lk0badcafe", 8, "bridge", True, "UP", 1500)}, "10.233.7.2")
>>> print(network_text(net))
pod foo (on labkit's containerd): pause · network namespace net:[4026532246]
kept by a bind mount at /run/netns/cni-1
interfaces:
  lo    loopback  UP  no address
  eth0  veth      UP  10.233.7.2/24
        ⇄ its peer on the node: veth1, a port of bridge lk0badcafe (no IPv4 address)
IPv4 routes:
  10.233.7.0/24 dev eth0 (the kernel's, for eth0's address)
  no default route
the runtime reports the Pod's IP as 10.233.7.2
"""

from __future__ import annotations

from ..model import Address, Link, NetworkNamespace, Route


def address_text(address: Address) -> str:
    """``10.233.7.2/24``; an IPv6 link-local one as ``fe80::…/64 (link-local)`` (it is made
    from the interface's random MAC address)."""
    if address.family == "inet6" and address.scope == "link":
        return f"fe80::…/{address.prefixlen} (link-local)"
    return str(address)


def _addresses(link: Link) -> str:
    return ", ".join(address_text(a) for a in link.addresses) or "no address"


def _state(link: Link) -> str:
    return "UP" if link.up else "DOWN"


def bridge_text(bridge: Link | None, name: str) -> str:
    """``bridge lk0badcafe (no IPv4 address)``, ``bridge docker0 (172.17.0.1/16)``: its IPv4
    addresses only (a bridge with a port up has an IPv6 link-local one as well)."""
    if bridge is None:
        return f"bridge {name}"
    own = ", ".join(str(a) for a in bridge.ipv4())
    return f"bridge {name} ({own or 'no IPv4 address'})"


def route_text(route: Route) -> str:
    """A route, and who made it where that is plain from the route itself."""
    if route.destination == "default":
        return f"{route} (the default route)"
    if route.protocol == "kernel" and route.scope == "link":
        return f"{route} (the kernel's, for {route.device}'s address)"
    return str(route)


def kept_by(net: NetworkNamespace) -> str:
    """Where the namespace is pinned, each path once: with mount propagation a bind mount
    can show more than once in mountinfo at the same path (Podman's under /run/netns does
    on the cgroup v2 guest, a systemd host).

    >>> from labkit.model import NetworkNamespace
    >>> kept_by(NetworkNamespace("pod foo", 1, 4026532300, False,
    ...                          pinned_at=("/run/netns/a", "/run/netns/a")))
    'a bind mount at /run/netns/a'
    """
    if net.is_node:
        return "the node itself"
    if net.pinned_at:
        paths = list(dict.fromkeys(net.pinned_at))
        return ("a bind mount at " if len(paths) == 1 else "bind mounts at ") + ", ".join(paths)
    return "its processes only (no bind mount)"


def reported_text(net: NetworkNamespace) -> str:
    if net.reported_ip is None:
        return "no runtime reports an IP for it"
    return f"the runtime reports the Pod's IP as {net.reported_ip}" if net.reported_ip \
        else "the runtime reports no IP for it"


def network_text(net: NetworkNamespace) -> str:
    """The namespace as a few stable lines: who, where kept, each interface with its state
    and addresses (a veth with its peer on the node and that peer's bridge), the IPv4
    routes, and what the runtime reports."""
    lines = [f"{net.owner} · network namespace net:[{net.inode}]"]
    if net.is_node:
        lines.append("the node's own network namespace: its interfaces, addresses and routes "
                     "are the node's (not listed here)")
        lines.append(reported_text(net))
        return "\n".join(lines)
    lines.append(f"kept by {kept_by(net)}")
    lines.append("interfaces:")
    width = max(len(link.name) for link in net.links)
    kinds = max(len(link.kind) for link in net.links)
    for link in net.links:
        lines.append(f"  {link.name:<{width}}  {link.kind:<{kinds}}  {_state(link)}  "
                     f"{_addresses(link)}")
        peer = net.peers.get(link.name)
        if peer is not None:
            where = f", a port of {bridge_text(net.bridges.get(peer.master), peer.master)}" \
                if peer.master else ", a port of no bridge"
            lines.append(f"  {'':<{width}}  ⇄ its peer on the node: {peer.name}{where}")
        elif link.kind == "veth":
            lines.append(f"  {'':<{width}}  ⇄ its peer is not in the node's network namespace")
    lines.append("IPv4 routes:")
    lines += [f"  {route_text(route)}" for route in net.routes] or ["  none"]
    if not any(route.destination == "default" for route in net.routes):
        lines.append("  no default route")
    lines.append(reported_text(net))
    return "\n".join(lines)


def address_kinds(link: Link) -> str:
    """``IPv4 /24, IPv6 link-local``: what addresses an interface has, not which (they
    differ from run to run; :func:`network_text` prints them)."""
    kinds = []
    for address in link.addresses:
        if address.family == "inet":
            kinds.append(f"IPv4 /{address.prefixlen}")
        elif address.scope == "link":
            kinds.append("IPv6 link-local")
        else:
            kinds.append(f"IPv6 /{address.prefixlen}")
    return ", ".join(kinds) or "none"


def network_labels(net: NetworkNamespace) -> dict[str, str]:
    """The namespace in a few labels that compare across pod kinds and runs: no address a
    pod was given and no name a runtime chose at random (:func:`network_text` has them)."""
    if net.is_node:
        return {"network namespace": "the node's", "kept by": kept_by(net),
                "interfaces": "the node's", "eth0": "the node's", "eth0's addresses": "the node's",
                "eth0's peer on the node": "none (no veth)", "the bridge's IPv4 address": "-",
                "default route": "the node's",
                "IP the runtime reports": "none" if not net.reported_ip else net.reported_ip}
    eth0 = next((link for link in net.links if link.name == "eth0"), None)
    peer = net.peers.get("eth0")
    bridge = net.bridges.get(peer.master) if peer is not None and peer.master else None
    own = [str(a) for a in bridge.ipv4()] if bridge is not None else []
    default = next((route for route in net.routes if route.destination == "default"), None)
    if default is None:
        via = "none"
    elif default.gateway and any(a.split("/")[0] == default.gateway for a in own):
        via = "via the bridge's address"
    else:
        via = f"via {default.gateway}" if default.gateway else f"on {default.device}"
    if net.reported_ip is None:
        reported = "no runtime"
    elif not net.reported_ip:
        reported = "none"
    else:
        reported = "eth0's IPv4 address" if net.reported_ip == net.ip else net.reported_ip
    return {
        "network namespace": "its own",
        "kept by": "a bind mount" if net.pinned_at else "its processes",
        "interfaces": ", ".join(link.name for link in net.links),
        "eth0": f"{eth0.kind}, {_state(eth0)}" if eth0 else "none",
        "eth0's addresses": address_kinds(eth0) if eth0 else "-",
        "eth0's peer on the node": (f"a port of bridge {peer.master}" if peer.master
                                    else "a veth on no bridge") if peer else "none",
        "the bridge's IPv4 address": (", ".join(own) or "none") if bridge is not None else "-",
        "default route": via,
        "IP the runtime reports": reported,
    }


def network_table(readings: dict[str, NetworkNamespace]):
    """Several namespaces side by side (a column per pod kind), in :func:`network_labels`.

    >>> network_table({}).shape
    (0, 0)
    """
    import pandas as pd

    return pd.DataFrame({kind: network_labels(net) for kind, net in readings.items()})
