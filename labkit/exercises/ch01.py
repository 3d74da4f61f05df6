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
NO_FOO = ("There is no running container named foo yet: run the cell under \"Start a "
          "container with limits\" (foo = lab.run(\"foo\", ...)), then check.")


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
    task="Before you look at foo's namespaces: which of the eight namespace types (those of "
         "Linux 5.6 and later) does Docker give foo of its own, that is, not the host's? Pick "
         "every one that is foo's own.",
    hints=("Each type isolates one thing (the table in the namespaces(7) manual page): the "
           "cgroup root directory; System V IPC and POSIX message queues; mount points; "
           "network devices, stacks and ports; process IDs; boot and monotonic clocks; user "
           "and group IDs; the hostname. Which of those would a runtime have to ask for when "
           "it starts the process, and which need more than asking (ID maps, a runtime that "
           "can make them)?",
           "A type that nobody asks for stays the one runc itself runs in (here the host's). "
           "Look at the list Docker asks runc for: linux.namespaces in the container's OCI "
           "spec, the config.json of foo's bundle, which Docker 20.10's own containerd keeps "
           "under /run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/ in a "
           "directory named after foo's full id (Docker's defaults are in oci/defaults.go of "
           "its source), and at what a daemon option such as --userns-remap would add to it.",
           "For the cgroup type, look up the default of dockerd's --default-cgroupns-mode for "
           "this machine's cgroup version (the chapter's first cell prints Docker's version "
           "and the cgroup version)."),
    form=namespace_types, options=NAMESPACE_TYPES, multiple=True,
    example="time",  # a well-formed pick, and never foo's own: Docker asks for no time namespace
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
    task="Type the PID of foo's main process as the host sees it (inside foo's own PID "
         "namespace the same process is PID 1).",
    hints=("The host numbers every process in its own PID namespace; Docker keeps the host "
           "PID of a container's main process in the container's state.",
           "`docker inspect {name:foo}` prints that state as JSON: look for Pid under State. "
           "Without a terminal (on Binder), foo.state in Python is the same State.",
           "Check your number on the host: /proc/<your number>/cgroup names foo's 64-hex id, "
           "and the NSpid line of /proc/<your number>/status ends in 1, its PID inside foo."),
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
    task="Type the cgroup foo is in, in the memory hierarchy: a line of /proc/<pid>/cgroup "
         "as the host reads it (hierarchy ID, controllers and path, with or without the ID), "
         "or the cgroup's directory under /sys/fs/cgroup.",
    hints=("Every process's cgroups are listed in /proc/<pid>/cgroup, one line per "
           "hierarchy: its ID, the controllers attached to it, the path in it. The chapter "
           "printed foo's lines under \"Its cgroups\".",
           "In a terminal: `cat /proc/$(docker inspect -f '{{.State.Pid}}' {name:foo})/cgroup`; "
           "in Python (on Binder too): lab.node.read(f\"/proc/{foo.pid}/cgroup\").",
           "On cgroup v1, take the line whose controllers include memory; on cgroup v2 there "
           "is one line, 0::. Copy its path whole: Docker names the cgroup after the "
           "container's full 64-hex id."),
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
HOLD_100MIB = "head -c 100m /dev/zero | tail >/dev/null"  # tail keeps its one "last line"
NO_OOM64 = ("There is no container named oom64 yet: make it in the empty cell under "
            "\"Exercises\", 3. (lab.run(\"oom64\", ...)), then check.")


def oom_solution(lab):
    oom = lab.run("oom64", "busybox", HOLD_100MIB, memory="64Mi", memory_swap="64Mi",
                  quiet=True)
    oom.wait(timeout=30)


def _oom_small(lab):
    """Too little to hold, and swap left as Docker sets it: the sentence says both."""
    lab.run("oom64", "busybox", "head -c 10m /dev/zero | tail >/dev/null", memory="64Mi",
            quiet=True).wait(timeout=30)


def _oom_128(lab):
    lab.run("oom64", "busybox", HOLD_100MIB, memory="128Mi", memory_swap="128Mi",
            quiet=True).wait(timeout=30)


@exercise(
    "01.oom-64mi", kind="do",
    title="An OOM kill at 64 MiB",
    task="Make the kernel's OOM killer kill a process in a container named `oom64` whose "
         "memory limit is 64 MiB: `lab.run(\"oom64\", ...)` in the empty cell below this card.",
    hints=("Two things are needed: a 64 MiB limit on the container's memory cgroup (memory= "
           "in lab.run, as in the chapter's hog), and a process in it that holds more than "
           "that at the same time.",
           "busybox's tail keeps all of its input until the input ends when there is no "
           "newline in it (it is all one last line): fed 100 MiB of /dev/zero through head -c "
           "100m, tail must hold 100 MiB.",
           "Given only a memory limit, Docker 20.10 sets the memory+swap limit to twice the "
           "memory limit where the kernel accounts swap (memory.memsw.* on v1, "
           "memory.swap.max on v2), so on a host with swap the kernel may swap before it "
           "kills (where it does not account swap, swap is not limited at all, whatever you "
           "ask). memory_swap= in lab.run is that memory+swap limit: give it the same limit "
           "as memory=, and nothing is left to swap into (docker run calls it --memory-swap "
           "and takes its own units there: 64m, which every version of it reads)."),
    names=("oom64",), solution=oom_solution,
    wrong=(Wrong(_oom_small, "without an OOM kill"), Wrong(_oom_128, "not 64 MiB")),
    untouched="There is no container named oom64 yet",
    reads="HostConfig.Memory, HostConfig.MemorySwap, State.OOMKilled and its oom events from "
          "Docker; while it runs, oom_kill in its memory cgroup (memory.oom_control on v1, "
          "memory.events on v2)",
)
def oom_64mi(machine, _answer):
    details = machine.container("oom64")
    if details is None:
        return unjudged(NO_OOM64)
    limit = details["HostConfig"].get("Memory") or None
    if limit != OOM64:
        return failed(f"oom64's memory limit is {format_bytes(limit)} (HostConfig.Memory = "
                      f"{limit or 0}), not 64 MiB: remove it (exercises.get(\"01.oom-64mi\")"
                      ".reset()) and make it again with a 64 MiB limit.")
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
                      "(oom_kill 0): its process must use more than 64 MiB"
                      f"{_swap_room(details)}.")
    if state.get("Status") == "created":
        return failed("oom64 was created but never started: start it (docker start "
                      f"{details['Name'].lstrip('/')}).")
    if state.get("ExitCode") == 137 and _oom_event(machine, details):
        return passed("oom64 was killed by the kernel's OOM killer at its 64 MiB limit "
                      "(exit code 137, and Docker logged an oom event for it; its "
                      "State.OOMKilled stayed false, as Docker may leave it when the exit "
                      "reaches it first).")
    return failed(f"oom64 exited with code {state.get('ExitCode')} without an OOM kill "
                  "(State.OOMKilled false): its process must need more than 64 MiB"
                  f"{_swap_room(details)}.")


def _swap_room(details: dict) -> str:
    """What swap let the container use besides its memory, said where it could matter."""
    memory = details["HostConfig"].get("Memory") or 0
    both = details["HostConfig"].get("MemorySwap") or 0
    if both == -1:
        return (", and its swap is unlimited (HostConfig.MemorySwap -1): on a host with swap "
                "the kernel may swap before it kills")
    if both > memory:
        return (f", and its memory+swap limit is {format_bytes(both)} (HostConfig.MemorySwap): "
                f"on a host with swap it may put {format_bytes(both - memory)} into swap "
                "before the kernel kills")
    return ""


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

NO_QUARTER = ("There is no container named quarter yet: make it in the empty cell under "
              "\"Exercises\", 4. (lab.run(\"quarter\", ...)), then check.")


def quarter_solution(lab):
    lab.run("quarter", "busybox", "sleep 3650d", cpus=0.25, quiet=True)


@exercise(
    "01.cpu-quarter", kind="do",
    title="A container on a quarter of a CPU",
    task="Run a container named `quarter` that the kernel limits to exactly 0.25 CPU: a CFS "
         "quota of a quarter of its period (quota / period = 0.25, any period), with "
         "`lab.run(\"quarter\", ...)` in the empty cell below this card.",
    hints=("A cap on CPU time is a CFS quota: so much run time in every period, for the "
           "whole cgroup. A weight (--cpu-shares, cpu.shares on v1, cpu.weight on v2) only "
           "divides the CPU among busy neighbours: it caps nothing.",
           "Docker's --cpus (cpus= in lab.run) becomes that quota, with a period of 100 ms: "
           "the chapter's foo got --cpus 0.5.",
           "Read the two numbers back from the container's cpu cgroup (cpu.cfs_quota_us and "
           "cpu.cfs_period_us on v1, cpu.max on v2, or views.limits_table of lab.observe of "
           "it, as the chapter did for foo) and divide: that ratio is what must be 0.25."),
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
        return unjudged(NO_QUARTER)
    pid = running_pid(details)
    if pid is None:
        return failed(f"quarter is {details['State'].get('Status')}: the kernel holds its "
                      "limits only while it runs; start it again.")
    limits = machine.state(machine.cgroups(pid)).limits
    files = machine.cpu_files
    if limits.cpu_quota_us is None:
        shares = f" (cpu.shares is {limits.cpu_shares})" if limits.cpu_shares else ""
        return failed(f"quarter's cgroup has no CPU quota{shares}: a weight is not a cap; "
                      "give it a CPU quota.")
    cpus = limits.cpus
    numbers = f"{limits.cpu_quota_us} / {limits.cpu_period_us} in {files}"
    if cpus is None or abs(cpus - 0.25) > 1e-6:
        return failed(f"quarter may use {cpus:g} CPU ({numbers}), not 0.25.")
    return passed(f"quarter may run {limits.cpu_quota_us} µs in every {limits.cpu_period_us} "
                  f"µs period ({files}): the kernel limits it to 0.25 CPU.")
