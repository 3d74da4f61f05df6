"""A pod from scratch's files: one directory per pod under ``/var/lib/labkit/scratch``, named
``lk-<session>-<pod>`` (the mark by which ``labkit clean`` finds a crashed session's),
holding a root file system per member (the lab's busybox image written out afresh, as a
snapshotter unpacks an image per container), the pod's ``shm`` (a tmpfs mounted there, its
/dev/shm, as containerd mounts one per sandbox) and a log per member.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from ... import images

# On disk, not under /run: systemd mounts /run noexec (Debian 12), and pause must run.
BASE = "/var/lib/labkit/scratch"


def unpack(directory: str) -> None:
    """The lab's toolbox root file system in ``directory``: the files of its archive
    (:func:`labkit.images.toolbox_archive`, which a learner unpacks with ``tar -xf``),
    written directly, a tenth of the time."""
    images.write_toolbox(images.find_busybox(), directory)


def remove(directory: str) -> None:
    """The pod's directory, once no process is left in the pod: its /dev/shm (a tmpfs
    mounted in it) unmounted first."""
    shm = os.path.join(directory, "shm")
    if os.path.ismount(shm):
        subprocess.run(["umount", shm], capture_output=True, timeout=30, check=False)
    shutil.rmtree(directory, ignore_errors=True)
