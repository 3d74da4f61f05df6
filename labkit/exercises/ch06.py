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
    unjudged,
    whole_number,
    wrong_pid,
)
from .pods import FOO_POD, SCRATCH, SLEEPER, on_pod, pod_names

MAKE_FOO = ("the cell under the chapter's title that runs pod = lab.scratch_pod(manifest), "
            "then check")


def setup_foo(lab):
    """The chapter's first cell: the article's manifest, from scratch."""
    return lab.scratch_pod(FOO_POD, quiet=True)


# What the read exercises declare: the chapter's first cell, and the untouched sentence;
# their checks get pod foo with pause and app running, or judge nothing yet.
ON_FOO = {"setup": setup_foo, "untouched": "There is no pod from scratch named foo yet"}
AGAIN_FOO = ("make foo again (the section When pause dies kills pause) with pod.delete(), then "
             "the cell under the chapter's title (pod = lab.scratch_pod(manifest)), then check")
on_foo = on_pod(SCRATCH, "foo", make=MAKE_FOO, running=("app",), again=AGAIN_FOO)


# -- predict: which namespaces did app join? ----------------------------------------------------

def joined_solution(lab):
    pids = {m.name: m.pid for m in SCRATCH.in_lab(lab, "foo").members()}
    app, pause = lab.node.namespaces(pids["app"]), lab.node.namespaces(pids["pause"])
    return [ns for ns, inode in app.items()  # readlink /proc/<pid>/ns/<ns>
            if inode == pause[ns] and inode != lab.node.host_namespaces[ns]]


@exercise(
    "06.joined-namespaces", kind="predict",
    title="What nsenter joined",
    task="Before the containers' lines and the matrix show it: which namespaces does pod "
         "foo's app share with pause (not those both share with the host)? Pick every one. "
         "(foo is the pod made from scratch at the top of the chapter.)",
    hints=("Think of what the manifest's two containers must have in common to work as one "
           "Pod. The Kubernetes docs' page on Pods says some of it: the containers find each "
           "other on localhost, and can talk through inter-process communication such as "
           "System V semaphores. What else of a host would two programs of one Pod expect to "
           "have in common?",
           "Then what stays each container's own in a Pod: its files (its image's root file "
           "system) and, unless the manifest says shareProcessNamespace, its processes.",
           "A container shares a namespace by joining the holder's, pause's; leave out the "
           "types nobody made new for the pod: those are still the host's, for pause and "
           "app alike."),
    form=namespace_types, options=NAMESPACE_TYPES, multiple=True, example="cgroup, time",
    **ON_FOO,
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
    return SCRATCH.in_lab(lab, "foo").members()[0].pid  # or: the pause cgroup's cgroup.procs


def _unshare_pid(lab):
    """unshare, which forked pause and waits for it: a plausible mix-up in `ps`."""
    return SCRATCH.in_lab(lab, "foo")["pause"].process.pid


def _app_pid(lab):
    return SCRATCH.in_lab(lab, "foo")["app"].pid


@exercise(
    "06.pause-pid", kind="find",
    title="Where pause is",
    task="Type the host PID of pod foo's pause: the process that is PID 1 of its own PID "
         "namespace and holds the pod's namespaces, as the host numbers it (not 1, its number "
         "inside). Answer before you run the section When pause dies, which kills pause.",
    hints=("Every member of the pod has a cgroup of its own under the pod's, named after it: "
           "pause's is pause. A cgroup's cgroup.procs lists its processes by their PIDs as "
           "the reader sees them: from the host, host PIDs.",
           "Pause's cgroup holds pause and the sleep it waits on: "
           "`cat /sys/fs/cgroup/memory/{name:scratch.foo}/pause/cgroup.procs` (on cgroup v2 "
           "the same path without memory/).",
           "The NSpid line of /proc/<pid>/status gives a process's PID in each PID namespace "
           "it is in, the host's first; pause's ends in 1: "
           "`for p in $(cat /sys/fs/cgroup/memory/{name:scratch.foo}/pause/cgroup.procs); "
           "do grep -H NSpid /proc/$p/status; done`"),
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

MAKE_TRIO = ("trio = lab.scratch_pod(name=\"trio\", containers={\"app\": {\"image\": "
             "\"nginx\"}}) in the cell under Exercise (# your code for exercise 1 here), "
             "then start debug in it from a terminal, then check")
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
    task="Make a pod from scratch named `trio` (for example trio = lab.scratch_pod(name="
         "\"trio\", containers={\"app\": {\"image\": \"nginx\"}})), then add a container "
         "`debug` to it yourself: a process in pause's net, ipc and uts namespaces, with "
         "mount and PID namespaces of its own, in a cgroup `debug` under the pod's cgroup.",
    hints=("Look at what made foo's app a container, in the chapter's section What labkit "
           "ran: the lines that make its cgroup, the nsenter that joins pause's namespaces, "
           "the unshare that makes its own, and the echo $$ that puts its first process in "
           "its cgroup. debug needs each of them.",
           "Those lines were foo's. trio.commands() prints your trio's own (trio being what "
           "lab.scratch_pod returned): the app's cgroup lines (a directory in each hierarchy "
           "the plan's for h in ... loop names, then its values, and on cgroup v1 "
           "cpuset.cpus and cpuset.mems copied), the tar line that gives it a root file "
           "system, and the app's nsenter line. $PAUSE is only set in the shell that started "
           "pause: in your terminal, any process of trio's pause cgroup (its cgroup.procs) "
           "will do as nsenter's target.",
           "In a root terminal, go through those app lines one by one and look at what names "
           "the app in each: the cgroup paths, the root file system's path (a copy of pause's "
           "root made with cp -a will do for debug), the cgroup.procs the echo $$ writes to. "
           "Each becomes debug's. In the nsenter line $PAUSE becomes a PID of trio's pause, "
           "and the app's httpd becomes a command that keeps running (the httpd already holds "
           "port 80 in the pod's network namespace), in the background (&)."),
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
def third_container(machine, _answer):
    pod, _started = SCRATCH.find(machine, "trio")
    if pod is None:  # nothing of the learner's yet: no try counted
        return unjudged(SCRATCH.absent("trio", True, MAKE_TRIO))
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
                  f"PID namespaces, in {pod.cgroup}/debug. No runtime was asked. "
                  "trio.join_commands(\"debug\") prints the lines labkit would have typed, to "
                  "compare with yours.")
