"""A Pod emulated with plain Docker, the way the article builds one.

1. a parent cgroup for the pod (``mkdir`` in each hierarchy of /sys/fs/cgroup on cgroup
   v1, a systemd slice on v2), holding the pod-level values the kubelet would write;
2. a sandbox container that owns the network namespace and a *shareable* IPC
   namespace (``--ipc shareable``);
3. the Pod's containers joining the sandbox's network and IPC (and PID, with
   ``shareProcessNamespace``), each with its own limits, under the parent cgroup: the
   kubelet's ``cpu.shares`` and, where Docker can limit swap, ``--memory-swap`` equal to
   ``--memory`` (the kubelet allows no swap above a container's limit; Docker alone would
   allow as much swap again).

Docker cannot share a UTS namespace, so every member keeps its own; Docker copies
the sandbox's hostname into the joiners, so the *names* still match.

The namespace modes come from :mod:`labkit.kubernetes`, as for every pod kind; here
they become Docker's ``--network``, ``--ipc`` and ``--pid`` modes. All of it is one
:class:`~labkit.plan.Plan`: labkit executes it, and ``pod.commands()`` prints it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import TypeVar

from ...errors import EngineRefused, LabError
from ...kubernetes import (
    LinuxContainerResources,
    NamespaceModes,
    NodeFacts,
    linux_container_resources,
)
from ...model import ExecResult, Member
from ...node import systemd_units
from ...node.cgroup_writer import execute, plan_cgroup, remove_cgroup
from ...node.mounts import CgroupLayout
from ...plan import Command, Plan
from ...spec import (
    ContainerSpec,
    PodContainer,
    PodSpec,
    refuse_host_users,
    refuse_what_only_the_cri_runs,
)
from ..pod import PodBase
from .container import Container
from .run import DockerRun
from .runtime import DockerRuntime, check_docker_can_run

SANDBOX_COMMAND = ("sleep", "2147483647")
SANDBOX_CPU_SHARES = 2  # what containerd gives a pod's pause (its defaultSandboxCPUshares)
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
    """The pod's parent cgroup: where it is, and what Docker is told."""

    path: str  # in the cgroup tree: "/lk-<session>-foo", or "/lk_<session>_foo.slice"
    docker_parent: str  # --cgroup-parent: "/lk-<session>-foo", or "lk_<session>_foo.slice"
    slice: str = ""  # the systemd slice, when systemd owns the tree


class DockerPod(PodBase):
    """A running emulated pod: its sandbox and containers, in manifest order.

    ``layout`` is where the parent cgroup is written with the cgroupfs driver; None
    where this process may not write cgroups (reading the node through the helper).
    """

    kind = "emulated with Docker"
    sandbox_name = "sandbox"

    def __init__(self, runtime: DockerRuntime, spec: PodSpec,
                 layout: CgroupLayout | None) -> None:
        self.runtime = runtime
        self.layout = layout
        self.spec = spec
        self.name = spec.name
        self.parent: ParentCgroup | None = None
        self.sandbox: Container | None = None
        self.containers: dict[str, Container] = {}
        self.plan = Plan()
        self._deleted = False
        self._cleanup_key = runtime.session.name(f"pod-{spec.name}")

    # -- the plan ------------------------------------------------------------------
    def _plan(self) -> tuple[ParentCgroup, Plan, DockerRun, list[tuple[PodContainer, DockerRun]]]:
        """Everything this pod is made of, before anything is made: the parent cgroup's
        steps, the sandbox's ``docker run``, each container's."""
        refuse_what_only_the_cri_runs(self.spec)
        refuse_host_users(self.spec, "Docker makes user namespaces only for the whole engine "
                          "(dockerd --userns-remap), never for one Pod")
        for member in self.spec.containers:
            check_docker_can_run(member.spec)
        modes = self.spec.namespace_modes
        parent, plan = self._parent_plan()
        sandbox = self.runtime.docker_run(_sandbox_spec(self.spec),
                                          cgroup_parent=parent.docker_parent,
                                          cpu_shares=SANDBOX_CPU_SHARES,
                                          **sandbox_modes(modes, self.spec.name))
        joiners = joiner_modes(modes, sandbox.name)
        members = []
        for member in self.spec.containers:
            # Engine names are pod-scoped (lk-<session>-foo-app); the lesson says "app".
            command, args = member.command_and_args()
            # Kubernetes' command is Docker's entrypoint (the image's CMD goes with it), its
            # args Docker's command (the image's ENTRYPOINT stays).
            docker_command = (command[1:] + args if command else args) or None
            scoped = replace(member.spec, name=f"{self.spec.name}-{member.name}",
                             command=tuple(docker_command) if docker_command else None)
            members.append((member, self.runtime.docker_run(
                scoped, environment=member.environment or None,
                entrypoint=command[0] if command else None,
                cgroup_parent=parent.docker_parent, **joiners, **self._member_options(member))))
        plan.add(Command(sandbox.argv(), does=sandbox),
                 *(Command(run.argv(), does=run) for _m, run in members))
        return parent, plan, sandbox, members

    def _parent_plan(self) -> tuple[ParentCgroup, Plan]:
        session = self.runtime.session
        limits = self.spec.resource_config
        if self.runtime.cgroup_driver == "systemd":
            # Docker's systemd driver wants a slice; a dash in its name would mean nesting.
            name = f"{session.slice_prefix}{self.spec.name.replace('-', '_')}.slice"
            return (ParentCgroup(systemd_units.slice_path(name), name, slice=name),
                    Plan(systemd_units.plan_slice(name, limits)))
        if self.layout is None:
            raise LabError(
                "Making the pod's parent cgroup means writing to /sys/fs/cgroup, which needs "
                "root: open the lab as root (sudo ./lab up) for this chapter."
            )
        path = f"/{session.name(self.spec.name)}"
        return ParentCgroup(path, path), Plan(plan_cgroup(self.layout, path, limits))

    def _member_options(self, member: PodContainer) -> dict:
        """What else of the Pod Docker can do for each container: the cpu.shares the
        kubelet asks for (from the request, or the limit; 2 with neither), no swap above
        the memory limit, the restart policy, the grace period. (Memory requests have no
        cgroup value on a node, so none here either.)"""
        return {
            "cpu_shares": member.resource_config.cpu_shares,
            "memory_swap": self._memory_swap(member),
            "restart_policy": RESTART_POLICIES[self.spec.restart_policy],
            "stop_timeout": self.spec.grace_period_s,
        }

    def linux_resources(self, container: PodContainer) -> LinuxContainerResources:
        """What a kubelet would ask for this container's cgroup (labkit.kubernetes's rules),
        on this node as Docker describes it (``docker info``: its memory, cgroup version
        and whether it can limit swap).

        >>> pod.linux_resources(pod.spec.containers[0]).memory_swap_limit  # doctest: +SKIP
        268435456
        """
        info = self.runtime.info
        node = NodeFacts(int(info.get("MemTotal") or 0) or 1,
                         int(info.get("CgroupVersion") or 1), bool(info.get("SwapLimit")))
        return linux_container_resources(container.resources, self.spec.qos_class, node)

    def _memory_swap(self, member: PodContainer) -> int | None:
        """``--memory-swap`` equal to ``--memory``: no swap above the container's memory
        limit, as the kubelet asks by default (``ConfigureNoSwap``: on cgroup v1 memory+swap
        equal to the limit, on v2 ``memory.swap.max`` 0) where the node can limit swap.
        Docker alone sets memory+swap to twice ``--memory``. None for a container without
        a memory limit (Docker takes ``--memory-swap`` only with ``--memory``) and where
        Docker cannot limit swap (it would drop the flag with a warning)."""
        wanted = self.linux_resources(member)
        memory = wanted.config.memory
        no_swap = wanted.memory_swap_limit or ("memory.swap.max", "0") in wanted.unified
        return memory if memory and no_swap else None

    # -- creation ----------------------------------------------------------------
    def start(self, quiet: bool = False) -> DockerPod:
        self.parent, self.plan, sandbox_run, members = self._plan()  # refusals come here
        session = self.runtime.session
        session.on_cleanup(self._cleanup_key, self.delete)
        try:
            self._make_parent()
            self.sandbox = self.runtime.create(sandbox_run, spec=_sandbox_spec(self.spec),
                                               role="sandbox", name="sandbox")

            def create(member: PodContainer, run: DockerRun) -> Container:
                return self.runtime.create(run, spec=member.spec, role=member.name,
                                           name=member.name)

            # The joiners are created while the sandbox starts, then start together (the
            # engine's container starts are most of the time); the first failure, in
            # manifest order, is the one said.
            sandbox = self.sandbox
            made, error = together([lambda: self.runtime.start_created(sandbox)] +
                                   [lambda m=m, r=r: create(m, r) for m, r in members])
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

    def _make_parent(self) -> None:
        """The parent cgroup's steps of the plan: ``systemctl`` or ``mkdir``/``echo``."""
        steps = [s for s in self.plan if not (isinstance(s, Command) and s.argv[0] == "docker")]
        if self.parent and self.parent.slice:
            systemd_units.execute(steps)
            return
        try:
            execute(steps)
        except OSError as error:
            raise LabError(f"The kernel refused to make the pod's parent cgroup "
                           f"{self.parent.path if self.parent else ''} ({error.strerror}): "
                           "check that /sys/fs/cgroup is writable.") from None

    # -- looking -------------------------------------------------------------------
    @property
    def cgroup_parent(self) -> str:
        return self.parent.path if self.parent else ""

    def _every(self) -> list[Container]:
        return ([self.sandbox] if self.sandbox else []) + list(self.containers.values())

    def _handles(self) -> dict[str, Container]:
        return {c.name: c for c in self._every()}

    def members(self) -> list[Member]:
        return [c.member() for c in self._every() if c.status == "running"]

    @property
    def state(self) -> str:
        """``running``; ``sandbox gone`` once it does not run; the members that do not run
        (``sidecar exited``); ``deleted``."""
        if self._deleted:
            return "deleted"
        states = self.states()
        if states.get("sandbox") != "running":
            return "sandbox gone"
        stopped = [f"{name} {status}" for name, status in states.items() if status != "running"]
        return ", ".join(stopped) or "running"

    def states(self) -> dict[str, str]:
        """Each member's status as Docker says it (``running``, ``exited``, ...)."""
        found = {}
        for container in self._every():
            try:
                found[container.name] = container.status
            except EngineRefused:  # removed behind labkit's back
                found[container.name] = "gone"
        return found

    def exec(self, container: str, command: str | Sequence[str]) -> ExecResult:
        return self[container].exec(command)

    def kill_sandbox(self) -> None:
        """SIGKILL the sandbox's process (``docker kill``), as if the pod's pause died."""
        if self.sandbox is not None and self.sandbox.status == "running":
            self.sandbox.kill()

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
