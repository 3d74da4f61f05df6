"""Chapter 8 exercises: the Pod of today on containerd's CRI, with labkit as the kubelet.

The learner's pods are those on labkit's own containerd of a lab session this process owns,
read through the CRI (``pods.CRI``: ``ListPodSandbox``, ``ListContainers``, verbose status
for host PIDs), and the rest from the kernel: ``/proc/<pid>/cgroup``, cgroup files,
``/proc/<pid>/comm``. Each exercise is its check, decorated with its data; the reference and
wrong solutions are just above it.

Every check is not judged (no try counted, no hint unlocked) while nothing of the learner's
is there yet (``on_pod``): running every cell of the chapter spends nothing.
"""

from __future__ import annotations

import posixpath

from ..quantity import format_bytes
from .core import Wrong, exercise, failed, one_of, passed, whole_number, wrong_pid
from .machine import parent_of
from .pods import CRI, on_pod, pod_names

MIB = 2**20

# The chapter's pod (the manifest of its first cell under «Init containers and sidecars»): an
# init container, a sidecar, the app; the chapter then adds an ephemeral container, debugger.
TODAY_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: today
spec:
  initContainers:
  - name: setup
    image: busybox
    command: ["sh", "-c", "echo 'written by setup' > /dev/shm/config"]
    resources:
      limits:
        memory: "512Mi"
  - name: logs
    image: busybox
    restartPolicy: Always
    command: ["sleep", "3650d"]
    resources:
      requests:
        cpu: "100m"
        memory: "64Mi"
      limits:
        memory: "128Mi"
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "cat /dev/shm/config; exec sleep 3650d"]
    resources:
      requests:
        cpu: "200m"
        memory: "128Mi"
      limits:
        memory: "256Mi"
"""

# What the cards' hints give to type: containerd's tasks (each container's, pause's too) with
# their host PIDs, on this session's containerd.
TASKS = "ctr -a /run/labkit/{name:containerd}/containerd.sock -n k8s.io tasks list"

MAKE_TODAY = ("the first cell under «Init containers and sidecars» (pod = "
              "lab.cri_pod(manifest)), then check")


def setup_today(lab):
    """The chapter's pod today, as its cells make it: the manifest, then the debugger."""
    pod = lab.cri_pod(TODAY_POD, quiet=True)
    pod.debug("debugger", target="app", quiet=True)
    return pod


# -- predict: the pod cgroup's memory limit ---------------------------------------------------

LIMITS = {"384 MiB": 384 * MIB, "512 MiB": 512 * MIB, "896 MiB": 896 * MIB, "no limit": None}
OPTIONS = tuple(LIMITS)


def pod_memory_solution(lab):
    pod = CRI.seen_in_lab(lab, "today")
    limit = lab.node.cgroup_state(parent_of(lab.node.cgroups(pod.running()["app"]))) \
        .limits.memory_bytes
    return next(option for option, size in LIMITS.items() if size == limit)


@exercise(
    "08.pod-memory", kind="predict",
    title="The pod's memory limit, with an init container and a sidecar",
    task="Before the cells that read the pod's cgroup: pod today's init container setup has "
         "a memory limit of 512 MiB, its sidecar logs 128 MiB and its app 256 MiB. Which memory "
         "limit does the kubelet write on the pod's own cgroup (memory.max on cgroup v2, "
         "memory.limit_in_bytes on v1)?",
    hints=("What to think about: the pod's cgroup holds every container of the pod for its "
           "whole life; ask which of them can run at the same time, and when.",
           "Where the rule is: setup ends before logs starts, and logs keeps running beside "
           "the app (the start order under «Init containers and sidecars»); the kubelet sizes "
           "the pod for the most it can need at any one moment.",
           "How the kubelet adds up: the sidecars and containers, which run together, are "
           "summed; each init container counts with the sidecars started before it; the pod "
           "gets the larger of the two sums."),
    form=one_of(OPTIONS), options=OPTIONS, example="no limit",
    setup=setup_today, solution=pod_memory_solution,
    wrong=(Wrong(lambda lab: "896 MiB", "every container's added together"),
           Wrong(lambda lab: "384 MiB", "setup alone needs more")),
    untouched="There is no pod named today on labkit's containerd yet",
    reads="the CRI's pod today (the host PIDs of its running containers), their "
          "/proc/<pid>/cgroup, and the memory limit of their parent, the pod's cgroup",
)
@on_pod(CRI, "today", make=MAKE_TODAY, running=("app",),
        again="make the pod again (the first cell under «Init containers and sidecars»), then "
              "check")
def pod_memory(machine, pod, picked):
    running = pod.running()
    cgroups = {name: machine.cgroups(pid) for name, pid in running.items()}
    held = machine.state(parent_of(cgroups["app"])).limits.memory_bytes
    own = {name: machine.state(theirs).limits.memory_bytes or 0
           for name, theirs in cgroups.items() if name in ("logs", "app")}
    together = sum(own.values())
    kernel = format_bytes(held) if held else "no limit"
    if LIMITS[picked] == held:
        return passed(f"Right: the kernel holds {kernel} on pod today's cgroup: more than logs "
                      f"and app together ({format_bytes(together)}), because setup, which runs "
                      "before them, may use that much on its own.")
    if picked == "896 MiB":
        return failed(f"896 MiB is every container's added together, but setup has exited "
                      f"before logs and app start; the kernel holds {kernel}.")
    if picked == "384 MiB":
        return failed(f"384 MiB is logs and app together, but setup alone needs more while it "
                      f"runs; the kernel holds {kernel}.")
    return failed(f"The kernel holds {kernel} on pod today's cgroup: every container and init "
                  "container in today's spec has a memory limit (its ephemeral containers set "
                  "none and do not count), so the kubelet writes one for the pod.")


# -- find: the process the debugger sees as PID 1 ------------------------------------------------

NO_DEBUGGER = ("the cell under «Ephemeral debug containers» (pod.debug(\"debugger\", "
               "target=\"app\")), then check")


def pid_one_solution(lab):
    return CRI.seen_in_lab(lab, "today").running()["app"]


def _debugger_pid(lab):
    return CRI.seen_in_lab(lab, "today").running()["debugger"]


@exercise(
    "08.pid-one", kind="find",
    title="PID 1, as the debugger sees it",
    task="In pod today's ephemeral container debugger, the process numbered 1 is a process of "
         "the pod. Type the PID that the host numbers it with.",
    hints=("What to look for: the debugger has no PID namespace of its own; the "
           "CreateContainer request under «Ephemeral debug containers» says whose it joined, "
           "and in a PID namespace the first process to start is number 1.",
           "Where: containerd keeps a task per container of the pod, with its host PID: "
           f"`{TASKS}` lists them; the CONTAINER column of the chapter's crictl listing "
           "tells which task is which container.",
           "How to be sure: the kernel lists every number a process has, one per PID "
           "namespace it is in, on the NSpid line of /proc/PID/status: the host's first, "
           "its own namespace's last."),
    form=whole_number("a PID", 4242), example=4242,
    setup=setup_today, solution=pid_one_solution,
    wrong=(Wrong(_debugger_pid, "is the debugger's own process"),
           Wrong(lambda lab: 1, "is the number inside")),
    untouched="There is no pod named today on labkit's containerd yet",
    reads="the CRI's verbose status of pod today (host PIDs of pause, app, logs and "
          "debugger); for a wrong answer, /proc/<answer>/cgroup and comm",
)
@on_pod(CRI, "today", make=MAKE_TODAY, running=("app", "debugger"), again=NO_DEBUGGER)
def pid_one(machine, pod, pid):
    running = pod.running()
    if pid == running["app"]:
        return passed(f"Right: host PID {pid} is today's app ({machine.command_name(pid)}), "
                      "the first process of the PID namespace the debugger joined (the CRI's "
                      "TARGET mode), so it is 1 there.")
    if pid == 1:
        return failed("1 is the number inside the namespace the debugger joined (and the "
                      "host's own init, outside): the host numbers that process differently.")
    if pid == running["debugger"]:
        return failed(f"Process {pid} is the debugger's own process: in the namespace it joined "
                      "it came after the app, so it is not 1.")
    if pid == pod.pause_pid:
        return failed(f"Process {pid} is pause: its PID namespace is its own, and the debugger "
                      "did not join it.")
    for name, theirs in running.items():
        if pid == theirs:
            return failed(f"Process {pid} is today's {name}: it has a PID namespace of its own, "
                          "which the debugger did not join.")

    def in_pod(cgroups: dict[str, str]) -> bool:
        where = cgroups.get(machine.memory_hierarchy, "")
        return pod.uid in where or pod.uid.replace("-", "_") in where

    return wrong_pid(machine, pid, "pod today's", in_pod,
                     "is not the first process of the namespace the debugger joined")


# -- do: a whole Pod's memory, set on the Pod ---------------------------------------------------

MAKE_LEAN = ("lab.cri_pod(...) in the code cell of exercise 3 under «Exercises», then check")
LEAN = {"app": {"image": "busybox", "command": "sleep 3650d"},
        "helper": {"image": "busybox", "command": "sleep 3650d"}}


def lean_solution(lab):
    lab.cri_pod(name="lean", containers=LEAN, resources={"memory": "128Mi"}, quiet=True)


def _lean_container_limits(lab):
    lab.cri_pod(name="lean", containers={name: {**options, "memory": "64Mi"}
                                         for name, options in LEAN.items()}, quiet=True)


def _lean_one_container(lab):
    lab.cri_pod(name="lean", containers={"app": LEAN["app"]}, resources={"memory": "128Mi"},
                quiet=True)


def _lean_docker(lab):
    lab.docker_pod(name="lean", containers={"app": {**LEAN["app"], "memory": "64Mi"},
                                            "sidecar": {**LEAN["helper"], "memory": "64Mi"}},
                   quiet=True)


@exercise(
    "08.lean", kind="do",
    title="A memory limit for the whole Pod",
    task="Make a pod named `lean` on labkit's containerd with two containers that set no "
         "resources of their own, and a memory limit of 128 MiB for the whole Pod "
         "(spec.resources), so that the kernel holds 128 MiB on the pod's cgroup and, for want "
         "of their own, on each container's cgroup too. (The check reads the kernel, which "
         "cannot tell a limit the kubelet copied from the Pod from one a container set itself: "
         "leaving the containers' resources out is yours to do.)",
    hints=("What to write: a limit for the whole Pod is a field of the Pod's spec, beside its "
           "containers (pod-level resources, KEP-2837), not a field of any container.",
           "Where: «Pod-level resources» makes such a pod in YAML (spec.resources.limits."
           "memory); with keywords, lab.cri_pod(name=..., containers={...}, "
           "resources={\"memory\": \"128Mi\"}) sets spec.resources.limits.memory.",
           "How to see what the kernel holds: a pod with only a memory limit at pod level is "
           "Burstable, and on this cgroup v1 machine `grep . /sys/fs/cgroup/memory/{name:node}/"
           "kubepods/burstable/pod*/memory.limit_in_bytes` prints each Burstable pod's cgroup "
           "with its limit; lean's is the one named pod + lean.spec.uid, of the pod lab.cri_pod "
           "returned (on cgroup v2: memory.max in /sys/fs/cgroup/lk_{session}_node.slice/"
           "lk_{session}_node-kubepods.slice/lk_{session}_node-kubepods-burstable.slice/, in "
           "the directory whose name ends in lean's UID, its dashes written _, then .slice)."),
    names=pod_names("lean"), pods=("lean",), setup=setup_today, solution=lean_solution,
    wrong=(Wrong(_lean_container_limits, "a container-level limit"),
           Wrong(_lean_one_container, "only one running container"),
           Wrong(_lean_docker, "is a Docker container")),
    untouched="There is no pod named lean on labkit's containerd yet",
    reads="the CRI's pod lean (its running containers' host PIDs), their /proc/<pid>/cgroup, "
          "the memory limit of the pod's cgroup and of each container's",
)
@on_pod(CRI, "lean", make=MAKE_LEAN, do=True)
def lean(machine, pod, _answer):
    running = pod.running()
    if len(running) < 2:
        which = f"only one running container ({next(iter(running))})" if running else \
            "no running container"
        return failed(f"Pod lean has {which}: give it two that keep running.")
    cgroups = {name: machine.cgroups(pid) for name, pid in sorted(running.items())}
    first = next(iter(cgroups))
    pod_cgroup = posixpath.dirname(cgroups[first].get(machine.memory_hierarchy, "/"))
    held = machine.state(parent_of(cgroups[first])).limits.memory_bytes
    if held != 128 * MIB:
        shown = format_bytes(held) if held else "no memory limit"
        return failed(f"Pod lean's cgroup {pod_cgroup} holds {shown}, not 128 MiB: set the "
                      "Pod's memory limit to 128Mi.")
    for name, theirs in cgroups.items():
        own = machine.state(theirs).limits.memory_bytes
        if own != 128 * MIB:
            shown = format_bytes(own) if own else "no memory limit"
            return failed(f"lean's {name} has {shown} in its own cgroup: that is a "
                          "container-level limit, and these containers should set none, so "
                          "that the Pod's 128 MiB is theirs too.")
    return passed(f"Pod lean's cgroup {pod_cgroup} holds 128 MiB, and each of its "
                  f"{len(cgroups)} containers' cgroups holds the same: together they can use "
                  "no more than that.")
