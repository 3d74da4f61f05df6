"""A Podman pod: an infra container holding the shared namespaces, and the containers.

Two ways in, as a learner has them on the command line:

* a Kubernetes manifest, sent to ``podman kube play`` (``POST /libpod/play/kube``);
* keywords, as ``podman pod create`` followed by ``podman run --pod`` for each container
  (``POST /libpod/pods/create`` and ``/libpod/containers/create``), where ``share`` says
  which namespaces the infra container lends (Podman's default: ``ipc,net,uts``).

Either way the pod is then read back from Podman (its cgroup, its infra container, each
member's host PID), so both give the same :class:`PodmanPod`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time

import yaml

from ... import images
from ...errors import EngineRefused, EngineUnavailable, LabError, SpecError, refused
from ...kubernetes import ResourceConfig
from ...model import ExecResult, Member
from ...node.user_ranges import free_range
from ...plan import Command, Plan, WriteFile
from ...spec import PodContainer, PodSpec, refuse_what_only_the_cri_runs
from ..pod import PodBase
from .commands import PODMAN, Create, PodCreate
from .service import (
    EXEC_KEPT_S,
    RUN_BASE,
    PodmanService,
    podman_command,
    podman_environment,
    remove_pod_cgroups,
)

PODMAN_SHARES = ("cgroup", "ipc", "net", "pid", "uts")
DEFAULT_SHARE = ("ipc", "net", "uts")


def check_share(share) -> tuple[str, ...]:
    """Podman's ``--share`` list: ``"ipc,net,uts"``, ``"+pid"`` (added to the default), or a
    sequence of namespace names.

    >>> check_share("+pid")
    ('ipc', 'net', 'pid', 'uts')
    >>> check_share(["net"])
    ('net',)
    """
    if share is None:
        return DEFAULT_SHARE
    if isinstance(share, str):
        text = share
    elif isinstance(share, (list, tuple)) and all(isinstance(item, str) for item in share):
        text = ",".join(share)
    else:
        raise SpecError(f"share={share!r} is not a list of namespaces: give e.g. "
                        "share='ipc,net,uts' or share='+pid'.")
    added = text.startswith("+")
    names = [name.strip() for name in text.lstrip("+").split(",") if name.strip()]
    unknown = [name for name in names if name not in PODMAN_SHARES]
    if unknown:
        raise SpecError(f"share={share!r} names {', '.join(unknown)}, which a Podman pod cannot "
                        f"share: choose from {', '.join(PODMAN_SHARES)}.")
    chosen = set(names) | (set(DEFAULT_SHARE) if added else set())
    return tuple(sorted(chosen))


KUBE_PLAY_HONOURS = {"hostPID": (4, 4), "hostIPC": (4, 5)}
"""The first Podman whose ``kube play`` puts a pod in the host's PID / IPC namespace as the
flag asks (before, it leaves the flag out without a word)."""


def refuse_what_podman_ignores(spec: PodSpec, version: str) -> None:
    """``podman kube play`` before 4.4 quietly leaves hostPID out, before 4.5 hostIPC, and
    labkit's ``pod create`` follows it; on such a Podman the lab says so before anything is
    made rather than show a pod that is not the one asked for."""
    podman = f"Podman {version}" if version else "Podman"
    found = tuple(int(n) for n in version.split(".")[:2] if n.isdigit()) if version else ()
    for flag, value in (("hostIPC", spec.host_ipc), ("hostPID", spec.host_pid)):
        if value and (not found or found < KUBE_PLAY_HONOURS[flag]):
            raise SpecError(
                f"{podman} does not put a pod's containers in the node's {flag[4:]} namespace "
                f"as {flag}: true asks (kube play ignores it): run this Pod with lab.cri_pod, "
                "or drop the flag.")


def _raise_container_errors(name: str, report: dict | None) -> None:
    """``kube play`` answers 200 even when a container of the pod did not start: its
    report lists that in ``ContainerErrors``, which labkit says, in Podman's words (one of
    them: Podman gathers them in no set order; the pod is then removed, as for any failed
    creation).

    >>> _raise_container_errors("web", {"Pods": [{"ContainerErrors": ["runc: no such file"]}]})
    Traceback (most recent call last):
    labkit.errors.EngineRefused: Podman refused to start a container of pod web: runc: no such file.
    """
    errors = [error for pod in (report or {}).get("Pods") or []
              for error in pod.get("ContainerErrors") or []]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise refused("Podman", f"start a container of pod {name}", errors[0] + more)


def _resources(container: PodContainer) -> dict:
    """The container's limits and requests in Kubernetes quantities (bytes, millicores)."""
    limits, requests = {}, {}
    if container.spec.memory_bytes:
        limits["memory"] = str(container.spec.memory_bytes)
    if container.spec.cpus:
        limits["cpu"] = f"{round(container.spec.cpus * 1000)}m"
    if container.requests_memory:
        requests["memory"] = str(container.requests_memory)
    if container.requests_cpus:
        requests["cpu"] = f"{round(container.requests_cpus * 1000)}m"
    return {key: value for key, value in (("limits", limits), ("requests", requests)) if value}


class PodmanPod(PodBase):
    """A pod on labkit's Podman, reported with every member's host PID."""

    kind = "on labkit's podman"
    sandbox_name = "infra"

    def __init__(self, service: PodmanService, spec: PodSpec, *, how: str,
                 share: tuple[str, ...] = DEFAULT_SHARE, network: bool = False) -> None:
        self.service = service
        self.spec = spec
        self.name = spec.name
        self.how = how  # "kube play" or "pod create"
        self.share = share
        self.network = network  # eth0 on the session's CNI network, else lo only
        self.engine_name = service.session.name(spec.name)
        self.id = ""
        self.infra_id = ""
        self.cgroup_parent = ""
        self.resolved: dict[str, images.ResolvedImage] = {}
        self.containers: dict[str, str] = {}  # member name -> container id
        self.plan = Plan()  # what makes it: executed by start(), shown by commands()
        self._deleted = False
        self._key = service.session.name(f"podman-pod-{spec.name}")

    @property
    def api(self):
        return self.service.api

    # -- creation ----------------------------------------------------------------------
    def start(self, quiet: bool = False) -> PodmanPod:
        """Resolve images and check the spec (nothing made yet), then make the pod."""
        refuse_what_only_the_cri_runs(self.spec)
        refuse_what_podman_ignores(self.spec, self.service.version)
        if self.network and self.spec.host_network:
            raise SpecError("A Pod with hostNetwork: true has the node's network, so it cannot "
                            "also get one of its own: drop network=True or hostNetwork.")
        if self.network and self.service.network_backend != "cni":
            raise LabError(f"labkit gives a Podman pod its network as a CNI configuration, and "
                           f"this machine's Podman runs {self.service.network_backend}: make "
                           "the pod without network=True (lo only), or use lab.cri_pod.")
        for container in self.spec.containers:
            self.resolved[container.name] = self.service.resolve_image(container.spec.image)
        if self.api.exists(f"/pods/{self.engine_name}/exists"):
            raise SpecError(f"This lab already has a Podman pod named {self.name}: delete it "
                            "first (pod.delete()), or give the new one another name.")
        self.plan = self._plan()
        self.service.session.on_cleanup(self._key, self.delete)
        try:
            self._execute()
            self._read_back()
        except BaseException:
            with contextlib.suppress(LabError):  # the first sentence is the one to show
                self.delete()
            raise
        if not quiet:
            for resolved in self.resolved.values():
                self.service.session.say_once(resolved.note)
        return self

    def _labels(self) -> dict[str, str]:
        return {**dict(self.spec.labels), **self.service.session.labels}

    def _command_and_args(self, container: PodContainer) -> tuple[list[str], list[str]]:
        """The container's command and args, ``$(VAR)`` expanded as the kubelet would; a
        stand-in given neither runs its own default command (as its command)."""
        command, args = container.command_and_args()
        resolved = self.resolved[container.name]
        if not command and not args and resolved.is_stand_in:
            command = list(resolved.default_command or ())
        return command, args

    def kube_yaml(self) -> str:
        """The manifest labkit hands to ``podman kube play``: the learner's Pod with the
        session's name and labels, and the images that really run here. Declared ports stay
        out: Podman would map them on the host, and these pods have loopback only."""
        containers = []
        for container in self.spec.containers:
            entry: dict = {"name": container.name,
                           "image": self.resolved[container.name].ref,
                           "imagePullPolicy": "Never"}  # nothing is pulled here
            command, args = self._command_and_args(container)
            if command:
                entry["command"] = command
            if args:
                entry["args"] = args
            if container.env:
                entry["env"] = [{"name": k, "value": v}
                                for k, v in container.environment.items()]
            resources = _resources(container)
            if resources:
                entry["resources"] = resources
            containers.append(entry)
        pod_spec: dict = {"hostname": self.spec.name, "containers": containers,
                          "restartPolicy": self.spec.restart_policy,
                          "terminationGracePeriodSeconds": self.spec.grace_period_s}
        for field, value in (("shareProcessNamespace", self.spec.share_process_namespace),
                             ("hostPID", self.spec.host_pid), ("hostIPC", self.spec.host_ipc)):
            if value:  # hostPID and hostIPC reach here only on a Podman that honours them
                pod_spec[field] = True
        if self.spec.host_network:
            pod_spec["hostNetwork"] = True
            del pod_spec["hostname"]
        metadata: dict = {"name": self.engine_name, "labels": self._labels()}
        if self.spec.annotations:
            metadata["annotations"] = dict(self.spec.annotations)
        return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
                               "spec": pod_spec}, sort_keys=False)

    # -- the plan ------------------------------------------------------------------------
    def _plan(self) -> Plan:
        """What makes this pod, as labkit sends it and as a learner types it: ``kube play``
        of the manifest labkit writes (:meth:`kube_yaml`), or ``pod create``, a ``create
        --pod`` per container, and ``pod start``."""
        if self.how == "kube play":
            if not self.spec.host_users:
                raise SpecError(
                    "podman kube play turns hostUsers: false into --userns=auto, which needs "
                    "ranges for the user containers in /etc/subuid and /etc/subgid, a setting "
                    "of the whole host that labkit leaves alone: make this Pod with "
                    "lab.podman_pod(name=..., containers=..., host_users=False), which maps a "
                    "range itself (podman pod create --uidmap), or with lab.scratch_pod (the "
                    "same manifest).")
            manifest = os.path.join(RUN_BASE, f"{self.engine_name}.yaml")
            network = () if self.spec.host_network else ("--network", self._network_name())
            return Plan([*self._network_steps(), WriteFile(manifest, self.kube_yaml()),
                         Command((*PODMAN, "kube", "play", *network, manifest))])
        if self.spec.host_pid or self.spec.host_ipc:
            raise SpecError("labkit makes a Podman pod from keywords without the host's PID or "
                            "IPC namespace: give the Pod as a manifest (podman kube play) for "
                            "host_pid or host_ipc.")
        shared = set(self.share) | ({"pid"} if self.spec.share_process_namespace else set())
        self.share = tuple(sorted(shared))
        limits = self.spec.resource_config
        pod = PodCreate(self.engine_name, self.share, self.service.infra_image,
                        hostname=None if self.spec.host_network else self.spec.name,
                        host_network=self.spec.host_network,
                        labels=tuple(self._labels().items()), memory=limits.memory,
                        cpus=limits.cpu_quota / limits.cpu_period if limits.cpu_quota else None,
                        user_range=None if self.spec.host_users else free_range(),
                        network=self.service.network if self.network else None)
        plan = Plan([*self._network_steps(), Command(pod.argv(), does=pod)])
        for container in self.spec.containers:
            command, args = self._command_and_args(container)
            values = ResourceConfig(
                memory=container.spec.memory_bytes,
                cpu_quota=container.resource_config.cpu_quota or None,
                cpu_shares=container.resource_config.cpu_shares
                if container.resources.cpu_request else None)
            create = Create(self.engine_name, f"{self.engine_name}-{container.name}",
                            self.resolved[container.name].ref,
                            command=tuple(command[1:] + args if command else args),
                            entrypoint=tuple(command[:1]), labels=tuple(self._labels().items()),
                            env=tuple(container.environment.items()), values=values)
            plan.add(Command(create.argv(), does=create))
        return plan.add(Command((*PODMAN, "pod", "start", self.engine_name)))

    def _network_name(self) -> str:
        return self.service.network if self.network else "none"

    def _network_steps(self) -> list[WriteFile]:
        """The session's CNI network, written where Podman loads networks from (the same
        file for every pod of the session that asks for a network)."""
        if not self.network:
            return []
        return [WriteFile(self.service.network_file, self.service.network_conflist())]

    def _execute(self) -> None:
        """The plan's steps, each as one libpod request made of the same fields."""
        for step in self.plan:
            if isinstance(step, WriteFile):
                os.makedirs(os.path.dirname(step.path), exist_ok=True)
                with open(step.path, "w") as handle:
                    handle.write(step.value)
            elif step.argv[2:4] == ("kube", "play"):
                report = self.api.call(
                    "POST", "/play/kube", what=f"play the manifest of pod {self.name}",
                    params={} if self.spec.host_network else {"network": self._network_name()},
                    raw=self.kube_yaml().encode(), content_type="application/x-yaml")
                made = [pod["ID"] for pod in (report or {}).get("Pods") or [] if pod.get("ID")]
                if made:  # known before anything is said, so its cgroups go with it
                    self.id = made[0]
                    self.service.remember(self.id)
                _raise_container_errors(self.name, report)
            elif isinstance(step.does, PodCreate):
                self.id = self.api.call("POST", "/pods/create", what=f"create pod {self.name}",
                                        body=step.does.body())["Id"]
                self.service.remember(self.id)
            elif isinstance(step.does, Create):
                self.api.call("POST", "/containers/create", what=f"create container "
                              f"{step.does.name.removeprefix(self.engine_name + '-')} of pod "
                              f"{self.name}", body=step.does.body(self.id))
            else:  # pod start
                self.api.call("POST", f"/pods/{self.id}/start", what=f"start pod {self.name}",
                              ok=(200, 304))

    def _read_back(self) -> None:
        pod = self.api.call("GET", f"/pods/{self.engine_name}/json",
                            what=f"inspect pod {self.name}")
        self.id, self.infra_id = pod["Id"], pod.get("InfraContainerID") or ""
        self.service.remember(self.id)
        # cgroupfs says "/libpod_parent/<id>", systemd "machine.slice/machine-libpod_pod_<id>
        # .slice": both are paths from the hierarchy's root.
        path = (pod.get("CgroupPath") or "").strip("/")
        self.cgroup_parent = f"/{path}" if path else ""
        prefix = f"{self.engine_name}-"
        for entry in pod.get("Containers") or []:
            if entry["Id"] != self.infra_id:
                self.containers[entry["Name"].removeprefix(prefix)] = entry["Id"]
        order = [c.name for c in self.spec.containers]
        self.containers = {n: self.containers[n] for n in order if n in self.containers}

    # -- looking -----------------------------------------------------------------------------
    def _inspect(self, container_id: str) -> dict:
        return self.api.call("GET", f"/containers/{container_id}/json",
                             what="inspect a container of the pod")

    def members(self) -> list[Member]:
        found = []
        if self.infra_id:
            state = self._inspect(self.infra_id)["State"]
            if state.get("Running"):
                found.append(Member("infra", state["Pid"], self.infra_id, role="sandbox"))
        asked = {c.name: c.spec.asked for c in self.spec.containers}
        for name, container_id in self.containers.items():
            state = self._inspect(container_id)["State"]
            if state.get("Running"):
                found.append(Member(name, state["Pid"], container_id, role=name,
                                    asked=asked[name]))
        return found

    @property
    def user_range(self) -> int | None:
        """With ``hostUsers: false``, the first of the 65536 host IDs its user namespace
        maps (container ID 0 is this one); None in the host's user namespace."""
        create = next((step.does for step in self.plan
                       if isinstance(getattr(step, "does", None), PodCreate)), None)
        return create.user_range if create else None

    def _handles(self) -> dict[str, str]:
        """Member name -> its container id."""
        return {**({"infra": self.infra_id} if self.infra_id else {}), **self.containers}

    def exec(self, container: str, command) -> ExecResult:
        """Run a command in one of the pod's containers (``podman exec``)."""
        if isinstance(command, str):
            command = ["sh", "-c", command]
        if container not in self.containers and container != "infra":
            raise LabError(f"Pod {self.name} has no container {container!r}: it has "
                           f"{', '.join(self.containers)}.")
        code, output = self.api.exec(self[container], list(command),
                                     what=f"run a command in {container}")
        return ExecResult(code, output)

    @property
    def state(self) -> str:
        """Podman's word for the pod: running, degraded (some members stopped), exited..."""
        if self._deleted:
            return "deleted"
        pod = self.api.call("GET", f"/pods/{self.id}/json", what=f"inspect pod {self.name}")
        return str(pod.get("State", "")).lower()

    def states(self) -> dict[str, str]:
        """Each member's state as Podman reports it (``running``, ``exited``...). Between
        ``running`` and ``exited`` Podman says ``stopped`` for a moment (the process has
        ended, Podman has not yet cleaned up after it); a member seen so is read again
        for up to a second, so the state printed is the one Podman settles on."""
        return {name: self._settled_status(cid)
                for name, cid in {"infra": self.infra_id, **self.containers}.items() if cid}

    def _settled_status(self, container_id: str) -> str:
        deadline = time.monotonic() + 1.0
        while True:
            status = str(self._inspect(container_id)["State"].get("Status", "")).lower()
            if status not in ("stopped", "stopping") or time.monotonic() > deadline:
                return status
            time.sleep(0.05)

    def listing(self) -> list[dict[str, str]]:
        """What ``podman ps -a --pod`` shows for this pod: the infra container too."""
        rows = []
        for name, cid in {"infra": self.infra_id, **self.containers}.items():
            if not cid:
                continue
            found = self._inspect(cid)
            rows.append({"CONTAINER ID": cid[:12], "IMAGE": found.get("ImageName", ""),
                         "NAMES": found.get("Name", ""), "POD ID": self.id[:12],
                         "STATUS": str(found["State"].get("Status", "")).lower(),
                         "member": name})
        return rows

    def conmon_pids(self) -> dict[str, int]:
        """The PID of each member's conmon, the monitor Podman starts per container."""
        return {name: int(self._inspect(cid)["State"].get("ConmonPid") or 0)
                for name, cid in {"infra": self.infra_id, **self.containers}.items() if cid}

    def reported_ip(self) -> str:
        """The Pod's IP as Podman reports it: the infra container's address on the session's
        network ("" without a network)."""
        if not self.network or not self.infra_id:
            return ""
        networks = self._inspect(self.infra_id).get("NetworkSettings", {}).get("Networks") or {}
        return (networks.get(self.service.network) or {}).get("IPAddress", "")

    def kill_sandbox(self) -> None:
        """SIGKILL the infra container, as if the pod's pause process died."""
        self.api.call("POST", f"/containers/{self.infra_id}/kill",
                      what="kill the infra container", params={"signal": "KILL"})
        self.api.call("POST", f"/containers/{self.infra_id}/wait",
                      what="wait for the infra container", params={"condition": "exited"})

    def commands(self) -> list[str]:
        """The podman commands a learner would type to make this pod in the lab's terminal
        (``labkit podman`` is podman with the lab's store): the plan labkit executed."""
        return self.plan.lines()

    # -- deletion ------------------------------------------------------------------------------
    def delete(self) -> None:
        """``podman pod rm -f``: the containers, the infra container and the pod's cgroup."""
        if not self._deleted:
            target = self.id or self.engine_name
            try:  # SIGKILL first: a sleep or httpd as PID 1 ignores SIGTERM and would cost
                # the whole stop timeout, as `podman pod rm -f -t 0` avoids it
                self.api.request("POST", f"/pods/{target}/kill", what=f"stop pod {self.name}",
                                 params={"signal": "KILL"}, ok=(200, 204, 404, 409))
                self._wait_for_cleanup()
                self._remove(target)
            except EngineUnavailable:  # the service is gone: podman itself still can
                subprocess.run(podman_command("pod", "rm", "-f", "-t", "0", "--ignore", target),
                               env=podman_environment(), capture_output=True, timeout=120)
            if self.id and self.service.cgroup_manager == "cgroupfs":
                remove_pod_cgroups([self.id])
            for step in self.plan:  # the manifest kube play was given (the session's
                # network stays for its other pods, until the service stops)
                if isinstance(step, WriteFile) and step.path != self.service.network_file:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(step.path)
        self.service.session.forget(self._key)
        self._deleted = True

    def _remove(self, target: str) -> None:
        """``DELETE /pods/<id>?force=true``, tried again for a few seconds while a member's
        /dev/shm is still mounted elsewhere: with a user namespace of its own, Podman 4.3
        runs each conmon (an exec session's too) in a mount namespace of its own, which
        holds a copy of every container's /dev/shm mounted before it, so the removal
        fails with "device or resource busy" until those conmons have gone."""
        deadline = time.monotonic() + EXEC_KEPT_S + 10
        while True:
            try:
                self.api.request("DELETE", f"/pods/{target}", what=f"remove pod {self.name}",
                                 params={"force": "true"}, ok=(200, 204, 404))
                return
            except EngineRefused as refusal:
                if "resource busy" not in str(refusal) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _wait_for_cleanup(self) -> None:
        """Until Podman has cleaned up after every killed member (state ``exited``) and
        after its exec sessions: removing the pod before that costs 3 s, Podman's wait for
        the pod's cgroup to empty of their conmons. Bounded: removal copes either way."""
        deadline = time.monotonic() + EXEC_KEPT_S + 2
        members = [cid for cid in (self.infra_id, *self.containers.values()) if cid]
        while members and time.monotonic() < deadline:
            found = (self.api.call("GET", f"/containers/{cid}/json", ok=(200, 404),
                                   what=f"look at a member of pod {self.name}")
                     for cid in members)  # a member already gone answers 404, no State
            if all(not state or "State" not in state
                   or (state["State"].get("Status") == "exited" and not state.get("ExecIDs"))
                   for state in found):
                return
            time.sleep(0.05)
