"""Where the checks find the learner's pods: one section per engine, and :func:`on_pod`.

A check names the pod its exercise asks for; the readers here find it on the machine, as
the engine (or the kernel) has it, never from the pod object in the learner's kernel:

* **Docker** (chapters 3 and 4): a pod emulated with Docker is its containers
  ``<pod>-sandbox``, ``<pod>-app``, ``<pod>-sidecar``, found by name
  (:meth:`~labkit.exercises.machine.Machine.group`).
* **labkit's containerd** (chapters 2 and 4): through the CRI, on the socket of a lab
  session this process owns (:data:`CRI`).
* **labkit's podman** (chapter 5): through the libpod API, on the podman socket of a lab
  session this process owns (:data:`PODMAN`).
* **from scratch** (chapter 6): the pod's cgroup ``/lk-<session>-scratch.<pod>`` and its
  members' processes, from the kernel alone (:data:`SCRATCH`).

A check of one pod on containerd, on podman or from scratch is declared with :func:`on_pod`,
which finds the pod and says what is missing when it is not there to judge::

    @exercise("05.conmon-cgroup", kind="find", ...)
    @on_pod(PODMAN, "foo", make="the chapter's first cell (...), then check",
            running=("app",))
    def conmon_cgroup(machine, pod, answer): ...

The readings that go through a client of their own (the CRI, Podman's API) are marked
:func:`~labkit.exercises.machine.reading`, so a recorded chapter answers them; the others
read through the machine, whose every answer is recorded. The recordings name those
readings and their answers' types where chapters 2 and 5 held them before they moved here
(``labkit.exercises.ch02.find_pod``, ``labkit.exercises.ch02:CriPodSeen``): ``recorded_as``
keeps those names, and ch02 and ch05 still import the types under them.
"""

from __future__ import annotations

import functools
import json
import os
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..errors import EngineUnavailable
from ..session import NAME_RE, SESSION_LABEL
from .core import Verdict, failed, unjudged
from .machine import reading, recorded_as, running_pid

# -- the chapters' pods ---------------------------------------------------------------------

# The article's manifest (notebooks/manifests/foo-pod.yaml), which the chapters' first cells
# run on every engine.
FOO_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: foo
spec:
  containers:
  - name: app
    image: docker.io/kennethreitz/httpbin
    ports:
    - containerPort: 80
    resources:
      limits:
        memory: "256Mi"
  - name: sidecar
    image: curlimages/curl
    command: ["/bin/sleep", "3650d"]
    resources:
      limits:
        memory: "128Mi"
"""

SLEEPER = {"image": "busybox", "command": "sleep 3650d"}  # a container that keeps running


# -- what every engine's pods answer, and the decorator of the checks that read one --------

class Pods:
    """How the checks find the learner's pods on one engine, and what they say when one is
    not there to be judged. :func:`on_pod` asks these; a chapter names the engine
    (:data:`CRI`, :data:`PODMAN`, :data:`SCRATCH`)."""

    engine = ""  # "labkit's podman", as the sentences name it
    pronoun = "it"  # "(this kernel has not started it)": its engine, or "one"

    def find(self, machine, name: str) -> tuple[Any, bool]:
        """The learner's pod ``name``, or None; and whether this process has the engine at
        all (to say "this kernel has not started it")."""
        raise NotImplementedError

    def absent(self, name: str, started: bool, make: str) -> str:
        """The sentence for pod ``name`` not there (yet): ``make`` says what makes it."""
        where = "" if started else f" (this kernel has not started {self.pronoun})"
        return f"There is no pod named {name} on {self.engine} yet{where}: make it with {make}."

    def elsewhere(self, machine, name: str) -> str | None:
        """The sentence for pod ``name`` made on another engine instead, if it was."""
        return None

    def unfit(self, name: str, pod) -> str | None:
        """The sentence for a pod that is there but is no pod to judge (a *do* check)."""
        return None

    def not_running(self, machine, name: str, pod, members: Sequence[str],
                    again: str) -> str | None:
        """The sentence for a pod whose sandbox, or one of ``members``, is not running;
        ``again`` is what to do then."""
        raise NotImplementedError

    def pod_class(self) -> type:
        """The runtime's pod class (imported when a solution needs it)."""
        raise NotImplementedError

    def in_lab(self, lab, name: str):
        """The chapter's ``pod``: the lab's newest pod of this engine named ``name``, not
        deleted (for the solutions, which read like the chapter's cells)."""
        kind = self.pod_class()
        return next(p for p in reversed(lab.pods)
                    if isinstance(p, kind) and p.name == name and p.state != "deleted")


Check = Callable[[Any, Any, Any], Verdict]


def on_pod(pods: Pods, name: str, *, make: str, running: Sequence[str] = (),
           again: str = "", do: bool = False) -> Callable[[Check], Callable[[Any, Any], Verdict]]:
    """Decorate the check of the learner's pod ``name`` on one engine (``pods``: :data:`CRI`,
    :data:`PODMAN`, :data:`SCRATCH`): it is called as ``check(machine, pod, answer)`` with
    the pod as that engine's reader has it.

    A *find* or *predict* check has nothing to judge until the pod is there with its
    sandbox running (and each of ``running``, e.g. ``("app",)``): the verdict is then
    unjudged, and its sentence names what makes the pod (``make``: "the chapter's first cell
    (lab.podman_pod(manifest)), then check") or what to do now (``again``; by default
    "delete the pod and make it again (<make>)"). A *do* check (``do=True``) with no pod of
    that name anywhere is not judged either (nothing of the learner's yet: Run All spends
    nothing); a pod of the name made on another engine is a judged failure that says so;
    it gets any pod of the name that has something to hold its namespaces (not a Podman pod
    made with --infra=false), and judges its members itself.
    """
    if do and (running or again):
        raise ValueError("a do check judges its pod's members itself: no running= or again=")
    again = again or f"delete the pod and make it again ({make})"

    def wrap(check: Check) -> Callable[[Any, Any], Verdict]:
        @functools.wraps(check)
        def judge(machine, answer):
            pod, started = pods.find(machine, name)
            if pod is None:
                elsewhere = pods.elsewhere(machine, name) if do else None
                if elsewhere:
                    return failed(elsewhere)
                return unjudged(pods.absent(name, started, make))
            if do:
                unfit = pods.unfit(name, pod)
                if unfit:
                    return failed(unfit)
            else:
                stopped = pods.not_running(machine, name, pod, running, again)
                if stopped:
                    return unjudged(stopped)
            return check(machine, pod, answer)

        return judge

    return wrap


def _and(words: Sequence[str]) -> str:
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def _not_running(who: Sequence[str]) -> str:
    """``are not both running``, ``is not running``: for the sentences of stopped members."""
    if len(who) == 1:
        return "is not running"
    return f"are not {'both' if len(who) == 2 else 'all'} running"


# -- Docker: a pod emulated with containers named <pod>-sandbox, <pod>-app, <pod>-sidecar --

ROLES = ("sandbox", "app", "sidecar")


def pod_names(pod: str) -> tuple[str, ...]:
    """The Docker containers of pod ``pod`` emulated as in chapter 3 (``<pod>-sandbox``,
    ``<pod>-app``, ``<pod>-sidecar``): what a *do* exercise about pod ``pod`` resets."""
    return tuple(f"{pod}-{role}" for role in ROLES)


def docker_members(machine, pod: str, needed: tuple[str, ...]):
    """role -> (``docker inspect``, host PID or None) for the members of the emulated pod
    ``pod`` that exist; or None and the sentence saying which of ``needed`` is missing or
    not running."""
    found = machine.group(pod_names(pod))
    members = {}
    for role in ROLES:
        details = found.get(f"{pod}-{role}")
        if details is not None:
            members[role] = (details, running_pid(details))
    for role in needed:
        if role not in members:
            return None, (f"There is no container named {pod}-{role} yet: make the pod {pod} "
                          f"(a sandbox {pod}-sandbox, and {pod}-app and {pod}-sidecar joining "
                          "it).")
        if members[role][1] is None:
            status = members[role][0]["State"].get("Status")
            return None, f"{pod}-{role} is {status}, not running: start the pod again."
    return members, None


def docker_namespaces(machine, pod: str, roles: tuple[str, ...]):
    """role -> namespaces of the emulated pod's running members ``roles``; or None and the
    sentence saying which is not."""
    members, missing = docker_members(machine, pod, roles)
    if members is None:
        return None, missing
    return {role: machine.namespaces(members[role][1]) for role in roles}, None


# -- labkit's containerd: CRI pods, read through the CRI (chapters 2 and 4) -----------------
#
# The learner's CRI pods are those on labkit's own containerd of a lab session this process
# owns (lab.cri_pod(...) starts it; crictl on its socket would count too), by metadata name.

CRI_RUNNING = 1  # runtime.v1 ContainerState CONTAINER_RUNNING

_clients: dict[str, object] = {}


@recorded_as("labkit.exercises.ch02:CriPodSeen")  # as the recordings name it
@dataclass
class CriPodSeen:
    """A pod as the CRI lists it, with the host PIDs of what runs in it."""

    name: str
    id: str
    uid: str
    ready: bool
    pause_pid: int | None  # while the sandbox is Ready
    containers: dict[str, tuple[int | None, str]] = field(default_factory=dict)  # pid, state

    def running(self) -> dict[str, int]:
        return {name: pid for name, (pid, _state) in self.containers.items() if pid}


def _cri_sockets(machine) -> list[str]:
    """The CRI sockets of labkit's containerd of each lab session this process owns (a
    machine that cannot name its sessions has none)."""
    from ..runtimes.containerd.node import STATE_BASE

    prefixes = getattr(machine, "prefixes", None)
    found = []
    for prefix in sorted(prefixes() if prefixes else ()):
        socket = os.path.join(STATE_BASE, f"{prefix}containerd", "containerd.sock")
        if prefix and os.path.exists(socket):
            found.append(socket)
    return found


def _cri_client(socket: str):
    from ..runtimes.containerd.cri import CriClient

    for gone in [s for s in _clients if not os.path.exists(s)]:
        _clients.pop(gone).close()
    if socket not in _clients:
        _clients[socket] = CriClient(socket)
    return _clients[socket]


def _verbose_pid(info) -> int | None:
    try:
        pid = int(json.loads(info["info"])["pid"])
    except (KeyError, ValueError, TypeError):
        return None
    return pid if pid > 0 and os.path.exists(f"/proc/{pid}") else None


@reading(recorded_as="labkit.exercises.ch02.find_pod")
def find_cri_pod(machine, name: str) -> tuple[CriPodSeen | None, bool]:
    """The learner's pod with this name on labkit's containerd (Ready first, then the
    newest), and whether this process has a labkit containerd at all."""
    from ..runtimes.containerd.cri import CONTAINER_STATES

    sockets = _cri_sockets(machine)
    best = None
    for socket in sockets:
        cri = _cri_client(socket)
        for item in cri.call("ListPodSandbox", cri.pb.ListPodSandboxRequest(), timeout=10,
                             what="list its pods").items:
            key = (item.state == 0, item.created_at)
            if item.metadata.name == name and (best is None or key > best[0]):
                best = (key, cri, item)
    if best is None:
        return None, bool(sockets)
    (ready, _created), cri, item = best
    pb = cri.pb
    pause = None
    if ready:
        status = cri.call("PodSandboxStatus", pb.PodSandboxStatusRequest(
            pod_sandbox_id=item.id, verbose=True), timeout=10, what="read a sandbox's status")
        pause = _verbose_pid(status.info)
    seen = CriPodSeen(name, item.id, item.metadata.uid, ready, pause)
    listed = cri.call("ListContainers", pb.ListContainersRequest(
        filter=pb.ContainerFilter(pod_sandbox_id=item.id)), timeout=10,
        what="list a pod's containers").containers
    for container in sorted(listed, key=lambda c: c.created_at):  # the newest attempt wins
        pid = None
        if container.state == CRI_RUNNING:
            status = cri.call("ContainerStatus", pb.ContainerStatusRequest(
                container_id=container.id, verbose=True), timeout=10,
                what="read a container's status")
            pid = _verbose_pid(status.info)
        state = CONTAINER_STATES.get(container.state, "?")
        seen.containers[container.metadata.name] = (pid, state)
    return seen, True


class _ThisLab:
    """The lab's own sessions, for the solutions (which read like the chapter's cells)."""

    def __init__(self, lab):
        self.lab = lab

    def prefixes(self):
        return {self.lab.session.prefix}


class CriPods(Pods):
    engine = "labkit's containerd"
    pronoun = "one"

    def find(self, machine, name):
        return find_cri_pod(machine, name)

    def elsewhere(self, machine, name):
        found = machine.named(pod_names(name))
        if not found:
            return None
        return (f"{found[0]['engine_name']} is a Docker container (a pod emulated as in "
                f"chapter 3), not a pod on containerd's CRI: make {name} with "
                f"lab.cri_pod(name=\"{name}\", ...).")

    def not_running(self, machine, name, pod, members, again):
        if not pod.ready or pod.pause_pid is None:
            return (f"Pod {name}'s sandbox is NotReady on {self.engine} (its pause process "
                    f"is gone): {again}.")
        stopped = [m for m in members if m not in pod.running()]
        if stopped:
            return (f"Pod {name}'s {_and(stopped)} {_not_running(stopped)} on {self.engine}: "
                    f"{again}.")
        return None

    def pod_class(self):
        from ..runtimes.containerd.pod import CriPod

        return CriPod

    def seen_in_lab(self, lab, name: str) -> CriPodSeen | None:
        """Pod ``name`` as the CRI lists it on this lab's containerd (what CriPod.members()
        reads: the host PIDs in the CRI's verbose status), for the solutions."""
        return find_cri_pod(_ThisLab(lab), name)[0]


CRI = CriPods()


# -- labkit's podman: Podman pods, read through the libpod API (chapter 5) -----------------
#
# A Podman pod counts when labkit's podman store names it as the exercise does (``shared``,
# as ``labkit podman pod create --name shared`` makes it) or with the prefix of a lab session
# this process owns (``lk-<session>-shared``, as ``lab.podman_pod(name="shared", ...)``
# makes it); a pod labelled with another session (``io.labkit.session``) does not count,
# whatever its name. Every session's service reads the one store, so the first socket that
# answers will do.

@recorded_as("labkit.exercises.ch05:MemberSeen")  # as the recordings name it
@dataclass
class PodmanMemberSeen:
    """One container of a Podman pod, as ``podman inspect`` has it."""

    name: str  # as Podman names it
    status: str  # running, exited, created...
    pid: int | None  # the host PID of its main process, while it runs
    conmon: int | None  # the host PID of the conmon that watches it
    exit_code: int = 0


@recorded_as("labkit.exercises.ch05:PodSeen")  # as the recordings name it
@dataclass
class PodmanPodSeen:
    """A Podman pod as ``podman pod inspect`` has it, with its members."""

    name: str
    id: str
    state: str  # Podman's word, in lower case: running, degraded, exited...
    shared: tuple[str, ...]  # the namespaces its infra container lends (SharedNamespaces)
    cgroup: str  # CgroupPath
    infra: PodmanMemberSeen | None  # None for a pod made with --infra=false
    containers: dict[str, PodmanMemberSeen] = field(default_factory=dict)  # short name -> it

    def running(self) -> dict[str, int]:
        return {name: m.pid for name, m in self.containers.items() if m.pid}

    def states(self) -> str:
        every = {"infra": self.infra, **self.containers}
        return ", ".join(f"{name} is {m.status}" + (f" (exit code {m.exit_code})"
                                                     if m.status == "exited" else "")
                         for name, m in every.items() if m)


def _podman_sessions(machine) -> tuple[set[str], list[str]]:
    """The lab sessions this process owns (their ids), and the podman sockets of those that
    have started labkit's podman (a machine that cannot name its sessions has none)."""
    from ..runtimes.podman.service import RUN_BASE

    prefixes = sorted(p for p in (machine.prefixes() if hasattr(machine, "prefixes") else ())
                      if p)
    sockets = [os.path.join(RUN_BASE, f"{p}podman.sock") for p in prefixes]
    return ({NAME_RE.match(p)["session"] for p in prefixes},
            [s for s in sockets if os.path.exists(s)])


def _created(text: str) -> tuple[str, str]:
    """Podman's RFC 3339 time with nanoseconds, as a key that sorts (its zeros are cut)."""
    whole, _, fraction = (text or "").rstrip("Z").partition(".")
    return whole, fraction.ljust(9, "0")


def _podman_member(api, container_id: str) -> PodmanMemberSeen:
    found = api.call("GET", f"/containers/{quote(container_id)}/json",
                     what="inspect a container of a pod")
    state = found.get("State") or {}
    running = bool(state.get("Running")) and int(state.get("Pid") or 0) > 0
    return PodmanMemberSeen(found.get("Name", ""), str(state.get("Status", "")).lower(),
                            int(state["Pid"]) if running else None,
                            int(state.get("ConmonPid") or 0) or None,
                            int(state.get("ExitCode") or 0))


def _podman_pod(api, pod_id: str) -> PodmanPodSeen:
    pod = api.call("GET", f"/pods/{pod_id}/json", what="inspect a pod")
    infra_id = pod.get("InfraContainerID") or ""
    seen = PodmanPodSeen(pod["Name"], pod["Id"], str(pod.get("State", "")).lower(),
                         tuple(sorted(pod.get("SharedNamespaces") or ())),
                         pod.get("CgroupPath") or "",
                         _podman_member(api, infra_id) if infra_id else None)
    for entry in pod.get("Containers") or ():
        if entry["Id"] != infra_id:  # kube play and lab.podman_pod name them <pod>-<name>
            short = entry["Name"].removeprefix(f"{seen.name}-")
            seen.containers[short] = _podman_member(api, entry["Id"])
    return seen


@reading(recorded_as="labkit.exercises.ch05.find_pod")
def find_podman_pod(machine, name: str) -> tuple[PodmanPodSeen | None, bool]:
    """The learner's Podman pod with this name (running or degraded first, then the newest),
    and whether this process has started labkit's podman at all."""
    from ..runtimes.podman.api import PodmanAPI

    sessions, sockets = _podman_sessions(machine)
    names = {name, *(f"lk-{s}-{name}" for s in sessions)}
    refused, answered, best = None, False, None
    for socket in sockets:  # every session of this process's podman, as for the CRI
        api = PodmanAPI(socket, timeout=10)
        try:
            listed = api.call("GET", "/pods/json", what="list its pods") or []
        except EngineUnavailable as error:  # that session's service is gone: the next one
            refused = error
            continue
        answered = True
        for pod in listed:
            if pod.get("Name") not in names or (pod.get("Labels") or {}).get(
                    SESSION_LABEL, "") not in ("", *sessions):  # another session's
                continue
            key = (str(pod.get("Status")) in ("Running", "Degraded"),
                   _created(pod.get("Created", "")))
            if best is None or key > best[0]:
                best = (key, api, pod["Id"])
    if best is not None:
        return _podman_pod(best[1], best[2]), True
    if answered:
        return None, True
    if refused is not None:
        raise refused
    return None, False


class PodmanPods(Pods):
    engine = "labkit's podman"

    def find(self, machine, name):
        return find_podman_pod(machine, name)

    def elsewhere(self, machine, name):
        make = f"make {name} with lab.podman_pod(name=\"{name}\", ...) or labkit podman pod " \
               "create."
        cri, _ = find_cri_pod(machine, name)
        if cri is not None:
            return f"Pod {name} is on {CRI.engine} (a CRI pod, as in chapter 2), not on " \
                   f"{self.engine}: {make}"
        found = machine.named(pod_names(name))
        if found:
            return f"{found[0]['engine_name']} is a Docker container (a pod emulated as in " \
                   f"chapter 3), not a Podman pod: {make}"
        return None

    def unfit(self, name, pod):
        if pod.infra is None:
            return (f"Pod {name} has no infra container (made with --infra=false), so nothing "
                    "holds the pod's namespaces: make it again with one.")
        return None

    def not_running(self, machine, name, pod, members, again):
        every = ("infra container", *members)
        if pod.infra is None or pod.infra.pid is None or \
                any(m not in pod.running() for m in members):
            return (f"Pod {name}'s {_and(every)} {_not_running(every)} on {self.engine} "
                    f"({pod.states()}): {again}.")
        return None

    def pod_class(self):
        from ..runtimes.podman import PodmanPod

        return PodmanPod


PODMAN = PodmanPods()


# -- from scratch: the pod's cgroup, read from the kernel alone (chapter 6) ---------------
#
# A pod from scratch is only what the kernel holds: the pod's cgroup
# /lk-<session>-scratch.<pod> of a lab session this process owns (made by lab.scratch_pod),
# one cgroup per member under it (pause, app, ...), each member's processes from its
# cgroup.procs (its first process: the one whose parent is not in that cgroup).

@dataclass
class ScratchPodSeen:
    """A pod from scratch as the kernel has it: its cgroup and each member's processes."""

    name: str
    cgroup: str  # in the memory hierarchy (the unified one on v2)
    members: dict[str, list[int]] = field(default_factory=dict)  # member cgroup -> PIDs

    def main(self, member: str, machine) -> int | None:
        """The member's first process: in its cgroup, with a parent outside it."""
        pids = self.members.get(member) or []
        for pid in pids:
            if _parent_pid(machine, pid) not in pids:
                return pid
        return pids[0] if pids else None


def _parent_pid(machine, pid: int) -> int:
    text = machine.node.gatherer.read([f"/proc/{pid}/stat"])[f"/proc/{pid}/stat"] or ""
    fields = text.rsplit(")", 1)[-1].split()
    return int(fields[1]) if len(fields) > 1 else 0


def find_scratch_pod(machine, name: str) -> ScratchPodSeen | None:
    """The pod from scratch ``name`` of a lab session this process owns, read from its
    cgroup in the memory hierarchy."""
    from ..runtimes.scratch.cgroups import pod_path

    for prefix in sorted(p for p in machine.prefixes() if p):
        path = pod_path(prefix, name)
        top = machine.memory_directory(path)
        directories = machine.node.gatherer.walk(top) if top else []
        if not directories:
            continue
        seen = ScratchPodSeen(name, path)
        children = [d for d in directories if posixpath.dirname(d) == top]
        files = [f"{d}/cgroup.procs" for d in children]
        read = machine.node.gatherer.read(files)
        for directory in children:
            text = read[f"{directory}/cgroup.procs"] or ""
            seen.members[posixpath.basename(directory)] = [int(p) for p in text.split()]
        return seen
    return None


class ScratchPods(Pods):
    def find(self, machine, name):
        return find_scratch_pod(machine, name), True  # no engine: the kernel always answers

    def absent(self, name, started, make):
        return f"There is no pod from scratch named {name} yet: make it with {make}."

    def not_running(self, machine, name, pod, members, again):
        every = ("pause", *members)
        if any(pod.main(m, machine) is None for m in every):
            return f"Pod {name}'s {_and(every)} {_not_running(every)}: {again}."
        return None

    def pod_class(self):
        from ..runtimes.scratch import ScratchPod

        return ScratchPod


SCRATCH = ScratchPods()
