"""Slices through systemd, for hosts where systemd owns the cgroup tree (cgroup v2).

There, Docker's and containerd's systemd drivers want a parent *slice*, and
limits are set the systemd way (``systemctl set-property``), as the kubelet's
systemd driver does. A dash in a slice name means nesting:
``a-b.slice`` lives at ``/a.slice/a-b.slice``.
"""

from __future__ import annotations

import os
import subprocess

from ..errors import LabError
from ..kubernetes import CFS_PERIOD_US


def systemd_manages_cgroups() -> bool:
    """True on a systemd host with the unified (v2) hierarchy."""
    return os.path.isdir("/run/systemd/system") and \
        os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def slice_path(name: str) -> str:
    """The cgroup path of a slice: ``a-b-c.slice`` -> ``/a.slice/a-b.slice/a-b-c.slice``."""
    stem = name.removesuffix(".slice")
    parts = stem.split("-")
    return "/" + "/".join("-".join(parts[:i + 1]) + ".slice" for i in range(len(parts)))


def limit_properties(memory_bytes: int | None, cpus: float | None) -> list[str]:
    properties = []
    if memory_bytes:
        properties.append(f"MemoryMax={memory_bytes}")
    if cpus:
        properties.append(f"CPUQuota={round(cpus * 100)}%")
        properties.append(f"CPUQuotaPeriodSec={CFS_PERIOD_US // 1000}ms")
    return properties


def set_command(name: str, memory_bytes: int | None, cpus: float | None) -> str:
    """What a learner would type to give a slice these limits."""
    return " ".join(["systemctl", "set-property", "--runtime", name,
                     *limit_properties(memory_bytes, cpus)])


def _systemctl(*args: str) -> None:
    done = subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LabError(f"systemd refused `systemctl {' '.join(args)}`: "
                       f"{done.stderr.strip() or 'no reason given'}.")


def start_slice(name: str, memory_bytes: int | None = None, cpus: float | None = None) -> None:
    """Create (start) a slice and give it limits."""
    _systemctl("start", name)
    properties = limit_properties(memory_bytes, cpus)
    if properties:
        _systemctl("set-property", "--runtime", name, *properties)


def stop_slice(name: str) -> None:
    """Stop a slice: systemd removes it, and everything below it, from the cgroup tree."""
    subprocess.run(["systemctl", "stop", name], capture_output=True, check=False)
