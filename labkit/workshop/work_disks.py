"""A learner's work held to a size: their work volume's directory on this host is an ext4
file system of ``--work-size`` in a sparse file of the workshop's (loop-mounted), so a
learner who fills their work fills that and nothing of the host's disk or anyone else's.

The volume stays an ordinary local volume of Docker's: nodes mount its directory, the warm
pool binds it, ``progress`` reads it, all as before; the file system under it is made at
the learner's first node and goes with ``down``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

from ..errors import LabError, SpecError
from ..quantity import format_bytes, parse_memory
from .mounts import mounted
from .settings import Workshop

MIN_WORK = 64 * 2**20
"""The smallest work disk: the chapters a learner starts with take 3 MiB, ext4 a few more."""


def parse_work_size(value: str) -> int:
    """Bytes for ``--work-size``, or one sentence."""
    try:
        size = parse_memory(value)
    except SpecError:
        size = 0
    if size < MIN_WORK:
        raise LabError(f"--work-size {value} is not a size for a learner's work: give 64M or "
                       "more, written like 512M or 2G.")
    return size


def check_disk_room(workshop_state: str | Path, seats: int, work_size: str) -> None:
    """One sentence when every learner's work, full, would not fit on the state's disk."""
    size = parse_work_size(work_size)
    where = Path(workshop_state)
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    if seats * size > free:
        raise LabError(f"The work of {seats} learner(s) at --work-size {work_size} may take "
                       f"{format_bytes(seats * size)}, and {where} has {format_bytes(free)} "
                       "free: give a smaller --work-size or fewer --learners.")


def disks(workshop: Workshop) -> Path:
    return Path(workshop.state) / "work-disks" / workshop.id


def attach(workshop: Workshop, learner: str, directory: str) -> None:
    """Mount the learner's work disk on their volume's ``directory`` (made the first time);
    nothing when it is mounted already."""
    if mounted(directory):
        return
    disk = disks(workshop) / f"{learner}.ext4"
    fresh = not disk.exists()
    if fresh:
        disk.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        part = disk.with_suffix(".part")
        with open(part, "wb") as sparse:
            sparse.truncate(parse_work_size(workshop.work_size))
        subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", "-L", "labkit-work", str(part)],
                       check=True, capture_output=True)
        part.rename(disk)
    # discard: what the learner deletes goes back to the host's disk (at ext4's next commit)
    subprocess.run(["mount", "-o", "loop,nosuid,nodev,discard", str(disk), directory],
                   check=True, capture_output=True)
    if fresh:  # a learner's file browser shows their work, not ext4's lost+found
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(directory, "lost+found"))


def detach(workshop: Workshop, directories: list[str]) -> None:
    """Unmount the work disks on ``directories`` (their loop devices go with the mounts)
    and remove the workshop's disk files (``down``)."""
    for directory in directories:
        while mounted(directory):
            if subprocess.run(["umount", "--lazy", directory],
                              capture_output=True).returncode != 0:
                break
    shutil.rmtree(disks(workshop), ignore_errors=True)
    with contextlib.suppress(OSError):
        disks(workshop).parent.rmdir()
