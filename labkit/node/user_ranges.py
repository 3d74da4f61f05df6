"""User ID ranges for Pods with ``hostUsers: false``, picked as the kubelet picks them.

The kubelet gives each such Pod a range of 65536 IDs (its ``userNamespaces.idsPerPod``
setting's default), at a multiple of 65536 and above the node's own IDs 0 to 65535
(KEP-127; ``pkg/kubelet/userns``). It remembers what it gave; labkit, which may share the
machine with other labs' sessions, asks the kernel instead: a range is free when no
process's ``uid_map`` or ``gid_map`` maps into it.

>>> taken_ranges(["0 0 4294967295", "0 131072 65536"])
{131072}
>>> first_free_range({65536, 131072})
196608
"""

from __future__ import annotations

import glob
from collections.abc import Iterable

IDS_PER_POD = 65536
# IDs are 32-bit and 4294967295 is never a valid one: the last whole range ends below it
# (the kernel refuses a map whose IDs would reach 2**32)
LAST_RANGE = (1 << 32) - 2 * IDS_PER_POD


def taken_ranges(maps: Iterable[str]) -> set[int]:
    """The first IDs of the 65536-ID ranges that these ``uid_map``/``gid_map`` texts map
    into (a line reads: first ID inside, first ID outside, count). The host's identity map
    (``0 0 4294967295``) takes none."""
    taken: set[int] = set()
    for text in maps:
        for line in text.splitlines():
            words = line.split()
            if len(words) != 3 or not all(word.isdigit() for word in words):
                continue
            inside, outside, count = (int(word) for word in words)
            if inside == outside == 0 and count >= LAST_RANGE:
                continue
            first = outside // IDS_PER_POD * IDS_PER_POD
            taken.update(range(first, outside + count, IDS_PER_POD))
    return taken


def first_free_range(taken: set[int]) -> int:
    """The lowest range above the node's IDs that nothing maps into."""
    for first in range(IDS_PER_POD, LAST_RANGE + 1, IDS_PER_POD):
        if first not in taken:
            return first
    raise RuntimeError("every user ID range of this machine is in use")


def free_range(proc: str = "/proc") -> int:
    """The first ID of a 65536-ID range no process on this machine is mapped into now."""
    maps = []
    for path in glob.glob(f"{proc}/[0-9]*/[ug]id_map"):
        try:
            with open(path) as handle:
                maps.append(handle.read())
        except OSError:  # the process ended meanwhile
            continue
    return first_free_range(taken_ranges(maps))
