"""Plots of a watched cgroup: memory against its limit, CPU against its quota.

The figures are pure functions of the samples; :class:`LiveFigure` redraws
one in place in a notebook while the samples come in.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from ..watch import Sample

MiB = 2**20


def memory_figure(samples: Sequence[Sample], title: str = "memory use against the limit"):
    """Usage (and the kernel's failcnt) over time, with the limit as a line.

    >>> memory_figure(samples)                     # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    ts = [s.t for s in samples]
    ax.plot(ts, [(s.state.usage.memory_bytes or 0) / MiB for s in samples], label="usage",
            color="#1f77b4")
    limit = next((s.state.limits.memory_bytes for s in samples if s.state.limits.memory_bytes),
                 None)
    if limit:
        ax.axhline(limit / MiB, color="#d62728", linestyle="--", label="limit")
    hits = [s for s in samples if (s.state.usage.memory_failcnt or s.state.usage.memory_max_events)]
    if hits:
        first = hits[0]
        ax.axvline(first.t, color="#ff7f0e", linestyle=":", label="limit first hit")
    kills = [s for s in samples if s.state.usage.oom_kills]
    if kills:
        ax.axvline(kills[0].t, color="#000000", linestyle="-.", label="OOM kill")
    ax.set_xlabel("seconds")
    ax.set_ylabel("MiB")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def cpu_rates(samples: Sequence[Sample]) -> list[tuple[float, float, int]]:
    """(t, cores used since the previous sample, throttled periods so far)."""
    rows = []
    for before, after in itertools.pairwise(samples):
        used = (after.state.usage.cpu_usage_ns or 0) - (before.state.usage.cpu_usage_ns or 0)
        dt = after.t - before.t
        throttled = (after.state.usage.cpu_throttled_periods or 0) - \
            (samples[0].state.usage.cpu_throttled_periods or 0)
        rows.append((after.t, used / 1e9 / dt if dt > 0 else 0.0, throttled))
    return rows


def cpu_figure(samples: Sequence[Sample], title: str = "CPU use against the quota"):
    """Cores used over time with the quota as a line, and throttled periods on a second axis.

    >>> cpu_figure(samples)                        # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    rows = cpu_rates(samples)
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
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


class LiveFigure:
    """Redraws ``draw(samples)`` in one notebook output as samples arrive."""

    def __init__(self, draw: Callable[[Sequence[Sample]], object], every: int = 3) -> None:
        self.draw = draw
        self.every = every
        self._handle = None
        self._calls = 0

    def __call__(self, samples: Sequence[Sample]) -> None:
        self._calls += 1
        if self._calls % self.every and self._handle is not None:
            return
        self.show(samples)

    def show(self, samples: Sequence[Sample]) -> None:
        from IPython.display import display

        figure = self.draw(samples)
        if self._handle is None:
            self._handle = display(figure, display_id=True)
        else:
            self._handle.update(figure)
