"""How many learner nodes this host holds, from figures measured here (docs/benchmarks.md,
"Workshop"), so that ``up`` refuses a class the host cannot hold before anyone logs in.

Memory decides it: a node's memory limit is a ceiling its cgroup enforces, and the class
must fit in what the host has available with every node at its measured peak (a node
running chapter 3: its engines, a Pod's containers, the kernel and JupyterLab). CPU is
shared: each node is capped (``--cpus``), so a busy learner slows the others down but
cannot starve them, and the figure below says how many can run chapter 1 at once.
"""

from __future__ import annotations

from ..errors import LabError
from ..node.procfs import parse_meminfo
from ..quantity import format_bytes, parse_cpus, parse_memory

NODE_PEAK_BYTES = 512 * 2**20
"""A node's memory at its peak while its learner runs chapter 3: 495 MiB measured here
(bench/bench_workshop.py, docs/benchmarks.md), rounded up; an idle node with one kernel
holds 188 MiB."""
HEADROOM = 0.9
"""The share of the host's available memory the class may take (the hub, the host's own)."""


def available_bytes(meminfo: str = "/proc/meminfo") -> int:
    with open(meminfo) as handle:
        available = parse_meminfo(handle.read()).get("MemAvailable")
    if available is not None:
        return available
    raise LabError("This kernel's /proc/meminfo has no MemAvailable line, so labkit cannot "
                   "tell how many learners fit: use a Linux 3.14 or newer host.")


def seats_for(available: int, memory_limit: int) -> int:
    """Learners that fit: each counted at its measured peak, or its limit if lower."""
    per_node = min(NODE_PEAK_BYTES, memory_limit)
    return int(available * HEADROOM // per_node)


def check_room(seats: int, memory: str, cpus: float | str) -> None:
    """One sentence when ``seats`` learners would not fit, or the limits make no sense."""
    limit = parse_memory(memory)  # each raises one sentence of its own
    parse_cpus(cpus)
    if limit < NODE_PEAK_BYTES:
        raise LabError(f"--memory {memory} is below what a node needs at its peak "
                       f"({format_bytes(NODE_PEAK_BYTES)}, measured running chapter 3): "
                       "give each node at least that.")
    available = available_bytes()
    room = seats_for(available, limit)
    if seats > room:
        raise LabError(
            f"This host holds {room} learner(s), not {seats}: it has "
            f"{format_bytes(available)} available and a node needs up to "
            f"{format_bytes(min(NODE_PEAK_BYTES, limit))} (measured running chapter 3); "
            "use a larger host, fewer learners, or the Kubernetes set-up (docs/workshop.md).")
