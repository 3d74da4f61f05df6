"""Where the cgroup hierarchies are mounted, parsed from /proc/self/mountinfo."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

_FS_OPTIONS = {"rw", "ro", "relatime", "noatime", "nodiratime", "nosuid", "nodev", "noexec",
               "strictatime", "lazytime", "sync", "dirsync", "mand", "clone_children",
               "nsdelegate", "memory_recursiveprot", "memory_localevents", "favordynmods"}


@dataclass(frozen=True)
class CgroupMount:
    """One mounted cgroup hierarchy."""

    hierarchy: str  # "memory", "cpu,cpuacct", "name=systemd", or "unified" for cgroup2
    mountpoint: str
    root: str  # the hierarchy path that appears at the mountpoint (not "/" inside a cgroupns)
    version: int

    @property
    def controllers(self) -> tuple[str, ...]:
        if self.version == 2:
            return ()
        return tuple(c for c in self.hierarchy.split(",") if not c.startswith("name="))

    def directory(self, cgroup_path: str) -> str | None:
        """The directory of ``cgroup_path`` under this mount, or None if it is not visible."""
        root = self.root.rstrip("/")
        if root and not (cgroup_path == root or cgroup_path.startswith(root + "/")):
            return None
        relative = cgroup_path[len(root):].lstrip("/")
        return posixpath.join(self.mountpoint, relative) if relative else self.mountpoint


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


def parse_mountinfo(text: str) -> list[CgroupMount]:
    """Every cgroup (v1) and cgroup2 mount in a mountinfo text, first mount of each kept."""
    mounts: list[CgroupMount] = []
    seen: set[str] = set()
    for line in text.splitlines():
        if " - " not in line:
            continue
        left, right = line.split(" - ", 1)
        left_fields = left.split()
        right_fields = right.split()
        if len(left_fields) < 5 or len(right_fields) < 3:
            continue
        fstype, super_options = right_fields[0], right_fields[2]
        root, mountpoint = _unescape(left_fields[3]), _unescape(left_fields[4])
        if fstype == "cgroup2":
            hierarchy, version = "unified", 2
        elif fstype == "cgroup":
            names = [o for o in super_options.split(",") if o not in _FS_OPTIONS
                     and not o.startswith(("release_agent=", "cpuset_v2_mode"))]
            if not names:
                continue
            hierarchy, version = ",".join(names), 1
        else:
            continue
        if hierarchy in seen:
            continue
        seen.add(hierarchy)
        mounts.append(CgroupMount(hierarchy, mountpoint, root, version))
    return mounts


@dataclass(frozen=True)
class CgroupLayout:
    """The cgroup mounts of one reading context, and which one serves each controller."""

    mounts: tuple[CgroupMount, ...]

    @property
    def version(self) -> int:
        """1 if any v1 hierarchy carries a resource controller (hybrid counts as 1), else 2."""
        return 1 if any(m.version == 1 and m.controllers for m in self.mounts) else 2

    def for_controller(self, controller: str) -> CgroupMount | None:
        if self.version == 2:
            return self.unified
        for mount in self.mounts:
            if controller in mount.controllers:
                return mount
        return None

    def for_hierarchy(self, hierarchy: str) -> CgroupMount | None:
        for mount in self.mounts:
            if mount.hierarchy == hierarchy:
                return mount
        return None

    @property
    def unified(self) -> CgroupMount | None:
        return self.for_hierarchy("unified")

    def hierarchy_of(self, controller: str) -> str | None:
        mount = self.for_controller(controller)
        return mount.hierarchy if mount else None


def own_layout() -> CgroupLayout:
    """The cgroup file systems as this process sees them (the one that writes them)."""
    with open("/proc/self/mountinfo") as handle:
        return CgroupLayout(tuple(parse_mountinfo(handle.read())))
