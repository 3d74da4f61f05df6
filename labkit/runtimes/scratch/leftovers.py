"""What a crashed session's pods from scratch leave, found by their marks alone: the pod's
directory ``/var/lib/labkit/scratch/lk-<session>-<pod>`` and its cgroup
``/lk-<session>-scratch.<pod>`` in any hierarchy. Removing one kills the processes in that
cgroup (nothing outside it), then removes the cgroup and the directory.
"""

from __future__ import annotations

import os

from ...node.mounts import CgroupLayout
from ...session import NAME_RE
from . import cgroups, rootfs


def find(layout: CgroupLayout, session: str | None = None,
         base: str = rootfs.BASE) -> dict[str, tuple[str | None, str | None]]:
    """pod's mark (``lk-<session>-<pod>``) -> (its directory, its cgroup path), for the
    given session or every session."""
    found: dict[str, list[str | None]] = {}

    def mine(name: str):
        match = NAME_RE.match(name)
        return match if match and (session is None or match["session"] == session) else None

    try:
        names = sorted(os.listdir(base))
    except OSError:
        names = []
    for name in names:
        if mine(name) and os.path.isdir(os.path.join(base, name)):
            found.setdefault(name, [None, None])[0] = os.path.join(base, name)
    for mount in layout.mounts:
        try:
            tops = sorted(os.listdir(mount.mountpoint))
        except OSError:
            continue
        for name in tops:
            match = mine(name)
            if match and cgroups.is_scratch_cgroup(name):
                pod = name[match.end() + len(cgroups.MARK):]
                found.setdefault(f"{match[0]}{pod}", [None, None])[1] = f"/{name}"
    return {mark: (where[0], where[1]) for mark, where in found.items()}


def remove(layout: CgroupLayout, directory: str | None, cgroup: str | None) -> None:
    """Kill what is in the pod's cgroup, remove the cgroup, then the pod's files."""
    if cgroup:
        cgroups.kill_tree(layout, cgroup)
        cgroups.remove_tree(layout, cgroup)
    if directory:
        rootfs.remove(directory)


def network_leftovers(session: str | None = None) -> tuple[list[str], list[str]]:
    """The network links a lab session named (``lk<id>…``: its containerd's bridge, the
    bridge and veths of its pods from scratch) and its firewall rules, of one session or of
    any: ``(links, rules)``, the rules as ``iptables -S`` lists them."""
    from ...node import firewall, network

    if os.geteuid() != 0:  # the rules cannot be listed, and nothing here could be removed
        return network.lab_links(session), []
    return network.lab_links(session), firewall.session_rules(session)


def remove_network(session: str | None = None) -> list[str]:
    """Delete a session's (or every session's) firewall rules, then its links, ports before
    bridges (a veth takes its peer along); returns what was deleted."""
    from ...node import firewall, network

    removed = [f"rule {rule}" for rule in firewall.delete_session_rules(session)]
    for name in network.lab_links(session):
        network.delete_link(name)
        removed.append(f"link {name}")
    return removed
