"""The only place labkit writes to cgroup file systems: make and remove lab cgroups.

Used where labkit plays a part that writes cgroups on a real node: the kubelet's
pod cgroup, and ``cgcreate`` for the Docker-emulated pod. Needs root.
"""

from __future__ import annotations

import contextlib
import os

from ..kubernetes import CFS_PERIOD_US, cfs_quota, cpu_weight
from .mounts import CgroupLayout


def make_cgroup(layout: CgroupLayout, path: str, *, memory_bytes: int | None = None,
                cpus: float | None = None, cpu_shares: int | None = None) -> list[str]:
    """``mkdir -p`` ``path`` in every hierarchy and write the limits given; returns new dirs."""
    made = []
    for mount in layout.mounts:
        if layout.version == 1 and mount.version == 2:
            continue  # the v1 runtimes place processes in the unified tree themselves
        directory = mount.directory(path)
        if directory is None:
            continue
        missing = []
        current = directory
        while not os.path.isdir(current):
            missing.append(current)
            current = os.path.dirname(current)
        for new in reversed(missing):
            os.mkdir(new)
            made.append(new)
    quota = cfs_quota(cpus)
    if layout.version == 2:
        unified = layout.unified.directory(path) if layout.unified else None
        writes = [(unified, "memory.max", memory_bytes),
                  (unified, "cpu.max", f"{quota} {CFS_PERIOD_US}" if quota else None),
                  (unified, "cpu.weight", cpu_weight(cpu_shares))]
    else:
        memory, cpu = layout.for_controller("memory"), layout.for_controller("cpu")
        memory_dir = memory.directory(path) if memory else None
        cpu_dir = cpu.directory(path) if cpu else None
        writes = [(memory_dir, "memory.limit_in_bytes", memory_bytes),
                  (cpu_dir, "cpu.cfs_quota_us", quota),
                  (cpu_dir, "cpu.shares", cpu_shares)]
    for directory, name, value in writes:
        if directory and value is not None:
            with open(os.path.join(directory, name), "w") as handle:
                handle.write(str(value))
    return made


def rmdir_tree(directory: str) -> None:
    """rmdir a cgroup directory and everything below it, leaves first (a cgroup goes only
    once it holds no processes); raises OSError for the first one that will not go."""
    for sub, _dirs, _files in sorted(os.walk(directory), key=lambda w: -w[0].count("/")):
        os.rmdir(sub)


def remove_cgroup(layout: CgroupLayout, path: str, *, up_to: str | None = None) -> None:
    """rmdir ``path`` and everything under it in every hierarchy, leaves first; then its
    now-empty ancestors up to ``up_to`` (a cgroup path), if given."""
    for mount in layout.mounts:
        directory = mount.directory(path)
        if directory and os.path.isdir(directory):
            with contextlib.suppress(OSError):
                rmdir_tree(directory)
        top = mount.directory(up_to) if up_to else None
        if not (top and directory):
            continue
        current = os.path.dirname(directory)
        while current == top or current.startswith(top + "/"):
            try:
                os.rmdir(current)
            except OSError:
                break
            current = os.path.dirname(current)
