"""A Pod emulated with plain Docker, the way the article builds one.

1. a parent cgroup for the pod (``cgcreate -g cpu,memory:/NAME`` on cgroup v1),
   holding the pod-level limits;
2. a sandbox container that owns the network namespace and a *shareable* IPC
   namespace (``--ipc shareable``);
3. the Pod's containers joining the sandbox's network and IPC (and PID, with
   ``shareProcessNamespace``), each with its own limits, under the parent cgroup.

Docker cannot share a UTS namespace, so every member keeps its own; Docker copies
the sandbox's hostname into the joiners, so the *names* still match.

The namespace modes come from :mod:`labkit.kubernetes`, as for every pod kind; here
they become Docker's ``--network``, ``--ipc`` and ``--pid`` modes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import TypeVar

from ...errors import EngineRefused, LabError
from ...kubernetes import NamespaceModes, cpu_shares
from ...model import ExecResult, Member
from ...node import systemd_units
from ...node.cgroup_writer import make_cgroup, remove_cgroup
from ...node.mounts import CgroupLayout
from ...spec import ContainerSpec, PodContainer, PodSpec
from ..pod import DeletedOnExit
from .container import Container
from .runtime import DockerRuntime, check_docker_can_run

SANDBOX_COMMAND = ("sleep", "2147483647")
T = TypeVar("T")
RESTART_POLICIES = {"Always": {"Name": "always"}, "OnFailure": {"Name": "on-failure"},
                    "Never": None}


def sandbox_modes(modes: NamespaceModes, hostname: str) -> dict[str, str]:
    """Docker's options for the sandbox: it holds the pod's namespaces, its IPC shareable.
    Docker cannot share UTS, so a pod's UTS becomes the pod's name, copied to the joiners.

    >>> from labkit.kubernetes import namespace_modes
    >>> sandbox_modes(namespace_modes(), "foo")
    {'hostname': 'foo', 'ipc_mode': 'shareable'}
    >>> sandbox_modes(namespace_modes(host_network=True, host_pid=True), "foo")
    {'network_mode': 'host', 'ipc_mode': 'shareable', 'pid_mode': 'host'}
    """
    options = {}
    if modes.net == "node":
        options["network_mode"] = "host"
    if modes.uts == "pod":
        options["hostname"] = hostname
    options["ipc_mode"] = "host" if modes.ipc == "node" else "shareable"
    if modes.pid == "node":
        options["pid_mode"] = "host"
    return options


def joiner_modes(modes: NamespaceModes, sandbox_id: str) -> dict[str, str]:
    """Docker's options for a container joining the sandbox's namespaces (its network
    always: on the node's network, the sandbox is there).

    >>> from labkit.kubernetes import namespace_modes
    >>> joiner_modes(namespace_modes(), "3f2a")
    {'network_mode': 'container:3f2a', 'ipc_mode': 'container:3f2a'}
    >>> joiner_modes(namespace_modes(share_process_namespace=True), "3f2a")["pid_mode"]
    'container:3f2a'
    >>> joiner_modes(namespace_modes(host_ipc=True, host_pid=True), "3f2a")
    {'network_mode': 'container:3f2a', 'ipc_mode': 'host', 'pid_mode': 'host'}
    """
    sandbox = f"container:{sandbox_id}"
    options = {"network_mode": sandbox, "ipc_mode": "host" if modes.ipc == "node" else sandbox}
    if modes.pid == "node":
        options["pid_mode"] = "host"
    elif modes.pid == "pod":
        options["pid_mode"] = sandbox
    return options


@dataclass(frozen=True)
class ParentCgroup:
    """The pod's parent cgroup: where it is, what Docker is told, how a learner makes it."""

    path: str  # in the cgroup tree: "/lk-<session>-foo", or "/lk_<session>_foo.slice"
    docker_parent: str  # --cgroup-parent: "/lk-<session>-foo", or "lk_<session>_foo.slice"
    directories: tuple[str, ...]  # made by labkit (cgroupfs); systemd makes slices itself
    command: str  # what a learner would type to make it
    slice: str = ""  # the systemd slice, when systemd owns the tree


class DockerPod(DeletedOnExit):
    """A running emulated pod: its sandbox and containers, in manifest order.

    ``layout`` is where the parent cgroup is written with the cgroupfs driver; None
    where this process may not write cgroups (reading the node through the helper).
    """

    kind = "emulated with Docker"

    def __init__(self, runtime: DockerRuntime, spec: PodSpec,
                 layout: CgroupLayout | None) -> None:
        self.runtime = runtime
        self.layout = layout
        self.spec = spec
        self.name = spec.name
        self.parent: ParentCgroup | None = None
        self.sandbox: Container | None = None
        self.containers: dict[str, Container] = {}
        self._deleted = False
        self._cleanup_key = runtime.session.name(f"pod-{spec.name}")

    # -- creation ----------------------------------------------------------------
    def start(self, quiet: bool = True) -> DockerPod:
        for member in self.spec.containers:  # before the parent cgroup exists
            check_docker_can_run(member.spec)
        session = self.runtime.session
        session.on_cleanup(self._cleanup_key, self.delete)
        modes = self.spec.namespace_modes
        try:
            self.parent = self._make_parent()
            cgroup_parent = self.parent.docker_parent if self.parent else None
            self.sandbox = self.runtime.create_spec(
                _sandbox_spec(self.spec), role="sandbox", name="sandbox",
                cgroup_parent=cgroup_parent, **sandbox_modes(modes, self.spec.name))
            joiners = joiner_modes(modes, self.sandbox.id)

            def create(member: PodContainer) -> Container:
                # Engine names are pod-scoped (lk-<session>-foo-app); the lesson says "app".
                scoped = replace(member.spec, name=f"{self.spec.name}-{member.name}")
                return self.runtime.create_spec(
                    scoped, role=member.name, name=member.name,
                    environment=dict(member.env) or None, cgroup_parent=cgroup_parent,
                    **joiners, **self._member_options(member))

            # The joiners are created while the sandbox starts, then start together (the
            # engine's container starts are most of the time); the first failure, in
            # manifest order, is the one said.
            sandbox = self.sandbox
            made, error = together([lambda: self.runtime.start_created(sandbox)] +
                                   [lambda m=m: create(m) for m in self.spec.containers])
            self.containers = {c.name: c for c in made[1:] if c is not None}
            if error is None:
                _, error = together([lambda c=c: self.runtime.start_created(c)
                                     for c in self.containers.values()])
            if error is not None:
                raise error
            if not quiet:  # said here, in manifest order, not from the starting threads
                for container in self.containers.values():
                    session.say_once(container.image.note)
        except BaseException:
            # Keep the first sentence; what delete cannot remove now stays in the session's
            # cleanup (and delete may be called again) if the engine went away meanwhile.
            with contextlib.suppress(LabError):
                self.delete()
            raise
        return self

    def _member_options(self, member: PodContainer) -> dict:
        """What else of the Pod Docker can do for each container: requests as cpu shares and
        a memory reservation, the restart policy, the grace period."""
        options = {
            "restart_policy": RESTART_POLICIES[self.spec.restart_policy],
            "stop_timeout": self.spec.grace_period_s,
        }
        if member.requests_cpus:
            options["cpu_shares"] = cpu_shares(member.requests_cpus)
        if member.requests_memory:
            options["mem_reservation"] = member.requests_memory
        return options

    def _make_parent(self) -> ParentCgroup:
        session = self.runtime.session
        limits = (self.spec.memory_limit, self.spec.cpu_limit)
        if self.runtime.cgroup_driver == "systemd":
            # Docker's systemd driver wants a slice; a dash in its name would mean nesting.
            name = f"{session.slice_prefix}{self.spec.name.replace('-', '_')}.slice"
            systemd_units.start_slice(name, *limits)
            return ParentCgroup(systemd_units.slice_path(name), name, (),
                                systemd_units.set_command(name, *limits), slice=name)
        if self.layout is None:
            raise LabError(
                "Making the pod's parent cgroup means writing to /sys/fs/cgroup, which needs "
                "root: open the lab as root (sudo ./lab up) for this chapter."
            )
        path = f"/{session.name(self.spec.name)}"
        made = make_cgroup(self.layout, path, memory_bytes=limits[0], cpus=limits[1])
        return ParentCgroup(path, path, tuple(made), f"cgcreate -g cpu,memory:{path}")

    # -- looking -------------------------------------------------------------------
    @property
    def cgroup_parent(self) -> str:
        return self.parent.path if self.parent else ""

    def _every(self) -> list[Container]:
        return ([self.sandbox] if self.sandbox else []) + list(self.containers.values())

    def members(self) -> list[Member]:
        return [c.member() for c in self._every()]

    def names(self) -> dict[str, str]:
        """runtime id -> member name, for labelling cgroup trees."""
        return {c.id: c.name for c in self._every()}

    @property
    def state(self) -> str:
        """``running``; ``sandbox gone`` once it is removed; the members that do not run
        (``sidecar exited``); ``deleted``."""
        if self._deleted:
            return "deleted"
        if self.sandbox is None:
            return "sandbox gone"
        stopped = []
        for container in self._every():
            try:
                status = container.status
            except EngineRefused:  # removed behind labkit's back
                status = "gone"
            if status != "running":
                stopped.append(f"{container.name} {status}")
        return ", ".join(stopped) or "running"

    def exec(self, container: str, command: str | Sequence[str]) -> ExecResult:
        return self[container].exec(command)

    def __getitem__(self, name: str) -> Container:
        if name == "sandbox" and self.sandbox:
            return self.sandbox
        return self.containers[name]

    def commands(self) -> list[str]:
        """The shell commands a learner would type to build this pod by hand."""
        lines = [self.parent.command] if self.parent else []
        for container in self._every():
            host = container.inspect()["HostConfig"]
            flags = [f"--name {container.engine_name}"]
            if host.get("CgroupParent"):
                flags.append(f"--cgroup-parent {host['CgroupParent']}")
            for flag, key in (("--network", "NetworkMode"), ("--ipc", "IpcMode"),
                              ("--pid", "PidMode")):
                value = host.get(key) or ""
                if value and value not in ("default", "private", "bridge"):
                    value = value.replace(self.sandbox.id, self.sandbox.engine_name) \
                        if self.sandbox else value
                    flags.append(f"{flag} {value}")
            if host.get("Memory"):
                flags.append(f"--memory {host['Memory']}")
            if host.get("NanoCpus"):
                flags.append(f"--cpus {host['NanoCpus'] / 1e9:g}")
            if container.role == "sandbox":
                image, command = "labkit/toolbox", " ".join(container.spec.command or ())
            else:  # what the manifest says, whichever image stands in for it here
                asked = next(c.spec for c in self.spec.containers if c.name == container.name)
                image, command = asked.image, " ".join(asked.command or ())
            lines.append(f"docker run -d {' '.join(flags)} {image} {command}".rstrip())
        return lines

    def remove_sandbox(self) -> None:
        """Remove only the sandbox, as if the pause container died."""
        if self.sandbox is not None:
            self.runtime.remove(self.sandbox)
            self.sandbox = None

    # -- deletion --------------------------------------------------------------------
    def delete(self) -> None:
        """Remove the containers, together (as ``docker rm -f`` of several does), then the
        parent cgroup in every hierarchy."""
        every = list(reversed(list(self.containers.values()))) + \
            ([self.sandbox] if self.sandbox else [])
        _, error = together([lambda c=c: self.runtime.remove(c) for c in every])
        if error is not None:  # what was not removed stays, for delete (or cleanup) again
            raise error
        self.containers = {}
        self.sandbox = None
        if self.parent is not None:
            if self.parent.slice:
                systemd_units.stop_slice(self.parent.slice)
            else:
                remove_cgroup(self.layout, self.parent.path)
            self.parent = None
        self.runtime.session.forget(self._cleanup_key)
        self._deleted = True


def together(actions: Sequence[Callable[[], T]]) -> tuple[list[T | None], BaseException | None]:
    """Run the actions at once (a thread each); every one ends before this returns.
    Their results in order (None where one failed), and the first failure in that order.

    >>> together([lambda: 1, lambda: 2])
    ([1, 2], None)
    >>> together([lambda: 1, lambda: 1 / 0])[1]
    ZeroDivisionError('division by zero')
    """
    if len(actions) < 2:
        try:
            return [action() for action in actions], None
        except Exception as error:  # handed back, as from the threads
            return [None], error
    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        futures = [pool.submit(action) for action in actions]
        wait(futures)
    failures = [f.exception() for f in futures]
    results = [None if e else f.result() for f, e in zip(futures, failures, strict=True)]
    return results, next((e for e in failures if e is not None), None)


def _sandbox_spec(spec: PodSpec) -> ContainerSpec:
    return ContainerSpec(name=f"{spec.name}-sandbox", image="labkit/toolbox",
                         command=SANDBOX_COMMAND)
