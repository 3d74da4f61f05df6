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

The namespace modes come from :mod:`labkit.kubernetes`, as for every pod kind (hostNetwork,
hostIPC, hostPID and shareProcessNamespace change which namespaces pause makes and which a
container joins); the limits from the same place. No process watches the containers:
nothing restarts them, and when pause dies the kubelet's part (making the sandbox again) is
nobody's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ... import images
from ...errors import LabError, SpecError
from ...kubernetes import cpu_shares, requests
from ...model import ExecResult, Limits, Member
from ...node.cgroup_writer import make_cgroup
from ...node.mounts import CgroupLayout
from ...session import Session
from ...spec import PodContainer, PodSpec
from ..pod import DeletedOnExit
from . import cgroups, commands, rootfs

SANDBOX = "pause"
TOOLS = (("unshare", "util-linux"), ("nsenter", "util-linux"), ("mount", "mount"),
         ("chroot", "coreutils"), ("ip", "iproute2"), ("hostname", "hostname"))
TOOLBOX = "labkit/toolbox"
EXEC_NAMESPACES = ("mount", "uts", "ipc", "net", "pid")
START_TIMEOUT_S = 10.0


def check_can_run(spec: PodSpec) -> dict[str, tuple[str, ...]]:
    """Everything refused before anything is made: not root, a missing tool, a container
    named like the sandbox, an image other than the lab's busybox stand-ins, a stand-in
    without a command. Returns each container's command."""
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
        command = container.spec.command or (stand_in.command if stand_in else ("sh",))
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


class ScratchPod(DeletedOnExit):
    """A running pod made from scratch: pause and the containers, in manifest order."""

    kind = "from scratch"

    def __init__(self, session: Session, spec: PodSpec,
                 layout: CgroupLayout | None = None) -> None:
        self.session = session
        self.spec = spec
        self.name = spec.name
        self.layout = layout or cgroups.own_layout()
        self.cgroup_parent = cgroups.pod_path(session.prefix, spec.name)
        self.directory = os.path.join(rootfs.BASE, session.name(spec.name))
        self.shm = os.path.join(self.directory, "shm")
        self.hostname = spec.name if spec.namespace_modes.uts == "pod" else None
        self.sandbox: ScratchMember | None = None
        self.containers: dict[str, ScratchMember] = {}
        self.cgroup_lines: list[str] = []  # what making the cgroups takes, as typed
        self._made = False
        self._deleted = False
        self._key = session.name(f"scratch-pod-{spec.name}")

    # -- creation --------------------------------------------------------------------------
    def start(self, quiet: bool = False) -> ScratchPod:
        run = check_can_run(self.spec)  # before anything is made
        if os.path.exists(self.directory) or any(
                os.path.isdir(m.directory(self.cgroup_parent) or "")
                for m in self.layout.mounts):
            raise SpecError(f"This lab already has a pod from scratch named {self.name}: "
                            "delete it first (pod.delete()), or give the new one another name.")
        self.session.on_cleanup(self._key, self.delete)
        self._made = True
        try:
            self._make_cgroups()
            os.makedirs(self.shm, mode=0o1777)
            self.sandbox = self._start_sandbox()
            for container in self.spec.containers:
                self.containers[container.name] = self._start_container(
                    container, run[container.name])
        except BaseException:
            with contextlib.suppress(LabError):  # the first sentence is the one to show
                self.delete()
            raise
        if not quiet:
            for container in self.spec.containers:
                self.session.say_once(_stand_in_note(container))
        return self

    def _make_cgroups(self) -> None:
        spec, layout = self.spec, self.layout
        try:
            # v2: the root hands cpu and memory down, if no unit has asked systemd yet
            root_lines = cgroups.delegate(layout, "/")
            make_cgroup(layout, self.cgroup_parent, memory_bytes=spec.memory_limit,
                        cpus=spec.cpu_limit,
                        cpu_shares=sum(cpu_shares(requests(c)[1]) for c in spec.containers))
            self.cgroup_lines = root_lines + _cgroup_lines(
                layout, self.cgroup_parent, spec.memory_limit, spec.cpu_limit)
            self.cgroup_lines += cgroups.delegate(layout, self.cgroup_parent)
            make_cgroup(layout, f"{self.cgroup_parent}/{SANDBOX}")
            self.cgroup_lines += _cgroup_lines(layout, f"{self.cgroup_parent}/{SANDBOX}")
            for container in spec.containers:
                path = f"{self.cgroup_parent}/{container.name}"
                memory, cpus = container.spec.memory_bytes, container.spec.cpus
                make_cgroup(layout, path, memory_bytes=memory, cpus=cpus,
                            cpu_shares=cpu_shares(requests(container)[1]))
                self.cgroup_lines += _cgroup_lines(layout, path, memory, cpus)
        except OSError as error:
            raise LabError(f"The kernel refused to make the pod's cgroup {self.cgroup_parent} "
                           f"({error.strerror}): check that /sys/fs/cgroup is writable and "
                           "has the memory and cpu controllers.") from None

    def _plan(self, name: str, role: str) -> ScratchMember:
        directory = os.path.join(self.directory, name)
        rootfs.unpack(directory, self.hostname)
        path = f"{self.cgroup_parent}/{name}"
        return ScratchMember(name, role, [], directory, path,
                             cgroups.procs_files(self.layout, path),
                             log=os.path.join(self.directory, f"{name}.log"))

    def _start_sandbox(self) -> ScratchMember:
        pause = self._plan(SANDBOX, "sandbox")
        pause.argv = commands.pause_argv(self.spec.namespace_modes, _plan_of(pause),
                                         self.spec.name)
        self._launch(pause)
        return pause

    def _start_container(self, container: PodContainer,
                         command: Sequence[str]) -> ScratchMember:
        member = self._plan(container.name, container.name)
        member.env = container.env
        shm = "/dev/shm" if self.spec.namespace_modes.ipc == "node" else self.shm
        member.argv = commands.container_argv(
            self.spec.namespace_modes, self.sandbox.pid, _plan_of(member), command,
            container.env, shm, self.hostname)
        self._launch(member)
        return member

    def _launch(self, member: ScratchMember) -> None:
        """Run the member's command and wait until its first process is in its root file
        system (the cgroup joined, the mounts made); its host PID is then known."""
        with open(member.log, "wb") as log:
            member.process = subprocess.Popen(
                member.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            pid = _descendant_in(member.process.pid, member.rootfs)
            if pid:
                member.pid = pid
                return
            if member.process.poll() is not None:
                break
            time.sleep(0.01)
        said = _last_line(member.log) or f"it exited with code {member.process.poll()}"
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

    def names(self) -> dict[str, str]:
        """runtime id (here: the member's cgroup) -> member name."""
        return {m.cgroup: m.name for m in self._every()}

    def __getitem__(self, name: str) -> ScratchMember:
        for member in self._every():
            if member.name == name:
                return member
        raise KeyError(name)

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
        member = self._member(container)
        return commands.exec_argv(member.pid, member.procs_files, EXEC_NAMESPACES, argv,
                                  member.env, self.hostname)

    def _member(self, container: str) -> ScratchMember:
        try:
            member = self[container]
        except KeyError:
            names = ", ".join(m.name for m in self._every())
            raise LabError(f"Pod {self.name} has no container {container!r}: it has "
                           f"{names}.") from None
        if not member.running:
            raise LabError(f"{container} of pod {self.name} is not running ({self.state}): "
                           "make the pod again to run commands in it.")
        return member

    def commands(self) -> list[str]:
        """Every command that made this pod, as a learner would type them: the cgroups,
        then pause, then each container (``$PAUSE`` stands for pause's host PID)."""
        lines = [line for member in self._every()
                 for line in commands.each_hierarchy(self._directories(member.cgroup),
                                                     "mkdir -p {}")]
        lines += self.cgroup_lines
        for member in self._every():
            text = commands.shell_text(member.argv)
            if self.sandbox and member is not self.sandbox:
                text = text.replace(f"--target {self.sandbox.pid} ", "--target $PAUSE ", 1)
            lines.append(text + " &")
            if member is self.sandbox:
                lines.append("PAUSE=$(cat /proc/$!/task/$!/children)  # pause: unshare's child")
        return lines

    def join_commands(self, name: str, command: str = "sleep 3650d") -> list[str]:
        """The shell lines that add one more container to this pod by hand, as the
        containers were added: its cgroup, a root file system (a copy of pause's), then
        nsenter into pause's shared namespaces and unshare its own, in the background."""
        if self.sandbox is None or not self.sandbox.running:
            raise LabError(f"Pod {self.name}'s pause is not running ({self.state}), so there "
                           "are no namespaces to join: make the pod again.")
        path = f"{self.cgroup_parent}/{name}"
        directory = os.path.join(self.directory, name)
        plan = commands.MemberPlan(name, directory, cgroups.procs_files(self.layout, path))
        shm = "/dev/shm" if self.spec.namespace_modes.ipc == "node" else self.shm
        argv = commands.container_argv(self.spec.namespace_modes, self.sandbox.pid, plan,
                                       ["sh", "-c", command], (), shm, self.hostname)
        log = os.path.join(self.directory, f"{name}.log")
        return [*commands.each_hierarchy(self._directories(path), "mkdir -p {}"),
                f"cp -a {self.sandbox.rootfs} {directory}",
                f"{commands.shell_text(argv)} </dev/null >{log} 2>&1 &"]

    def _directories(self, path: str) -> list[str]:
        """Where :func:`make_cgroup` makes cgroup ``path``: every hierarchy (on a v1 host,
        not the unified one of a hybrid layout)."""
        mounts = [m for m in self.layout.mounts
                  if not (self.layout.version == 1 and m.version == 2)]
        return [d for d in (m.directory(path) for m in mounts) if d]

    def try_join(self, *namespaces: str) -> ExecResult:
        """What ``nsenter --target <pause> --net ... true`` says now: how a new container
        would join the pod's namespaces (``net``, ``ipc``, ``uts``), run as typed."""
        pid = self.sandbox.pid if self.sandbox else 0
        argv = ["nsenter", "--target", str(pid), *(f"--{ns}" for ns in namespaces), "true"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
        return ExecResult(done.returncode, done.stdout + done.stderr)

    def kill_pause(self) -> None:
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
            for member in self._every():
                if member.process is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        member.process.wait(timeout=5)
            cgroups.remove_tree(self.layout, self.cgroup_parent)
            rootfs.remove(self.directory)
        self.session.forget(self._key)
        self._deleted = True


def _plan_of(member: ScratchMember) -> commands.MemberPlan:
    return commands.MemberPlan(member.name, member.rootfs, member.procs_files)


def _stand_in_note(container: PodContainer) -> str:
    stand_in = images.stand_in_for(container.spec.image)
    if stand_in is None:
        return ""
    return (f"A pod from scratch has no image store: container {container.name} runs the "
            f"lab's busybox root file system for {container.spec.image} ({stand_in.what}).")


def _cgroup_lines(layout: CgroupLayout, path: str, memory: int | None = None,
                  cpus: float | None = None) -> list[str]:
    """The limit writes of :func:`make_cgroup`, as a learner would type them."""
    from ...kubernetes import CFS_PERIOD_US, cfs_quota

    quota = cfs_quota(cpus)
    lines = []
    if layout.version == 2:
        directory = layout.unified.directory(path) if layout.unified else None
        writes = [(directory, "memory.max", memory),
                  (directory, "cpu.max", f"'{quota} {CFS_PERIOD_US}'" if quota else None)]
    else:
        memory_mount, cpu_mount = layout.for_controller("memory"), layout.for_controller("cpu")
        writes = [(memory_mount.directory(path) if memory_mount else None,
                   "memory.limit_in_bytes", memory),
                  (cpu_mount.directory(path) if cpu_mount else None, "cpu.cfs_quota_us", quota)]
    for directory, name, value in writes:
        if directory and value is not None:
            lines.append(f"echo {value} > {directory}/{name}")
    return lines


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


def _last_line(path: str) -> str:
    try:
        with open(path, errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return ""
    return lines[-1].rstrip(".") if lines else ""
