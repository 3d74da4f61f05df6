"""What is mounted where on this host, as the kernel says (/proc/self/mountinfo)."""

from __future__ import annotations

import os
from pathlib import Path


def mounted(path: str | Path) -> bool:
    """Whether something is mounted on ``path`` (a bind mount of the same file system too,
    which ``os.path.ismount`` cannot tell)."""
    where = os.path.realpath(path)
    with open("/proc/self/mountinfo") as lines:
        return any(line.split()[4].replace("\\040", " ") == where for line in lines)
