"""What checks read: the engine (containers by name, their state) and the kernel.

A container counts as the learner's when Docker names it exactly as the exercise
does (``oom64``, as ``docker run --name oom64`` makes it) or with the prefix of a
lab session this process owns (``lk-<session>-oom64``, as ``lab.run("oom64", ...)``
makes it). Another kernel's sessions (another learner's, on a shared machine) are
not the learner's. Everything else is read from the kernel through labkit's node
reader: namespace links, ``/proc/<pid>/cgroup``, cgroup files.
"""

from __future__ import annotations

import contextlib
import functools
import os
import posixpath
import re
from collections.abc import Callable, Sequence
from typing import Any

from .. import liveness
from ..errors import unchecked
from ..model import CgroupState
from ..session import NAME_RE, SESSION_ID_RE, prefix


def reading(read: Callable[..., Any] | None = None, *, recorded_as: str = ""):
    """Mark a function of a machine (``read(machine, ...)``) that reads through its own
    clients (a CRI socket, Podman's API) as one reading: called through the machine, so a
    chapter being recorded files its answer whole, and its replay gives it back.

    A recording files the answer under the function's module and name, and its arguments
    (``<function labkit.exercises.ch02.find_pod>, 'foo'``: labkit/replay/tape.py).
    ``recorded_as`` (``"labkit.exercises.ch02.find_pod"``) keeps that name for a reading
    that has moved or been renamed, so the recordings made before still answer it; keep it
    as long as they do (``./lab record`` files under it too).
    """
    if read is None:
        return functools.partial(reading, recorded_as=recorded_as)
    asked = _filed_as(read, recorded_as) if recorded_as else read

    @functools.wraps(read)
    def through(machine, *args: Any) -> Any:
        ask = getattr(machine, "reading", None)
        return ask(asked, *args) if ask is not None else read(machine, *args)

    return through


def recorded_as(name: str) -> Callable[[type], type]:
    """Keep the name a recording gives a reading's answer type (``module:Class``, as
    labkit/replay/codec.py writes it: ``"labkit.exercises.ch02:CriPodSeen"``) for a class
    that has moved or been renamed, so the recordings made before still read back and new
    ones write the same; that module must still hold the class under that name (an import
    there)."""
    module, _, qualname = name.partition(":")

    def keep(cls: type) -> type:
        cls.__module__, cls.__qualname__ = module, qualname
        return cls

    return keep


def _filed_as(read: Callable[..., Any], recorded_as: str) -> Callable[..., Any]:
    """``read``, under the module and name a recording files it by."""

    def asked(machine, *args: Any) -> Any:
        return read(machine, *args)

    module, _, name = recorded_as.rpartition(".")
    asked.__module__, asked.__qualname__, asked.__name__ = module, name, name
    return asked


class Machine:
    """The engine and the kernel, as checks read them (connections made on first use).

    >>> Machine().container("oom64")                # doctest: +SKIP
    {'Id': '3f2a...', 'State': {'OOMKilled': True, ...}, ...}
    """

    def __init__(self, lab: Any = None) -> None:
        self.lab = lab
        self._client = None
        self._node = None
        self._helper_session = None

    # -- connections ------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            if self.lab is not None:
                self._client = self.lab.docker.client
            else:
                from ..runtimes.docker import connect

                self._client = connect()
        return self._client

    @property
    def node(self):
        if self._node is None:
            if self.lab is not None:
                self._node = self.lab.node
            else:
                from ..lab import choose_gatherer
                from ..node import Node
                from ..node.gather import DirectGatherer, HelperGatherer
                from ..runtimes.docker import DockerRuntime

                if choose_gatherer("auto", DockerRuntime.engine_process) == "direct":
                    self._node = Node(DirectGatherer())
                else:  # a learner without root: the same reads, through the helper container
                    from ..session import Session

                    self._helper_session = Session()
                    from ..watcher import start

                    self._helper_session.claim(watcher=start)
                    runtime = DockerRuntime(self._helper_session)
                    self._node = Node(HelperGatherer(runtime.start_helper(),
                                                     runtime.engine_process),
                                      engine=runtime.description)
        return self._node

    def reading(self, read: Callable[..., Any], *args: Any) -> Any:
        """``read(self, *args)``: see :func:`reading`."""
        return read(self, *args)

    # -- whose names count --------------------------------------------------------------
    def prefixes(self) -> set[str]:
        """``""`` (names typed by hand) and the prefixes of this process's lab sessions."""
        found = {""}
        if self.lab is not None:
            found.add(self.lab.session.prefix)
        me = os.getpid()
        for record in liveness.records():
            if record.owner.get("pid") == me and SESSION_ID_RE.fullmatch(record.session):
                found.add(prefix(record.session))
        return found

    # -- the engine ---------------------------------------------------------------------
    def named(self, names: Sequence[str]) -> list[dict]:
        """The learner's containers with exactly these names (plain or session-prefixed),
        as ``docker ps -a`` lists them, newest first."""
        pattern = f"^/?({NAME_RE.pattern})?({'|'.join(re.escape(n) for n in names)})$"
        listed = self._engine(lambda: self.client.api.containers(
            all=True, filters={"name": pattern}), "list containers")
        prefixes = self.prefixes()
        mine = []
        for summary in listed:
            name = summary["Names"][0].lstrip("/")
            short = next((n for n in names if name.endswith(n)
                          and name[:len(name) - len(n)] in prefixes), None)
            if short is not None:
                mine.append({**summary, "engine_name": name, "short": short})
        return sorted(mine, key=lambda s: s.get("Created", 0), reverse=True)

    def group(self, names: Sequence[str]) -> dict[str, dict]:
        """short name -> ``docker inspect`` of the learner's newest set of containers with
        these names under one prefix (a pod made by one lab, or all typed by hand)."""
        by_prefix: dict[str, dict[str, dict]] = {}
        newest: dict[str, int] = {}
        for summary in self.named(names):
            prefix = summary["engine_name"][:-len(summary["short"])]
            members = by_prefix.setdefault(prefix, {})
            members.setdefault(summary["short"], summary)
            newest[prefix] = max(newest.get(prefix, 0), summary.get("Created", 0))
        if not by_prefix:
            return {}
        best = max(by_prefix, key=lambda p: (len(by_prefix[p]), newest[p]))
        found = {}
        for short, summary in by_prefix[best].items():
            details = self.inspect(summary["Id"])
            if details is not None:
                found[short] = details
        return found

    def container(self, name: str) -> dict | None:
        """``docker inspect`` of the learner's newest container with this name, or None."""
        return self.group([name]).get(name)

    def inspect(self, container_id: str) -> dict | None:
        import docker.errors

        try:
            return self._engine(lambda: self.client.api.inspect_container(container_id),
                                "inspect a container")
        except docker.errors.NotFound:
            return None

    def oom_events(self, container_id: str, started_at: str) -> int:
        """How many ``oom`` events Docker has logged for this container since it started
        (``started_at``: its State.StartedAt). Docker 20.10 sets State.OOMKilled only when
        the kernel's OOM notice reaches it before the container's exit does; under load it
        can come second, and the flag stays false, but the event is logged either way."""
        import datetime
        import time

        since = datetime.datetime.fromisoformat(started_at[:19]).replace(
            tzinfo=datetime.timezone.utc).timestamp() - 1
        return len(self._engine(lambda: list(self.client.api.events(
            since=int(since), until=f"{time.time():.6f}", decode=True,
            filters={"container": container_id, "event": "oom"})), "read Docker's events"))

    def remove(self, container_id: str) -> None:
        import docker.errors

        with contextlib.suppress(docker.errors.NotFound):
            self._engine(lambda: self.client.api.remove_container(container_id, force=True,
                                                                  v=True), "remove a container")

    def _engine(self, action, what: str):
        import docker.errors
        import requests.exceptions

        try:
            return action()
        except docker.errors.NotFound:
            raise
        except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
            raise unchecked("Docker", what, str(error)) from None

    # -- the kernel ----------------------------------------------------------------------
    def namespaces(self, pid: int) -> dict[str, int]:
        return self.node.namespaces(pid)

    @property
    def host_namespaces(self) -> dict[str, int]:
        return self.node.host_namespaces

    def cgroups(self, pid: int) -> dict[str, str]:
        return self.node.cgroups(pid)

    def state(self, cgroups: dict[str, str]) -> CgroupState:
        return self.node.cgroup_state(cgroups)

    @property
    def memory_hierarchy(self) -> str:
        """``memory`` on cgroup v1, ``unified`` (the ``0::`` line) on v2."""
        return self.node.layout.hierarchy_of("memory") or "unified"

    def memory_directory(self, path: str) -> str | None:
        mount = self.node.layout.for_controller("memory")
        return mount.directory(path) if mount else None

    @property
    def memory_limit_file(self) -> str:
        return "memory.max" if self.node.cgroup_version == 2 else "memory.limit_in_bytes"

    @property
    def cpu_files(self) -> str:
        return "cpu.max" if self.node.cgroup_version == 2 else \
            "cpu.cfs_quota_us / cpu.cfs_period_us"

    def process_cgroups(self, pid: int) -> dict[str, str] | None:
        """A process's cgroups, or None when there is no such process (not an error here)."""
        result = self.node.gatherer.read([f"/proc/{pid}/cgroup"])
        text = result[f"/proc/{pid}/cgroup"]
        if text is None:
            return None
        from ..node.procfs import parse_proc_cgroup

        return parse_proc_cgroup(text)

    def command_name(self, pid: int) -> str:
        text = self.node.gatherer.read([f"/proc/{pid}/comm"])[f"/proc/{pid}/comm"]
        return (text or "?").strip()

    def close(self) -> None:
        if self._helper_session is not None:
            self._helper_session.close()
            self._helper_session = None


def running_pid(details: dict) -> int | None:
    """The host PID of a container's main process, if it runs."""
    state = details.get("State", {})
    return int(state["Pid"]) if state.get("Running") and state.get("Pid") else None


def parent_of(cgroups: dict[str, str]) -> dict[str, str]:
    """The parent cgroup in every hierarchy (a pod's, for a container of a pod)."""
    return {h: posixpath.dirname(p.rstrip("/")) or "/" for h, p in cgroups.items()}
