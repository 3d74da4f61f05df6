"""What was asked for beside what the kernel's cgroup files say."""

from __future__ import annotations

import pandas as pd

from ..model import Limits, Observation
from ..quantity import format_bytes


def _cpus(limits: Limits) -> str:
    if limits.cpu_quota_us is None:
        return "unlimited"
    return f"{limits.cpus:g} CPU ({limits.cpu_quota_us}/{limits.cpu_period_us} µs)"


def limit_files(version: int) -> dict[str, str]:
    if version == 2:
        return {"memory": "memory.max", "cpu": "cpu.max"}
    return {"memory": "memory.limit_in_bytes", "cpu": "cpu.cfs_quota_us / cpu.cfs_period_us"}


def limits_table(obs: Observation) -> pd.DataFrame:
    """One row per member and resource: asked, the kernel file, what it says, and a match.

    >>> limits_table(obs)                          # doctest: +SKIP
    """
    files = limit_files(obs.cgroup_version)
    rows = []
    for observed in obs.members:
        asked, kernel = observed.member.asked, observed.state.limits
        rows.append({
            "member": observed.name, "resource": "memory",
            "asked": format_bytes(asked.memory_bytes), "kernel file": files["memory"],
            "kernel says": format_bytes(kernel.memory_bytes),
            "match": asked.memory_bytes == kernel.memory_bytes,
        })
        rows.append({
            "member": observed.name, "resource": "cpu",
            "asked": _cpus(asked), "kernel file": files["cpu"], "kernel says": _cpus(kernel),
            "match": asked.cpu_quota_us == kernel.cpu_quota_us,
        })
    return pd.DataFrame(rows).set_index(["member", "resource"])
