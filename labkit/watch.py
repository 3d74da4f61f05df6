"""Watching a cgroup over time: a series of readings of its files.

The kernel's counters are cumulative (peak usage, times the limit was hit, OOM
kills, CPU time, periods and throttled periods), so what a lesson needs is a
reading taken *after* the event and *before* the cgroup goes away, not a fast
sampling rate. A watch therefore ends on what it has seen, not on the clock:

* ``until(sample)`` is true (e.g. the OOM killer has run), or
* ``samples`` readings a positive interval apart have come in, or
* the cgroup has gone (its container exited): the last good reading is kept, or
* the time cap ``seconds`` has passed: one final reading is taken then.

On a busy machine readings come late and few; the result says how the watch
ended (:attr:`Watch.ended`) and the views turn too few readings into one
sentence instead of a division by a zero interval.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

from .errors import NodeReadError
from .model import CgroupState, Usage
from .node import Node

DEFAULT_CAP = 120.0
"""Seconds a watch sized by samples may take at most (a loaded machine is slow)."""


@dataclass(frozen=True)
class Sample:
    """One reading of a cgroup, ``t`` seconds after watching started."""

    t: float
    state: CgroupState


class Watch(list):
    """The samples of one watch (a list of :class:`Sample`), with how the watch ended.

    ``ended`` is ``"until"``, ``"samples"``, ``"gone"`` (the cgroup disappeared;
    the last sample is the last good reading) or ``"time"`` (the cap passed).
    """

    def __init__(self, samples: Sequence[Sample] = (), ended: str = "time") -> None:
        super().__init__(samples)
        self.ended = ended

    @property
    def gone(self) -> bool:
        return self.ended == "gone"

    @property
    def intervals(self) -> int:
        return positive_intervals(self)


def positive_intervals(samples: Sequence[Sample]) -> int:
    """How many readings came a positive time after the one before them."""
    return sum(1 for before, after in itertools.pairwise(samples)
               if after.t > before.t)


def _present(usage: Usage) -> set[str]:
    return {f.name for f in fields(usage) if getattr(usage, f.name) is not None}


def is_gone(state: CgroupState, first: CgroupState | None = None) -> bool:
    """True when a reading shows the cgroup removed, wholly or partly.

    With no memory and no CPU counters it is gone; after a good ``first``
    reading, any counter that was there and is now missing means the runtime
    is removing it (hierarchy by hierarchy on cgroup v1).
    """
    usage = state.usage
    if usage.memory_bytes is None and usage.cpu_usage_ns is None:
        return True
    return first is not None and bool(_present(first.usage) - _present(usage))


def enough_samples(n: int, condition: Callable[[Sample], bool] | None = None) -> EnoughSamples:
    """An ``until`` for :func:`watch` and ``Lab.watch``: true once ``n`` readings have
    come a positive interval after the one before and, if given, ``condition`` is true
    of the latest reading. ``seconds`` then only caps the watch.

    >>> lab.watch(spin, seconds=120, plot="cpu", until=enough_samples(20))  # doctest: +SKIP
    """
    return EnoughSamples(n, condition)


class EnoughSamples:
    """The state of :func:`enough_samples`: positive intervals counted so far."""

    def __init__(self, n: int, condition: Callable[[Sample], bool] | None = None) -> None:
        if n < 1:
            raise ValueError("enough_samples needs n >= 1")
        self.n = n
        self.condition = condition
        self.count = 0
        self._last_t: float | None = None

    def __call__(self, sample: Sample) -> bool:
        if self._last_t is not None and sample.t > self._last_t:
            self.count += 1
        self._last_t = sample.t if self._last_t is None else max(self._last_t, sample.t)
        if self.count < self.n:
            return False
        return self.condition is None or bool(self.condition(sample))


def watch(node: Node, cgroups: dict[str, str], *, seconds: float | None = None,
          samples: int | None = None, every: float = 0.2,
          on_sample: Callable[[list[Sample]], None] | None = None,
          until: Callable[[Sample], bool] | None = None,
          clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> Watch:
    """Read the cgroup's state every ``every`` s until the watch is done.

    Done means: ``until(sample)`` is true, or ``samples`` readings a positive
    interval apart have come (when given), or the cgroup is gone (the last good
    reading is kept), or ``seconds`` have passed (a final reading is taken
    then). ``seconds`` defaults to :data:`DEFAULT_CAP` when ``samples`` is
    given. The first reading is always attempted, even with ``seconds=0``.
    """
    if seconds is None:
        seconds = DEFAULT_CAP if samples is not None else 10.0
    result = Watch()
    start = clock()

    def read() -> Sample | None:
        elapsed = clock() - start
        try:
            state = node.cgroup_state(cgroups)
        except NodeReadError:
            if not result:
                raise
            return None  # a file went away between listing and reading: the cgroup is going
        if is_gone(state, result[0].state if result else None):
            return None
        return Sample(round(elapsed, 3), state)

    while True:
        began = clock()
        sample = read()
        if sample is None:
            result.ended = "gone"
            return result
        result.append(sample)
        if on_sample is not None:
            on_sample(result)
        if until is not None and until(sample):
            result.ended = "until"
            return result
        if samples is not None and positive_intervals(result) >= samples:
            result.ended = "samples"
            return result
        if clock() - start >= seconds:
            result.ended = "time"  # this reading was taken as the watch ends
            return result
        sleep(max(0.0, min(every - (clock() - began), seconds - (clock() - start))))


def watch_while_drawing(node: Node, cgroups: dict[str, str],
                        draw: Callable[[list[Sample]], None], *,
                        until: Callable[[Sample], bool] | None = None,
                        **options: float | int | None) -> Watch:
    """:func:`watch`, with the readings taken on a thread of their own.

    ``draw(samples)`` runs on the calling thread whenever new readings came in.
    Drawing a figure takes seconds on a busy machine; done between readings, it
    could let a container exit and its cgroup go without the reading that shows
    why (the OOM kill). Here the reader keeps its pace whatever the drawing
    takes. An interrupt (a notebook's stop button) ends the reader too.
    """
    fresh = threading.Event()
    stop = threading.Event()
    seen: list[Watch] = []
    outcome: dict[str, object] = {}

    def note(samples: list[Sample]) -> None:
        if not seen:
            seen.append(samples)  # the watch's own list, growing
        fresh.set()

    def done(sample: Sample) -> bool:
        return stop.is_set() or (until is not None and bool(until(sample)))

    def read() -> None:
        try:
            outcome["watch"] = watch(node, cgroups, on_sample=note, until=done, **options)
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error
        finally:
            fresh.set()

    reader = threading.Thread(target=read, name="labkit-watch", daemon=True)
    reader.start()
    try:
        while reader.is_alive():
            fresh.wait(0.5)
            if fresh.is_set() and reader.is_alive() and seen:
                fresh.clear()
                draw(list(seen[0]))
    finally:
        stop.set()
        reader.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["watch"]  # type: ignore[return-value]
