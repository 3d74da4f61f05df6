"""A Pod from scratch: no engine, only the kernel's namespaces and cgroups.

What a container runtime does for a Pod, done with the commands a learner can type:

1. the pod's cgroup, with the pod-level limits, and one cgroup per member under it
   (``mkdir`` and ``echo`` in /sys/fs/cgroup, through :mod:`labkit.node.cgroup_writer`);
2. **pause**: ``unshare`` makes new net, ipc, uts, pid and mount namespaces; in them the
   first process joins its cgroup, names the host, brings loopback up, mounts /proc in the
   lab's busybox root file system and ``chroot``s into it to run the lab's pause;
3. each **container**: ``nsenter`` into pause's net, ipc and uts namespaces, ``unshare``
   its own mount and PID namespaces, join its cgroup, mount /proc and the pod's /dev/shm,
   ``chroot`` into its own root file system and run the command.

With ``hostUsers: false`` (``host_users=False``) the pod gets a user namespace of its own,
as the kubelet asks a runtime for one: 65536 IDs from a free range (see
:mod:`labkit.node.user_ranges`), each member's root file system owned by the range's first
ID (``chown -R``, where a newer runtime would use an ID-mapped mount), a holder process
that makes the user namespace and gets its maps from the host, pause and the containers
made in it as its root, and each member placed in its cgroup from the host (root in the
pod cannot write the host's cgroup files) before a FIFO lets it go on.

The namespace modes come from :mod:`labkit.kubernetes`, as for every pod kind (hostNetwork,
hostIPC, hostPID and shareProcessNamespace change which namespaces pause makes and which a
container joins); the limits from the same place. No process watches the containers:
nothing restarts them, and when pause dies the kubelet's part (making the sandbox again) is
nobody's.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ... import images
from ...errors import LabError, SpecError
from ...kubernetes import ResourceConfig, Resources, container_resources
from ...logs import last_line
from ...model import ExecResult, Limits, Member
from ...node import cgroup_writer, oci_runtime
from ...node.mounts import CgroupLayout, own_layout
from ...node.user_ranges import IDS_PER_POD, free_range
from ...plan import Command, MakeDirectories, Plan, Unpack, WriteEach, WriteFile
from ...session import Session
from ...spec import PodContainer, PodSpec, refuse_what_only_the_cri_runs
from ..pod import PodBase
from . import cgroups, commands, rootfs
from . import network as bridge_network

SANDBOX = "pause"
SANDBOX_CPU_SHARES = 2  # what containerd gives a pod's pause (its defaultSandboxCPUshares)
SHM_OPTIONS = "mode=1777,size=65536k"  # the tmpfs containerd mounts as a sandbox's /dev/shm
FIND_CHILD = "cat /proc/$!/task/$!/children"  # unshare --fork's child: pause, a container
HOLDER = "USERNS"  # the shell variable for the user namespace holder's PID
FIND_HOLDER = "grep -sqx sleep /proc/$!/comm && echo $!"  # it has made its user namespace
TOOLS = (("unshare", "util-linux"), ("nsenter", "util-linux"), ("mount", "mount"),
         ("chroot", "coreutils"), ("ip", "iproute2"), ("hostname", "hostname"))
TOOLBOX = "labkit/toolbox"
EXEC_NAMESPACES = ("mount", "uts", "ipc", "net", "pid")
START_TIMEOUT_S = 10.0


def check_can_run(spec: PodSpec) -> dict[str, tuple[str, ...]]:
    """Everything refused before anything is made: not root, a missing tool, a container
    named like the sandbox, an image other than the lab's busybox stand-ins, a stand-in
    without a command. Returns each container's command."""
    refuse_what_only_the_cri_runs(spec)
    if os.geteuid() != 0:
        raise LabError("A pod from scratch makes namespaces and writes cgroups itself, which "
                       "needs root: open the lab as root (sudo ./lab up).")
    for tool, package in TOOLS:
        if shutil.which(tool) is None:
            raise LabError(f"A pod from scratch runs {tool}, which this machine does not "
                           f"have: install it (sudo apt-get install {package}).")
    found = {}
    for container in spec.containers:
        if container.name == SANDBOX:
            raise SpecError(f"A pod from scratch names its sandbox {SANDBOX}, so a container "
                            f"cannot be called {SANDBOX}: give it another name.")
        asked = container.spec.image
        stand_in = images.stand_in_for(asked)
        if stand_in is None and asked.split(":")[0] != TOOLBOX:
            raise SpecError(
                f"A pod from scratch has no image store, only the lab's busybox root file "
                f"system, so container {container.name} cannot run {asked!r}: use one of "
                f"{images.BROUGHT} (busybox stand-ins), or run this Pod with lab.cri_pod.")
        command = tuple(container.argv(cmd=stand_in.command if stand_in else ("sh",)))
        if not command:
            raise SpecError(f"Container {container.name} needs a command: the stand-in for "
                            f"{asked} has no default one.")
        found[container.name] = tuple(command)
    return found


@dataclass
class ScratchMember:
    """One process of the pod, as started: what ran, where it lives, and its host PID."""

    name: str
    role: str
    argv: list[str]
    rootfs: str
    cgroup: str
    procs_files: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    pid: int = 0  # PID 1 of the container, on the host
    process: subprocess.Popen | None = field(default=None, repr=False)  # unshare or nsenter
    log: str = ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def id(self) -> str:
        """What stands for a runtime's id here: the member's cgroup."""
        return self.cgroup


class ScratchPod(PodBase):
    """A running pod made from scratch: pause and the containers, in manifest order."""

    kind = "from scratch"
    sandbox_name = SANDBOX

    def __init__(self, session: Session, spec: PodSpec,
                 layout: CgroupLayout | None = None) -> None:
        self.session = session
        self.spec = spec
        self.name = spec.name
        self.layout = layout or own_layout()
        self.cgroup_parent = cgroups.pod_path(session.prefix, spec.name)
        self.directory = os.path.join(rootfs.BASE, session.name(spec.name))
        self.shm = os.path.join(self.directory, "shm")
        self.hostname = spec.name if spec.namespace_modes.uts == "pod" else None
        self.sandbox: ScratchMember | None = None
        self.containers: dict[str, ScratchMember] = {}
        self.plan = Plan()  # what makes the pod: executed by start(), shown by commands()
        self._made = False
        self._deleted = False
        self._plumbed = False
        self._key = session.name(f"scratch-pod-{spec.name}")
        self.user_range: int | None = None  # hostUsers: false: the first of the pod's host IDs
        self._holder: subprocess.Popen | None = None  # holds the user namespace at first

    # -- the plan ---------------------------------------------------------------------------
    def _plan(self, run: dict[str, tuple[str, ...]]) -> Plan:
        """Every step that makes this pod, in order, as labkit executes them and as a learner
        types them: the cgroups with the kubelet's values (the pod's, containerd's for pause,
        each container's), the pod's /dev/shm, a root file system per member, pause, then
        each container joined to pause (``$PAUSE`` is pause's host PID)."""
        spec, layout, parent = self.spec, self.layout, self.cgroup_parent
        plan = Plan(cgroup_writer.plan_delegation(layout, "/"))  # v2: the root hands down
        plan.add(*cgroup_writer.plan_cgroup(layout, parent, spec.resource_config))
        plan.add(*cgroup_writer.plan_delegation(
            layout, parent, available=cgroup_writer.delegated(layout, "/")))
        plan.add(*cgroup_writer.plan_cgroup(layout, f"{parent}/{SANDBOX}",
                                            ResourceConfig(cpu_shares=SANDBOX_CPU_SHARES),
                                            weight=oci_runtime.runc_weight()))
        for container in spec.containers:  # as runc writes a container's: by its formula
            plan.add(*cgroup_writer.plan_cgroup(layout, f"{parent}/{container.name}",
                                                container.resource_config,
                                                weight=oci_runtime.runc_weight()))
        if spec.namespace_modes.ipc == "pod":
            plan.add(MakeDirectories((self.shm,)),
                     Command(("mount", "-t", "tmpfs", "-o", SHM_OPTIONS, "shm", self.shm)))
        archive = images.toolbox_archive(images.find_busybox())
        hosts = images.HOSTS + (f"127.0.1.1\t{self.hostname}\n" if self.hostname else "")
        for name in (SANDBOX, *run):
            root = self._member(name).rootfs
            plan.add(Unpack(archive, root), WriteFile(os.path.join(root, "etc", "hosts"), hosts))
        modes = spec.namespace_modes
        if self.user_range is not None:
            return self._plan_in_user_namespace(plan, run)
        plan.add(Command(tuple(commands.pause_argv(modes, self._member(SANDBOX), spec.name)),
                         background=True, keeps="PAUSE", finds=FIND_CHILD,
                         comment="pause: unshare's child"))
        for container in spec.containers:
            plan.add(Command(tuple(self._container_argv(container.name, "$PAUSE",
                                                        run[container.name])),
                             background=True))
        return plan

    def _plan_in_user_namespace(self, plan: Plan, run: dict[str, tuple[str, ...]]) -> Plan:
        """hostUsers: false. Each member's files owned by the pod's root (the range's first
        ID), a FIFO per member, the holder of the user namespace and its maps, then each
        member started in it, waiting on its FIFO until the host has put it in its
        cgroup; the holder goes once pause holds the namespace."""
        first = self.user_range
        owner = f"{first}:{first}"
        names = (SANDBOX, *run)
        plan.add(Command(("chown", "-R", owner, *(self._member(n).rootfs for n in names))),
                 Command(("mkfifo", "-m", "0600", *(self._fifo(n) for n in names))),
                 Command(("chown", owner, *(self._fifo(n) for n in names))),
                 Command(tuple(commands.holder_argv()), background=True, keeps=HOLDER,
                         finds=FIND_HOLDER, comment="its user namespace, not mapped yet"),
                 WriteFile(f"/proc/${HOLDER}/uid_map", f"0 {first} {IDS_PER_POD}"),
                 WriteFile(f"/proc/${HOLDER}/gid_map", f"0 {first} {IDS_PER_POD}"))
        pause = self._member(SANDBOX)
        plan.add(Command(tuple(commands.pause_argv(
                     self.spec.namespace_modes, pause, self.spec.name, f"${HOLDER}",
                     released_by=self._fifo(SANDBOX))),
                         background=True, keeps="PAUSE", finds=FIND_CHILD,
                         comment="pause: unshare's child, waiting"),
                 *self._release(pause, "$PAUSE"),
                 Command(("kill", f"${HOLDER}")))
        for container in self.spec.containers:
            variable = _variable(container.name)
            plan.add(Command(tuple(self._container_argv(container.name, "$PAUSE",
                                                        run[container.name])),
                             background=True, keeps=variable, finds=FIND_CHILD,
                             comment=f"{container.name}: unshare's child, waiting"),
                     *self._release(self._member(container.name), f"${variable}"))
        return plan

    def _container_argv(self, name: str, pause: str, command: Sequence[str],
                        env: Sequence[tuple[str, str]] | None = None) -> list[str]:
        if env is None:
            env = next((tuple(c.environment.items()) for c in self.spec.containers
                        if c.name == name), ())
        modes = self.spec.namespace_modes
        shm = "/dev/shm" if modes.ipc == "node" else self.shm
        own_users = self.user_range is not None
        return commands.container_argv(modes, pause, self._member(name), command, env, shm,
                                       self.hostname, user_namespace=own_users,
                                       released_by=self._fifo(name) if own_users else None)

    def _release(self, member: commands.MemberPlan, pid: str) -> list[WriteEach | WriteFile]:
        """The host puts a waiting member in its cgroup, then lets it go on."""
        return [WriteEach(member.procs_files, pid), WriteFile(self._fifo(member.name), "")]

    def _fifo(self, name: str) -> str:
        return os.path.join(self.directory, f"{name}.go")

    def _member(self, name: str) -> commands.MemberPlan:
        path = f"{self.cgroup_parent}/{name}"
        return commands.MemberPlan(name, os.path.join(self.directory, name),
                                   cgroups.procs_files(self.layout, path))

    # -- creation ------------------------------------------------------------------------------
    def start(self, quiet: bool = False) -> ScratchPod:
        run = check_can_run(self.spec)  # before anything is made
        if os.path.exists(self.directory) or any(
                os.path.isdir(m.directory(self.cgroup_parent) or "")
                for m in self.layout.mounts):
            raise SpecError(f"This lab already has a pod from scratch named {self.name}: "
                            "delete it first (pod.delete()), or give the new one another name.")
        if not self.spec.host_users:
            self.user_range = free_range()
        self.plan = self._plan(run)
        self.session.on_cleanup(self._key, self.delete)
        self._made = True
        try:
            self._execute(list(run))
        except BaseException:
            with contextlib.suppress(LabError):  # the first sentence is the one to show
                self.delete()
            raise
        if not quiet:
            for container in self.spec.containers:
                self.session.say_once(_stand_in_note(container))
        return self

    def _execute(self, containers: list[str]) -> None:
        """Do the plan's steps in order: the cgroup writes, the pod's /dev/shm, the root file
        systems (written directly: the archive's files), then the processes."""
        values: dict[str, str] = {}  # $PAUSE, once pause runs ($USERNS, $APP, ...)
        launched = iter([SANDBOX, *containers])
        waiting: ScratchMember | None = None  # started, waiting on its FIFO
        for step in self.plan:
            if isinstance(step, WriteEach):  # a waiting member put in its cgroup
                cgroup_writer.execute(step.writes(values))
                continue
            if isinstance(step, WriteFile):
                step = step.with_values(values)
            if isinstance(step, MakeDirectories | WriteFile) and \
                    on_cgroupfs(self.layout, step):
                try:
                    cgroup_writer.execute([step])
                except OSError as error:
                    raise LabError(
                        f"The kernel refused to make the pod's cgroup {self.cgroup_parent} "
                        f"({error.strerror}): check that /sys/fs/cgroup is writable and has "
                        "the memory and cpu controllers.") from None
            elif isinstance(step, MakeDirectories):
                for directory in step.directories:
                    os.makedirs(directory, exist_ok=True)
            elif isinstance(step, Unpack):
                rootfs.unpack(step.directory)
            elif isinstance(step, WriteFile) and waiting and step.path == self._fifo(
                    waiting.name):
                _release(step.path, waiting)
                self._until_in_root(waiting)
                waiting = None
            elif isinstance(step, WriteFile):
                try:
                    with open(step.path, "w") as handle:
                        handle.write(step.value)
                except OSError as error:  # a user namespace's map the kernel refuses
                    raise LabError(f"`{step.lines()[0]}` failed: {error.strerror}.") from None
            elif not step.background:
                _run(step.with_values(values))
                if step.argv == ("kill", f"${HOLDER}") and self._holder is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self._holder.wait(timeout=5)  # pause holds the namespace now
            elif step.keeps == HOLDER:
                self._holder = subprocess.Popen(
                    step.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, start_new_session=True)
                values[HOLDER] = str(_until_unshared(self._holder))
            else:
                member = self._launch(next(launched), step.with_values(values),
                                      waits=self.user_range is not None)
                if self.user_range is not None:
                    waiting = member
                if step.keeps:
                    values[step.keeps] = str(member.pid)

    def _launch(self, name: str, argv: Sequence[str], waits: bool = False) -> ScratchMember:
        """Run a member's command and wait until its first process is in its root file
        system (the cgroup joined, the mounts made); its host PID is then known. ``waits``:
        the process waits on its FIFO first, so only until it is there (unshare's child)."""
        plan = self._member(name)
        member = ScratchMember(name, "sandbox" if name == SANDBOX else name, list(argv),
                               plan.rootfs, f"{self.cgroup_parent}/{name}", plan.procs_files,
                               env=next((tuple(c.environment.items())
                                         for c in self.spec.containers if c.name == name), ()),
                               log=os.path.join(self.directory, f"{name}.log"))
        if name == SANDBOX:
            self.sandbox = member
        else:
            self.containers[name] = member
        with open(member.log, "wb") as log:
            member.process = subprocess.Popen(
                member.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)
        if waits:
            member.pid = self._until(member, lambda: _child_of(member.process.pid))
        else:
            self._until_in_root(member)
        return member

    def _until_in_root(self, member: ScratchMember) -> None:
        member.pid = self._until(member, lambda: _descendant_in(member.process.pid,
                                                                member.rootfs))

    def _until(self, member: ScratchMember, found) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            pid = found()
            if pid:
                return pid
            if member.process.poll() is not None:
                break
            time.sleep(0.01)
        said = last_line(member.log) or f"it exited with code {member.process.poll()}"
        raise LabError(f"{member.name} of pod {self.name} did not start: {said} (the whole "
                       f"command is in pod.commands()).")

    # -- looking -------------------------------------------------------------------------------
    def _every(self) -> list[ScratchMember]:
        return ([self.sandbox] if self.sandbox else []) + list(self.containers.values())

    def members(self) -> list[Member]:
        """The running members, pause first, with the host PIDs of their first processes."""
        asked = {c.name: c.spec.asked for c in self.spec.containers}
        found = []
        for member in self._every():
            if member.running:
                found.append(Member(member.name, member.pid, member.cgroup, member.role,
                                    asked.get(member.name, Limits())))
        return found

    def _handles(self) -> dict[str, ScratchMember]:
        return {m.name: m for m in self._every()}

    @property
    def state(self) -> str:
        """``running``; ``sandbox gone`` once pause has died; the containers that do not run
        (``app exited``); ``deleted``."""
        if self._deleted:
            return "deleted"
        if self.sandbox is None or not self.sandbox.running:
            return "sandbox gone"
        stopped = [f"{m.name} exited" for m in self.containers.values() if not m.running]
        return ", ".join(stopped) or "running"

    def exec(self, container: str, command: str | Sequence[str],
             timeout: float = 30) -> ExecResult:
        """Run a command in a member, as ``docker exec`` does: in its cgroup, in all its
        namespaces and in its root file system (``nsenter --root``)."""
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        done = subprocess.run(self.exec_argv(container, argv), capture_output=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        return ExecResult(done.returncode, (done.stdout + done.stderr).decode(errors="replace"))

    def exec_argv(self, container: str, argv: Sequence[str]) -> list[str]:
        """The command :meth:`exec` runs, for a learner to type."""
        member = self._running(container)
        return commands.exec_argv(member.pid, member.procs_files, self._exec_namespaces,
                                  argv, member.env, self.hostname)

    @property
    def _exec_namespaces(self) -> tuple[str, ...]:
        """Every namespace of a member, its user namespace first where the pod has one
        (``nsenter --user`` then runs the command as root there, the pod's first ID)."""
        return (("user",) if self.user_range is not None else ()) + EXEC_NAMESPACES

    def exec_command(self, container: str, command: str | Sequence[str]) -> list[str]:
        """What :meth:`exec` runs, as a learner types it in a root shell: the member's host
        PID read from its cgroup (its first process), then the command (``docker exec`` by
        hand: join the cgroup, ``nsenter`` into every namespace and the root).

        >>> print("\\n".join(pod.exec_command("sidecar", "hostname")))  # doctest: +SKIP
        SIDECAR=$(head -1 /sys/fs/cgroup/memory/lk-0badcafe-scratch.foo/sidecar/cgroup.procs)
        /bin/sh -c '...; exec "$@"' sh nsenter --target $SIDECAR --mount ... hostname
        """
        member = self._running(container)
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        variable = _variable(container)
        procs = next(f for f in member.procs_files if "/memory/" in f or len(
            member.procs_files) == 1)
        line = commands.shell_text(commands.exec_argv(f"${variable}", member.procs_files,
                                                      self._exec_namespaces, argv, member.env,
                                                      self.hostname))
        return [f"{variable}=$(head -1 {procs})", line]

    def _running(self, container: str) -> ScratchMember:
        member = self[container]
        if not member.running:
            raise LabError(f"{container} of pod {self.name} is not running ({self.state}): "
                           "make the pod again to run commands in it.")
        return member

    def commands(self) -> list[str]:
        """Every command that made this pod, as a learner would type them in a root shell:
        the plan labkit executed (``$PAUSE`` stands for pause's host PID)."""
        return self.plan.lines()

    def join_commands(self, name: str, command: str = "sleep 3650d") -> list[str]:
        """The shell lines that add one more container to this pod by hand, as the
        containers were added: its cgroup (with the values a container without requests
        gets, and on cgroup v1 its cpuset copied from the pod's, as for the others), a root
        file system (a copy of pause's), then nsenter into pause's shared namespaces and
        unshare its own, in the background (pause's host PID written out where the pod's own
        lines say ``$PAUSE``)."""
        if self.sandbox is None or not self.sandbox.running:
            raise LabError(f"Pod {self.name}'s pause is not running ({self.state}), so there "
                           "are no namespaces to join: make the pod again.")
        plan = self._member(name)
        argv = self._container_argv(name, str(self.sandbox.pid), ["sh", "-c", command], ())
        log = os.path.join(self.directory, f"{name}.log")
        cgroup = cgroup_writer.plan_cgroup(self.layout, f"{self.cgroup_parent}/{name}",
                                           container_resources(Resources()),
                                           weight=oci_runtime.runc_weight())
        started = f"{commands.shell_text(argv)} </dev/null >{log} 2>&1 &"
        lines = [*Plan(cgroup).lines(), f"cp -a {self.sandbox.rootfs} {plan.rootfs}"]
        if self.user_range is None:
            return [*lines, started]
        # In the pod's user namespace: its FIFO, then started and placed as the others were
        fifo, variable = self._fifo(name), _variable(name)
        waiting = Command(("true",), keeps=variable, finds=FIND_CHILD).lines()[1]
        return [*lines, f"mkfifo -m 0600 {shlex.quote(fifo)}",
                f"chown {self.user_range}:{self.user_range} {shlex.quote(fifo)}", started,
                waiting, *Plan(self._release(plan, f"${variable}")).lines()]

    # -- the pod's network (chapter 7) ---------------------------------------------------------
    def plumb(self) -> list[str]:
        """Give the pod an ``eth0`` on the session's bridge, by hand, as CNI's bridge plugin
        gives a CRI pod its: the bridge ``lk<session>s`` and the session's firewall rule for
        it where they are missing, a veth pair with one end moved into pause's network
        namespace (renamed ``eth0``, an address of the bridge's subnet, up) and the other a
        port of the bridge. The steps join the pod's plan (``pod.commands()`` prints them,
        ``$PAUSE`` being pause's host PID); returns them as typed.

        >>> print("\\n".join(web.plumb()))                       # doctest: +SKIP
        ip link add name lk0badcafes type bridge
        ...
        """
        if self.sandbox is None or not self.sandbox.running:
            raise LabError(f"Pod {self.name}'s pause is not running ({self.state}), so there is "
                           "no network namespace to plumb: make the pod again.")
        network = bridge_network.of(self.session.id)
        if self.name in network.pods and self._plumbed:
            return []
        made_bridge = not network.exists()
        steps = bridge_network.steps_for(network, self.name)
        try:
            bridge_network.execute(steps, {"PAUSE": str(self.sandbox.pid)})
        except LabError:
            if bridge_network.let_go(network, self.name) and made_bridge:
                bridge_network.remove_bridge(network)
            raise
        if made_bridge:
            self.session.on_cleanup(self._bridge_key,
                                    lambda: bridge_network.remove_bridge(network))
        self._plumbed = True
        self.plan.add(*steps)
        return [line for step in steps for line in step.lines()]

    def network_commands(self) -> list[str]:
        """The lines that give this pod its ``eth0`` by hand in a root terminal, as
        :meth:`plumb` would (pause's host PID written out where the pod's own lines say
        ``$PAUSE``), without running them: its veth pair's names and its address are this
        pod's, and the bridge and the session's rule come first where they are missing."""
        if self.sandbox is None or not self.sandbox.running:
            raise LabError(f"Pod {self.name}'s pause is not running ({self.state}), so there is "
                           "no network namespace to plumb: make the pod again.")
        network = bridge_network.of(self.session.id)
        steps = bridge_network.steps_for(network, self.name, str(self.sandbox.pid))
        if steps[:1] and steps[0].argv[:3] == ("ip", "link", "add") and "bridge" in steps[0].argv:
            self.session.on_cleanup(self._bridge_key,
                                    lambda: bridge_network.remove_bridge(network))
        return [line for step in steps for line in step.lines()]

    @property
    def _bridge_key(self) -> str:
        return self.session.name("scratch-bridge")

    def try_join(self, *namespaces: str) -> ExecResult:
        """What ``nsenter --target <pause> --net ... true`` says now: how a new container
        would join the pod's namespaces (``net``, ``ipc``, ``uts``), run as typed."""
        pid = self.sandbox.pid if self.sandbox else 0
        argv = ["nsenter", "--target", str(pid), *(f"--{ns}" for ns in namespaces), "true"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
        return ExecResult(done.returncode, done.stdout + done.stderr)

    def states(self) -> dict[str, str]:
        """Each member's first process: ``running`` or ``exited``."""
        return {m.name: "running" if m.running else "exited" for m in self._every()}

    def kill_sandbox(self) -> None:
        """SIGKILL pause, as if the sandbox crashed: its PID namespace goes with it."""
        if self.sandbox and self.sandbox.running:
            os.kill(self.sandbox.pid, 9)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.sandbox.process.wait(timeout=10)

    # -- deletion ------------------------------------------------------------------------------
    def delete(self) -> None:
        """Kill every process in the pod's cgroup (pause takes its PID namespace with it,
        each container its own, and anything else that joined goes too), then remove the
        cgroups and the pod's files; a second call does nothing."""
        if self._made and not self._deleted:
            cgroups.kill_tree(self.layout, self.cgroup_parent)
            for process in [m.process for m in self._every()] + [self._holder]:
                if process is None:
                    continue
                if process.poll() is None:  # not in the cgroup yet (waiting on its FIFO)
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, 9)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=5)
            cgroups.remove_tree(self.layout, self.cgroup_parent)
            rootfs.remove(self.directory)
            self._let_go_of_the_bridge()
        self.session.forget(self._key)
        self._deleted = True

    def _let_go_of_the_bridge(self) -> None:
        """With its processes gone, the pod's network namespace goes, and its veth pair with
        it; the last pod of the session that used the bridge takes the bridge and the
        session's rule for it along."""
        network = bridge_network.existing(self.session.id)
        if network is None or self.name not in network.pods:
            return
        if bridge_network.let_go(network, self.name):
            bridge_network.remove_bridge(network)
            self.session.forget(self._bridge_key)


def _stand_in_note(container: PodContainer) -> str:
    stand_in = images.stand_in_for(container.spec.image)
    if stand_in is None:
        return ""
    return (f"A pod from scratch has no image store: container {container.name} runs the "
            f"lab's busybox root file system for {container.spec.image} ({stand_in.what}).")


def _descendant_in(pid: int, root: str) -> int:
    """The first process at or under ``pid`` (breadth first) whose root is ``root``: the
    member's PID 1 once it has chrooted. Read from /proc/<pid>/task/*/children."""
    queue = [pid]
    while queue:
        current = queue.pop(0)
        try:
            if os.readlink(f"/proc/{current}/root") == root:
                return current
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    queue += [int(p) for p in handle.read().split()]
        except OSError:
            continue
    return 0


def _variable(name: str) -> str:
    """The shell variable for a member's PID in typed lines: ``sidecar`` → ``SIDECAR``."""
    return re.sub(r"\W", "_", name).upper()


def _child_of(pid: int) -> int:
    """The first child of ``pid`` (unshare --fork's: the member's first process), or 0."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = handle.read().split()
    except OSError:
        return 0
    return int(children[0]) if children else 0


def _until_unshared(process: subprocess.Popen) -> int:
    """The holder's PID, once it is in a user namespace other than ours (its maps can be
    written only then)."""
    ours = os.readlink("/proc/self/ns/user")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{process.pid}/ns/user") != ours:
                return process.pid
        time.sleep(0.01)
    raise LabError("unshare --user could not make the pod's user namespace (it exited with "
                   f"code {process.poll()}): check that this kernel allows user namespaces "
                   "(sysctl user.max_user_namespaces).")


def _release(fifo: str, member: ScratchMember) -> None:
    """``echo > FIFO``: one line to the member waiting to read it (opened without waiting,
    so a member that died meanwhile is said, not waited for)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:  # ENXIO: nobody has it open for reading yet
            if member.process.poll() is not None or time.monotonic() > deadline:
                said = last_line(member.log) or error.strerror
                raise LabError(f"{member.name} did not start: {said} (the whole command "
                               "is in pod.commands()).") from None
            time.sleep(0.01)
            continue
        with os.fdopen(descriptor, "w") as handle:
            handle.write("\n")
        return


def on_cgroupfs(layout: CgroupLayout, step: MakeDirectories | WriteFile) -> bool:
    """A step on a cgroup file system (cgroup_writer's), not on the pod's own files."""
    paths = step.directories if isinstance(step, MakeDirectories) else (step.path,)
    return all(any(p.startswith(m.mountpoint.rstrip("/") + "/") for m in layout.mounts)
               for p in paths)


def _run(argv: Sequence[str]) -> None:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise LabError(f"`{commands.shell_text(argv)}` failed: "
                       f"{said[-1] if said else f'exit code {done.returncode}'}.")
