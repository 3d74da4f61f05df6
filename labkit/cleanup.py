"""`labkit clean`: remove the lab's leftovers, and only those.

A container is the lab's when it carries ``io.labkit.owner=labkit``; a cgroup
is the lab's when its name starts with a session's prefix (``lk-<8 hex digits>-``,
or ``lk_<8 hex digits>_`` for a systemd slice). A pod from scratch is the lab's by its
directory ``/var/lib/labkit/scratch/lk-<id>-<pod>`` and its cgroup ``lk-<id>-scratch.<pod>``:
the processes in that cgroup are killed before it is removed. A network link is the lab's
when its name is ``lk<8 hex digits>…`` (a session's bridges and veths), a firewall rule when
its comment is ``lk-<8 hex digits>-pods``. Nothing else is listed, stopped or removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from dataclasses import dataclass, field

from . import liveness
from .node.cgroup_writer import rmdir_tree
from .node.mounts import CgroupLayout, own_layout
from .node.systemd_units import stop_slice
from .session import NAME_RE, OWNER, OWNER_LABEL, SESSION_LABEL, SLICE_RE

CGROUP_NAME_RE = re.compile(NAME_RE.pattern + r"[a-z0-9.-]+")
SLICE_NAME_RE = re.compile(SLICE_RE.pattern + r"[a-z0-9_]+\.slice")


@dataclass
class CleanReport:
    containers: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)  # sessions whose containerd was removed
    podman: list[str] = field(default_factory=list)  # sessions whose podman pods were removed
    scratch: list[str] = field(default_factory=list)  # pods from scratch (lk-<session>-<pod>)
    network: list[str] = field(default_factory=list)  # links lk<session>…, the session's rules
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"removed {len(self.containers)} container(s), {len(self.nodes)} containerd "
                 f"node(s), the podman pods of {len(self.podman)} session(s), "
                 f"{len(self.scratch)} pod(s) from scratch, "
                 f"{len(self.network)} network link(s) and firewall rule(s) and "
                 f"{len(self.cgroups)} cgroup director(y/ies) left by the lab"]
        lines += [f"  could not remove {f}" for f in self.failed]
        return "\n".join(lines)


def clean_containers(client, session: str | None = None) -> tuple[list[str], list[str]]:
    """Force-remove containers with the lab's owner label (of one session, if given)."""
    filters = [f"{OWNER_LABEL}={OWNER}"]
    if session:
        filters.append(f"{SESSION_LABEL}={session}")
    removed, failed = [], []
    try:
        found = client.api.containers(all=True, filters={"label": filters})
    except Exception as error:  # the engine went away: say so, clean the rest
        return [], [f"containers (Docker did not answer: {error})"]
    for info in found:
        name = info["Names"][0].lstrip("/")
        try:
            client.api.remove_container(info["Id"], force=True, v=True)
            removed.append(name)
        except Exception as error:  # report and go on
            failed.append(f"container {name}: {error}")
    return removed, failed


def lab_cgroup_dirs(layout: CgroupLayout, session: str | None = None,
                    listdir=os.listdir) -> list[str]:
    """Top-level cgroup directories carrying the lab's prefix, in every hierarchy."""
    found = []
    for mount in layout.mounts:
        try:
            names = listdir(mount.mountpoint)
        except OSError:
            continue
        for name in sorted(names):
            match = CGROUP_NAME_RE.fullmatch(name) or SLICE_NAME_RE.fullmatch(name)
            if match and (session is None or match["session"] == session):
                found.append(os.path.join(mount.mountpoint, name))
    return found


@contextlib.contextmanager
def _one_cleaner_at_a_time():
    """Cleaners (``labkit clean``, a new Lab, a session's watcher) take turns, so two never
    bring the same crashed containerd back at once."""
    directory = liveness.records_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    with open(os.path.join(directory, ".clean.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def clean(session: str | None = None, client=None) -> CleanReport:
    """Remove the lab's leftovers (of one session, if given); ``client`` is Docker's."""
    with _one_cleaner_at_a_time():
        report = _clean(session, client)
    if session is None:  # every dead session of this user is gone now
        for record in liveness.records():
            if not record.alive and not report.failed:
                liveness.remove(record.session)
    return report


def clean_session(session: str) -> list[str]:
    """Remove one session's leftovers; returns what could not be removed (or checked)."""
    from .errors import LabError
    from .runtimes.docker import connect

    try:
        client = connect()
    except LabError as error:
        client, unchecked = None, [f"containers not checked: {error}"]
    else:
        unchecked = []
    try:
        return clean(session, client).failed + unchecked
    finally:
        if client is not None:
            client.close()


def _clean(session: str | None, client) -> CleanReport:
    report = CleanReport()
    if client is not None:
        report.containers, report.failed = clean_containers(client, session)
    from .runtimes.containerd.node import ContainerdNode

    for leftover in ContainerdNode.leftovers():
        if session is None or leftover == session:
            try:
                ContainerdNode.recover(leftover)
                report.nodes.append(leftover)
            except Exception as error:  # report and go on
                report.failed.append(f"containerd of session {leftover}: {error}")
    from .runtimes.podman import PodmanService

    for leftover in PodmanService.leftovers(session):
        try:
            PodmanService.recover(leftover)
            report.podman.append(leftover)
        except Exception as error:  # report and go on
            report.failed.append(f"podman pods of session {leftover}: {error}")
    layout = own_layout()
    from .runtimes.scratch import leftovers

    # A pod from scratch has no engine to ask: its processes are those in its cgroup,
    # killed before the cgroup (and the generic pass below) can go.
    for mark, (directory, cgroup) in leftovers.find(layout, session).items():
        try:
            leftovers.remove(layout, directory, cgroup)
            report.scratch.append(mark)
        except Exception as error:  # report and go on
            report.failed.append(f"pod from scratch {mark}: {error}")
    # What the session plumbed (chapter 7): its bridges and veths (named lk<id>…) and its
    # FORWARD rules (commented lk-<id>-pods), once the pods that used them are gone.
    try:
        report.network = leftovers.remove_network(session)
    except Exception as error:  # report and go on
        report.failed.append(f"network links and rules: {error}")
    for directory in lab_cgroup_dirs(layout, session):
        try:
            if directory.endswith(".slice"):
                stop_slice(os.path.basename(directory))  # systemd owns it: ask systemd
                if not os.path.isdir(directory):
                    report.cgroups.append(directory)
                    continue
            rmdir_tree(directory)
            report.cgroups.append(directory)
        except OSError as error:
            report.failed.append(f"cgroup {directory}: {error.strerror}")
    return report
