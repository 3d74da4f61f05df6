"""Pure parsers for /proc/<pid> files."""

from __future__ import annotations

import functools
import re

_NS_LINK = re.compile(r"(?P<type>[a-z_]+):\[(?P<inode>\d+)\]")


@functools.lru_cache(maxsize=4096)  # a host's processes share few namespaces: parse each once
def parse_ns_link(target: str) -> tuple[str, int]:
    """``"net:[4026531840]"`` -> ``("net", 4026531840)``."""
    match = _NS_LINK.fullmatch(target.strip())
    if not match:
        raise ValueError(f"not a namespace link: {target!r}")
    return match["type"], int(match["inode"])


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """/proc/<pid>/cgroup -> {hierarchy: path}.

    A v1 hierarchy is named by its controllers as the kernel lists them
    (``memory``, ``cpu,cpuacct``, ``name=systemd``); the v2 hierarchy
    (the ``0::`` line) is named ``unified``.
    """
    result: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        hierarchy_id, controllers, path = line.split(":", 2)
        key = "unified" if hierarchy_id == "0" and controllers == "" else controllers
        result[key] = path
    return result



def processes_with_argument(argument: str, program: str = "") -> list[int]:
    """PIDs of this host's processes whose command line holds ``argument`` (and whose
    program name ends with ``program``, if given): a daemon labkit started, found again."""
    import os

    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(program.encode()) and argument.encode() in argv:
            found.append(int(name))
    return found


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo -> {field: bytes} (the kernel writes kB, meaning KiB).

    >>> parse_meminfo("MemTotal:       24573356 kB\\nHugePages_Total:       0\\n")
    {'MemTotal': 25163116544, 'HugePages_Total': 0}
    """
    found = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        words = rest.split()
        if name and words and words[0].isdigit():
            found[name] = int(words[0]) * (1024 if words[1:2] == ["kB"] else 1)
    return found
