"""The only place labkit writes to cgroup file systems: plan a lab cgroup with its limits
as steps (``mkdir``, ``echo VALUE > FILE``), execute those steps, remove lab cgroups.

Used where labkit plays a part that writes cgroups on a real node: the kubelet's pod
cgroup, the Docker-emulated pod's parent, and the pod from scratch. The steps are what a
learner types to do the same (:mod:`labkit.plan`). Needs root to execute.

>>> from labkit.node.mounts import CgroupMount
>>> from labkit.plan import Plan
>>> v1 = CgroupLayout((CgroupMount("memory", "/sys/fs/cgroup/memory", "/", 1),
...                    CgroupMount("cpu", "/sys/fs/cgroup/cpu", "/", 1)))
>>> values = ResourceConfig(memory=64 * 2**20, cpu_quota=50_000, cpu_shares=512)
>>> for line in Plan(plan_cgroup(v1, "/p", values)).lines():
...     print(line)
for h in memory cpu; do mkdir -p /sys/fs/cgroup/$h/p; done
echo 67108864 > /sys/fs/cgroup/memory/p/memory.limit_in_bytes
echo 100000 > /sys/fs/cgroup/cpu/p/cpu.cfs_period_us
echo 50000 > /sys/fs/cgroup/cpu/p/cpu.cfs_quota_us
echo 512 > /sys/fs/cgroup/cpu/p/cpu.shares
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Callable, Iterable

from ..kubernetes import KUBELET_CPU_WEIGHT, NO_VALUES, ResourceConfig
from ..plan import MakeDirectories, Step, WriteFile
from .mounts import CgroupLayout

DELEGATED = ("cpu", "memory", "pids")  # what a cgroup v2 parent hands down to its children


def directories(layout: CgroupLayout, path: str) -> tuple[str, ...]:
    """Where cgroup ``path`` is a directory: every hierarchy (on a v1 host, not the unified
    one of a hybrid layout, where the v1 runtimes place processes themselves)."""
    found = []
    for mount in layout.mounts:
        if layout.version == 1 and mount.version == 2:
            continue
        directory = mount.directory(path)
        if directory is not None:
            found.append(directory)
    return tuple(found)


def plan_cgroup(layout: CgroupLayout, path: str, limits: ResourceConfig = NO_VALUES,
                *, weight: Callable[[int | None], int | None] = KUBELET_CPU_WEIGHT) -> list[Step]:
    """The steps that make cgroup ``path`` (``mkdir -p`` in every hierarchy) and write its
    values: on v1 memory.limit_in_bytes, cpu.cfs_period_us and cpu.cfs_quota_us,
    cpu.shares; on v2 memory.max, cpu.max, cpu.weight (``weight`` converts shares: the
    kubelet's formula by default, the runtime's for a container's cgroup). A value not
    given (a quota of 0) is not written."""
    made = directories(layout, path)
    steps: list[Step] = [MakeDirectories(made)]
    quota = limits.cpu_quota or None  # 0: no quota
    if layout.version == 2:
        unified = layout.unified.directory(path) if layout.unified else None
        writes = [(unified, "memory.max", limits.memory),
                  (unified, "cpu.max", f"{quota} {limits.cpu_period}" if quota else None),
                  (unified, "cpu.weight", weight(limits.cpu_shares))]
    else:
        memory, cpu = layout.for_controller("memory"), layout.for_controller("cpu")
        memory_dir = memory.directory(path) if memory else None
        cpu_dir = cpu.directory(path) if cpu else None
        writes = [(memory_dir, "memory.limit_in_bytes", limits.memory),
                  (cpu_dir, "cpu.cfs_period_us", limits.cpu_period if quota else None),
                  (cpu_dir, "cpu.cfs_quota_us", quota),
                  (cpu_dir, "cpu.shares", limits.cpu_shares)]
        writes += _cpuset_copies(layout, path)
    steps += [WriteFile(os.path.join(directory, name), str(value))
              for directory, name, value in writes if directory and value is not None]
    return steps


def _cpuset_copies(layout: CgroupLayout, path: str) -> list[tuple[str | None, str, str]]:
    """cgroup v1: a new cpuset cgroup starts with no CPUs and no memory nodes, so nothing can
    join it; runc (and so the kubelet's cgroup manager) copies its parent's into it, and
    into each parent made on the way. The values are read now, from the nearest existing
    ancestor; each directory ``mkdir -p`` will make gets them, top down."""
    mount = layout.for_controller("cpuset")
    directory = mount.directory(path) if mount and layout.version == 1 else None
    if directory is None:
        return []
    new = []
    found = directory
    while not os.path.exists(os.path.join(found, "cpuset.cpus")) and found != "/":
        new.append(found)
        found = os.path.dirname(found)
    values = [(name, " ".join(_words(os.path.join(found, name))))
              for name in ("cpuset.cpus", "cpuset.mems")]
    return [(made, name, value) for made in reversed(new) for name, value in values if value]


def plan_delegation(layout: CgroupLayout, path: str,
                    available: Iterable[str] | None = None,
                    enabled: Iterable[str] = ()) -> list[Step]:
    """cgroup v2: the write that enables cpu, memory and pids for the children of ``path``
    (what runc does for a container's parents), so the cgroups below get their own limit
    files. ``available`` and ``enabled`` are read from the cgroup's ``cgroup.controllers``
    and ``cgroup.subtree_control`` unless given (a cgroup not made yet). Nothing on v1."""
    if layout.version != 2 or layout.unified is None:
        return []
    directory = layout.unified.directory(path)
    if directory is None:
        return []
    if available is None:
        available = _words(os.path.join(directory, "cgroup.controllers"))
        enabled = _words(os.path.join(directory, "cgroup.subtree_control"))
    wanted = [f"+{c}" for c in DELEGATED if c in set(available) and c not in set(enabled)]
    if not wanted:
        return []
    return [WriteFile(os.path.join(directory, "cgroup.subtree_control"), " ".join(wanted))]


def plan_delegation_down(layout: CgroupLayout, path: str) -> list[Step]:
    """cgroup v2: the writes that let ``path``'s children have their own limit files: each
    cgroup from the root down to ``path`` hands cpu, memory and pids to its children (runc,
    which the kubelet's cgroupfs driver uses, hands down every controller its parent has;
    labkit the three it writes limits for).
    The cgroups on the way are made first (``mkdir -p``). Nothing on v1."""
    if layout.version != 2 or layout.unified is None:
        return []
    made = directories(layout, path)
    steps: list[Step] = [] if all(map(os.path.isdir, made)) else [MakeDirectories(made)]
    steps += plan_delegation(layout, "/")
    current = "/"
    for part in path.strip("/").split("/"):
        current = posixpath.join(current, part)
        steps += plan_handing_down(layout, current)
    return steps


def plan_handing_down(layout: CgroupLayout, path: str) -> list[Step]:
    """:func:`plan_delegation` for ``path`` as it is, or, not made yet, as it will be: with
    what its parent hands down."""
    directory = layout.unified.directory(path) if layout.unified else None
    if directory is not None and os.path.isdir(directory):
        return plan_delegation(layout, path)
    return plan_delegation(layout, path, available=delegated(layout, posixpath.dirname(path)))


def delegated(layout: CgroupLayout, path: str) -> tuple[str, ...]:
    """The controllers cgroup ``path`` will hand its children once its delegation is done:
    what its own parent hands it (v2), for planning the cgroups below before they exist."""
    if layout.version != 2 or layout.unified is None:
        return ()
    directory = layout.unified.directory(path)
    if directory is None or not os.path.isdir(directory):
        return DELEGATED
    return tuple(c for c in DELEGATED
                 if c in _words(os.path.join(directory, "cgroup.controllers")))


def execute(steps: Iterable[Step]) -> None:
    """Do the cgroup steps: make the directories, write the files. Raises OSError as the
    kernel refuses (the caller says it in a sentence)."""
    for step in steps:
        if isinstance(step, MakeDirectories):
            for directory in step.directories:
                os.makedirs(directory, exist_ok=True)
        elif isinstance(step, WriteFile):
            with open(step.path, "w") as handle:
                handle.write(step.value)
        else:
            raise TypeError(f"not a cgroup step: {step!r}")


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


def _words(path: str) -> list[str]:
    try:
        with open(path) as handle:
            return handle.read().split()
    except OSError:
        return []

