"""A pod from scratch's files: one directory per pod under ``/var/lib/labkit/scratch``, named
``lk-<session>-<pod>`` (the mark by which ``labkit clean`` finds a crashed session's),
holding a root file system per member (the lab's busybox image written out afresh, as a
snapshotter unpacks an image per container), the pod's ``shm`` directory (its /dev/shm)
and a log per member.
"""

from __future__ import annotations

import os
import shutil

from ... import images

# On disk, not under /run: systemd mounts /run noexec (Debian 12), and pause must run.
BASE = "/var/lib/labkit/scratch"


def unpack(directory: str, hostname: str | None) -> None:
    """The lab's toolbox root file system in ``directory``, with what a runtime adds: an
    /etc/hosts (localhost, and the pod's name when it has its own), the device files to bind
    over, and /dev/shm to mount the pod's on."""
    images.write_toolbox(images.find_busybox(), directory)
    hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost\n" + (
        f"127.0.1.1\t{hostname}\n" if hostname else "")
    with open(os.path.join(directory, "etc", "hosts"), "w") as handle:
        handle.write(hosts)
    os.makedirs(os.path.join(directory, "dev", "shm"), exist_ok=True)
    for device in ("null", "zero", "random", "urandom"):
        open(os.path.join(directory, "dev", device), "w").close()


def remove(directory: str) -> None:
    """The pod's directory, once no process is left to hold a mount in it."""
    shutil.rmtree(directory, ignore_errors=True)
