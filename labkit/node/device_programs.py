"""Device programs on cgroup v2: the eBPF filters that decide which device files a cgroup's
processes may open (v2 has no ``devices`` controller; a ``BPF_CGROUP_DEVICE`` program
attached to a cgroup does that job for it and for every cgroup below it).

Every program attached on the way from the root to a process's cgroup must allow an
``open()`` of a device for it to succeed. runc attaches one to each container's cgroup,
allowing what the container's spec lists (``/dev/null`` among them).

Podman 4.3 (Debian 12) with the cgroupfs manager also attaches one to a pod's own cgroup,
``/libpod_parent/<pod id>``, made from an empty device list, so it allows nothing: every
container of the pod then fails at its start ("error reopening /dev/null inside container:
operation not permitted"). Current Podman skips devices on the pod's cgroup
(``res.SkipDevices = true`` in ``platformMakePod``, libpod/runtime_pod_linux.go;
docs/podman.md). That case arises in the lab's container on a cgroup v2 host (no systemd
inside), and labkit's Podman then runs this module as an OCI ``createRuntime`` hook: before
each container's process runs, it takes the program off the container's pod cgroup, as
current Podman never puts it there. The container's own program stays.

Run as ``python -m labkit.node.device_programs`` with the OCI state on standard input.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import re
import struct
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
"""bpf(2)'s number where labkit knows it (None elsewhere: the hook is then not written)."""
BPF_PROG_DETACH, BPF_PROG_GET_FD_BY_ID, BPF_PROG_QUERY = 9, 13, 16
BPF_CGROUP_DEVICE = 6  # enum bpf_attach_type
ATTR_SIZE = 128
CGROUP_ROOT = "/sys/fs/cgroup"
POD_ID = re.compile(r"[0-9a-f]{64}")
"""A pod's cgroup under Podman's cgroupfs manager is named by the pod's ID, below its parent
(``/libpod_parent`` unless the pod was given another); each of its containers' is
``libpod-<container ID>`` in it. A container of no pod sits in ``<parent>/libpod-<its ID>``."""


def _bpf(command: int, attr: bytes) -> tuple[int, bytes]:
    if SYS_BPF is None:
        raise OSError(f"labkit does not know bpf(2)'s number on {platform.machine()}")
    buffer = ctypes.create_string_buffer(attr, ATTR_SIZE)
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.syscall(SYS_BPF, command, buffer, ATTR_SIZE)
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result, buffer.raw


def attached(directory: str) -> list[int]:
    """The IDs of the device programs attached to one cgroup (not those of its parents)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        ids = (ctypes.c_uint32 * 64)()
        # union bpf_attr, query: target_fd, attach_type, query_flags, attach_flags,
        # prog_ids (a pointer), prog_cnt (in: room, out: how many)
        query = struct.pack("=IIIIQI", fd, BPF_CGROUP_DEVICE, 0, 0, ctypes.addressof(ids), 64)
        _, answer = _bpf(BPF_PROG_QUERY, query)
        return list(ids[:struct.unpack_from("=I", answer, 24)[0]])
    finally:
        os.close(fd)


def detach_all(directory: str) -> list[int]:
    """Take every device program off one cgroup; the IDs it had."""
    found = attached(directory)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for program in found:
            try:
                program_fd, _ = _bpf(BPF_PROG_GET_FD_BY_ID, struct.pack("=I", program))
            except FileNotFoundError:  # detached and freed meanwhile (a sibling's hook)
                continue
            try:
                _bpf(BPF_PROG_DETACH, struct.pack("=IIII", fd, program_fd, BPF_CGROUP_DEVICE, 0))
            except FileNotFoundError:  # detached meanwhile, by a sibling's hook
                pass
            finally:
                os.close(program_fd)
    finally:
        os.close(fd)
    return found


def _unified_path(proc_cgroup: str) -> str | None:
    """The v2 path in the text of a ``/proc/<pid>/cgroup`` (its ``0::`` line)."""
    return next((line[3:].strip() for line in proc_cgroup.splitlines()
                 if line.startswith("0::")), None)


def pod_cgroup_of(container_id: str, proc_cgroup: str, own_cgroup: str = "") -> str | None:
    """The pod cgroup (a path from the v2 root) of container ``container_id``, from the
    text of its ``/proc/<pid>/cgroup``: only where the container's own cgroup is
    ``libpod-<its ID>`` and its parent is named as a pod ID, and never a cgroup that holds
    ``own_cgroup`` (the hook's own: the lab's container, say). None otherwise."""
    path = _unified_path(proc_cgroup)
    if not path or os.path.basename(path) != f"libpod-{container_id}":
        return None
    pod = os.path.dirname(path)
    if not POD_ID.fullmatch(os.path.basename(pod)):
        return None
    mine = _unified_path(own_cgroup) or ""
    if mine == pod or mine.startswith(pod.rstrip("/") + "/"):
        return None
    return pod


def hook(state: dict, root: str = CGROUP_ROOT) -> list[int]:
    """The createRuntime hook: free the container's pod cgroup of Podman's device program."""
    with open(f"/proc/{int(state['pid'])}/cgroup") as handle:
        theirs = handle.read()
    with open("/proc/self/cgroup") as handle:
        mine = handle.read()
    pod = pod_cgroup_of(str(state["id"]), theirs, mine)
    return detach_all(root + pod) if pod else []


if __name__ == "__main__":
    try:
        hook(json.load(sys.stdin))
    except (OSError, ValueError, KeyError) as error:
        sys.exit(f"labkit's pod device hook: {error}")
