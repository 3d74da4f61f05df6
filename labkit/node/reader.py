"""The node: namespaces, cgroups, limits and usage of processes, read from the kernel."""

from __future__ import annotations

import posixpath
import time
from collections.abc import Iterable, Sequence

from ..errors import NodeReadError
from ..model import (
    NAMESPACE_TYPES,
    CgroupNode,
    CgroupState,
    Member,
    MemberObservation,
    Observation,
)
from .cgroupfs import FILES_V1, FILES_V2, read_state
from .gather import DirectGatherer, Gatherer, ReadResult
from .mounts import CgroupLayout, parse_mountinfo
from .procfs import parse_ns_link, parse_proc_cgroup


class Node:
    """One machine's kernel, read through a gatherer.

    >>> node = Node()                       # root on a Linux host: read directly
    >>> node.namespaces("self")["net"]      # doctest: +SKIP
    4026531840
    """

    def __init__(self, gatherer: Gatherer | None = None, engine: str = "") -> None:
        self.gatherer = gatherer or DirectGatherer()
        self.engine = engine
        mountinfo = self._must_read(["/proc/self/mountinfo"])["/proc/self/mountinfo"]
        self.layout = CgroupLayout(tuple(parse_mountinfo(mountinfo or "")))
        if not self.layout.mounts:
            raise NodeReadError(
                "No cgroup file system is mounted where labkit reads: mount /sys/fs/cgroup "
                "(or run the lab on a Linux host or VM with cgroups)."
            )
        self._host: dict[str, int] | None = None

    # -- namespaces --------------------------------------------------------
    @property
    def host_namespaces(self) -> dict[str, int]:
        """The namespaces of the reading context, standing for "the host"."""
        if self._host is None:
            self._host = self._namespaces_in(self.gatherer.reference_ns_dir(), strict=True)
        return self._host

    def namespaces(self, pid: int | str) -> dict[str, int]:
        return self._namespaces_in(f"/proc/{pid}/ns", strict=True)

    def _namespaces_in(self, ns_dir: str, strict: bool) -> dict[str, int]:
        paths = [f"{ns_dir}/{t}" for t in NAMESPACE_TYPES]
        result = self._must_read(paths) if strict else self.gatherer.read(paths)
        return _namespaces_from(result, ns_dir)

    def ns_links(self, pid: int | str) -> dict[str, str]:
        """What ``ls -l /proc/<pid>/ns`` shows of a process: each namespace link as the
        kernel writes it (``net:[4026532201]``), by type.

        >>> lab.node.ns_links(foo.pid)["net"]                    # doctest: +SKIP
        'net:[4026532201]'
        """
        paths = [f"/proc/{pid}/ns/{t}" for t in NAMESPACE_TYPES]
        found = self._must_read(paths)
        return {t: (found[p] or "").strip() for t, p in zip(NAMESPACE_TYPES, paths, strict=True)}

    def namespace_map(self) -> dict[int, dict[str, int]]:
        """Every process's namespaces, as ``lsns`` would gather them (unreadable ones left out)."""
        found: dict[int, dict[str, int]] = {}
        for pid, links in self.gatherer.namespace_links(NAMESPACE_TYPES).items():
            namespaces = dict(parse_ns_link(text) for text in links.values() if text)
            if namespaces:
                found[pid] = namespaces
        return found

    # -- cgroups -------------------------------------------------------------
    @property
    def cgroup_version(self) -> int:
        return self.layout.version

    def read(self, path: str) -> str:
        """One kernel file as ``cat`` shows it (``/proc/<pid>/comm``), read directly or
        through the helper; a missing one or no permission is one sentence.

        >>> lab.node.read(f"/proc/{pod['pause'].pid}/comm")     # doctest: +SKIP
        'pause\\n'
        """
        return self._must_read([path])[path] or ""

    def cgroups(self, pid: int | str) -> dict[str, str]:
        path = f"/proc/{pid}/cgroup"
        return parse_proc_cgroup(self._must_read([path])[path] or "")

    def _state_files(self, cgroups: dict[str, str]) -> dict[str, str]:
        """file name -> absolute path, for the files that describe one cgroup's state."""
        wanted: dict[str, str] = {}
        if self.cgroup_version == 2:
            mount = self.layout.unified
            directory = mount.directory(cgroups.get("unified", "/")) if mount else None
            if directory:
                for name in FILES_V2["unified"]:
                    wanted[name] = posixpath.join(directory, name)
            return wanted
        for controller, names in FILES_V1.items():
            mount = self.layout.for_controller(controller)
            if mount is None or mount.hierarchy not in cgroups:
                continue
            directory = mount.directory(cgroups[mount.hierarchy])
            if directory:
                for name in names:
                    wanted[name] = posixpath.join(directory, name)
        return wanted

    def _main_path(self, cgroups: dict[str, str]) -> str:
        hierarchy = "unified" if self.cgroup_version == 2 else self.layout.hierarchy_of("memory")
        return cgroups.get(hierarchy or "", next(iter(cgroups.values()), "/"))

    def cgroup_state(self, cgroups: dict[str, str]) -> CgroupState:
        wanted = self._state_files(cgroups)
        result = self._must_read(list(wanted.values()), allow_missing=True)
        return self._state_from(cgroups, wanted, result)

    def _state_from(self, cgroups, wanted, result: ReadResult) -> CgroupState:
        files = {name: result[path] for name, path in wanted.items()}
        limits, usage = read_state(files, self.cgroup_version)
        return CgroupState(path=self._main_path(cgroups), limits=limits, usage=usage)

    def same_path_everywhere(self, path: str) -> dict[str, str]:
        """A cgroup path in every mounted hierarchy (how cgroupfs drivers lay cgroups out)."""
        return {m.hierarchy: path for m in self.layout.mounts}

    def tree(self, path: str, *, ancestors: bool = False) -> CgroupNode:
        """Walk the subtree at ``path`` with each cgroup's limits and usage.

        With ``ancestors=True`` the result starts at the hierarchy's root and
        holds only the chain down to ``path`` above it.
        """
        mount = self.layout.unified if self.cgroup_version == 2 else \
            self.layout.for_controller("memory")
        if mount is None:
            raise NodeReadError("No memory cgroup hierarchy is mounted: labkit cannot draw trees.")
        top = mount.directory(path)
        if top is None:
            raise NodeReadError(f"The cgroup {path} is not visible from here.")
        directories = self.gatherer.walk(top)
        if not directories:
            raise NodeReadError(f"The cgroup {path} does not exist (any more).")
        cgroup_paths = [path.rstrip("/") + d[len(top):] if d != top else path
                        for d in directories]
        chain: list[str] = []
        if ancestors:
            parts = [p for p in path.split("/") if p]
            chain = ["/" + "/".join(parts[:i]) for i in range(len(parts))]
        every = chain + cgroup_paths
        wanted = {p: self._state_files(self.same_path_everywhere(p)) for p in every}
        result = self._must_read([f for files in wanted.values() for f in files.values()],
                                 allow_missing=True)
        states = {p: self._state_from(self.same_path_everywhere(p), wanted[p], result)
                  for p in every}
        node = _build_tree(path, cgroup_paths, states)
        for ancestor in reversed(chain):
            name = posixpath.basename(ancestor) or "/"
            node = CgroupNode(name, ancestor, states[ancestor], (node,))
        return node

    # -- snapshot --------------------------------------------------------------
    def snapshot(self, members: Iterable[Member], trees: Sequence[str] = ()) -> Observation:
        """Read every member's namespaces, cgroups, limits and usage at one moment."""
        members = list(members)
        ns_paths = [f"/proc/{m.pid}/ns/{t}" for m in members for t in NAMESPACE_TYPES]
        cg_paths = [f"/proc/{m.pid}/cgroup" for m in members]
        first = self._must_read(ns_paths + cg_paths)
        cgroups = {m.pid: parse_proc_cgroup(first[f"/proc/{m.pid}/cgroup"] or "")
                   for m in members}
        wanted = {m.pid: self._state_files(cgroups[m.pid]) for m in members}
        second = self._must_read([p for files in wanted.values() for p in files.values()],
                                 allow_missing=True)
        observed = tuple(
            MemberObservation(
                member=m,
                namespaces=_namespaces_from(first, f"/proc/{m.pid}/ns"),
                cgroups=cgroups[m.pid],
                state=self._state_from(cgroups[m.pid], wanted[m.pid], second),
            )
            for m in members
        )
        return Observation(
            members=observed,
            host_namespaces=dict(self.host_namespaces),
            cgroup_version=self.cgroup_version,
            gatherer=self.gatherer.kind,
            engine=self.engine,
            trees=tuple(self.tree(p) for p in trees),
            taken_at=time.time(),
        )

    # -- helpers ---------------------------------------------------------------
    def _must_read(self, paths: Sequence[str], allow_missing: bool = False) -> ReadResult:
        result = self.gatherer.read(paths)
        denied = result.denied()
        if denied:
            raise NodeReadError(
                f"No permission to read {denied[0]}: run the lab as root, or let labkit read "
                "through its helper container (labkit.Lab(gather='helper'))."
            )
        missing = [p for p, e in result.errors.items() if e == "ENOENT"]
        if missing and not allow_missing:
            pid = missing[0].split("/")[2] if missing[0].startswith("/proc/") else ""
            what = f"process {pid}" if pid.isdigit() else missing[0]
            raise NodeReadError(
                f"The kernel has no {what} here (it has exited, or lives in another PID "
                "namespace): observe containers while they run, from the engine's host."
            )
        return result


def _namespaces_from(result: ReadResult, ns_dir: str) -> dict[str, int]:
    namespaces: dict[str, int] = {}
    for ns_type in NAMESPACE_TYPES:
        text = result[f"{ns_dir}/{ns_type}"]
        if text:
            kind, inode = parse_ns_link(text)
            namespaces[kind] = inode
    return namespaces


def _build_tree(root: str, paths: list[str], states: dict[str, CgroupState]) -> CgroupNode:
    children: dict[str, list[str]] = {}
    for p in paths:
        if p != root:
            children.setdefault(posixpath.dirname(p), []).append(p)

    def build(p: str) -> CgroupNode:
        kids = tuple(build(c) for c in sorted(children.get(p, [])))
        return CgroupNode(posixpath.basename(p) or "/", p, states[p], kids)

    return build(root)
