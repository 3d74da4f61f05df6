"""A Pod on containerd's CRI, made with the calls the kubelet makes.

``RunPodSandbox`` (the pause container, owner of the pod's namespaces, under the
pod's cgroup parent), then ``CreateContainer`` + ``StartContainer`` for each
container, with the namespace options and resources the kubelet would compute
(:mod:`labkit.kubernetes`, as for every pod kind; here in the CRI's terms).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ... import images
from ...errors import EngineRefused, ImageUnavailable, LabError
from ...kubernetes import (
    QOS_CGROUP,
    LinuxContainerResources,
    ResourceConfig,
    ephemeral_pid_mode,
    init_container_actions,
    linux_container_resources,
    qos_tier_shares,
)
from ...model import ExecResult, Member
from ...node import systemd_units
from ...node.cgroup_writer import (
    execute,
    plan_cgroup,
    plan_delegation_down,
    plan_handing_down,
    remove_cgroup,
)
from ...node.mounts import CgroupLayout
from ...plan import Plan
from ...spec import (
    EphemeralContainer,
    InitContainer,
    PodContainer,
    PodSpec,
    refuse_host_users,
)
from ..pod import PodBase
from .cri import CONTAINER_STATES
from .node import ContainerdNode

SANDBOX_STATES = {0: "Ready", 1: "NotReady"}  # PodSandboxState
CRI_MODES = {"pod": 0, "container": 1, "node": 2, "target": 3}  # runtime.v1 NamespaceMode
INIT_TIMEOUT_S = 120  # how long labkit waits for an init container to end, or a sidecar to run


def namespace_option(pb, spec: PodSpec, target_id: str = ""):
    """The pod's namespace modes as the CRI's ``NamespaceOption`` (uts follows the network);
    for an ephemeral container with a target, PID ``TARGET`` with the target's container id
    (:func:`labkit.kubernetes.ephemeral_pid_mode`)."""
    modes = spec.namespace_modes
    pid = ephemeral_pid_mode(modes, target_id or None)
    target = {"target_id": target_id} if pid == "target" else {}
    return pb.NamespaceOption(network=CRI_MODES[modes.net], pid=CRI_MODES[pid],
                              ipc=CRI_MODES[modes.ipc], **target)


def _kind(container: PodContainer) -> str:
    """How the Pod has it: ``init``, ``sidecar``, ``container`` or ``ephemeral``."""
    if isinstance(container, InitContainer):
        return "sidecar" if container.sidecar else "init"
    return "ephemeral" if isinstance(container, EphemeralContainer) else "container"


@dataclass
class CriMember:
    name: str
    id: str
    image: str
    note: str = ""


class CriPod(PodBase):
    """A Pod running on labkit's containerd, reported with every member's host PID."""

    kind = "on labkit's containerd"
    sandbox_name = "pause"

    def __init__(self, node: ContainerdNode, spec: PodSpec, layout: CgroupLayout) -> None:
        self.node = node
        self.layout = layout  # where the kubelet's part writes the pod's cgroup (cgroupfs)
        self.spec = spec
        self.name = spec.name
        self.sandbox_id: str | None = None
        self.containers: dict[str, CriMember] = {}
        self._deleted = False
        level = QOS_CGROUP[spec.qos_class]  # "": a Guaranteed pod sits right under kubepods
        if node.systemd:
            # The kubelet's systemd driver: kubepods-burstable-pod<uid with _>.slice, where
            # each dash nests; labkit's node slice stands where the kubelet's root would.
            dashed = f"-{level}" if level else ""
            self.slice = (f"{node.kubepods_slice_prefix}{dashed}"
                          f"-pod{spec.uid.replace('-', '_')}.slice")
            self.cri_parent = self.slice
            self.cgroup_parent = systemd_units.slice_path(self.slice)
        else:
            self.slice = ""
            nested = f"{level}/" if level else ""
            self.cri_parent = f"{node.kubepods}/{nested}pod{spec.uid}"
            self.cgroup_parent = self.cri_parent
        self._key = node.session.name(f"cri-pod-{spec.name}-{spec.uid[:8]}")
        self._images: dict[str, tuple[str, tuple[str, ...] | None, str]] = {}
        self._sent: list[tuple[str, object]] = []  # the CRI requests that made it
        self.plan = Plan()  # the kubelet's cgroup writes for it, as a learner types them

    @property
    def cri(self):
        return self.node.cri

    # -- the kubelet's translation ----------------------------------------------
    def sandbox_config(self):
        """The ``PodSandboxConfig`` the kubelet sends (``generatePodSandboxConfig``,
        pkg/kubelet/kuberuntime/kuberuntime_sandbox.go): the pod's metadata, its hostname
        (none on the node's network, where the runtime keeps the node's UTS namespace), the
        pod's labels with ``io.kubernetes.pod.*`` and its annotations, the cgroup parent,
        the namespace modes and the pod's summed resources. labkit adds its session's
        labels, by which it finds what it made."""
        pb, spec = self.cri.pb, self.spec
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=spec.name, uid=spec.uid,
                                           namespace=spec.namespace, attempt=0),
            hostname="" if spec.namespace_modes.uts == "node" else spec.name,
            log_directory=os.path.join(self.node.state, "pods",
                                       f"{spec.namespace}_{spec.name}_{spec.uid}"),
            labels={**dict(spec.labels), **self._pod_labels(), **self.node.session.labels},
            annotations=dict(spec.annotations),
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=self.cri_parent,
                security_context=pb.LinuxSandboxSecurityContext(
                    namespace_options=namespace_option(pb, spec)),
                resources=self._resources(spec.resource_config)),
        )

    def _pod_labels(self) -> dict[str, str]:
        """``newPodLabels`` (pkg/kubelet/kuberuntime/labels.go): the pod's name, namespace
        and uid."""
        spec = self.spec
        return {"io.kubernetes.pod.name": spec.name,
                "io.kubernetes.pod.namespace": spec.namespace,
                "io.kubernetes.pod.uid": spec.uid}

    def _resources(self, config, extra=None):
        pb = self.cri.pb
        extra = extra or {}
        return pb.LinuxContainerResources(
            cpu_period=config.cpu_period, cpu_quota=config.cpu_quota or 0,
            cpu_shares=config.cpu_shares or 0, memory_limit_in_bytes=config.memory or 0,
            **extra)

    def linux_resources(self, container: PodContainer) -> LinuxContainerResources:
        """What the kubelet asks for this container's cgroup and OOM score: its own values,
        the pod-level limits where it has none, the score it gets in this Pod (sidecars,
        pod-level requests, ephemeral containers counted)."""
        facts = self.node.facts(self.layout)
        scores = self.spec.oom_score_adjs(facts.memory_capacity)
        return linux_container_resources(container.resources, self.spec.qos_class, facts,
                                         pod=self.spec.resources,
                                         oom=scores.get(container.name))

    def container_config(self, container: PodContainer, target_id: str = ""):
        """The ``ContainerConfig`` the kubelet sends (``generateContainerConfig``,
        pkg/kubelet/kuberuntime/kuberuntime_container.go): command and args with
        ``$(VAR)`` expanded, the environment, ``newContainerLabels`` and
        ``newContainerAnnotations`` (labels.go; the spec hash, which only the kubelet's own
        bookkeeping reads, is left out), the resources and the namespace modes (an
        ephemeral container's PID ``TARGET`` with ``target_id``)."""
        pb = self.cri.pb
        ref, stand_in_command, _note = self._images[container.name]
        command, args = container.command_and_args()
        if not command and not args and stand_in_command:  # the stand-in's own CMD
            command = list(stand_in_command)
        wanted = self.linux_resources(container)
        annotations = {"io.kubernetes.container.restartCount": "0",
                       "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
                       "io.kubernetes.container.terminationMessagePolicy": "File",
                       "io.kubernetes.pod.terminationGracePeriod": str(self.spec.grace_period_s)}
        if container.ports:
            annotations["io.kubernetes.container.ports"] = json.dumps(
                [{"containerPort": p.container_port, "protocol": p.protocol,
                  **({"name": p.name} if p.name else {})} for p in container.ports],
                separators=(",", ":"))
        return pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=container.name, attempt=0),
            image=pb.ImageSpec(image=ref),
            command=command, args=args,
            envs=[pb.KeyValue(key=k, value=v) for k, v in container.environment.items()],
            labels={"io.kubernetes.container.name": container.name, **self._pod_labels(),
                    **self.node.session.labels},
            annotations=annotations,
            log_path=f"{container.name}/0.log",
            linux=pb.LinuxContainerConfig(
                resources=self._resources(wanted.config, {
                    "oom_score_adj": wanted.oom_score_adj,
                    "memory_swap_limit_in_bytes": wanted.memory_swap_limit,
                    "hugepage_limits": [pb.HugepageLimit(page_size=size, limit=limit)
                                        for size, limit in wanted.hugepage_limits],
                    "unified": dict(wanted.unified)}),
                security_context=pb.LinuxContainerSecurityContext(
                    namespace_options=namespace_option(pb, self.spec, target_id))),
        )

    def requests(self) -> list[tuple[str, dict]]:
        """The CRI requests that made this pod, in order, as readable data (the protobuf
        messages sent, as JSON names them): ``RunPodSandbox``, then ``CreateContainer`` and
        ``StartContainer`` per container."""
        from google.protobuf.json_format import MessageToDict

        return [(method, MessageToDict(message, preserving_proto_field_name=True))
                for method, message in self._sent]

    # -- running ---------------------------------------------------------------------
    def _resolve_images(self, containers: Sequence[PodContainer] | None = None) -> list[str]:
        notes = []
        for container in (containers if containers is not None else
                          (*self.spec.init_containers, *self.spec.containers)):
            asked = container.spec.image
            ref = asked if "/" in asked.split(":")[0] or asked.startswith("docker.io") \
                else f"docker.io/library/{asked}"
            image_id = self.node.image_id(ref)
            if image_id:  # the kubelet sends the image's id, as ImageStatus gives it
                self._images[container.name] = (image_id, None, "")
                continue
            stand_in = images.stand_in_for(asked)
            if stand_in is None:
                raise ImageUnavailable(
                    f"The image {asked!r} of container {container.name} is not loaded into "
                    f"labkit's containerd, which never pulls: use an image the lab brings "
                    f"({images.BROUGHT})."
                )
            if not container.command and not container.args and stand_in.command is None:
                raise LabError(f"Container {container.name} needs a command: the stand-in for "
                               f"{asked} has no default one.")
            note = (f"{asked} is not loaded into labkit's containerd, which never pulls: "
                    f"container {container.name} runs labkit's stand-in ({stand_in.what}).")
            self._images[container.name] = (self.node.image_id(self.node.toolbox_image),
                                             stand_in.command, note)
            notes.append(note)
        return notes

    def start(self, quiet: bool = False) -> CriPod:
        refuse_host_users(self.spec, "containerd 1.6, this lab's CRI runtime, cannot make one "
                          "(containerd 2.0 can, with runc 1.2 and Linux 6.3; a kubelet of 1.30 "
                          "or later fails such a Pod on containerd 1.6)")
        notes = self._resolve_images()  # before anything is created
        self.node.session.on_cleanup(self._key, self.delete)
        try:
            # The kubelet's part: the QoS tiers' values and the pod's cgroup, before the
            # sandbox (the pod's cgroup holds what its containers' runtime puts under it).
            if self.spec.qos_class == "Burstable":
                self.node.burstable[self.spec.uid] = self.spec.resource_config_requests
            self.plan = self._kubelet_plan()
            if self.slice:
                systemd_units.execute(self.plan.commands())
            else:
                execute(self.plan.steps)
            pb = self.cri.pb
            sandbox_config = self.sandbox_config()
            self.sandbox_id = self._send(
                "RunPodSandbox", pb.RunPodSandboxRequest(config=sandbox_config),
                f"run the sandbox of pod {self.name}").pod_sandbox_id
            self._run_init_containers(sandbox_config)
            for container in self.spec.containers:
                self._create_and_start(container, sandbox_config)
        except BaseException:
            self.delete()
            raise
        if not quiet:
            for note in notes:
                self.node.session.say_once(note)
        return self

    def _create_and_start(self, container: PodContainer, sandbox_config,
                          target_id: str = "") -> None:
        """``CreateContainer`` and ``StartContainer``, as the kubelet's ``startContainer``
        (pkg/kubelet/kuberuntime/kuberuntime_container.go) sends them."""
        pb = self.cri.pb
        created = self._send("CreateContainer", pb.CreateContainerRequest(
            pod_sandbox_id=self.sandbox_id, config=self.container_config(container, target_id),
            sandbox_config=sandbox_config), f"create container {container.name}")
        ref = self._images[container.name][0]
        self.containers[container.name] = CriMember(container.name, created.container_id, ref)
        self._send("StartContainer", pb.StartContainerRequest(
            container_id=created.container_id), f"start container {container.name}")

    def _status(self, name: str):
        """The CRI's ``ContainerStatus`` of one of this pod's containers."""
        pb = self.cri.pb
        return self.node.call("ContainerStatus", pb.ContainerStatusRequest(
            container_id=self.containers[name].id), what=f"read {name}'s status").status

    def _run_init_containers(self, sandbox_config) -> None:
        """The init containers, as the kubelet's sync loop takes them
        (``computeInitContainerActions``, :func:`labkit.kubernetes.init_container_actions`):
        one at a time, each to its end (exit 0) before the next; a sidecar only until it runs.
        labkit takes the kubelet's next step again and again, asking the runtime each time,
        until the Pod is initialized. It restarts nothing (no back-off, no restart count): an
        init container that fails, or a sidecar that exits, stops the Pod's making."""
        init = self.spec.init_containers
        deadline = time.monotonic() + INIT_TIMEOUT_S
        while init:
            states: list[tuple[str, int] | None] = []
            for container in init:
                if container.name not in self.containers:
                    states.append(None)
                    continue
                status = self._status(container.name)
                states.append((CONTAINER_STATES.get(status.state, "Unknown"), status.exit_code))
            actions = init_container_actions([c.sidecar for c in init], states,
                                             self.spec.restart_policy)
            if actions.initialized:
                return
            if actions.kill_pod:
                failed = next(c.name for c, s in zip(init, states, strict=True)
                              if s and s[0] != "Running" and s[1])
                raise LabError(f"Init container {failed} of pod {self.name} failed, and under "
                               "restartPolicy Never the kubelet gives the Pod up (Failed): fix "
                               "its command and make the Pod again.")
            for i in actions.start:
                state = states[i]
                if state is not None:  # the kubelet would start it again; labkit does not
                    what = "a sidecar that exited" if init[i].sidecar else \
                        f"an init container that exited with code {state[1]}"
                    raise LabError(f"{init[i].name} of pod {self.name} is {what}: the kubelet "
                                   "would start it again (with a back-off), labkit restarts no "
                                   "container: fix its command and make the Pod again.")
                self._create_and_start(init[i], sandbox_config)
            if time.monotonic() > deadline:
                waiting = next((c.name for c, s in zip(init, states, strict=True) if s),
                               init[0].name)
                raise LabError(f"Init container {waiting} of pod {self.name} has not finished "
                               f"(or, a sidecar, not started) within {INIT_TIMEOUT_S} s: an init "
                               "container must end for the Pod to start; give it a command "
                               "that does.")
            time.sleep(0.05)

    def debug(self, name: str = "debugger", image: str = "busybox", *, target: str | None = None,
              command=None, args=None, quiet: bool = False) -> None:
        """Add an ephemeral container to this running pod, as ``kubectl debug`` asks the API
        server to (the ``ephemeralcontainers`` subresource) and the kubelet then starts it:
        checked first as the API server checks one (:func:`labkit.manifest.
        ephemeral_container`), then ``CreateContainer`` in the pod's sandbox, in the PID
        namespace of ``target`` (the CRI's ``TARGET`` mode with the target's container id;
        containerd 1.6 joins the target's running process), and ``StartContainer``. Without a
        command it runs ``sleep infinity`` (kubectl debug gives a shell on a terminal, which a
        notebook has not).

        >>> pod.debug("debugger", target="app")                         # doctest: +SKIP
        >>> pod.exec("debugger", "cat /proc/1/cmdline").output          # doctest: +SKIP
        """
        from ...manifest import ephemeral_container

        if self._deleted or self.sandbox_id is None:
            raise LabError(f"Pod {self.name} is deleted: make it again, then debug it.")
        if command is None and args is None:
            command = ["sleep", "infinity"]
        container = ephemeral_container(self.spec, name, image, command=command, args=args,
                                        target=target)
        target_id = ""
        if target is not None:
            if target not in self.containers:
                raise LabError(f"Container {target} of pod {self.name} has not started: start "
                               "the pod's containers first.")
            target_id = self.containers[target].id
        notes = self._resolve_images([container])
        self.spec = self.spec.with_ephemeral(container)
        self._create_and_start(container, self.sandbox_config(), target_id)
        if not quiet:
            for note in notes:
                self.node.session.say_once(note)

    def timeline(self) -> list[dict[str, object]]:
        """Each container's life as containerd reports it (``ContainerStatus``, what
        ``crictl inspect`` shows): its kind (init, sidecar, container, ephemeral), state and
        exit code, and when it was created, started and finished (nanoseconds since the
        epoch, 0 for not yet), in the order labkit created them."""
        rows = []
        kinds = {c.name: _kind(c) for c in self.spec.all_containers}
        for name in self.containers:
            status = self._status(name)
            rows.append({"NAME": name, "KIND": kinds.get(name, "container"),
                         "STATE": CONTAINER_STATES.get(status.state, "Unknown"),
                         "EXIT CODE": status.exit_code, "CREATED": status.created_at,
                         "STARTED": status.started_at, "FINISHED": status.finished_at})
        return rows

    def _kubelet_plan(self) -> Plan:
        """What the kubelet writes in the cgroup tree for this pod: the QoS tiers' cpu.shares
        (``setCPUCgroupConfig``: besteffort 2, burstable from every Burstable pod's
        requests) and the pod's cgroup with its values (``ResourceConfigForPod``)."""
        node, values = self.node, self.spec.resource_config
        tiers = {"besteffort": ResourceConfig(cpu_shares=qos_tier_shares("BestEffort")),
                 "burstable": ResourceConfig(cpu_shares=qos_tier_shares(
                     "Burstable", node.burstable.values()))}
        if self.slice:
            steps = [step for level, config in tiers.items()
                     for step in systemd_units.plan_slice(
                         f"{node.kubepods_slice_prefix}-{level}.slice", config)]
            return Plan([*steps, *systemd_units.plan_slice(self.slice, values)])
        # cgroup v2 without systemd (the lab's container, Docker Desktop): each cgroup from
        # the root to the QoS tiers hands cpu, memory and pids down first (the kubelet's
        # cgroupfs driver, through runc, hands down every controller), or the tiers and
        # the pod would have no limit files.
        steps = plan_delegation_down(self.layout, node.kubepods)
        for level, config in tiers.items():
            steps += plan_cgroup(self.layout, f"{node.kubepods}/{level}", config)
            steps += plan_handing_down(self.layout, f"{node.kubepods}/{level}")
        return Plan([*steps, *plan_cgroup(self.layout, self.cgroup_parent, values)])

    def _send(self, method: str, request, what: str):
        """One CRI call of the pod's making, kept (as sent) for :meth:`requests`."""
        self._sent.append((method, request))
        return self.node.call(method, request, what=what)

    def _pid(self, info: dict[str, str]) -> int:
        return int(json.loads(info["info"])["pid"])

    def members(self) -> list[Member]:
        pb = self.cri.pb
        status = self.node.call("PodSandboxStatus", pb.PodSandboxStatusRequest(
            pod_sandbox_id=self.sandbox_id, verbose=True), what="read the sandbox's status")
        found = [Member("pause", self._pid(status.info), self.sandbox_id, "sandbox")]
        specs = {c.name: c for c in self.spec.all_containers}
        for member in self.containers.values():
            status = self.node.call("ContainerStatus", pb.ContainerStatusRequest(
                container_id=member.id, verbose=True), what=f"read {member.name}'s status")
            if status.status.state != 1 and self.spec.init_containers:  # not running: an
                continue  # init container that has done its work has no process to observe
            found.append(Member(member.name, self._pid(status.info), member.id, member.name,
                                specs[member.name].spec.asked))
        return found

    def _handles(self) -> dict[str, CriMember]:
        pause = {"pause": CriMember("pause", self.sandbox_id, self.node.pause_image)} \
            if self.sandbox_id else {}
        return {**pause, **self.containers}

    @property
    def state(self) -> str:
        """``running``; ``sandbox gone`` once pause is (NotReady); the containers that do
        not run (``app exited``); ``deleted``."""
        if self._deleted:
            return "deleted"
        try:
            states = self.states()
        except EngineRefused:  # the sandbox was removed behind labkit's back
            return "sandbox gone"
        if states.pop("pause") != "Ready":
            return "sandbox gone"
        done = {c.name for c in self.spec.init_containers if not c.sidecar}
        stopped = [f"{name} {state.lower()}" for name, state in states.items()
                   if state != "Running" and name not in done]
        return ", ".join(stopped) or "running"

    def exec(self, container: str, command: str | Sequence[str],
             timeout: int = 30) -> ExecResult:
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        response = self.node.call("ExecSync", self.cri.pb.ExecSyncRequest(
            container_id=self.containers[container].id, cmd=argv, timeout=timeout),
            what=f"run {argv[0]} in {container}")
        output = (response.stdout + response.stderr).decode(errors="replace")
        return ExecResult(response.exit_code, output)

    def crictl_pods(self) -> list[dict[str, str]]:
        """What ``crictl pods`` lists for this pod (its ``ListPodSandbox`` call): one row,
        the sandbox (the CREATED and RUNTIME columns left out)."""
        pb = self.cri.pb
        listed = self.node.call("ListPodSandbox", pb.ListPodSandboxRequest(
            filter=pb.PodSandboxFilter(id=self.sandbox_id)), what="list the pod's sandbox")
        return [{"POD ID": item.id[:13], "STATE": SANDBOX_STATES.get(item.state, "?"),
                 "NAME": item.metadata.name, "NAMESPACE": item.metadata.namespace,
                 "ATTEMPT": str(item.metadata.attempt)} for item in listed.items]

    def crictl_ps(self) -> list[dict[str, str]]:
        """What ``crictl ps -a`` lists for this pod (its ``ListContainers`` call): the
        manifest's containers, never pause (the CREATED column left out; IMAGE is what the
        kubelet sent, the image's id)."""
        pb = self.cri.pb
        listed = self.node.call("ListContainers", pb.ListContainersRequest(
            filter=pb.ContainerFilter(pod_sandbox_id=self.sandbox_id)),
            what="list the pod's containers")
        return [{"CONTAINER": item.id[:13], "IMAGE": _short_image(item.image.image),
                 "STATE": CONTAINER_STATES.get(item.state, "?"), "NAME": item.metadata.name,
                 "ATTEMPT": str(item.metadata.attempt), "POD ID": item.pod_sandbox_id[:13],
                 "POD": self.spec.name}
                for item in sorted(listed.containers, key=lambda c: c.metadata.name)]

    def ctr_containers(self) -> tuple[str, str]:
        """``ctr containers list`` on labkit's containerd, below the CRI: every container
        containerd keeps for this node, pause included. Returns the command, as typed, and
        what it printed."""
        command, output = self.node.ctr_listing()
        return command, output

    def states(self) -> dict[str, str]:
        """The runtime's word on each member: ``Ready``/``NotReady`` for the sandbox,
        ``Running``/``Exited``/... for the containers."""
        pb = self.cri.pb
        sandbox = self.node.call("PodSandboxStatus", pb.PodSandboxStatusRequest(
            pod_sandbox_id=self.sandbox_id), what="read the sandbox's status").status
        found = {"pause": "Ready" if sandbox.state == 0 else "NotReady"}
        for name, member in self.containers.items():
            status = self.node.call("ContainerStatus", pb.ContainerStatusRequest(
                container_id=member.id), what=f"read {name}'s status").status
            found[name] = CONTAINER_STATES.get(status.state, "Unknown")
        return found

    def kill_sandbox(self) -> None:
        """SIGKILL the pause process, as if the sandbox crashed."""
        os.kill(self.members()[0].pid, 9)
        deadline = time.monotonic() + 10
        while self.states()["pause"] == "Ready" and time.monotonic() < deadline:
            time.sleep(0.05)

    # -- deletion ---------------------------------------------------------------------------
    def delete(self) -> None:
        """StopPodSandbox + RemovePodSandbox (containers go with it), then the pod's cgroups."""
        if self.sandbox_id is not None and self.node.cri is not None:
            with contextlib.suppress(LabError):
                pb = self.cri.pb
                self.node.call("StopPodSandbox", pb.StopPodSandboxRequest(
                    pod_sandbox_id=self.sandbox_id))
                self.node.call("RemovePodSandbox", pb.RemovePodSandboxRequest(
                    pod_sandbox_id=self.sandbox_id))
        self.sandbox_id = None
        self.containers = {}
        if self.slice:
            systemd_units.stop_slice(self.slice)
        else:
            remove_cgroup(self.layout, self.cgroup_parent)  # the tiers stay, as the kubelet's
        if self.node.burstable.pop(self.spec.uid, None) is not None:
            self._recount_burstable()
        self.node.session.forget(self._key)
        self._deleted = True

    def _recount_burstable(self) -> None:
        """The burstable tier's cpu.shares without this pod's requests, if the tier is still
        there (a tier with no pod left has gone with its last pod)."""
        config = ResourceConfig(cpu_shares=qos_tier_shares("Burstable",
                                                           self.node.burstable.values()))
        with contextlib.suppress(LabError, OSError):
            if self.slice:
                systemd_units.execute(systemd_units.plan_slice(
                    f"{self.node.kubepods_slice_prefix}-burstable.slice", config)[1:])
                return
            path = f"{self.node.kubepods}/burstable"
            cpu = self.layout.for_controller("cpu")
            if cpu and os.path.isdir(cpu.directory(path) or ""):
                execute(plan_cgroup(self.layout, path, config))


def _short_image(image: str) -> str:
    """crictl's IMAGE column: an image id without its ``sha256:`` and cut to 13, as crictl
    prints it; a name as it is."""
    return image.removeprefix("sha256:")[:13] if image.startswith("sha256:") else image
