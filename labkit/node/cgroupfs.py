"""Pure readers of cgroup interface files (v1 and v2) into Limits and Usage."""

from __future__ import annotations

from collections.abc import Mapping

from ..model import Limits, Usage

# Which files to read, by controller, per cgroup version.
FILES_V1 = {
    "memory": ("memory.limit_in_bytes", "memory.usage_in_bytes", "memory.max_usage_in_bytes",
               "memory.failcnt", "memory.oom_control", "memory.stat"),
    "cpu": ("cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares", "cpu.stat"),
    "cpuacct": ("cpuacct.usage",),
    "pids": ("pids.max", "pids.current"),
}
FILES_V2 = {
    "unified": ("memory.max", "memory.current", "memory.peak", "memory.events", "memory.stat",
                "cpu.max", "cpu.weight", "cpu.stat", "pids.max", "pids.current"),
}

# v1 reports "no limit" as the largest page-aligned counter, e.g. 9223372036854771712.
_V1_UNLIMITED = 2**62


def parse_keyed(text: str | None) -> dict[str, int]:
    """A flat-keyed file (``cpu.stat``, ``memory.events``, ``memory.oom_control``)."""
    result: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            result[parts[0]] = int(parts[1])
    return result


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    value = text.strip()
    if value in ("", "max"):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def limits_v1(files: Mapping[str, str | None]) -> Limits:
    memory = _int(files.get("memory.limit_in_bytes"))
    quota = _int(files.get("cpu.cfs_quota_us"))
    return Limits(
        memory_bytes=memory if memory is not None and memory < _V1_UNLIMITED else None,
        cpu_quota_us=quota if quota is not None and quota > 0 else None,
        cpu_period_us=_int(files.get("cpu.cfs_period_us")),
        cpu_shares=_int(files.get("cpu.shares")),
        pids_max=_int(files.get("pids.max")),
    )


def usage_v1(files: Mapping[str, str | None]) -> Usage:
    cpu_stat = parse_keyed(files.get("cpu.stat"))
    oom = parse_keyed(files.get("memory.oom_control"))
    return Usage(
        memory_bytes=_int(files.get("memory.usage_in_bytes")),
        # v1's memory.stat: total_* counts the cgroup and every cgroup below it
        memory_inactive_file_bytes=parse_keyed(files.get("memory.stat")).get(
            "total_inactive_file"),
        memory_peak_bytes=_int(files.get("memory.max_usage_in_bytes")),
        memory_failcnt=_int(files.get("memory.failcnt")),
        oom_kills=oom.get("oom_kill"),
        cpu_usage_ns=_int(files.get("cpuacct.usage")),
        cpu_periods=cpu_stat.get("nr_periods"),
        cpu_throttled_periods=cpu_stat.get("nr_throttled"),
        cpu_throttled_ns=cpu_stat.get("throttled_time"),
        pids_current=_int(files.get("pids.current")),
    )


def limits_v2(files: Mapping[str, str | None]) -> Limits:
    quota = period = None
    cpu_max = (files.get("cpu.max") or "").split()
    if len(cpu_max) == 2:
        quota, period = _int(cpu_max[0]), _int(cpu_max[1])
    return Limits(
        memory_bytes=_int(files.get("memory.max")),
        cpu_quota_us=quota,
        cpu_period_us=period,
        cpu_weight=_int(files.get("cpu.weight")),
        pids_max=_int(files.get("pids.max")),
    )


def usage_v2(files: Mapping[str, str | None]) -> Usage:
    cpu_stat = parse_keyed(files.get("cpu.stat"))
    events = parse_keyed(files.get("memory.events"))
    usage_usec = cpu_stat.get("usage_usec")
    throttled_usec = cpu_stat.get("throttled_usec")
    return Usage(
        memory_bytes=_int(files.get("memory.current")),
        memory_inactive_file_bytes=parse_keyed(files.get("memory.stat")).get("inactive_file"),
        memory_peak_bytes=_int(files.get("memory.peak")),
        memory_max_events=events.get("max"),
        oom_kills=events.get("oom_kill"),
        cpu_usage_ns=usage_usec * 1000 if usage_usec is not None else None,
        cpu_periods=cpu_stat.get("nr_periods"),
        cpu_throttled_periods=cpu_stat.get("nr_throttled"),
        cpu_throttled_ns=throttled_usec * 1000 if throttled_usec is not None else None,
        pids_current=_int(files.get("pids.current")),
    )


def read_state(files: Mapping[str, str | None], version: int) -> tuple[Limits, Usage]:
    """Limits and usage from the interface files of one cgroup (keyed by file name)."""
    if version == 2:
        return limits_v2(files), usage_v2(files)
    return limits_v1(files), usage_v1(files)
