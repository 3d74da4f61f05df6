"""Chapter 2 exercises: a Pod on containerd's CRI, as the kubelet makes it.

The learner's CRI pods are those on labkit's own containerd of a lab session this
process owns, read through the CRI (``pods.CRI``: ``ListPodSandbox``, ``ListContainers``,
verbose status for host PIDs), and the rest from the kernel: namespace links,
``/proc/<pid>/cgroup``, cgroup files. Each exercise is its check, decorated with its data;
the reference and wrong solutions are just above it.

Every check is not judged (no try counted, no hint unlocked) while nothing of the learner's
is there yet (``on_pod``): running every cell of the chapter spends nothing.
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

# The terminal command that lists containerd's tasks (each container's, pause's included)
# with their host PIDs, on this session's containerd: what the cards' hints give to type.
TASKS = "ctr -a /run/labkit/{name:containerd}/containerd.sock -n k8s.io tasks list"


# -- predict: which namespaces does the app share with pause? ---------------------------------

NO_FOO = ("the first cell under «The Pod, made through the CRI» (pod = lab.cri_pod(manifest)), "
          "then check")


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
         "share with the pause container, the ones pause holds for the pod (not those both "
         "share with the host)? Pick every one. (foo is the pod the chapter's first cell "
         "made with lab.cri_pod on labkit's containerd.)",
    hints=("What to think about: the kubelet asks the runtime for one mode per namespace in "
           "the CRI's NamespaceOption (POD: the sandbox's, CONTAINER: the container's own, "
           "NODE: the host's), and only for some types. Which types does that message name, "
           "and what does foo's manifest ask for?",
           "Where the kubelet's choice is written: foo sets none of hostNetwork, hostIPC, "
           "hostPID and shareProcessNamespace, so each type the CRI names gets the kubelet's "
           "default (NamespacesForPod, in pkg/kubelet/kuberuntime/util/util.go). Think of "
           "what shareProcessNamespace would change.",
           "For the types the CRI does not name, the runtime decides. Ask what the pod's "
           "containers must have in common (one name, one address) and what each must have "
           "alone (its own files)."),
    form=namespace_types, options=NAMESPACE_TYPES, multiple=True, example="cgroup, time",
    setup=setup_foo, solution=shared_with_pause_solution,
    wrong=(Wrong(lambda lab: ["net", "ipc"], "uts namespace is pause's"),
           Wrong(lambda lab: ["net", "ipc", "uts", "pid"], "app's pid namespace")),
    untouched="There is no pod named foo on labkit's containerd yet",
    reads="the CRI's verbose status of pod foo (host PIDs of pause and app), their "
          "/proc/<pid>/ns/* links and the host's",
)
@on_pod(CRI, "foo", make=NO_FOO, running=("app",),
        again="make the pod again (the first cell under «The Pod, made through the CRI»), "
              "then check")
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
                  "namespaces (uts too, which the CRI does not ask for: containerd joins it), "
                  "and in its own or the host's for the rest.")


# -- find: the host PID of pause ------------------------------------------------------------

def pause_pid_solution(lab):
    return _foo_pids(lab)["pause"]  # CRI PodSandboxStatus, verbose: info["pid"]


def _app_pid(lab):
    return _foo_pids(lab)["app"]


def _shim_pid(lab):
    """The parent of pause, containerd's shim: a plausible mix-up in `ps`."""
    with open(f"/proc/{_foo_pids(lab)['pause']}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


@exercise(
    "02.pause-pid", kind="find",
    title="The pause process on the host",
    task="Type the host PID of pod foo's pause process, the sandbox's process (foo is the pod "
         "the chapter's first cell made with lab.cri_pod).",
    hints=("What to look for: the sandbox's one process, whose id in containerd is the pod's "
           "id, the POD ID of the crictl pods listing under «What the node lists».",
           "Where: below the CRI, containerd keeps a task for every container it runs, the "
           "sandbox's included, with its host PID: "
           f"`{TASKS}` lists them.",
           "How to be sure in the kernel: the process's name is pause (`pgrep -x pause` "
           "lists every process named pause on the host), and /proc/PID/cgroup of the "
           "right one names pod foo's cgroup: pod followed by foo's uid, the end of the "
           "cgroup parent the chapter's first cell printed."),
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
                      f"{machine.command_name(pid)}); in its own PID namespace it is PID 1.")
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

MAKE_HOSTNET = ("a manifest of yours, lab.cri_pod(manifest), in the code cell of exercise 2 "
                "under «Exercises», then check")

HOSTNET_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: hostnet
spec:
  hostNetwork: true
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3650d"]
"""


def hostnet_solution(lab):
    lab.cri_pod(HOSTNET_POD, quiet=True)


def _hostnet_own(lab):
    lab.cri_pod(HOSTNET_POD.replace("  hostNetwork: true\n", ""), quiet=True)


def _hostnet_docker(lab):
    lab.docker_pod(name="hostnet", containers={"app": SLEEPER}, host_network=True,
                   quiet=True)


@exercise(
    "02.hostnet", kind="do",
    title="A pod on the node's network",
    task="Write a Pod manifest (YAML, as notebooks/manifests/foo-pod.yaml is) for a pod named "
         "`hostnet` whose containers use the node's network, and run it on labkit's "
         "containerd with lab.cri_pod(manifest).",
    hints=("What to write: the field is one of the Pod flags of the chapter's table, in the "
           "Pod's spec beside containers, spelled as the API spells it (camelCase, not the "
           "Python keyword).",
           "Where to start: foo's manifest, with the pod renamed and one container that "
           "keeps running (a command such as sleep 3650d); the flag takes true or false.",
           "How to see it in a terminal: `readlink /proc/self/ns/net` names the node's "
           "network namespace, and `ps -e -o netns,pid,args` prints the network namespace "
           "of every process (its number) beside its command line: your app's command "
           "must show the node's number."),
    names=pod_names("hostnet"), pods=("hostnet",), setup=setup_foo, solution=hostnet_solution,
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
                          f"the host's ({host}): ask for the node's network in the Pod's spec.")
    names = " and ".join(running)
    return passed(f"Pod hostnet is Ready on the CRI and its {names} is in the host's network "
                  f"namespace (both net:[{host}]): it sees the node's interfaces and ports.")


# -- do: a Guaranteed pod -------------------------------------------------------------------

MAKE_STEADY = ("foo's manifest, changed, with lab.cri_pod(manifest) in the code cell of "
               "exercise 3 under «Exercises», then check")

CPU_LIMIT = "        memory: \"{memory}\"\n        cpu: \"{cpu}\"\n"


def _steady(app_cpu: str | None, sidecar_cpu: str | None, requests: str = "") -> str:
    """foo's manifest as pod steady, with CPU limits (and requests) where given."""
    manifest = FOO_POD.replace("name: foo", "name: steady")
    for memory, cpu in (("256Mi", app_cpu), ("128Mi", sidecar_cpu)):
        if cpu is not None:
            manifest = manifest.replace(f"        memory: \"{memory}\"\n",
                                        CPU_LIMIT.format(memory=memory, cpu=cpu) + requests)
    return manifest


def steady_solution(lab):
    # Limits alone count as requests equal to them: Guaranteed, once every container has
    # a CPU and a memory limit.
    lab.cri_pod(_steady("250m", "100m"), quiet=True)


def _steady_renamed(lab):
    lab.cri_pod(_steady(None, None), quiet=True)


def _steady_app_only(lab):
    lab.cri_pod(_steady("250m", None), quiet=True)


def _steady_smaller_requests(lab):
    lab.cri_pod(_steady("250m", "100m", "      requests:\n        cpu: \"50m\"\n"),
                quiet=True)


@exercise(
    "02.steady-guaranteed", kind="do",
    title="From Burstable to Guaranteed",
    task="The chapter's pod foo is Burstable. Make a pod named `steady` from foo's manifest "
         "(its app and its sidecar), changed so that the kubelet's rules put it in the "
         "Guaranteed QoS class, with lab.cri_pod(manifest).",
    hints=("What decides the class: only CPU and memory count, in every container of the "
           "pod; «QoS classes decide where the pod goes» gives the rule, and a request not "
           "written is set to its limit.",
           "Where: foo's manifest (notebooks/manifests/foo-pod.yaml) has a resources.limits "
           "section per container; compare what it holds with what the rule needs, container "
           "by container.",
           "How to see where the kubelet's rules put it: "
           f"`{TASKS}` gives each container's host PID; /proc/PID/cgroup of one of them shows "
           "whether the pod's cgroup sits right under kubepods or under a QoS level."),
    names=pod_names("steady"), pods=("steady",), setup=setup_foo, solution=steady_solution,
    wrong=(Wrong(_steady_renamed, "steady's app has no CPU limit"),
           Wrong(_steady_app_only, "steady's sidecar has no CPU limit"),
           Wrong(_steady_smaller_requests, "where the kubelet puts Burstable pods")),
    untouched="There is no pod named steady on labkit's containerd yet",
    reads="the CRI's pod steady and its containers' host PIDs, their /proc/<pid>/cgroup "
          "(where the pod cgroup sits under kubepods), and each container cgroup's memory "
          "limit, CPU quota and cpu.shares (v1) or cpu.weight (v2)",
)
@on_pod(CRI, "steady", make=MAKE_STEADY, do=True)
def steady_guaranteed(machine, pod, _answer):
    running = pod.running()
    missing = [name for name in ("app", "sidecar") if name not in running]
    if missing:
        return failed(f"Pod steady's {' and '.join(missing)} "
                      f"{'is' if len(missing) == 1 else 'are'} not running: make it from "
                      "foo's manifest, with its app and its sidecar.")
    hierarchy = machine.memory_hierarchy
    order = ["app", "sidecar", *sorted(set(running) - {"app", "sidecar"})]
    cgroups = {name: machine.cgroups(running[name]) for name in order}
    for name, theirs in cgroups.items():
        limits = machine.state(theirs).limits
        if limits.memory_bytes is None:
            return failed(f"steady's {name} has no memory limit in its cgroup: a Guaranteed "
                          "pod's containers all have a CPU and a memory limit.")
        if limits.cpus is None:
            return failed(f"steady's {name} has no CPU limit (no CFS quota in its cgroup): a "
                          "Guaranteed pod's containers all have a CPU and a memory limit.")
    first = next(iter(cgroups))
    pod_cgroup = posixpath.dirname(cgroups[first].get(hierarchy, "/"))
    level = pod_level(pod_cgroup)
    if level != "Guaranteed":
        under = posixpath.dirname(pod_cgroup)
        where = f"where the kubelet puts {level} pods" if level else "not under kubepods"
        return failed(f"Pod steady's cgroup sits under {under}, {where} ({first}'s "
                      "/proc/<pid>/cgroup): every container's requests must equal its limits.")
    for name, theirs in cgroups.items():
        limits = machine.state(theirs).limits
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
