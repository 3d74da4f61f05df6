"""Slices through systemd, for hosts where systemd owns the cgroup tree (cgroup v2).

There, Docker's and containerd's systemd drivers want a parent *slice*, and
limits are set the systemd way (``systemctl set-property``), as the kubelet's
systemd driver does. A dash in a slice name means nesting:
``a-b.slice`` lives at ``/a.slice/a-b.slice``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable

from ..errors import LabError
from ..kubernetes import KUBELET_CPU_WEIGHT, NO_VALUES, ResourceConfig, systemd_cpu_quota
from ..plan import Command


def systemd_manages_cgroups() -> bool:
    """True on a systemd host with the unified (v2) hierarchy."""
    return os.path.isdir("/run/systemd/system") and \
        os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def slice_path(name: str) -> str:
    """The cgroup path of a slice: ``a-b-c.slice`` -> ``/a.slice/a-b.slice/a-b-c.slice``."""
    stem = name.removesuffix(".slice")
    parts = stem.split("-")
    return "/" + "/".join("-".join(parts[:i + 1]) + ".slice" for i in range(len(parts)))


def limit_properties(config: ResourceConfig) -> list[str]:
    """systemd's properties for a cgroup's values: MemoryMax, CPUQuota (the CFS quota as a
    percentage of one CPU, per CPUQuotaPeriodSec), CPUWeight from the shares by the
    kubelet's formula.

    >>> limit_properties(ResourceConfig(memory=2**26, cpu_quota=50_000, cpu_shares=512))
    ['MemoryMax=67108864', 'CPUQuota=50%', 'CPUQuotaPeriodSec=100ms', 'CPUWeight=59']
    """
    properties = []
    if config.memory:
        properties.append(f"MemoryMax={config.memory}")
    if config.cpu_quota:
        properties.append(f"CPUQuota={systemd_cpu_quota(config.cpu_quota, config.cpu_period)}%")
        properties.append(f"CPUQuotaPeriodSec={config.cpu_period // 1000}ms")
    weight = KUBELET_CPU_WEIGHT(config.cpu_shares)
    if weight is not None:
        properties.append(f"CPUWeight={weight}")
    return properties


def plan_slice(name: str, config: ResourceConfig) -> list[Command]:
    """The steps that start a slice and give it the pod's values, as the kubelet's systemd
    driver does: ``systemctl start``, then ``systemctl set-property --runtime``."""
    steps = [Command(("systemctl", "start", name))]
    properties = limit_properties(config)
    if properties:
        steps.append(Command(("systemctl", "set-property", "--runtime", name, *properties)))
    return steps


def execute(steps: Iterable[Command]) -> None:
    """Run the ``systemctl`` steps of a plan; one sentence if systemd refuses one."""
    for step in steps:
        if step.argv[:1] != ("systemctl",):
            raise TypeError(f"not a systemd step: {step!r}")
        _systemctl(*step.argv[1:])


def _systemctl(*args: str) -> None:
    done = subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LabError(f"systemd refused `systemctl {' '.join(args)}`: "
                       f"{done.stderr.strip() or 'no reason given'}.")


def start_slice(name: str, config: ResourceConfig = NO_VALUES) -> None:
    """Create (start) a slice and give it these values."""
    execute(plan_slice(name, config))


def stop_slice(name: str) -> None:
    """Stop a slice: systemd removes it, and everything below it, from the cgroup tree."""
    subprocess.run(["systemctl", "stop", name], capture_output=True, check=False)
