"""A pod from scratch's cgroups, as the kubelet lays them out with the cgroupfs driver: one
directory for the pod with the pod-level limits, one under it per member with the
container's own. On cgroup v1 the directories are made in every hierarchy (the members
join all of them, cpuset too once its CPUs and memory nodes are copied from the parent, as
runc does); on v2 in the unified one,
with the controllers handed down to the members' cgroups.

The pod's cgroup is ``/lk-<session>-scratch.<pod>``: the dot, which no pod name has, keeps
it apart from the cgroup of a Docker-emulated pod (``/lk-<session>-<pod>``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from ...errors import LabError
from ...node.cgroup_writer import remove_cgroup
from ...node.mounts import CgroupLayout
from ...session import NAME_RE

MARK = "scratch."


def pod_path(prefix: str, pod: str) -> str:
    """The pod's cgroup path.

    >>> pod_path("lk-0badcafe-", "foo")
    '/lk-0badcafe-scratch.foo'
    """
    return f"/{prefix}{MARK}{pod}"


def is_scratch_cgroup(name: str) -> bool:
    """True for a top-level cgroup directory name that a pod from scratch made.

    >>> is_scratch_cgroup("lk-0badcafe-scratch.foo"), is_scratch_cgroup("lk-0badcafe-foo")
    (True, False)
    """
    match = NAME_RE.match(name)
    return bool(match) and name[match.end():].startswith(MARK)


def joined_mounts(layout: CgroupLayout):
    """The hierarchies a member's processes are placed in."""
    if layout.version == 2:
        return [layout.unified] if layout.unified else []
    return [m for m in layout.mounts if m.version == 1]


def procs_files(layout: CgroupLayout, path: str) -> tuple[str, ...]:
    """The ``cgroup.procs`` files that put a process in cgroup ``path``."""
    found = []
    for mount in joined_mounts(layout):
        directory = mount.directory(path)
        if directory:
            found.append(os.path.join(directory, "cgroup.procs"))
    return tuple(found)


def _in_tree(pid: int, paths: dict[str, str]) -> bool:
    """Whether process ``pid`` is in one of these (hierarchy -> cgroup path) subtrees."""
    try:
        with open(f"/proc/{pid}/cgroup") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return False
    for line in lines:
        _, hierarchy, where = line.split(":", 2)
        top = paths.get(hierarchy or "unified")
        if top and (where == top or where.startswith(top + "/")):
            return True
    return False


def tree_pids(layout: CgroupLayout, path: str) -> set[int]:
    """Every process in cgroup ``path`` or below it, in any hierarchy."""
    found: set[int] = set()
    for mount in layout.mounts:
        top = mount.directory(path)
        if not top or not os.path.isdir(top):
            continue
        for directory, _dirs, _files in os.walk(top):
            with contextlib.suppress(OSError), \
                    open(os.path.join(directory, "cgroup.procs")) as handle:
                found.update(int(p) for p in handle.read().split())
    return found


def kill_tree(layout: CgroupLayout, path: str, timeout: float = 5.0) -> None:
    """SIGKILL every process in cgroup ``path`` and below, until none is left. A process
    is held by a pidfd and checked to be in the tree before the signal, so a PID reused by
    somebody else's process meanwhile is never signalled."""
    paths = {m.hierarchy: path for m in layout.mounts}
    deadline = time.monotonic() + timeout
    while True:
        pids = tree_pids(layout, path)
        if not pids:
            return
        for pid in pids:
            try:
                handle = os.pidfd_open(pid)
            except OSError:
                continue  # gone already
            try:
                if _in_tree(pid, paths):
                    signal.pidfd_send_signal(handle, signal.SIGKILL)
            except OSError:
                pass
            finally:
                os.close(handle)
        if time.monotonic() > deadline:
            raise LabError(f"Processes {sorted(pids)} in cgroup {path} did not die: look at "
                           "them with ps, then run `labkit clean`.")
        time.sleep(0.02)


def remove_tree(layout: CgroupLayout, path: str, timeout: float = 5.0) -> None:
    """rmdir the pod's cgroups in every hierarchy, retrying while the kernel still counts
    a dying process in them (rmdir says EBUSY until they are empty)."""
    deadline = time.monotonic() + timeout
    while True:
        remove_cgroup(layout, path)
        left = [m.directory(path) for m in layout.mounts
                if m.directory(path) and os.path.isdir(m.directory(path) or "")]
        if not left:
            return
        if time.monotonic() > deadline:
            raise LabError(f"The cgroup {left[0]} stays busy: run `labkit clean` to retry.")
        time.sleep(0.05)
