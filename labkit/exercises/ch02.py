"""Chapter 2 exercises: a Pod on containerd's CRI, as the kubelet makes it.

The learner's CRI pods are those on labkit's own containerd of a lab session this
process owns, read through the CRI (``pods.CRI``: ``ListPodSandbox``, ``ListContainers``,
verbose status for host PIDs), and the rest from the kernel: namespace links,
``/proc/<pid>/cgroup``, cgroup files. Each exercise is its check, decorated with its data;
the reference and wrong solutions are just above it.
"""

from __future__ import annotations

import posixpath

from ..kubernetes import cpu_weights, milli_cpu, milli_cpu_to_shares
from ..model import NAMESPACE_TYPES
from ..quantity import format_bytes
from .core import (
    Wrong,
    exercise,
    failed,
    namespace_types,
    passed,
    whole_number,
    wrong_pid,
)
from .pods import (
    CRI,
    FOO_POD,
    SLEEPER,
    CriPodSeen,  # noqa: F401 - recordings made before it moved to pods.py name it here
    on_pod,
    pod_names,
)

# -- predict: which namespaces does the app share with pause? ---------------------------------

NO_FOO = "the chapter's first cell (lab.cri_pod(manifest)), then check"


def setup_foo(lab):
    """The chapter's first cell: the article's pod on containerd's CRI."""
    return lab.cri_pod(FOO_POD, quiet=True)  # the manifest, notebooks/manifests/foo-pod.yaml


def _foo_pids(lab) -> dict[str, int]:
    """What CriPod.members() reads: the host PIDs in the CRI's verbose status."""
    pod = CRI.seen_in_lab(lab, "foo")
    return {"pause": pod.pause_pid, **pod.running()}


def shared_with_pause_solution(lab):
    pids = _foo_pids(lab)
    pause, app = lab.node.namespaces(pids["pause"]), lab.node.namespaces(pids["app"])
    host = lab.node.host_namespaces
    return [ns for ns in app if app[ns] == pause[ns] != host[ns]]


@exercise(
    "02.shared-with-pause", kind="predict",
    title="What the app shares with pause",
    task="Before you look at who owns which namespace: which namespaces does pod foo's app "
         "share with the pause container, the ones pause holds for the pod (not those it "
         "shares with the host)? Pick every one. (foo is the pod the chapter's first cell "
         "made with lab.cri_pod on labkit's containerd.)",
    hints=("The kubelet asks the runtime for a sandbox first; every container then joins "
           "the namespaces the sandbox holds for the pod.",
           "The CRI's NamespaceOption has modes for network, pid and ipc; a pod's "
           "containers also get the sandbox's hostname, and unlike Docker, the CRI runtime "
           "joins the sandbox's UTS namespace for that.",
           "Without shareProcessNamespace each container keeps its own PID namespace, and "
           "each always has its own mount namespace (its own filesystem)."),
    form=namespace_types, options=NAMESPACE_TYPES, multiple=True, example="net",
    setup=setup_foo, solution=shared_with_pause_solution,
    wrong=(Wrong(lambda lab: ["net", "ipc"], "uts namespace is pause's"),
           Wrong(lambda lab: ["net", "ipc", "uts", "pid"], "app's pid namespace")),
    untouched="There is no pod named foo on labkit's containerd yet",
    reads="the CRI's verbose status of pod foo (host PIDs of pause and app), their "
          "/proc/<pid>/ns/* links and the host's",
)
@on_pod(CRI, "foo", make=NO_FOO, running=("app",),
        again="make the pod again (the chapter's first cell), then check")
def shared_with_pause(machine, pod, picked):
    pause = machine.namespaces(pod.pause_pid)
    app = machine.namespaces(pod.running()["app"])
    host = machine.host_namespaces
    shared = {ns for ns in NAMESPACE_TYPES
              if ns in app and app[ns] == pause.get(ns) != host.get(ns)}
    for ns in NAMESPACE_TYPES:  # first what is picked but wrong, then what is missing
        if ns in picked and ns not in shared:
            if app.get(ns) == host.get(ns):
                return failed(f"The app is in the host's {ns} namespace ({app.get(ns)}), not "
                              "in one pause holds for the pod.")
            return failed(f"The app's {ns} namespace ({app.get(ns)}) is its own, not pause's "
                          f"({pause.get(ns)}).")
    for ns in NAMESPACE_TYPES:
        if ns in shared and ns not in picked:
            return failed(f"The app's {ns} namespace is pause's ({app[ns]}): it shares that "
                          "one too.")
    return passed(f"Right: the kernel shows foo's app in pause's {', '.join(sorted(shared))} "
                  "namespaces (uts too, which Docker's emulation cannot do), and in its own "
                  "or the host's for the rest.")


# -- find: the host PID of pause ------------------------------------------------------------

def pause_pid_solution(lab):
    return _foo_pids(lab)["pause"]  # CRI PodSandboxStatus, verbose: info["pid"]


def _app_pid(lab):
    return _foo_pids(lab)["app"]


def _shim_pid(lab):
    """The containerd-shim that started pause: a plausible mix-up in `ps`."""
    with open(f"/proc/{_foo_pids(lab)['pause']}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


@exercise(
    "02.pause-pid", kind="find",
    title="The pause process on the host",
    task="Type the host PID of pod foo's pause process, the sandbox that holds the pod's "
         "namespaces (foo is the pod the chapter's first cell made with lab.cri_pod).",
    hints=("crictl inspectp <pod id> shows it as info.pid; in Python, pod.members() lists "
           "the host PID of every member, pause first.",
           "Or find it in the kernel: `ps -eo pid,comm | grep pause`, then check that "
           "/proc/<pid>/cgroup puts it in the pod's cgroup, pod<uid>.",
           "The process that started pause is containerd's shim: it is not in the pod."),
    form=whole_number("a PID", 4242), example=4242,
    setup=setup_foo, solution=pause_pid_solution,
    wrong=(Wrong(_app_pid, "is the main process of foo's app container"),
           Wrong(_shim_pid, "is not one of pod foo's processes")),
    untouched="There is no pod named foo on labkit's containerd yet",
    reads="the CRI's verbose status of pod foo (info.pid of the sandbox and its containers); "
          "for a wrong answer, /proc/<answer>/cgroup and comm",
)
@on_pod(CRI, "foo", make=NO_FOO)
def pause_pid(machine, pod, pid):
    if pid == pod.pause_pid:
        return passed(f"Right: host PID {pid} is pod foo's pause process ("
                      f"{machine.command_name(pid)}); inside the pod's namespaces it is PID 1 "
                      "and only waits.")
    for name, theirs in pod.running().items():
        if pid == theirs:
            return failed(f"Process {pid} is the main process of foo's {name} container, "
                          "not the sandbox's pause.")
    if pid == 1:
        return failed("1 is the PID pause has inside its own PID namespace (and the host's "
                      "init outside): the host numbers pause differently.")
    def in_pod(cgroups: dict[str, str]) -> bool:
        where = cgroups.get(machine.memory_hierarchy, "")
        return pod.uid in where or pod.uid.replace("-", "_") in where

    return wrong_pid(machine, pid, "pod foo's", in_pod,
                     "is not pause: look for the sandbox's process")


# -- do: a pod on the host's network -----------------------------------------------------------

MAKE_HOSTNET = "lab.cri_pod(name=\"hostnet\", containers=..., host_network=True), then check"


def hostnet_solution(lab):
    lab.cri_pod(name="hostnet", containers={"app": SLEEPER}, host_network=True, quiet=True)


def _hostnet_own(lab):
    lab.cri_pod(name="hostnet", containers={"app": SLEEPER}, quiet=True)


def _hostnet_docker(lab):
    lab.docker_pod(name="hostnet", containers={"app": SLEEPER}, host_network=True,
                   quiet=True)


@exercise(
    "02.hostnet", kind="do",
    title="A pod on the node's network",
    task="Make a pod named `hostnet` on labkit's containerd whose containers use the host's "
         "network, as `hostNetwork: true` asks. Make it from Python with lab.cri_pod(...) "
         "(labkit's containerd is private to the lab, so the docker CLI cannot reach it).",
    hints=("hostNetwork is a field of the Pod spec; lab.cri_pod takes the Pod flags as "
           "keywords, as the chapter's table of flags does.",
           "lab.cri_pod(name=\"hostnet\", containers={\"app\": {\"image\": \"busybox\", "
           "\"command\": \"sleep 3650d\"}}, host_network=True)",
           "Check it: readlink /proc/<app's pid>/ns/net must be the same as "
           "readlink /proc/1/ns/net."),
    names=pod_names("hostnet"), pods=("hostnet",), solution=hostnet_solution,
    wrong=(Wrong(_hostnet_own, "not the host's"), Wrong(_hostnet_docker, "is a Docker container")),
    untouched="There is no pod named hostnet on labkit's containerd yet",
    reads="ListPodSandbox/ListContainers and verbose status from labkit's containerd (pod "
          "hostnet, Ready, its containers' host PIDs), their /proc/<pid>/ns/net and the host's",
)
@on_pod(CRI, "hostnet", make=MAKE_HOSTNET, do=True)
def hostnet(machine, pod, _answer):
    if not pod.ready:
        return failed("Pod hostnet's sandbox is NotReady on labkit's containerd: delete the "
                      "pod and make it again.")
    running = pod.running()
    if not running:
        states = ", ".join(f"{n} is {s}" for n, (_p, s) in pod.containers.items()) or \
            "it has none"
        return failed(f"No container of pod hostnet is running ({states}): give it one that "
                      "keeps running.")
    host = machine.host_namespaces["net"]
    for name, pid in running.items():
        net = machine.namespaces(pid)["net"]
        if net != host:
            return failed(f"hostnet's {name} is in network namespace {net}, the pod's own, not "
                          f"the host's ({host}): ask for hostNetwork.")
    names = " and ".join(running)
    return passed(f"Pod hostnet is Ready on the CRI and its {names} is in the host's network "
                  f"namespace (both net:[{host}]): it sees the node's interfaces and ports.")


# -- do: a Guaranteed pod -------------------------------------------------------------------

MAKE_STEADY = "lab.cri_pod(name=\"steady\", containers=...), then check"


def steady_solution(lab):
    # Limits alone count as requests equal to them: Guaranteed, if CPU and memory are set.
    lab.cri_pod(name="steady", quiet=True, containers={
        "app": {**SLEEPER, "memory": "64Mi", "cpus": "250m"}})


def _steady_memory_only(lab):
    lab.cri_pod(name="steady", quiet=True, containers={"app": {**SLEEPER, "memory": "64Mi"}})


def _steady_nothing(lab):
    lab.cri_pod(name="steady", quiet=True, containers={"app": SLEEPER})


@exercise(
    "02.steady-guaranteed", kind="do",
    title="From Burstable to Guaranteed",
    task="The chapter's pod foo is Burstable: its containers have memory limits only. Make a "
         "pod named `steady` on labkit's containerd that the kubelet's rules put in the "
         "Guaranteed QoS class, with lab.cri_pod(name=\"steady\", ...).",
    hints=("Guaranteed: every container has CPU and memory limits, and requests equal to "
           "them (limits without requests count as requests equal to the limits).",
           "Give each container memory= and cpus= (and no smaller requests_memory / "
           "requests_cpus).",
           "Check it: the pod's cgroup, the parent of its containers' in /proc/<pid>/cgroup, "
           "sits right under kubepods/, not under kubepods/burstable/."),
    names=pod_names("steady"), pods=("steady",), solution=steady_solution,
    wrong=(Wrong(_steady_memory_only, "where the kubelet puts Burstable pods"),
           Wrong(_steady_nothing, "where the kubelet puts BestEffort pods")),
    untouched="There is no pod named steady on labkit's containerd yet",
    reads="the CRI's pod steady and its containers' host PIDs, their /proc/<pid>/cgroup "
          "(where the pod cgroup sits under kubepods), and each container cgroup's memory "
          "limit, CPU quota and cpu.shares (v1) or cpu.weight (v2)",
)
@on_pod(CRI, "steady", make=MAKE_STEADY, do=True)
def steady_guaranteed(machine, pod, _answer):
    running = pod.running()
    if not running:
        return failed("No container of pod steady is running: make it again with containers "
                      "that keep running.")
    hierarchy = machine.memory_hierarchy
    cgroups = {name: machine.cgroups(pid) for name, pid in running.items()}
    first = next(iter(cgroups))
    pod_cgroup = posixpath.dirname(cgroups[first].get(hierarchy, "/"))
    level = pod_level(pod_cgroup)
    if level != "Guaranteed":
        under = posixpath.dirname(pod_cgroup)
        where = f"where the kubelet puts {level} pods" if level else "not under kubepods"
        return failed(f"Pod steady's cgroup sits under {under}, {where} ({first}'s "
                      "/proc/<pid>/cgroup): its containers need CPU and memory limits equal "
                      "to their requests.")
    for name, theirs in cgroups.items():
        limits = machine.state(theirs).limits
        if limits.memory_bytes is None or limits.cpus is None:
            missing = "memory limit" if limits.memory_bytes is None else "CPU quota"
            return failed(f"steady's {name} has no {missing} in its cgroup: a Guaranteed "
                          "pod's containers all have both.")
        weight, expected, file = _cpu_weight(limits)
        if weight is not None and weight not in expected:
            said = " or ".join(str(e) for e in sorted(set(expected)))
            return failed(f"steady's {name} has {file} {weight}, not the {said} of a CPU "
                          f"request equal to its limit ({limits.cpus:g} CPU).")
    limits = machine.state(cgroups[first]).limits
    return passed(f"Pod steady's cgroup {pod_cgroup} sits right under kubepods, where the "
                  f"kubelet puts Guaranteed pods, and {first}'s cgroup holds limits equal to "
                  f"its requests ({format_bytes(limits.memory_bytes)}, {limits.cpus:g} CPU).")


def _cpu_weight(limits):
    """The CPU weight in the cgroup, and those a request equal to the limit gives: the
    kubelet's cpu.shares (1024 per CPU), which the runtime turns into cpu.weight on cgroup
    v2 by its version's formula (runc before 1.3.2 and after give different weights; either
    is the kubelet's request, as Kubernetes' own e2e tests accept)."""
    shares = milli_cpu_to_shares(milli_cpu(limits.cpus))
    if limits.cpu_shares is not None:
        return limits.cpu_shares, (shares,), "cpu.shares"
    if limits.cpu_weight is not None:
        return limits.cpu_weight, cpu_weights(shares), "cpu.weight"
    return None, (), ""


def pod_level(cgroup: str) -> str | None:
    """Guaranteed, Burstable or BestEffort from where a pod's cgroup sits: right under
    kubepods, or under its burstable/besteffort level (cgroupfs dirs or systemd slices)."""
    parent = posixpath.basename(posixpath.dirname(cgroup.rstrip("/"))).removesuffix(".slice")
    for suffix, qos in (("besteffort", "BestEffort"), ("burstable", "Burstable"),
                        ("kubepods", "Guaranteed")):
        if parent.endswith(suffix):
            return qos
    return None
