"""Watching a cgroup over time: a series of readings of its files."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .model import CgroupState
from .node import Node


@dataclass(frozen=True)
class Sample:
    """One reading of a cgroup, ``t`` seconds after watching started."""

    t: float
    state: CgroupState


def watch(node: Node, cgroups: dict[str, str], *, seconds: float, every: float = 0.2,
          on_sample: Callable[[list[Sample]], None] | None = None,
          until: Callable[[Sample], bool] | None = None) -> list[Sample]:
    """Read the cgroup's state every ``every`` s for up to ``seconds``.

    Stops early when ``until(sample)`` is true or the cgroup disappears
    (its container exited and the runtime removed it).
    """
    samples: list[Sample] = []
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) <= seconds:
        state = node.cgroup_state(cgroups)
        if state.usage.memory_bytes is None and state.usage.cpu_usage_ns is None:
            break
        samples.append(Sample(round(elapsed, 3), state))
        if on_sample is not None:
            on_sample(samples)
        if until is not None and until(samples[-1]):
            break
        time.sleep(max(0.0, every - (time.monotonic() - start - elapsed)))
    return samples
