"""The one timing helper the benchmarks share."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``action`` over ``repeat`` runs, after one warm-up run."""
    action()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def alternating_medians(actions: Sequence[Callable[[], object]], repeat: int) -> list[float]:
    """The median wall time of each action, the actions taking turns (after one warm-up
    round), so that a machine busy with something else slows them alike."""
    for action in actions:
        action()
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(repeat):
        for action, kept in zip(actions, times, strict=True):
            start = time.perf_counter()
            action()
            kept.append(time.perf_counter() - start)
    return [statistics.median(kept) for kept in times]
