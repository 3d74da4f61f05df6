"""Chapter 6 exercises: a Pod from scratch, with no engine to ask.

A pod from scratch is only what the kernel holds, so the checks read only the kernel: the
pod's cgroup ``/lk-<session>-scratch.<pod>`` of a lab session this process owns (made by
``lab.scratch_pod``), one cgroup per member under it (``pause``, ``app``, ...), each
member's processes from ``cgroup.procs`` (its first process: the one whose parent is not
in that cgroup; ``pods.SCRATCH``), their namespace links, ``/proc/<pid>/stat`` and
``comm``. Never the ``ScratchPod`` object in the learner's kernel.
"""

from __future__ import annotations

import subprocess
import time

from ..model import NAMESPACE_TYPES
from .core import (
    Wrong,
    exercise,
    failed,
    namespace_types,
    passed,
    whole_number,
    wrong_pid,
)
from .pods import FOO_POD, SCRATCH, SLEEPER, on_pod, pod_names

MAKE_FOO = "the chapter's first cell (lab.scratch_pod(manifest)), then check"


def setup_foo(lab):
    """The chapter's first cell: the article's manifest, from scratch."""
    return lab.scratch_pod(FOO_POD, quiet=True)


# What the read exercises declare: the chapter's first cell, and the untouched sentence;
# their checks get pod foo with pause and app running, or judge nothing yet.
ON_FOO = {"setup": setup_foo, "untouched": "There is no pod from scratch named foo yet"}
on_foo = on_pod(SCRATCH, "foo", make=MAKE_FOO, running=("app",))


# -- predict: which namespaces did app join? ----------------------------------------------------

def joined_solution(lab):
    pids = {m.name: m.pid for m in SCRATCH.in_lab(lab, "foo").members()}
    app, pause = lab.node.namespaces(pids["app"]), lab.node.namespaces(pids["pause"])
    return [ns for ns, inode in app.items()  # readlink /proc/<pid>/ns/<ns>
            if inode == pause[ns] and inode != lab.node.host_namespaces[ns]]


@exercise(
    "06.joined-namespaces", kind="predict",
    title="What nsenter joined",
    task="Before the matrix shows it: which namespaces does pod foo's app share with pause "
         "(not those both share with the host)? Pick every one. (foo is the pod the "
         "chapter's first cell made from scratch.)",
    hints=("Read the app's command in pod.commands(): nsenter's flags are the namespaces it "
           "joins, unshare's are the ones it makes for itself.",
           "Every namespace it neither joins nor makes stays the one it was started in: the "
           "host's.",
           "unshare --mount --pid makes the app's own mount and PID namespaces."),
    form=namespace_types, options=NAMESPACE_TYPES, multiple=True, example="net", **ON_FOO,
    solution=joined_solution,
    wrong=(Wrong(lambda lab: ["net"], "it shares that one too"),
           Wrong(lambda lab: ["net", "ipc", "uts", "pid"], "its own, not pause's"),
           Wrong(lambda lab: ["net", "ipc", "uts", "cgroup"], "the host's")),
    reads="the pod's cgroup (the first process of pause and of app, from cgroup.procs and "
          "/proc/<pid>/stat), their /proc/<pid>/ns/* links and the host's",
)
@on_foo
def joined(machine, pod, picked):
    pause = machine.namespaces(pod.main("pause", machine))
    app = machine.namespaces(pod.main("app", machine))
    host = machine.host_namespaces
    shared = [ns for ns in NAMESPACE_TYPES if ns in app and app[ns] == pause.get(ns)
              and app[ns] != host.get(ns)]
    for ns in (ns for ns in NAMESPACE_TYPES if ns in picked and ns not in shared):
        whose = "the host's, as pause's is" if app.get(ns) == host.get(ns) else \
            f"its own, not pause's ({pause.get(ns)})"
        return failed(f"The app's {ns} namespace ({app.get(ns)}) is {whose}.")
    left = [ns for ns in shared if ns not in picked]
    if left:
        return failed(f"The app's {left[0]} namespace is pause's ({app[left[0]]}): it shares "
                      "that one too.")
    return passed(f"Right: nsenter put foo's app in pause's {', '.join(shared)} namespaces; "
                  "unshare gave it its own mount and PID namespaces, and the rest are the "
                  "host's.")


# -- find: the pause process ---------------------------------------------------------------------

def pause_pid_solution(lab):
    return SCRATCH.in_lab(lab, "foo").members()[0].pid  # or: cat <pod cgroup>/pause/cgroup.procs


def _unshare_pid(lab):
    """unshare, which forked pause and waits for it: a plausible mix-up in `ps`."""
    return SCRATCH.in_lab(lab, "foo")["pause"].process.pid


def _app_pid(lab):
    return SCRATCH.in_lab(lab, "foo")["app"].pid


@exercise(
    "06.pause-pid", kind="find",
    title="Where pause is",
    task="Type the host PID of pod foo's pause process, the one that made the pod's "
         "namespaces, as the kernel numbers it (not 1, its number inside).",
    hints=("Every member has a cgroup of its own under the pod's: pod.cgroup_parent, then "
           "/pause.",
           "cat /sys/fs/cgroup/memory<pod cgroup>/pause/cgroup.procs lists pause and the "
           "sleep it waits on (the unified hierarchy on cgroup v2, without memory).",
           "unshare --fork started pause as its child: unshare's own PID is not pause's."),
    form=whole_number("a PID", 4242), example=4242, **ON_FOO,
    solution=pause_pid_solution,
    wrong=(Wrong(_unshare_pid, "is not one of pod foo's processes"),
           Wrong(_app_pid, "is the first process of foo's app")),
    reads="the pod's cgroup (cgroup.procs of each member's cgroup, /proc/<pid>/stat); for a "
          "wrong answer, /proc/<answer>/cgroup and comm",
)
@on_foo
def pause_pid(machine, pod, pid):
    truth = pod.main("pause", machine)
    if pid == truth:
        return passed(f"Right: host PID {pid} ({machine.command_name(pid)}) is pod foo's "
                      "pause: PID 1 of the PID namespace unshare made, in the pod's cgroup "
                      f"{pod.cgroup}/pause.")
    for member in pod.members:
        if pid == pod.main(member, machine):
            return failed(f"Process {pid} is the first process of foo's {member}, not pause.")
    if pid == 1:
        return failed("1 is pause's PID inside its own PID namespace (and the host's init "
                      "outside it): the host numbers pause differently.")

    def in_pod(cgroups: dict[str, str]) -> bool:
        where = cgroups.get(machine.memory_hierarchy, "")
        return where == pod.cgroup or where.startswith(pod.cgroup + "/")

    return wrong_pid(machine, pid, "pod foo's", in_pod,
                     "is not pause: read the pause cgroup's cgroup.procs")


# -- do: a third container, joined by hand -----------------------------------------------------

MAKE_TRIO = ("lab.scratch_pod(name=\"trio\", containers=...), then start debug by hand "
             "(pod.join_commands(\"debug\") shows how), then check")
JOINED = ("net", "ipc", "uts")


def _trio(lab, replace: tuple[str, str] = ("", "")):
    pod = lab.scratch_pod(name="trio", containers={"app": SLEEPER}, quiet=True)
    for line in pod.join_commands("debug"):  # what a learner pastes into a terminal
        subprocess.run(["sh", "-c", line.replace(*replace) if replace[0] else line],
                       check=True, timeout=30)
    procs = f"{lab.node.layout.for_controller('memory').directory(pod.cgroup_parent)}" \
            "/debug/cgroup.procs"
    for _ in range(500):  # debug runs in the background: until it has joined its cgroup
        with open(procs) as handle:
            if handle.read().strip():
                break
        time.sleep(0.01)
    return pod


def third_container_solution(lab):
    _trio(lab)


@exercise(
    "06.third-container", kind="do",
    title="A third container, by hand",
    task="Make a pod from scratch named `trio` (lab.scratch_pod), then add a container "
         "`debug` to it yourself: a process in pause's net, ipc and uts namespaces, with "
         "mount and PID namespaces of its own, in a cgroup `debug` under the pod's cgroup.",
    hints=("Copy what pod.commands() shows for the app: nsenter --target <pause's PID> joins, "
           "unshare --mount --pid --fork makes the container's own.",
           "Make its cgroup first (mkdir <pod cgroup>/debug, in every hierarchy on cgroup v1) "
           "and have its first process join it (echo $$ > .../debug/cgroup.procs) before "
           "it execs.",
           "pod.join_commands(\"debug\") prints the three lines for this pod: paste them into "
           "a terminal (or run each with subprocess)."),
    solution=third_container_solution,
    names=pod_names("trio"), pods=("trio",),
    untouched="There is no pod from scratch named trio yet",
    wrong=(Wrong(lambda lab: _trio(lab, ("--net --ipc --uts", "--net")),
                 "is the host's, not pause's"),
           Wrong(lambda lab: _trio(lab, ("--mount --pid --fork", "--mount")),
                 "the host's PID namespace"),
           Wrong(lambda lab: lab.scratch_pod(name="trio", containers={"app": SLEEPER},
                                             quiet=True), "no cgroup debug")),
    reads="pod trio's cgroup (the first process of pause and of debug, from cgroup.procs and "
          "/proc/<pid>/stat), their /proc/<pid>/ns/* links and the host's",
)
@on_pod(SCRATCH, "trio", make=MAKE_TRIO, do=True)
def third_container(machine, pod, _answer):
    pause = pod.main("pause", machine)
    if pause is None:
        return failed("Pod trio's pause is not running, so there are no namespaces to join: "
                      "delete the pod and make it again.")
    if "debug" not in pod.members:
        return failed(f"Pod trio's cgroup has no cgroup debug under it (it has "
                      f"{', '.join(sorted(pod.members))}): make it, and start debug in it.")
    debug = pod.main("debug", machine)
    if debug is None:
        return failed(f"No process is in {pod.cgroup}/debug: the first process of debug must "
                      "join it (echo $$ > .../cgroup.procs) before it execs.")
    theirs, ours = machine.namespaces(debug), machine.namespaces(pause)
    host = machine.host_namespaces
    for ns in JOINED:
        if theirs[ns] != ours[ns]:
            whose = "the host's" if theirs[ns] == host[ns] else "its own"
            return failed(f"debug's {ns} namespace ({theirs[ns]}) is {whose}, not pause's "
                          f"({ours[ns]}): nsenter must join it.")
    for ns, what in (("mnt", "mount"), ("pid", "PID")):
        if theirs[ns] == host[ns]:
            return failed(f"debug is in the host's {what} namespace ({host[ns]}): unshare must "
                          "make one of its own.")
        if theirs[ns] == ours[ns]:
            return failed(f"debug is in pause's {what} namespace ({ours[ns]}): a container of "
                          "a Pod has its own.")
    return passed(f"debug (host PID {debug}, {machine.command_name(debug)}) is pod trio's third "
                  "container: in pause's net, ipc and uts namespaces, with its own mount and "
                  f"PID namespaces, in {pod.cgroup}/debug. No runtime was asked.")
