"""Plots of a watched cgroup: memory against its limit, CPU against its quota.

The figures are pure functions of the samples; :class:`LiveFigure` redraws
one in place in a notebook while the samples come in.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..kubernetes import CFS_PERIOD_US
from ..watch import Sample

MiB = 2**20

REACHED = 0.95
"""Usage counts as having reached the limit at this fraction of it (pages are charged in
batches, so the peak can stop a little short)."""

OVERRUN = 1.25
"""How far over its quota a throttled cgroup's CPU time may read and still count as held to it:
labkit's slack, not the kernel's. The kernel documents a small overrun (a slice already handed
to a CPU may be used past the quota, "typically at most 1ms per cpu": sched-bwc.rst, "CFS
Bandwidth Quota Caveats"); labkit reads the usage and the period count one after the other,
and on a loaded or emulated machine (the v2 guest) measured up to a fifth over. A cgroup with
no quota reads two or more times over, so the lesson stays clear. The printed line says this
slack (:meth:`CpuLesson.facts`)."""

MIN_PERIODS = 10
"""CFS periods (100 ms each by default) a CPU lesson needs the kernel to have counted."""

NO_READING = ("labkit could not measure this: the container's cgroup was gone before labkit "
              "could read it (the machine may be very busy), so run the cell again.")
GONE_BEFORE_KILL = ("labkit could not measure this: the container's cgroup went away before "
                    "labkit could read the kernel's counters after the kill, so run the cell "
                    "again.")
NO_MEMORY_LIMIT = "labkit could not measure this: the container's cgroup has no memory limit."
NO_CPU_QUOTA = "labkit could not measure this: the container's cgroup has no CPU quota."
FEW_PERIODS = (f"labkit could not measure this: the kernel had counted fewer than {MIN_PERIODS} "
               "CPU periods of the container when the watch ended, so watch it for longer.")
FEW_INTERVALS = ("labkit could not draw this: the watch got fewer than two readings of the "
                 "cgroup a moment apart (the machine may be very busy).")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _no_data(ax, sentence: str) -> None:
    import textwrap

    ax.text(0.5, 0.5, textwrap.fill(sentence, 60), ha="center", va="center",
            transform=ax.transAxes, fontsize=9)


def memory_figure(samples: Sequence[Sample], title: str = "memory use against the limit"):
    """Usage over time with the limit as a line, and a vertical line at the first reading
    that shows a hit on the limit (v1 ``memory.failcnt``, v2 ``max`` of ``memory.events``)
    and at the first that shows an OOM kill; one line when the same reading shows both first.

    >>> memory_figure(samples)                     # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    readings = [s for s in samples if s.state.usage.memory_bytes is not None]
    if not readings:
        _no_data(ax, NO_READING)
    ts = [s.t for s in readings]
    ax.plot(ts, [s.state.usage.memory_bytes / MiB for s in readings], label="usage",
            color="#1f77b4")
    limit = next((s.state.limits.memory_bytes for s in samples if s.state.limits.memory_bytes),
                 None)
    if limit:
        ax.axhline(limit / MiB, color="#d62728", linestyle="--", label="limit")
    hits = [s for s in samples if (s.state.usage.memory_failcnt or s.state.usage.memory_max_events)]
    kills = [s for s in samples if s.state.usage.oom_kills]
    if hits and kills and hits[0].t == kills[0].t:
        # Both first seen in the same reading: one line says both, none hides the other.
        ax.axvline(kills[0].t, color="#000000", linestyle="-.",
                   label="limit first hit and OOM kill (first seen in the same reading)")
    else:
        if hits:
            ax.axvline(hits[0].t, color="#ff7f0e", linestyle=":", label="limit first hit")
        if kills:
            ax.axvline(kills[0].t, color="#000000", linestyle="-.", label="OOM kill")
    ax.set_xlabel("seconds")
    ax.set_ylabel("MiB")
    ax.set_title(title)
    if readings:
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def cpu_rates(samples: Sequence[Sample]) -> list[tuple[float, float, int]]:
    """(t, cores used since the previous sample, throttled periods so far).

    A pair of readings with no time between them (or without CPU counters) gives no
    row: there is no rate to compute from it.
    """
    rows = []
    base = next((s.state.usage.cpu_throttled_periods for s in samples
                 if s.state.usage.cpu_throttled_periods is not None), 0)
    for before, after in itertools.pairwise(samples):
        dt = after.t - before.t
        if dt <= 0 or after.state.usage.cpu_usage_ns is None or \
                before.state.usage.cpu_usage_ns is None:
            continue
        used = after.state.usage.cpu_usage_ns - before.state.usage.cpu_usage_ns
        throttled = (after.state.usage.cpu_throttled_periods or 0) - base
        rows.append((after.t, used / 1e9 / dt, throttled))
    return rows


def cpu_figure(samples: Sequence[Sample], title: str = "CPU use against the quota"):
    """Cores used over time with the quota as a line, and throttled periods on a second axis.

    >>> cpu_figure(samples)                        # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    rows = cpu_rates(samples)
    if not rows:
        _no_data(ax, FEW_INTERVALS)
    ax.plot([r[0] for r in rows], [r[1] for r in rows], color="#1f77b4", label="cores used")
    quota = next((s.state.limits.cpus for s in samples if s.state.limits.cpus), None)
    if quota:
        ax.axhline(quota, color="#d62728", linestyle="--", label="quota")
    ax.set_ylim(0, max([1.0] + [r[1] * 1.1 for r in rows]))
    ax.set_xlabel("seconds")
    ax.set_ylabel("cores")
    second = ax.twinx()
    second.plot([r[0] for r in rows], [r[2] for r in rows], color="#2ca02c",
                label="throttled periods")
    second.set_ylabel("throttled periods")
    ax.set_title(title)
    lines = ax.get_legend_handles_labels()
    more = second.get_legend_handles_labels()
    if rows:
        ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def _most(samples: Sequence[Sample], name: str) -> int | None:
    """The largest value of a cumulative usage counter over the readings (None if never read)."""
    values = [getattr(s.state.usage, name) for s in samples]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _lesson_text(lesson) -> str:
    """A lesson as printed: one ``label: yes|no`` line per fact, or the one sentence saying
    why it could not be measured."""
    if not lesson.measured:
        return lesson.reason
    return "\n".join(f"{label}: {_yes(value)}" for label, value in lesson.facts())


@dataclass(frozen=True)
class MemoryLesson:
    """What the kernel's cumulative memory counters say about a watch that ran into the limit.

    ``str()`` of it is the lesson as printed: stable labels, no raw numbers, or one
    sentence (``reason``) when it could not be measured.
    """

    measured: bool
    reason: str = ""
    limit_bytes: int | None = None
    peak_bytes: int | None = None
    hits: int = 0
    oom_kills: int = 0

    @property
    def reached_limit(self) -> bool:
        return bool(self.limit_bytes and self.peak_bytes is not None
                    and self.peak_bytes >= REACHED * self.limit_bytes)

    @property
    def hit_limit(self) -> bool:
        return self.hits > 0

    @property
    def oom_killed(self) -> bool:
        return self.oom_kills > 0

    def facts(self) -> list[tuple[str, bool]]:
        return [("usage reached the limit", self.reached_limit),
                ("the kernel counted hits on the limit", self.hit_limit),
                ("the kernel's OOM killer killed a process in it", self.oom_killed)]

    __str__ = _lesson_text


def memory_lesson(samples: Sequence[Sample]) -> MemoryLesson:
    """The OOM lesson from a watch's readings.

    Peak usage is the kernel's own high-water mark (v1 ``memory.max_usage_in_bytes``,
    v2 ``memory.peak``; where a kernel has no such file, the highest usage read);
    hits are v1 ``memory.failcnt`` or the ``max`` line of v2 ``memory.events``; kills
    are ``oom_kill``. All are cumulative, so the last good reading holds them.
    """
    if not samples:
        return MemoryLesson(False, NO_READING)
    limit = next((s.state.limits.memory_bytes for s in samples if s.state.limits.memory_bytes),
                 None)
    if limit is None:
        return MemoryLesson(False, NO_MEMORY_LIMIT)
    peaks = [v for v in (_most(samples, "memory_peak_bytes"), _most(samples, "memory_bytes"))
             if v is not None]
    kills = _most(samples, "oom_kills") or 0
    if getattr(samples, "gone", False) and not kills:
        return MemoryLesson(False, GONE_BEFORE_KILL, limit)
    hits = max(_most(samples, "memory_failcnt") or 0, _most(samples, "memory_max_events") or 0)
    return MemoryLesson(True, "", limit, max(peaks) if peaks else None, hits, kills)


@dataclass(frozen=True)
class CpuLesson:
    """What the kernel's cumulative ``cpu.stat`` says about a container under a CPU quota.

    The counters run from the cgroup's creation, so one reading is enough and no
    interval of ours is divided by: ``throttled`` is ``nr_throttled > 0``; the use
    stayed within the quota when the CPU time used is at most the quota times the
    periods counted (plus one period for the one in progress), give or take
    :data:`OVERRUN`.
    """

    measured: bool
    reason: str = ""
    quota: float | None = None
    periods: int = 0
    throttled_periods: int = 0
    used_ns: int = 0
    period_us: int = CFS_PERIOD_US

    @property
    def throttled(self) -> bool:
        return self.throttled_periods > 0

    @property
    def within_quota(self) -> bool:
        if self.quota is None:
            return False
        allowed_ns = self.quota * self.period_us * 1000 * (self.periods + 1)
        return self.used_ns <= allowed_ns * OVERRUN

    def facts(self) -> list[tuple[str, bool]]:
        """The lines as printed; the second says exactly what :attr:`within_quota` checks."""
        slack = round((OVERRUN - 1) * 100)
        return [("the kernel throttled it", self.throttled),
                (f"CPU time used at most {self.quota:g} core for each {self.period_us / 1000:g} "
                 f"ms period counted, plus one period, plus {slack}% slack", self.within_quota)]

    __str__ = _lesson_text


def cpu_lesson(samples: Sequence[Sample]) -> CpuLesson:
    """The throttling lesson from the last reading of a watch that has the CPU counters."""
    readings = [s for s in samples if s.state.usage.cpu_usage_ns is not None
                and s.state.usage.cpu_periods is not None]
    if not readings:
        return CpuLesson(False, NO_READING)
    last = readings[-1].state
    quota = last.limits.cpus
    if quota is None:
        return CpuLesson(False, NO_CPU_QUOTA)
    usage = last.usage
    if usage.cpu_periods < MIN_PERIODS:
        return CpuLesson(False, FEW_PERIODS, quota, usage.cpu_periods)
    return CpuLesson(True, "", quota, usage.cpu_periods, usage.cpu_throttled_periods or 0,
                     usage.cpu_usage_ns, last.limits.cpu_period_us or CFS_PERIOD_US)


class LiveFigure:
    """Redraws ``draw(samples)`` in one notebook output as samples arrive.

    It redraws at most once per ``min_interval`` seconds (drawing takes time a busy
    machine does not have between readings); ``show`` always draws.
    """

    def __init__(self, draw: Callable[[Sequence[Sample]], object], every: int = 3,
                 min_interval: float = 1.0) -> None:
        self.draw = draw
        self.every = every
        self.min_interval = min_interval
        self._handle = None
        self._calls = 0
        self._drawn_at = 0.0

    def __call__(self, samples: Sequence[Sample]) -> None:
        self._calls += 1
        if self._handle is not None and (
                self._calls % self.every
                or time.monotonic() - self._drawn_at < self.min_interval):
            return
        self.show(samples)

    def show(self, samples: Sequence[Sample]) -> None:
        from IPython.display import display

        figure = self.draw(samples)
        self._drawn_at = time.monotonic()
        if self._handle is None:
            self._handle = display(figure, display_id=True)
        else:
            self._handle.update(figure)
