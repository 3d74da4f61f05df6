"""Device programs on cgroup v2: the eBPF filters that decide which device files a cgroup's
processes may open (v2 has no ``devices`` controller; a ``BPF_CGROUP_DEVICE`` program
attached to a cgroup does that job for it and for every cgroup below it).

Every program attached on the way from the root to a process's cgroup must allow an
``open()`` of a device for it to succeed. runc attaches one to each container's cgroup,
allowing what the container's spec lists (``/dev/null`` among them).

Podman 4.3 (Debian 12) with the cgroupfs manager also attaches one to a pod's own cgroup,
``/libpod_parent/<pod id>``, made from an empty device list, so it allows nothing: every
container of the pod then fails at its start ("error reopening /dev/null inside container:
operation not permitted"). Podman's later releases skip devices on the pod's cgroup
(``SkipDevices`` in ``platformMakePod``, docs/claims.md). That case arises in the lab's
container on a cgroup v2 host (no systemd inside), and labkit's Podman then runs this
module as an OCI ``createRuntime`` hook: before each container's process runs, it takes the
program off the container's pod cgroup, as newer Podman never puts it there. The
container's own program stays.

Run as ``python -m labkit.node.device_programs`` with the OCI state on standard input.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import struct
import sys

SYS_BPF = 321  # x86_64
BPF_PROG_DETACH, BPF_PROG_GET_FD_BY_ID, BPF_PROG_QUERY = 9, 13, 16
BPF_CGROUP_DEVICE = 6  # enum bpf_attach_type
ATTR_SIZE = 128
CGROUP_ROOT = "/sys/fs/cgroup"
POD_CGROUP = re.compile(r"/[0-9a-f]{64}$")
"""A pod's cgroup under Podman's cgroupfs manager: named by the pod's ID, below its parent
(``/libpod_parent`` unless the pod was given another). A container of no pod sits in
``<parent>/libpod-<its ID>``, whose parent is not named so."""


def _bpf(command: int, attr: bytes) -> tuple[int, bytes]:
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
            program_fd, _ = _bpf(BPF_PROG_GET_FD_BY_ID, struct.pack("=I", program))
            try:
                _bpf(BPF_PROG_DETACH, struct.pack("=IIII", fd, program_fd, BPF_CGROUP_DEVICE, 0))
            finally:
                os.close(program_fd)
    finally:
        os.close(fd)
    return found


def pod_cgroup_of(proc_cgroup: str) -> str | None:
    """The pod cgroup (a path from the v2 root) above a container's, from the text of
    its ``/proc/<pid>/cgroup``; None for a container of no pod or on v1."""
    for line in proc_cgroup.splitlines():
        if line.startswith("0::"):
            parent = os.path.dirname(line[3:].strip())
            return parent if POD_CGROUP.search(parent) else None
    return None


def hook(state: dict, root: str = CGROUP_ROOT) -> list[int]:
    """The createRuntime hook: free the container's pod cgroup of Podman's device program."""
    with open(f"/proc/{int(state['pid'])}/cgroup") as handle:
        pod = pod_cgroup_of(handle.read())
    return detach_all(root + pod) if pod else []


if __name__ == "__main__":
    try:
        hook(json.load(sys.stdin))
    except (OSError, ValueError, KeyError) as error:
        sys.exit(f"labkit's pod device hook: {error}")
