"""Chapter 5 exercises: Podman pods, on labkit's own rootful Podman.

A Podman pod counts as the learner's when labkit's podman store names it as the exercise
does (``shared``, as ``labkit podman pod create --name shared`` typed by hand makes it)
or with the prefix of a lab session this process owns (``lk-<session>-shared``, as
``lab.podman_pod(name="shared", ...)`` or a manifest named shared makes it); a pod
labelled with another session (``io.labkit.session``) does not count, whatever its name.
Pods are read through the libpod API on the podman socket of a lab session this process
owns (``/run/labkit/podman/lk-<session>-podman.sock``: every session's service reads the
one store of labkit's podman, so the first that answers will do; ``pods.PODMAN``), never
from podman's CLI text; the rest from the kernel: namespace links, ``/proc/<pid>/cgroup``.
Each exercise is its check, decorated with its data; the reference and wrong solutions are
just above it. A check with nothing of the learner's to judge yet (no pod of that name
anywhere) is unjudged, so running every cell of the chapter spends no try and no hint.
"""

from __future__ import annotations

import posixpath

from ..model import NAMESPACE_TYPES
from .core import Wrong, cgroup_path, exercise, failed, namespace_types, passed, unjudged
from .pods import FOO_POD, PODMAN, SLEEPER, on_pod, pod_names
from .pods import PodmanMemberSeen as MemberSeen  # noqa: F401 - recordings made before it
from .pods import PodmanPodSeen as PodSeen  # noqa: F401 - moved name these here


def asks_for(pod: str) -> dict:
    """What a *do* exercise asking for Podman pod ``pod`` declares: the Docker look-alikes
    that reset removes, the lab's pods it deletes, the sentence on an untouched machine."""
    return {"names": pod_names(pod), "pods": (pod,),
            "untouched": f"There is no pod named {pod} on {PODMAN.engine} yet"}


def _pids(lab, name: str) -> dict[str, int]:
    """What the chapter's cells read: every running member's host PID, infra first."""
    return {m.name: m.pid for m in PODMAN.in_lab(lab, name).members()}


# -- predict: which namespaces does the app share with the infra container? -------------------

FOO_CELL = "the first cell under «The article's manifest, played» (pod = lab.podman_pod(manifest))"
NO_FOO = f"{FOO_CELL}, then check"


def setup_foo(lab):
    """The chapter's first pod: the article's manifest, played with podman kube play."""
    return lab.podman_pod(FOO_POD, quiet=True)


# What the read exercises declare: the cell that makes pod foo, and the untouched sentence;
# their checks get pod foo with its infra container and app running, or judge nothing yet.
ON_FOO = {"setup": setup_foo, "untouched": f"There is no pod named foo on {PODMAN.engine} yet"}
on_foo = on_pod(PODMAN, "foo", make=NO_FOO, running=("app",),
                again=f"delete it (pod.delete()) and run {FOO_CELL} again, then check")


def shared_with_infra_solution(lab):
    seen = {name: lab.node.namespaces(pid) for name, pid in _pids(lab, "foo").items()}
    return [ns for ns, inode in seen["app"].items()  # readlink /proc/<pid>/ns/<ns>
            if inode == seen["infra"][ns] and inode != lab.node.host_namespaces[ns]]


@exercise(
    "05.shared-with-infra", kind="predict",
    title="What the app shares with the infra container",
    task="Before you look at who owns which namespace: for which namespace types are pod "
         "foo's app and its infra container in one and the same namespace, other than the "
         "host's? (Both being in the host's namespace is not sharing with the infra "
         "container.) Pick every one. (foo is the pod made under «The article's manifest, "
         "played».)",
    hints=("Each namespace type keeps one thing apart: net the addresses, ports and "
           "localhost; ipc System V IPC objects and POSIX message queues; uts the hostname; "
           "pid the process numbers; mnt the mounts. Which of these must the containers of a "
           "Pod have in common?",
           "kube play makes the Podman pod that the Pod's spec describes: its containers "
           "share with the infra container what a Kubernetes Pod's containers share with "
           "pause, and no more unless the spec asks for it (shareProcessNamespace, for one); "
           "foo's spec asks for nothing.",
           "The kernel has the last word: compare one link of the app with the infra "
           "container's, e.g. `readlink /proc/$(labkit podman inspect -f '{{.State.Pid}}' "
           "{name:foo-app})/ns/uts /proc/$(labkit podman inspect -f '{{.State.Pid}}' "
           "$(labkit podman pod inspect -f '{{.InfraContainerID}}' {name:foo}))/ns/uts`, "
           "then the other types the same way."),
    form=namespace_types, options=NAMESPACE_TYPES, multiple=True, example="net", **ON_FOO,
    solution=shared_with_infra_solution,
    wrong=(Wrong(lambda lab: ["net", "ipc"], "uts namespace is the infra container's"),
           Wrong(lambda lab: ["net", "ipc", "uts", "pid"], "app's pid namespace")),
    reads="Podman's pod foo (its infra container and app, their host PIDs from the libpod "
          "API), their /proc/<pid>/ns/* links and the host's",
)
@on_foo
def shared_with_infra(machine, pod, picked):
    infra = machine.namespaces(pod.infra.pid)
    app = machine.namespaces(pod.running()["app"])
    host = machine.host_namespaces
    shared = [ns for ns in NAMESPACE_TYPES if ns in app and app[ns] == infra.get(ns)
              and app[ns] != host.get(ns)]
    extra = [ns for ns in NAMESPACE_TYPES if ns in picked and ns not in shared]
    if extra:
        ns = extra[0]
        if app.get(ns) == host.get(ns):
            whose = "the host's, not one the infra container holds for the pod"
        else:
            whose = f"its own, not the infra container's ({infra.get(ns)})"
        return failed(f"The app's {ns} namespace ({app.get(ns)}) is {whose}.")
    left = [ns for ns in shared if ns not in picked]
    if left:
        return failed(f"The app's {left[0]} namespace is the infra container's "
                      f"({app[left[0]]}): it shares that one too.")
    uts = " (uts too: Podman joins it, where Docker copies the hostname)" \
        if "uts" in shared else ""
    return passed(f"Right: the kernel shows foo's app in the infra container's "
                  f"{', '.join(shared)} namespaces{uts}, and in its own or the host's for the "
                  "rest.")


# -- do: the infra container's pause as the app's PID 1 ---------------------------------------

MAKE_SHARED = ("lab.podman_pod(name=\"shared\", containers={\"app\": ...}, share=...) in "
               "the cell under «Exercises», 1, or with labkit podman in a terminal, then check")


def shared_pid_solution(lab):
    # --share +pid: Podman's default (ipc,net,uts) and the PID namespace.
    lab.podman_pod(name="shared", containers={"app": SLEEPER}, share="+pid", quiet=True)


def _shared(make: str, **flags):
    """A wrong solution: pod shared made with ``lab.<make>`` and these flags."""
    return lambda lab: getattr(lab, make)(name="shared", containers={"app": SLEEPER},
                                          quiet=True, **flags)


@exercise(
    "05.shared-pid", kind="do",
    title="pause as the app's PID 1",
    task="Make a Podman pod named `shared`, with a container `app`, in which the app sees "
         "the infra container's pause as PID 1: the pod shares its PID namespace, as "
         "shareProcessNamespace: true asks of a Kubernetes Pod.",
    hints=("PID 1 is the first process created in a PID namespace; in the infra container's "
           "PID namespace that is pause. The app sees pause as PID 1 only if it runs in that "
           "same PID namespace.",
           "Which of the infra container's namespaces a pod's containers join is set for the "
           "whole pod when the pod is created (a container can still name another namespace "
           "itself): read about --share in `labkit podman pod create --help`, and look at the "
           "table under «What --share changes».",
           "Give the pod a --share that includes pid (a leading + adds to the default): in "
           "Python the share= of lab.podman_pod; in a terminal, labkit podman pod create with "
           "--network none, then labkit podman run -d --pod with one of the lab's images "
           "(`labkit podman images` lists them) and a command that keeps running."),
    solution=shared_pid_solution, **asks_for("shared"),
    wrong=(Wrong(_shared("podman_pod"), "its own, not the infra container's"),
           Wrong(_shared("docker_pod", share_process_namespace=True), "is a Docker container"),
           Wrong(_shared("cri_pod", share_process_namespace=True), "is on labkit's containerd")),
    reads="Podman's pod shared (its infra container and app, their host PIDs from the libpod "
          "API), their /proc/<pid>/ns/pid links and the host's; for a pod made elsewhere, "
          "Docker's containers and labkit's containerd",
)
@on_pod(PODMAN, "shared", make=MAKE_SHARED, do=True)
def shared_pid(machine, pod, _answer):
    app = pod.containers.get("app")
    if app is None:
        others = ", ".join(pod.containers) or "none but its infra container"
        return failed(f"Pod shared has no container named app (it has {others}): add one, "
                      "e.g. labkit podman run --pod shared --name shared-app ...")
    if pod.infra.pid is None or app.pid is None:
        return failed(f"Not every member of pod shared is running ({pod.states()}): make the "
                      "pod again, with an app that keeps running.")
    ours = machine.namespaces(pod.infra.pid)["pid"]
    theirs = machine.namespaces(app.pid)["pid"]
    host = machine.host_namespaces["pid"]
    if theirs == host:
        return failed(f"shared's app is in the host's PID namespace ({host}): share the infra "
                      "container's, not the node's.")
    if theirs != ours:
        return failed(f"shared's app is in PID namespace {theirs}, its own, not the infra "
                      f"container's ({ours}): the pod must share pid too (Podman shares "
                      f"{', '.join(pod.shared) or 'nothing'} here).")
    return passed(f"In pod shared the app is in the infra container's PID namespace ({ours}), "
                  f"not the host's ({host}): its PID 1 is {machine.command_name(pod.infra.pid)}"
                  ", the first process of that namespace.")


# -- find: where conmon sits ------------------------------------------------------------------

def conmon_cgroup_solution(lab):
    conmon = PODMAN.in_lab(lab, "foo").conmon_pids()["app"]  # State.ConmonPid in podman inspect
    hierarchy = lab.node.layout.hierarchy_of("memory")
    path = lab.node.cgroups(conmon)[hierarchy]  # /proc/<conmon's pid>/cgroup
    return f"0::{path}" if hierarchy == "unified" else f"{hierarchy}:{path}"


def _memory_line(lab, pid: int) -> str:
    hierarchy = lab.node.layout.hierarchy_of("memory")
    return f"{'0:' if hierarchy == 'unified' else hierarchy}:{lab.node.cgroups(pid)[hierarchy]}"


def _app_cgroup(lab):
    return _memory_line(lab, _pids(lab, "foo")["app"])


def _pod_cgroup(lab):
    line = _memory_line(lab, _pids(lab, "foo")["app"])
    return posixpath.dirname(line)


def _answered_path(machine, answer) -> tuple[str | None, str | None]:
    """The answer as a path in the memory hierarchy; or None and the sentence why not."""
    hierarchy = machine.memory_hierarchy
    if answer.directory is None:
        if answer.hierarchy == hierarchy:
            return answer.path, None
        line = "0::" if hierarchy == "unified" else f"{hierarchy}:"
        return None, (f"{answer.hierarchy} is not the memory hierarchy: on this host it is the "
                      f"{line} line of /proc/<pid>/cgroup.")
    root = (machine.memory_directory("/") or "").rstrip("/")
    if root and (answer.directory == root or answer.directory.startswith(root + "/")):
        return answer.directory[len(root):] or "/", None
    return None, (f"{answer.directory} is not in the memory hierarchy, which is mounted at "
                  f"{root or '?'}.")


@exercise(
    "05.conmon-cgroup", kind="find",
    title="Where conmon sits",
    task="Podman starts one conmon per container, to watch it. In which cgroup does the "
         "conmon of pod foo's app run? Type its memory line of /proc/PID/cgroup as the "
         "kernel writes it (with or without the leading number; on cgroup v2 the 0:: line), "
         "or that cgroup's directory under /sys/fs/cgroup.",
    hints=("conmon is not inside the container: it is the parent of the container's first "
           "process, a process of its own on the host, with a PID of its own.",
           "Podman records that PID as State.ConmonPid: `labkit podman inspect -f "
           "'{{.State.ConmonPid}}' {name:foo-app}` prints it (in Python, pod.conmon_pids()).",
           "`cat /proc/$(labkit podman inspect -f '{{.State.ConmonPid}}' {name:foo-app})/cgroup` "
           "lists conmon's cgroups, one line per hierarchy: the memory one is asked (on cgroup "
           "v2 there is one line). Compare it with the app's own cgroup and with the pod's."),
    form=cgroup_path, example="memory:/some/path", **ON_FOO,
    solution=conmon_cgroup_solution,
    wrong=(Wrong(_app_cgroup, "is the cgroup of foo's app container itself"),
           Wrong(_pod_cgroup, "is pod foo's own cgroup")),
    reads="the ConmonPid of each member of pod foo (libpod API), /proc/<conmon's pid>/cgroup "
          "and the app's, and where the memory hierarchy is mounted",
)
@on_foo
def conmon_cgroup(machine, pod, answer):
    app = pod.containers["app"]
    conmons = {name: machine.process_cgroups(m.conmon) for name, m in
               {"infra": pod.infra, **pod.containers}.items() if m and m.conmon}
    if conmons.get("app") is None:
        return unjudged(f"Podman names no running conmon for pod foo's app (ConmonPid "
                        f"{app.conmon or 0}): delete pod foo (pod.delete()) and run "
                        f"{FOO_CELL} again, then check.")
    path, wrong_form = _answered_path(machine, answer)
    if path is None:
        return failed(wrong_form)
    hierarchy = machine.memory_hierarchy
    truth = conmons["app"].get(hierarchy, "")
    container = machine.cgroups(app.pid).get(hierarchy, "")
    pod_cgroup = posixpath.dirname(container)
    if path == truth:
        where = ("inside pod foo's cgroup, beside its containers and in none of them, so it "
                 "counts against the pod's limits, never against a container's"
                 if truth.startswith(pod_cgroup + "/") else
                 f"outside pod foo's cgroup ({pod_cgroup}) and its containers'")
        return passed(f"Right: {answer} holds the conmon of foo's app: {where}.")
    if path == container:
        return failed(f"{path} is the cgroup of foo's app container itself: its conmon runs "
                      "outside the container (look up conmon's own PID).")
    if path == pod_cgroup:
        return failed(f"{path} is pod foo's own cgroup, the parent of its containers': conmon "
                      "is not in it directly; read the cgroup of conmon's own PID.")
    for name, cgroups in conmons.items():
        if cgroups and cgroups.get(hierarchy) == path:
            return failed(f"{path} holds the conmon of foo's {name}, not the app's.")
    return failed(f"{path} is not where the conmon of foo's app sits: read the memory line of "
                  "/proc/<conmon's pid>/cgroup (State.ConmonPid in podman inspect gives the "
                  "PID).")


# -- do: a degraded pod whose containers live on ------------------------------------------------

MAKE_LONELY = ("lab.podman_pod(name=\"lonely\", ...) in the cell under «Exercises», 2, and "
               "its kill_sandbox(), or with labkit podman in a terminal, then check")


def lonely_solution(lab):
    pod = lab.podman_pod(name="lonely", containers={"app": SLEEPER}, quiet=True)
    pod.kill_sandbox()  # SIGKILL to pause: the pod turns degraded


def _lonely_shared_pid(lab):
    pod = lab.podman_pod(name="lonely", containers={"app": SLEEPER}, share="+pid", quiet=True)
    pod.kill_sandbox()


def _lonely_untouched(lab):
    lab.podman_pod(name="lonely", containers={"app": SLEEPER}, quiet=True)


@exercise(
    "05.lonely", kind="do",
    title="Containers that outlive their infra container",
    task="Make a Podman pod named `lonely` whose containers keep running after its infra "
         "container is killed (Podman then calls the pod degraded). Make it, kill its infra "
         "container (the pod's kill_sandbox(), or labkit podman kill in a terminal), then "
         "check.",
    hints=("Killing the infra container ends its pause. Which of pause's namespaces, when a "
           "container shares it, takes that container down too? Compare pod foo and pod "
           "plus-pid under «When the infra container dies».",
           "When PID 1 of a PID namespace ends, the kernel kills every other process in that "
           "namespace: the pod must not share pid. `labkit podman pod create --help` shows "
           "what --share shares when you do not give it.",
           "Make the pod with one container that keeps running and no pid in its --share, "
           "then kill its infra container: from Python, kill_sandbox() on the pod; in a "
           "terminal, `labkit podman ps -a --pod` lists every pod's infra container, whose id "
           "labkit podman kill takes."),
    solution=lonely_solution, **asks_for("lonely"),
    wrong=(Wrong(_lonely_shared_pid, "the kernel killed every process in it"),
           Wrong(_lonely_untouched, "infra container still runs")),
    reads="Podman's pod lonely (its state, SharedNamespaces, its infra container's and "
          "containers' states and host PIDs from the libpod API), the running containers' "
          "/proc/<pid>/ns/net and the host's",
)
@on_pod(PODMAN, "lonely", make=MAKE_LONELY, do=True)
def lonely(machine, pod, _answer):
    if pod.infra.pid is not None:
        pause = machine.command_name(pod.infra.pid)
        return failed(f"lonely's infra container still runs ({pause}, host PID "
                      f"{pod.infra.pid}): kill it (the pod's kill_sandbox(), or labkit podman "
                      "kill on its id), then check.")
    running = pod.running()
    if not running and pod.containers and "pid" in pod.shared:
        return failed(f"Every container of pod lonely stopped with its infra container "
                      f"({pod.states()}): the pod shares its PID namespace (Podman's "
                      f"SharedNamespaces: {', '.join(pod.shared)}), whose PID 1 was pause, and "
                      "when it died the kernel killed every process in it.")
    if not running:
        return failed(f"No container of pod lonely is running ({pod.states()}): give it one "
                      "that keeps running, then kill the infra container.")
    host = machine.host_namespaces["net"]
    name, pid = next(iter(running.items()))
    net = machine.namespaces(pid)["net"]
    where = (f"still in net:[{net}], the infra container's network namespace, which the "
             "kernel keeps while a process is in it") if net != host else \
        "in the host's network namespace"
    return passed(f"Pod lonely is {pod.state} in Podman's words (some of its containers run, "
                  f"not all): its infra container is {pod.infra.status} and its {name} runs on "
                  f"(host PID {pid}), {where}.")
