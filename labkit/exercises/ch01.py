"""Chapter 1 exercises: a container's namespaces, cgroups, limits, OOM kill and quota.

Each exercise is its check, decorated with its data; the reference solution and the
wrong ones are the functions just above it.
"""

from __future__ import annotations

from ..model import NAMESPACE_TYPES
from ..quantity import format_bytes
from .core import (
    Wrong,
    cgroup_path,
    exercise,
    failed,
    namespace_types,
    passed,
    unjudged,
    whole_number,
    wrong_pid,
)
from .machine import running_pid

MIB = 2**20
NO_FOO = ("There is no running container named foo yet: run the chapter's cell that starts "
          "it (lab.run(\"foo\", ...)), then check.")


def run_foo(lab):
    """The chapter's first container."""
    return lab.run("foo", "nginx", memory="512MB", cpus=0.5, quiet=True)


def _foo(machine):
    details = machine.container("foo")
    pid = running_pid(details) if details else None
    return (details, pid) if pid else (None, None)


# -- predict: which namespaces does a container get of its own? ----------------------------

def setup_foo(lab):
    run_foo(lab)


def foo_pid(lab) -> int:
    """docker inspect -f '{{.State.Pid}}' foo (the chapter's foo, made by this lab)."""
    return lab.docker.client.api.inspect_container(lab.session.name("foo"))["State"]["Pid"]


def own_namespaces_solution(lab):
    mine, host = lab.node.namespaces(foo_pid(lab)), lab.node.host_namespaces
    return [ns for ns, inode in mine.items() if inode != host[ns]]


@exercise(
    "01.own-namespaces", kind="predict",
    title="Which namespaces are foo's own?",
    task="Before you look at foo's namespace table: which namespaces does `docker run` give "
         "foo of its own, that is, not the host's? Pick every one.",
    hints=("Docker makes five namespaces for a container; the article lists them.",
           "Root in a container is root on the host: which namespace would change that?",
           "On a cgroup v1 host Docker leaves the cgroup namespace alone; on v2 it makes one."),
    form=namespace_types, options=NAMESPACE_TYPES, multiple=True,
    example="mnt, uts",
    setup=setup_foo, solution=own_namespaces_solution,
    wrong=(Wrong(lambda lab: ["mnt", "uts", "ipc", "pid", "net", "user"],
                 "shares its user namespace with the host"),
           Wrong(lambda lab: ["mnt", "pid", "net"], "foo's ipc namespace")),
    untouched="There is no running container named foo yet",
    reads="foo's /proc/<pid>/ns/* inodes against the host's (the reading process's)",
)
def own_namespaces(machine, picked):
    _details, pid = _foo(machine)
    if pid is None:
        return unjudged(NO_FOO)
    mine, host = machine.namespaces(pid), machine.host_namespaces
    own = {t for t in NAMESPACE_TYPES if t in mine and mine[t] != host.get(t)}
    for ns in NAMESPACE_TYPES:  # first what is picked but wrong, then what is missing
        if ns in picked and ns not in own:
            return failed(f"foo shares its {ns} namespace with the host ({mine.get(ns)} on "
                          f"both): {ns} is not one of its own.")
    for ns in NAMESPACE_TYPES:
        if ns in own and ns not in picked:
            return failed(f"foo's {ns} namespace ({mine[ns]}) is not the host's "
                          f"({host.get(ns)}): it is one of its own too.")
    return passed(f"Right: the kernel shows foo in its own {', '.join(sorted(own))} "
                  "namespaces and in the host's for the rest.")


# -- find: the host PID of the main process ---------------------------------------------

def host_pid_solution(lab):
    return foo_pid(lab)


def _shim_pid(lab):
    """The process that started foo's main process (containerd-shim): a plausible mix-up."""
    pid = foo_pid(lab)
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


@exercise(
    "01.host-pid", kind="find",
    title="foo's PID on the host",
    task="Type the PID of foo's main process as the host sees it (inside foo it is PID 1).",
    hints=("Docker knows it: `docker inspect` shows it under State.",
           "`docker inspect -f '{{.State.Pid}}' foo` (or foo.pid in Python).",
           "Check it: /proc/<that pid>/cgroup names foo's cgroups."),
    form=whole_number("a PID", 4242), example=4242,
    setup=setup_foo, solution=host_pid_solution,
    wrong=(Wrong(lambda lab: 1, "inside its own PID namespace"),
           Wrong(_shim_pid, "is not one of foo's processes")),
    untouched="There is no running container named foo yet",
    reads="State.Pid from Docker; /proc/<answer>/cgroup and /proc/<answer>/comm",
)
def host_pid(machine, pid):
    details, main = _foo(machine)
    if main is None:
        return unjudged(NO_FOO)
    if pid == main:
        return passed(f"Right: host PID {pid} is foo's main process; inside foo's own PID "
                      "namespace the same process is PID 1.")
    if pid == 1:
        return failed("1 is the PID foo's main process has inside its own PID namespace: "
                      "the host numbers it differently.")
    return wrong_pid(machine, pid, "foo's",
                     lambda cgroups: any(details["Id"] in p for p in cgroups.values()),
                     "is not its main process: find the one Docker started first")


# -- find: the cgroup in the memory hierarchy -----------------------------------------------

def memory_cgroup_solution(lab):
    cgroups = lab.node.cgroups(foo_pid(lab))  # /proc/<pid>/cgroup
    hierarchy = lab.node.layout.hierarchy_of("memory")
    if hierarchy == "unified":
        return f"0::{cgroups['unified']}"
    return f"{hierarchy}:{cgroups[hierarchy]}"


def _cpu_line(lab):
    """foo's line of the cpu hierarchy instead of the memory one."""
    cgroups = lab.node.cgroups(foo_pid(lab))
    hierarchy = lab.node.layout.hierarchy_of("cpu")
    return f"{hierarchy}:{cgroups[hierarchy]}" if hierarchy != "unified" else \
        f"cpu:{cgroups['unified']}"


def _short_id(lab):
    full = lab.docker.client.api.inspect_container(lab.session.name("foo"))["Id"]
    return memory_cgroup_solution(lab).replace(full, full[:12])


@exercise(
    "01.memory-cgroup", kind="find",
    title="foo's memory cgroup",
    task="Type the cgroup foo is in, in the memory hierarchy: as /proc/<pid>/cgroup names it "
         "(`memory:/docker/<id>` on cgroup v1, `0::/system.slice/docker-<id>.scope` on v2) "
         "or as its directory under /sys/fs/cgroup.",
    hints=("Every process's cgroups are listed in /proc/<pid>/cgroup, one line per hierarchy.",
           "Use foo's host PID: `cat /proc/$(docker inspect -f '{{.State.Pid}}' foo)/cgroup`.",
           "Docker names the cgroup after the container's full 64-hex id."),
    form=cgroup_path, example="memory:/docker/3f2a…",
    setup=setup_foo, solution=memory_cgroup_solution,
    wrong=(Wrong(_cpu_line, "not the memory hierarchy"),
           Wrong(_short_id, "is cut short")),
    untouched="There is no running container named foo yet",
    reads="/proc/<foo's pid>/cgroup and where the memory hierarchy is mounted",
)
def memory_cgroup(machine, answer):
    _details, pid = _foo(machine)
    if pid is None:
        return unjudged(NO_FOO)
    cgroups = machine.cgroups(pid)
    hierarchy = machine.memory_hierarchy
    truth = cgroups.get(hierarchy, "")
    directory = machine.memory_directory(truth)
    if answer.directory is not None:
        if answer.directory == directory:
            return passed(f"Right: {directory} is foo's memory cgroup; its files hold foo's "
                          "memory limit and usage.")
        given = answer.directory
        mount = directory[: len(directory) - len(truth)] if directory else ""
        path = given[len(mount):] if mount and given.startswith(mount + "/") else None
        if path is None:
            return failed(f"{given} is not in the memory hierarchy, which is mounted at "
                          f"{mount or '?'}.")
    else:
        if answer.hierarchy != hierarchy:
            return failed(f"{answer.hierarchy} is not the memory hierarchy: on this host it is "
                          f"the {'0::' if hierarchy == 'unified' else hierarchy} line.")
        path = answer.path
        if path == truth:
            return passed(f"Right: {answer} is foo's memory cgroup, as the kernel lists it in "
                          "/proc/<pid>/cgroup.")
    if truth.startswith(path.rstrip("/") + "/"):
        return failed(f"{path} is an ancestor of foo's memory cgroup, not foo's own: go down "
                      "to the cgroup named after foo.")
    if truth.startswith(path) and len(path) < len(truth):
        return failed(f"{path} is cut short: the kernel's path names foo's full 64-hex id.")
    return failed(f"{path} is not foo's memory cgroup: read foo's line in /proc/<pid>/cgroup.")


# -- do: an OOM kill at 64 MiB ---------------------------------------------------------------

OOM64 = 64 * MIB


def oom_solution(lab):
    oom = lab.run("oom64", "busybox", "head -c 100m /dev/zero | tail >/dev/null",
                  memory="64Mi", quiet=True)
    oom.wait(timeout=30)


def _oom_small(lab):
    lab.run("oom64", "busybox", "head -c 10m /dev/zero | tail >/dev/null", memory="64Mi",
            quiet=True).wait(timeout=30)


def _oom_128(lab):
    lab.run("oom64", "busybox", "head -c 100m /dev/zero | tail >/dev/null", memory="128Mi",
            quiet=True).wait(timeout=30)


@exercise(
    "01.oom-64mi", kind="do",
    title="An OOM kill at 64 MiB",
    task="Make the kernel's OOM killer kill a container named `oom64` whose memory limit is "
         "64 MiB (from Python, `lab.run(\"oom64\", ...)`, or in a terminal, "
         "`docker run --name oom64 ...`).",
    hints=("Give it the limit with memory=\"64Mi\" (or `--memory 64m`).",
           "Its process must hold more than 64 MiB: `head -c 100m /dev/zero | tail` keeps "
           "100 MiB in tail, which waits for a newline that never comes.",
           "Docker's State.OOMKilled turns true once the kernel has killed it."),
    names=("oom64",), solution=oom_solution,
    wrong=(Wrong(_oom_small, "without an OOM kill"), Wrong(_oom_128, "not 64 MiB")),
    untouched="There is no container named oom64 yet",
    reads="HostConfig.Memory, State.OOMKilled and its oom events from Docker; while it runs, "
          "oom_kill in its memory cgroup (memory.oom_control on v1, memory.events on v2)",
)
def oom_64mi(machine, _answer):
    details = machine.container("oom64")
    if details is None:
        return failed("There is no container named oom64 yet: run one with a 64 MiB memory "
                      "limit whose process needs more than that.")
    limit = details["HostConfig"].get("Memory") or None
    if limit != OOM64:
        return failed(f"oom64's memory limit is {format_bytes(limit)} (HostConfig.Memory = "
                      f"{limit or 0}), not 64 MiB: make it again with memory=\"64Mi\".")
    state = details["State"]
    if state.get("OOMKilled"):
        return passed("oom64 was killed by the kernel's OOM killer at its 64 MiB limit "
                      f"(exit code {state.get('ExitCode')}, State.OOMKilled true).")
    pid = running_pid(details)
    if pid is not None:
        kills = machine.state(machine.cgroups(pid)).usage.oom_kills or 0
        if kills:
            return passed(f"The kernel has OOM-killed {kills} process(es) in oom64 at its "
                          "64 MiB limit (oom_kill in its memory cgroup).")
        return failed("oom64 runs, and the kernel has not OOM-killed anything in it yet "
                      "(oom_kill 0): its process must use more than 64 MiB.")
    if state.get("Status") == "created":
        return failed("oom64 was created but never started: start it (docker start oom64).")
    if state.get("ExitCode") == 137 and _oom_event(machine, details):
        return passed("oom64 was killed by the kernel's OOM killer at its 64 MiB limit "
                      "(exit code 137, and Docker logged an oom event for it; its "
                      "State.OOMKilled stayed false, as Docker may leave it when the exit "
                      "reaches it first).")
    return failed(f"oom64 exited with code {state.get('ExitCode')} without an OOM kill "
                  "(State.OOMKilled false): its process must need more than 64 MiB.")


def _oom_event(machine, details: dict, wait_s: float = 2.0) -> bool:
    """Docker's oom event for a container killed with SIGKILL (exit 137), waited for a
    moment: the kernel's notice can reach Docker just after the exit does."""
    import time

    deadline = time.monotonic() + wait_s
    while not machine.oom_events(details["Id"], details["State"]["StartedAt"]):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


# -- do: a quarter of a CPU ----------------------------------------------------------------

def quarter_solution(lab):
    lab.run("quarter", "busybox", "sleep 3650d", cpus=0.25, quiet=True)


@exercise(
    "01.cpu-quarter", kind="do",
    title="A container on a quarter of a CPU",
    task="Run a container named `quarter` that the kernel lets use at most 0.25 CPU.",
    hints=("`--cpus` (cpus= in lab.run) becomes a CFS quota per period in the cpu cgroup.",
           "cpu.shares (--cpu-shares) is only a weight among busy neighbours, not a cap.",
           "0.25 CPU is 25000 µs of CPU time in every 100000 µs period."),
    names=("quarter",), solution=quarter_solution,
    wrong=(Wrong(lambda lab: lab.run("quarter", "busybox", "sleep 3650d", cpus=0.5,
                                     quiet=True), "not 0.25"),
           Wrong(lambda lab: lab.run("quarter", "busybox", "sleep 3650d", cpu_shares=256,
                                     quiet=True), "has no CPU quota")),
    untouched="There is no container named quarter yet",
    reads="cpu.cfs_quota_us and cpu.cfs_period_us (v1) or cpu.max (v2) of its cgroup",
)
def cpu_quarter(machine, _answer):
    details = machine.container("quarter")
    if details is None:
        return failed("There is no container named quarter yet: run one with a CPU limit of "
                      "0.25.")
    pid = running_pid(details)
    if pid is None:
        return failed(f"quarter is {details['State'].get('Status')}: the kernel holds its "
                      "limits only while it runs; start it again.")
    limits = machine.state(machine.cgroups(pid)).limits
    files = machine.cpu_files
    if limits.cpu_quota_us is None:
        shares = f" (cpu.shares is {limits.cpu_shares})" if limits.cpu_shares else ""
        return failed(f"quarter's cgroup has no CPU quota{shares}: a weight is not a cap; "
                      "give it cpus=0.25.")
    cpus = limits.cpus
    numbers = f"{limits.cpu_quota_us} / {limits.cpu_period_us} in {files}"
    if cpus is None or abs(cpus - 0.25) > 1e-6:
        return failed(f"quarter may use {cpus:g} CPU ({numbers}), not 0.25.")
    return passed(f"quarter may run {limits.cpu_quota_us} µs in every {limits.cpu_period_us} "
                  f"µs period ({files}): 0.25 CPU, enforced by the kernel.")
