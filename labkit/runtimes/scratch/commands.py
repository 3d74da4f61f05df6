"""The commands that make a pod from scratch: util-linux ``unshare`` and ``nsenter``,
``mount``, ``chroot`` and ``echo $$ > cgroup.procs``. Pure: each function returns the
argv that labkit then runs as it is, and that a learner could type.

The pause process makes the pod's namespaces::

    unshare --net --ipc --uts --pid --mount --fork -- /bin/sh -c '
    echo $$ > /sys/fs/cgroup/memory/lk-<session>-scratch.foo/pause/cgroup.procs
    hostname foo
    ip link set lo up
    mount -t proc proc /var/lib/labkit/scratch/lk-<session>-foo/pause/proc
    ...
    exec chroot /var/lib/labkit/scratch/lk-<session>-foo/pause /pause'

and each container joins the ones the pod shares and makes its own::

    nsenter --target <pause pid> --net --ipc --uts -- unshare --mount --pid --fork -- ...

>>> from labkit.kubernetes import namespace_modes
>>> pause_flags(namespace_modes())
['--net', '--ipc', '--uts', '--pid', '--mount', '--fork']
>>> joiner_flags(namespace_modes(), 4242)
(['--target', '4242', '--net', '--ipc', '--uts'], ['--mount', '--pid', '--fork'])
>>> joiner_flags(namespace_modes(share_process_namespace=True), 4242)[1]
['--mount']
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ...kubernetes import NamespaceModes
from ...plan import each_hierarchy, shell_line

DEVICES = ("null", "zero", "random", "urandom")  # bound from the host, as runc makes them
CONTAINER_PATH = "/bin"  # the root file system is busybox: every command is in /bin


@dataclass(frozen=True)
class MemberPlan:
    """Where one member lives: its root file system and its cgroup's ``cgroup.procs`` files
    (one per hierarchy on cgroup v1, one on v2)."""

    name: str
    rootfs: str
    procs_files: tuple[str, ...]


def pause_flags(modes: NamespaceModes) -> list[str]:
    """``unshare``'s flags for pause: a new namespace for each one the pod owns (none for
    those on the node), its own mount namespace, and ``--fork`` so that pause is PID 1 of
    the new PID namespace (unshare itself cannot enter a PID namespace it makes)."""
    flags = [flag for flag, mode in (("--net", modes.net), ("--ipc", modes.ipc),
                                     ("--uts", modes.uts)) if mode == "pod"]
    if modes.pid != "node":
        flags.append("--pid")
    flags.append("--mount")
    if modes.pid != "node":
        flags.append("--fork")
    return flags


def joiner_flags(modes: NamespaceModes, pause_pid: int | str) -> tuple[list[str], list[str]]:
    """``nsenter``'s flags (pause's namespaces that the pod shares) and ``unshare``'s (the
    container's own: always a mount namespace, a PID namespace unless it is shared)."""
    enter = ["--target", str(pause_pid)]
    enter += [flag for flag, mode in (("--net", modes.net), ("--ipc", modes.ipc),
                                      ("--uts", modes.uts), ("--pid", modes.pid))
              if mode == "pod"]
    own = ["--mount"] + (["--pid", "--fork"] if modes.pid == "container" else [])
    return enter, own


def join_cgroup_lines(procs_files: Sequence[str]) -> list[str]:
    """Shell lines that move the running shell into a cgroup (its children follow it).

    >>> join_cgroup_lines(["/sys/fs/cgroup/cpu/p/cgroup.procs",
    ...                    "/sys/fs/cgroup/memory/p/cgroup.procs"])
    ['for h in cpu memory; do echo $$ > /sys/fs/cgroup/$h/p/cgroup.procs; done']
    >>> join_cgroup_lines(["/sys/fs/cgroup/p/cgroup.procs"])
    ['echo $$ > /sys/fs/cgroup/p/cgroup.procs']
    """
    return each_hierarchy(procs_files, "echo $$ > {}")


def setup_lines(member: MemberPlan, *, shm: str | None, hostname: str | None,
                loopback: bool, released_by: str | None = None) -> list[str]:
    """What a member's first process does before it becomes the container: join its
    cgroup, (pause only) name the host and bring loopback up, mount /proc and the devices
    (and the pod's /dev/shm) into its root file system, in its own mount namespace.

    ``released_by``: in a user namespace of the pod's own, the process is root only there,
    and the host's cgroup files are not its to write: it waits until a line arrives on
    that FIFO, which the runtime (root on the host) writes once it has put the process in
    its cgroup, as runc's child waits on its parent.

    >>> setup_lines(MemberPlan("app", "/r", ("/sys/fs/cgroup/app/cgroup.procs",)),
    ...             shm=None, hostname=None, loopback=False, released_by="/p/app.go")[0]
    'read _ < /p/app.go'
    """
    root = shlex.quote(member.rootfs)
    lines = ([f"read _ < {shlex.quote(released_by)}"] if released_by
             else join_cgroup_lines(member.procs_files))
    if hostname:
        lines.append(f"hostname {shlex.quote(hostname)}")
    if loopback:
        lines.append("ip link set lo up")
    lines.append(f"mount -t proc proc {root}/proc")
    lines.append(f"for d in {' '.join(DEVICES)}; do mount --bind /dev/$d {root}/dev/$d; done")
    if shm:
        lines.append(f"mount --bind {shlex.quote(shm)} {root}/dev/shm")
    return lines


def environment(env: Sequence[tuple[str, str]], hostname: str | None) -> list[str]:
    """``env -i`` and the container's variables, as a kubelet would set them.

    >>> environment([("MODE", "dev")], "foo")
    ['env', '-i', 'PATH=/bin', 'HOSTNAME=foo', 'MODE=dev']
    """
    pairs = [f"PATH={CONTAINER_PATH}"] + ([f"HOSTNAME={hostname}"] if hostname else [])
    return ["env", "-i", *pairs, *(f"{k}={v}" for k, v in env)]


def holder_argv() -> list[str]:
    """``hostUsers: false``: a process whose only job is to hold the pod's new user
    namespace until the runtime has written its maps and pause is in it.

    The maps must be written before the processes that need root there start: a process
    that ``unshare --user`` left unmapped loses its capabilities at its next ``execve``.
    runc splits its child the same way: one stage makes the user namespace and waits for
    its parent to write the maps, the next makes the other namespaces as root there."""
    return ["unshare", "--user", "--", "sleep", "infinity"]


def pause_argv(modes: NamespaceModes, pause: MemberPlan, hostname: str,
               user_namespace: str | None = None, released_by: str | None = None) -> list[str]:
    """The whole command that starts pause, the holder of the pod's namespaces;
    ``user_namespace``: the PID (``$USERNS``) of :func:`holder_argv`'s process, whose user
    namespace pause enters first (``nsenter --user`` becomes its root, user 0 there) and
    then makes the others in it."""
    lines = setup_lines(pause, shm=None, hostname=hostname if modes.uts == "pod" else None,
                        loopback=modes.net == "pod", released_by=released_by)
    lines.append(f"exec chroot {shlex.quote(pause.rootfs)} /pause")
    entering = ["nsenter", "--target", user_namespace, "--user", "--"] if user_namespace \
        else []
    return [*entering, "unshare", *pause_flags(modes), "--", "/bin/sh", "-c",
            "\n".join(lines)]


def container_argv(modes: NamespaceModes, pause_pid: int | str, member: MemberPlan,
                   command: Sequence[str], env: Sequence[tuple[str, str]], shm: str,
                   hostname: str | None, *, user_namespace: bool = False,
                   released_by: str | None = None) -> list[str]:
    """The whole command that starts one container of the pod, joined to pause (and, with
    ``user_namespace``, to pause's user namespace first, as its root)."""
    enter, own = joiner_flags(modes, pause_pid)
    if user_namespace:
        enter[2:2] = ["--user"]
    lines = setup_lines(member, shm=shm, hostname=None, loopback=False,
                        released_by=released_by)
    run = ["chroot", member.rootfs, *environment(env, hostname), *command]
    lines.append(f"exec {shlex.join(run)}")
    # nothing to join (every namespace on the node, or the container's own): no nsenter
    joining = ["nsenter", *enter, "--"] if len(enter) > 2 else []
    return [*joining, "unshare", *own, "--", "/bin/sh", "-c", "\n".join(lines)]


def exec_argv(pid: int | str, procs_files: Sequence[str], namespaces: Sequence[str],
              command: Sequence[str], env: Sequence[tuple[str, str]],
              hostname: str | None) -> list[str]:
    """``docker exec`` by hand: join the member's cgroup, enter all its namespaces and its
    root (``nsenter --root`` takes the target's chroot), and run the command there."""
    flags = [f"--{ns}" for ns in namespaces]
    join = "; ".join(join_cgroup_lines(procs_files))
    return ["/bin/sh", "-c", f'{join}; exec "$@"', "sh", "nsenter", "--target", str(pid),
            *flags, "--root", "--wd", "--", *environment(env, hostname), *command]


def shell_text(argv: Sequence[str]) -> str:
    """An argv as one line a learner can paste into a shell (newlines stay in the quotes).

    >>> print(shell_text(["sh", "-c", "echo $$"]))
    sh -c 'echo $$'
    """
    return shell_line(argv)
