"""Chapter 4 exercises: a plain container, a Docker-emulated pod and a CRI pod, side by side.

The chapter's first cell makes all three from the article's manifest: a Docker container
``app`` (``lab.run("app", ...)``), the emulated pod ``foo`` (containers ``foo-sandbox``,
``foo-app``, ``foo-sidecar``) and the CRI pod ``foo`` on labkit's containerd. Docker's
are found by name as in chapters 1 and 3, the CRI's as in chapter 2 (``pods.py`` reads
both). Each exercise is its check, decorated with its data; the reference and wrong
solutions are just above it.

A check is not judged (no try counted, no hint unlocked) while nothing of the learner's is
there yet, so running every cell of the chapter spends nothing; its sentence names the cell
that makes what is missing. A terminal command in a task or a hint runs as typed in a root
terminal at that point of the chapter (``{name:foo-app}`` is written as this session's
engine name).
"""

from __future__ import annotations

import posixpath

from ..model import NAMESPACE_TYPES
from ..quantity import format_bytes
from .core import (
    Wrong,
    exercise,
    failed,
    namespace_count,
    one_of,
    passed,
    unjudged,
    whole_number,
)
from .machine import parent_of, running_pid
from .pods import CRI, FOO_POD, docker_members, find_cri_pod, on_pod, pod_names

MIB = 2**20
NO_CHAPTER = ("the chapter's first code cell, under its title (lab.run, lab.docker_pod, "
              "lab.podman_pod and lab.cri_pod)")

# The host PID of a Docker container of this chapter, as a root terminal gets it.
PID = "$(docker inspect -f '{{{{.State.Pid}}}}' {{name:{name}}})"


def pid_of(name: str) -> str:
    """``$(docker inspect -f '{{.State.Pid}}' {name:foo-app})``, typed."""
    return PID.format(name=name)
MAKE_FOO = f"{NO_CHAPTER}, then check"


def setup_chapter(lab):
    """The chapter's first cell: the same app three ways."""
    lab.run("app", "busybox", "sleep 3650d", memory="256Mi", quiet=True)
    lab.docker_pod(FOO_POD, quiet=True)
    lab.cri_pod(FOO_POD, quiet=True)


def _cri_foo(lab):
    """Pod foo as the CRI lists it on this lab's containerd."""
    return CRI.seen_in_lab(lab, "foo")


# -- predict: does the CRI pod's app survive pause? ------------------------------------------
# Chapter 3 showed the Docker-emulated pod's case (its pod life); the prediction here is the
# CRI pod's, before the cell that kills every sandbox.

KEEPS, KILLED = "it keeps running", "it is killed with pause"


def sandbox_dies_solution(lab):
    # The app survives pause unless it is in pause's PID namespace, whose init process takes
    # every other process of the namespace with it.
    host = lab.node.host_namespaces["pid"]
    pod = _cri_foo(lab)
    app = lab.node.namespaces(pod.running()["app"])["pid"]
    return KILLED if app == lab.node.namespaces(pod.pause_pid)["pid"] != host else KEEPS


def _cri_fate(machine):
    """Whether the CRI pod's app outlives pause, and why; or None, the sentence."""
    pod, have_node = find_cri_pod(machine, "foo")
    if pod is None:
        where = "" if have_node else " (this kernel has not started one)"
        return None, f"There is no pod named foo on labkit's containerd yet{where}"
    if "app" not in pod.containers:
        return None, "Pod foo on labkit's containerd has no container app"
    pid, state = pod.containers["app"]
    if pod.ready and pod.pause_pid is not None:
        if pid is None:
            return None, f"Pod foo's app is {state} while its sandbox is Ready: make it again"
        theirs = machine.namespaces(pid)["pid"]
        ours = machine.namespaces(pod.pause_pid)["pid"]
        if theirs == ours != machine.host_namespaces["pid"]:
            return (False, f"the CRI pod's app is in pause's PID namespace ({ours}), whose "
                           "init process takes it along")
        return (True, f"the CRI pod's app is in its own PID namespace ({theirs}; pause's is "
                      f"{ours}), which pause's death does not reach")
    if pid is not None:
        return True, "the CRI pod's sandbox is NotReady and containerd says its app runs"
    return False, f"the CRI pod's sandbox is NotReady and containerd says its app is {state}"


@exercise(
    "04.sandbox-dies", kind="predict",
    title="When pause dies",
    task="Chapter 3 showed what becomes of the Docker-emulated pod's app when its sandbox "
         "dies. Now the CRI pod foo on labkit's containerd: when the cell below kills its "
         "pause process (SIGKILL), what happens to its app?",
    hints=("What to think about: which kind of namespace takes its other processes down when "
           "its first process (its init) dies?",
           "Where to compare: the app's PID namespace with pause's. The pid column of the "
           "chapter's first table says whose PID namespace each app is in.",
           "How: an app in pause's PID namespace dies with pause; an app in a PID namespace of "
           "its own is out of reach, whatever happens to the network namespace the pod "
           "shares."),
    form=one_of((KEEPS, KILLED)), options=(KEEPS, KILLED), example=KILLED,
    setup=setup_chapter, solution=sandbox_dies_solution,
    wrong=(Wrong(lambda lab: KILLED, "own PID namespace"),),
    untouched="There is no pod named foo on labkit's containerd yet",
    reads="while pause runs: the PID namespaces of pause and app (the CRI's pod foo); once it "
          "does not: the app's state from containerd's CRI",
)
def sandbox_dies(machine, answer):
    cri, why = _cri_fate(machine)
    if cri is None:
        return unjudged(f"{why}: run {NO_CHAPTER}, then check.")
    truth = KEEPS if cri else KILLED
    if answer == truth:
        return passed(f"Right: {truth}, as {why}.")
    return failed(f"Not for this pod: {why}.")


# -- find: the memory limit of the CRI pod's cgroup ---------------------------------------

def pod_limit_solution(lab):
    # The pod's cgroup is the parent of its containers' (kubepods/burstable/pod<uid>).
    app = lab.node.cgroups(_cri_foo(lab).running()["app"])  # /proc/<pid>/cgroup
    return lab.node.cgroup_state(parent_of(app)).limits.memory_bytes  # memory.limit_in_bytes


def _app_limit(lab):
    return lab.node.cgroup_state(lab.node.cgroups(_cri_foo(lab).running()["app"])) \
        .limits.memory_bytes


@exercise(
    "04.pod-memory-limit", kind="find",
    title="The CRI pod's memory limit",
    task="Type the memory limit of the CRI pod foo's own cgroup (the pod<uid> cgroup that "
         "holds its containers' cgroups), in bytes.",
    hints=("What to look for: the pod's cgroup is the parent of each of its containers' "
           "cgroups; the chapter's first table shows the app's as …/pod<uid>/<id>.",
           "Where: labkit's containerd keeps its pods under its node's cgroup. On this "
           "machine (cgroup v1, the cgroupfs driver) "
           "`ls /sys/fs/cgroup/memory/{name:node}/kubepods/burstable` lists the cgroups of "
           "the Burstable pods there, one directory pod<uid> per pod.",
           "How: the limit is the file memory.limit_in_bytes in the pod's own directory "
           "(memory.max on cgroup v2), not in its containers' directories one level down."),
    form=whole_number("a number of bytes", 100000000), example=100000000,
    setup=setup_chapter, solution=pod_limit_solution,
    wrong=(Wrong(_app_limit, "the limit of foo's app container alone"),
           Wrong(lambda lab: pod_limit_solution(lab) // MIB, "in MiB")),
    untouched="There is no pod named foo on labkit's containerd yet",
    reads="the CRI's pod foo (its containers' host PIDs), their /proc/<pid>/cgroup, and "
          "memory.limit_in_bytes (v1) or memory.max (v2) of the pod's cgroup and theirs",
)
@on_pod(CRI, "foo", make=MAKE_FOO)
def pod_memory_limit(machine, pod, answer):
    running = pod.running()
    if not running:
        return unjudged("No container of pod foo is running on labkit's containerd: make the "
                        "pod again (the chapter's first cell), then check.")
    file = machine.memory_limit_file
    cgroups = {name: machine.cgroups(pid) for name, pid in running.items()}
    first = next(iter(cgroups))
    pod_cgroup = posixpath.dirname(cgroups[first].get(machine.memory_hierarchy, "/"))
    limit = machine.state(parent_of(cgroups[first])).limits.memory_bytes
    if limit is None:
        return unjudged(f"Pod foo's cgroup {pod_cgroup} has no memory limit: make the pod "
                        "from the chapter's manifest (the chapter's first cell), then check.")
    if answer == limit:
        return passed(f"Right: {pod_cgroup} allows {limit} bytes ({format_bytes(limit)}, "
                      f"{file}), the sum of its containers' limits, enforced on the whole pod.")
    for name, theirs in cgroups.items():
        if answer == machine.state(theirs).limits.memory_bytes:
            return failed(f"{answer} is the limit of foo's {name} container alone ({file} of "
                          "its own cgroup), not the pod's.")
    if answer * MIB == limit:
        return failed(f"{answer} is the pod's limit in MiB: type it in bytes, as {file} "
                      "holds it.")
    if answer >= 2**62:
        return failed(f"{answer} is the kernel's 'no limit': that is a cgroup without one, "
                      "not the pod's (the parent of its containers' cgroups).")
    return failed(f"{answer} is not the memory limit of pod foo's cgroup: read {file} in the "
                  "directory just above its containers' cgroups.")


# -- find: what a plain container shares with the host ------------------------------------

def plain_shared_solution(lab):
    pid = lab.docker.client.api.inspect_container(lab.session.name("app"))["State"]["Pid"]
    mine, host = lab.node.namespaces(pid), lab.node.host_namespaces
    return sum(1 for ns in mine if mine[ns] == host[ns])


@exercise(
    "04.plain-shared", kind="find",
    title="What a plain container shares with the host",
    task="Count them: of the namespace types in /proc/<pid>/ns (cgroup, ipc, mnt, net, pid, "
         "time, user, uts), in how many is the plain container app in the host's namespace?",
    hints=("What to compare: for each of the eight types, the link of app's process in "
           "/proc/<PID>/ns with a host process's; the same link means the host's namespace.",
           f"Where: `ls -l /proc/{pid_of('app')}/ns` lists app's links, and "
           "`ls -l /proc/self/ns` a host process's (the ls itself, run from a root terminal). "
           "Leave out the *_for_children links: they name what a process's children would "
           "get.",
           "How: count the types whose two links are equal. Which types Docker makes for a "
           "container depends on its flags and, for the cgroup namespace, on the cgroup "
           "version (Docker 20.10: the host's on v1, one of its own on v2)."),
    form=namespace_count, example=7,
    setup=setup_chapter, solution=plain_shared_solution,
    wrong=(Wrong(lambda lab: 0, "is the host's"), Wrong(lambda lab: 5, "is its own")),
    untouched="There is no running container named app yet",
    reads="the plain container app's /proc/<pid>/ns/* inodes (its host PID from Docker), "
          "against the host's (the reading process's)",
)
def plain_shared(machine, answer):
    details = machine.container("app")
    pid = running_pid(details) if details else None
    if pid is None:
        return unjudged(f"There is no running container named app yet: run {NO_CHAPTER}, "
                        "then check.")
    mine, host = machine.namespaces(pid), machine.host_namespaces
    shared = [ns for ns in NAMESPACE_TYPES if ns in mine and mine[ns] == host.get(ns)]
    own = [ns for ns in NAMESPACE_TYPES if ns in mine and ns not in shared]
    if answer == len(shared):
        return passed(f"Right: app is in the host's {', '.join(shared)} namespaces "
                      f"({len(shared)} of {len(mine)}), and in its own for the rest.")
    if answer < len(shared):
        # The one most easily missed first: root in a container is root on the host.
        ns = next(n for n in ("user", "time", "cgroup", *NAMESPACE_TYPES) if n in shared)
        return failed(f"app shares more than {answer}: its {ns} namespace ({mine[ns]}) is "
                      "the host's, for one.")
    ns = own[0]
    return failed(f"app shares fewer than {answer}: its {ns} namespace ({mine[ns]}) is its "
                  f"own, not the host's ({host.get(ns)}).")


# -- do: one memory limit, two runtimes ----------------------------------------------------

TWIN = 96 * MIB


def twin_solution(lab):
    app = {"image": "busybox", "command": "sleep 3650d", "memory": "96Mi"}
    lab.docker_pod(name="twin", containers={"app": app}, quiet=True)
    lab.cri_pod(name="twin", containers={"app": app}, quiet=True)


def _twin_decimal(lab):
    """96M is 96,000,000 bytes, not 96 MiB."""
    app = {"image": "busybox", "command": "sleep 3650d"}
    lab.docker_pod(name="twin", containers={"app": {**app, "memory": "96M"}}, quiet=True)
    lab.cri_pod(name="twin", containers={"app": {**app, "memory": "96Mi"}}, quiet=True)


def _twin_manifest_limit(lab):
    app = {"image": "busybox", "command": "sleep 3650d"}
    lab.docker_pod(name="twin", containers={"app": {**app, "memory": "96Mi"}}, quiet=True)
    lab.cri_pod(name="twin", containers={"app": {**app, "memory": "128Mi"}}, quiet=True)


@exercise(
    "04.twin-96mi", kind="do",
    title="One limit, two runtimes",
    task="Make two pods named `twin`, each with an `app` container whose memory limit is 96 "
         "MiB: one emulated with Docker (a sandbox `{name:twin-sandbox}` and "
         "`{name:twin-app}` joining it, as lab.docker_pod(name=\"twin\", ...) names them), one "
         "on labkit's containerd, with lab.cri_pod(name=\"twin\", ...) (labkit's containerd is "
         "this lab session's own, on a socket of its own, which the docker command does not "
         "talk to).",
    hints=("What to reach: a memory limit of 96 MiB in the own cgroup of each pod's app "
           "container (not only in the pod's cgroup above it).",
           "Where it shows, for pod foo's app in the emulated pod (cgroup v1, the cgroupfs "
           "driver, as here): `cat /sys/fs/cgroup/memory/{name:foo}/$(docker inspect -f "
           "'{{.Id}}' {name:foo-app})/memory.limit_in_bytes`. Both lab.docker_pod and "
           "lab.cri_pod take the same name= and containers= (each container a dict with "
           "image, command and memory).",
           "How to write the limit: memory takes a Kubernetes quantity, as in a manifest, where "
           "Mi is 2^20 bytes and M is 10^6, so 96M is less than 96 MiB (docker run's --memory "
           "reads its units as powers of 1024: another convention)."),
    setup=setup_chapter,
    names=pod_names("twin"), pods=("twin",), solution=twin_solution,
    wrong=(Wrong(_twin_decimal, "twin-app of the Docker-emulated pod twin may use"),
           Wrong(_twin_manifest_limit, "The app of CRI pod twin may use")),
    untouched="There is no container named twin-sandbox yet",
    reads="twin-sandbox and twin-app from Docker, the CRI's pod twin and its app from "
          "labkit's containerd; memory.limit_in_bytes (v1) or memory.max (v2) of each app's "
          "cgroup",
)
def twin(machine, _answer):
    members, _missing = docker_members(machine, "twin", ())
    if not members and CRI.find(machine, "twin")[0] is None:
        return unjudged("There is no container named twin-sandbox yet, nor a pod twin on "
                        "labkit's containerd: make both pods in the empty cell under exercise "
                        "3 (\"your code for exercise 3 here\"), then check.")
    for role in ("sandbox", "app"):
        if role not in members:
            return failed(f"There is no container named twin-{role} yet: make the "
                          "Docker-emulated pod twin with lab.docker_pod(name=\"twin\", ...).")
        if members[role][1] is None:
            status = members[role][0]["State"].get("Status")
            return failed(f"twin-{role} is {status}, not running: make the pod twin again.")
    file = machine.memory_limit_file
    limit = machine.state(machine.cgroups(members["app"][1])).limits.memory_bytes
    if limit != TWIN:
        return failed(f"twin-app of the Docker-emulated pod twin may use {format_bytes(limit)} "
                      f"({file} = {limit or 'no limit'}), not 96 MiB.")
    pod, have_node = CRI.find(machine, "twin")
    if pod is None:
        return failed(CRI.absent("twin", have_node,
                                 "lab.cri_pod(name=\"twin\", ...), then check"))
    pid = pod.running().get("app")
    if pid is None:
        state = pod.containers.get("app", (None, "missing"))[1]
        return failed(f"The app of CRI pod twin is {state}, not running: make the pod with a "
                      "container named app that keeps running.")
    theirs = machine.state(machine.cgroups(pid)).limits.memory_bytes
    if theirs != TWIN:
        return failed(f"The app of CRI pod twin may use {format_bytes(theirs)} ({file} = "
                      f"{theirs or 'no limit'}), not 96 MiB.")
    return passed(f"twin-app (Docker) and the app of CRI pod twin both have {file} = {TWIN} "
                  "(96 MiB) in their own cgroups: the same limit, enforced by the same kernel "
                  "whichever runtime asked.")
