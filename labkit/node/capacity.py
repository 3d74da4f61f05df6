"""What the kubelet knows of this node that changes what it asks for a container: its
memory (MemTotal), its cgroup version, whether a swap controller exists, and the huge page
sizes it has (:class:`labkit.kubernetes.NodeFacts`). Read from /proc and /sys.

>>> page_size_name("hugepages-2048kB"), page_size_name("hugepages-1048576kB")
('2MB', '1GB')
"""

from __future__ import annotations

import os

from ..errors import LabError
from ..kubernetes import NodeFacts
from .mounts import CgroupLayout
from .procfs import parse_meminfo

HUGEPAGES = "/sys/kernel/mm/hugepages"


def page_size_name(directory: str) -> str:
    """The CRI's name of a huge page size (``2MB``, ``1GB``), as the kubelet writes it."""
    kib = int(directory.removeprefix("hugepages-").removesuffix("kB"))
    for unit, factor in (("GB", 2**20), ("MB", 2**10)):
        if kib % factor == 0:
            return f"{kib // factor}{unit}"
    return f"{kib}KB"


def memory_capacity(meminfo: str = "/proc/meminfo") -> int:
    """The node's memory as the kubelet's machine info has it (MemTotal)."""
    with open(meminfo) as handle:
        total = parse_meminfo(handle.read()).get("MemTotal")
    if not total:
        raise LabError("This kernel's /proc/meminfo has no MemTotal line, so labkit cannot "
                       "compute a Burstable container's OOM score as the kubelet does: run the "
                       "chapter on a Linux host whose /proc is mounted.")
    return total


def node_facts(layout: CgroupLayout) -> NodeFacts:
    """This machine, as the kubelet would see it."""
    if layout.version == 2:
        swap = _any_child_has(layout, "memory.swap.max")
    else:
        memory = layout.for_controller("memory")
        swap = bool(memory) and os.path.exists(os.path.join(memory.mountpoint,
                                                            "memory.memsw.limit_in_bytes"))
    try:
        sizes = sorted(os.listdir(HUGEPAGES), key=lambda d: int(d[10:-2]))
    except (OSError, ValueError):
        sizes = []
    return NodeFacts(memory_capacity(), layout.version, swap,
                     tuple(page_size_name(d) for d in sizes if d.startswith("hugepages-")))


def _any_child_has(layout: CgroupLayout, name: str) -> bool:
    """cgroup v2 keeps memory.swap.max out of the root: look in its first child."""
    unified = layout.unified
    if unified is None:
        return False
    try:
        children = sorted(e.path for e in os.scandir(unified.mountpoint) if e.is_dir())
    except OSError:
        return False
    return any(os.path.exists(os.path.join(child, name)) for child in children[:3])
