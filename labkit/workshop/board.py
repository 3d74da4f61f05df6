"""The class board's data: every learner's exercises, who looks stuck, what the class
predicted before the reveal, and each learner node's memory and CPU from its cgroup.

One plain dict (JSON as the board's page fetches it), made from the same progress files
as the instructor's table and the grades (:mod:`labkit.workshop.progress`) and from the
kernel's files of each node.
"""

from __future__ import annotations

import calendar
import time
from collections import Counter
from pathlib import Path

import docker

from ..errors import NodeReadError
from ..exercises import Exercise, exercises
from ..exercises import progress as progress_file
from ..node.reader import Node
from .progress import progress_files
from .settings import WORKSHOP_LABEL, Workshop

STUCK_FAILED_TRIES = 3
"""Failed checks on one exercise, not passed yet, that flag a learner as stuck."""
STUCK_MINUTES = 15
"""Minutes since the first check of an exercise not passed yet that flag a learner as stuck."""
BUSY_SHARE = 0.9
"""A node at this share of its memory or CPU limit is flagged."""


def _seconds(stamp: str | None) -> float | None:
    """Seconds since the epoch of a progress file's UTC time ("2025-05-01T09:14:40Z")."""
    if not stamp:
        return None
    try:
        return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


def stuck_reason(entry: dict, exercise: Exercise, now: float) -> str | None:
    """Why a learner looks stuck on one exercise, or None. A prediction counts its first
    answer only, so it never looks stuck.

    >>> from labkit.exercises import exercises
    >>> oom = next(e for e in exercises() if e.id == "01.oom-64mi")
    >>> stuck_reason({"tries": 3, "passed": False, "hints": 0, "first_try": None}, oom, 0)
    '3 failed checks'
    >>> stuck_reason({"tries": 1, "passed": False, "hints": 0,
    ...               "first_try": "2025-05-01T09:00:00Z"}, oom,
    ...              _seconds("2025-05-01T09:20:00Z"))
    '20 min since the first check'
    >>> stuck_reason({"tries": 5, "passed": True, "hints": 2, "first_try": None}, oom, 0)
    """
    if entry["passed"] or exercise.kind == "predict":
        return None
    if entry["tries"] >= STUCK_FAILED_TRIES:
        return f"{entry['tries']} failed checks"
    available = len(exercise.spec.hints)
    if available and entry["hints"] >= available:
        return f"every hint unlocked ({available})"
    first = _seconds(entry.get("first_try"))
    if first is not None and now - first >= STUCK_MINUTES * 60:
        return f"{int((now - first) // 60)} min since the first check"
    return None


def learner_row(learner: str, entries: dict[str, dict], catalog: list[Exercise],
                now: float) -> dict:
    """One learner across the catalog: each exercise's state (passed, tried or not),
    tries, hints, and the reason it looks stuck, if it does: on the exercise they checked
    last only (one they left for another is not where they are stuck now)."""
    tried = [e for e in entries.values() if e.get("last_try")]
    latest = max((e["last_try"] for e in tried), default=None)
    cells = {}
    for exercise in catalog:
        entry = entries.get(exercise.id, progress_file.blank_entry())
        state = "passed" if entry["passed"] else "tried" if entry["tries"] else "untried"
        current = latest is not None and entry.get("last_try") == latest
        cells[exercise.id] = {"state": state, "tries": entry["tries"], "hints": entry["hints"],
                              "stuck": stuck_reason(entry, exercise, now) if current else None}
    stuck = [f"{exercise_id}: {cell['stuck']}" for exercise_id, cell in cells.items()
             if cell["stuck"]]
    return {"learner": learner, "cells": cells, "stuck": stuck,
            "passed": sum(cell["state"] == "passed" for cell in cells.values())}


def predictions(everyone: dict[str, dict[str, dict]], catalog: list[Exercise]) -> list[dict]:
    """For each prediction, the class's first answers, the most given first."""
    found = []
    for exercise in catalog:
        if exercise.kind != "predict":
            continue
        answers = Counter(entries[exercise.id]["first_answer"] for entries in everyone.values()
                          if entries.get(exercise.id, {}).get("first_answer") is not None)
        found.append({"exercise": exercise.id, "title": exercise.title,
                      "answered": sum(answers.values()), "of": len(everyone),
                      "answers": sorted(answers.items(), key=lambda item: (-item[1], item[0]))})
    return found


class NodeUsage:
    """Each learner node's memory and CPU, read from its cgroup: memory as its working set
    (what it uses less the file cache the kernel reclaims first, as the kubelet counts a
    container's), CPU as the share of one CPU it used since the previous reading."""

    def __init__(self, node: Node | None = None) -> None:
        self.node = node or Node()
        self._last: dict[str, tuple[float, int]] = {}  # by container: a new node starts afresh

    def read(self, client: docker.DockerClient, workshop: Workshop) -> dict[str, dict]:
        found = {}
        prefix = workshop.prefix
        for container in client.containers.list(ignore_removed=True, filters={
                "label": f"{WORKSHOP_LABEL}={workshop.id}"}):
            learner = container.name.removeprefix(prefix)
            if learner.startswith("-"):  # a warm node, nobody's yet (labkit.workshop.warm)
                continue
            pid = container.attrs["State"]["Pid"]
            asked = time.monotonic()
            try:
                state = self.node.cgroup_state(self.node.cgroups(pid))
            except NodeReadError:  # a node that went between the listing and the reading
                continue
            # when the CPU counter was read: within the reading, its middle the best guess
            seen = (asked + time.monotonic()) / 2
            used = state.usage.cpu_usage_ns
            cpu = None
            if used is not None and container.id in self._last:
                before_at, before = self._last[container.id]
                if seen > before_at:
                    cpu = max(0.0, (used - before) / 1e9 / (seen - before_at))
            if used is not None:
                self._last[container.id] = (seen, used)
            limits = state.limits
            cpu_limit = (limits.cpu_quota_us / limits.cpu_period_us
                         if limits.cpu_quota_us and limits.cpu_period_us else None)
            memory = state.usage.memory_working_set_bytes  # not the cache it can drop
            found[learner] = {"memory": memory, "memory_limit": limits.memory_bytes,
                              "cpu": cpu, "cpu_limit": cpu_limit,
                              "busy": busy(memory, limits.memory_bytes, cpu, cpu_limit)}
        return found


def busy(memory: int | None, memory_limit: int | None, cpu: float | None,
         cpu_limit: float | None) -> bool:
    """Whether a node is at ``BUSY_SHARE`` of its memory or CPU limit (a runaway to look at).

    >>> busy(60 * 2**20, 64 * 2**20, 0.1, 1.0), busy(10 * 2**20, 64 * 2**20, 0.95, 1.0)
    (True, True)
    >>> busy(10 * 2**20, None, 0.5, None)
    False
    """
    return bool((memory and memory_limit and memory >= BUSY_SHARE * memory_limit)
                or (cpu is not None and cpu_limit and cpu >= BUSY_SHARE * cpu_limit))


def board_state(files: dict[str, Path], usage: dict[str, dict],
                now: float | None = None) -> dict:
    """What the board shows, as one JSON-able dict."""
    now = time.time() if now is None else now
    catalog = sorted(exercises(), key=lambda exercise: exercise.id)
    everyone = {learner: progress_file.entries(learner, file, aside=False)
                for learner, file in sorted(files.items())}
    learners = sorted(set(everyone) | set(usage))
    return {
        "updated": time.strftime("%H:%M:%S", time.gmtime(now)) + " UTC",
        "exercises": [{"id": e.id, "chapter": e.chapter, "kind": e.kind, "title": e.title}
                      for e in catalog],
        "learners": [{**learner_row(name, everyone.get(name, {}), catalog, now),
                      "node": usage.get(name)} for name in learners],
        "predictions": predictions(everyone, catalog),
    }


def read_board(client: docker.DockerClient, workshop: Workshop, usage: NodeUsage) -> dict:
    """The board now: the progress files on the learners' volumes, their nodes' cgroups."""
    return board_state(progress_files(client, workshop), usage.read(client, workshop))
