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
from ...kubernetes import CFS_PERIOD_US, cfs_quota, cpu_shares, oom_score_adj, requests
from ...model import ExecResult, Member
from ...node import systemd_units
from ...node.cgroup_writer import make_cgroup, remove_cgroup
from ...node.mounts import CgroupLayout
from ...spec import PodContainer, PodSpec
from ..pod import DeletedOnExit
from .cri import CONTAINER_STATES
from .node import ContainerdNode

CRI_MODES = {"pod": 0, "container": 1, "node": 2}  # runtime.v1 NamespaceMode: POD, CONTAINER, NODE
QOS_LEVELS = {"Guaranteed": "", "Burstable": "burstable", "BestEffort": "besteffort"}


def namespace_option(pb, spec: PodSpec):
    """The pod's namespace modes as the CRI's ``NamespaceOption`` (uts follows the network)."""
    modes = spec.namespace_modes
    return pb.NamespaceOption(network=CRI_MODES[modes.net], pid=CRI_MODES[modes.pid],
                              ipc=CRI_MODES[modes.ipc])


def _memory_capacity() -> int:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 1 << 34


@dataclass
class CriMember:
    name: str
    id: str
    image: str
    note: str = ""


class CriPod(DeletedOnExit):
    """A Pod running on labkit's containerd, reported with every member's host PID."""

    kind = "on labkit's containerd"

    def __init__(self, node: ContainerdNode, spec: PodSpec, layout: CgroupLayout) -> None:
        self.node = node
        self.layout = layout  # where the kubelet's part writes the pod's cgroup (cgroupfs)
        self.spec = spec
        self.name = spec.name
        self.sandbox_id: str | None = None
        self.containers: dict[str, CriMember] = {}
        self._deleted = False
        level = QOS_LEVELS[spec.qos_class]  # "": a Guaranteed pod sits right under kubepods
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

    @property
    def cri(self):
        return self.node.cri

    # -- the kubelet's translation ----------------------------------------------
    def sandbox_config(self):
        pb, spec = self.cri.pb, self.spec
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=spec.name, uid=spec.uid, namespace="default",
                                           attempt=0),
            hostname="" if spec.namespace_modes.uts == "node" else spec.name,
            log_directory=os.path.join(self.node.state, "pods",
                                       f"default_{spec.name}_{spec.uid}"),
            labels={"io.kubernetes.pod.name": spec.name, "io.kubernetes.pod.namespace": "default",
                    "io.kubernetes.pod.uid": spec.uid, **self.node.session.labels},
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=self.cri_parent,
                security_context=pb.LinuxSandboxSecurityContext(
                    namespace_options=namespace_option(pb, spec))),
        )

    def container_config(self, container: PodContainer):
        pb = self.cri.pb
        ref, command, _note = self._images[container.name]
        limits = container.spec
        memory_request, cpu_request = requests(container)
        return pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=container.name, attempt=0),
            image=pb.ImageSpec(image=ref),
            command=list(container.spec.command or command or ()),
            envs=[pb.KeyValue(key=k, value=v) for k, v in container.env],
            labels={"io.kubernetes.container.name": container.name,
                    "io.kubernetes.pod.name": self.spec.name,
                    "io.kubernetes.pod.uid": self.spec.uid, **self.node.session.labels},
            log_path=f"{container.name}/0.log",
            linux=pb.LinuxContainerConfig(
                resources=pb.LinuxContainerResources(
                    cpu_period=CFS_PERIOD_US, cpu_quota=cfs_quota(limits.cpus) or 0,
                    cpu_shares=cpu_shares(cpu_request),
                    memory_limit_in_bytes=limits.memory_bytes or 0,
                    oom_score_adj=oom_score_adj(self.spec.qos_class, memory_request,
                                                _memory_capacity())),
                security_context=pb.LinuxContainerSecurityContext(
                    namespace_options=namespace_option(pb, self.spec))),
        )

    # -- running ---------------------------------------------------------------------
    def _resolve_images(self) -> list[str]:
        notes = []
        for container in self.spec.containers:
            asked = container.spec.image
            ref = asked if "/" in asked.split(":")[0] or asked.startswith("docker.io") \
                else f"docker.io/library/{asked}"
            if self.node.has_image(ref):
                self._images[container.name] = (ref, None, "")
                continue
            stand_in = images.stand_in_for(asked)
            if stand_in is None:
                raise ImageUnavailable(
                    f"The image {asked!r} of container {container.name} is not loaded into "
                    f"labkit's containerd, which never pulls: use an image the lab brings "
                    f"({images.BROUGHT})."
                )
            if container.spec.command is None and stand_in.command is None:
                raise LabError(f"Container {container.name} needs a command: the stand-in for "
                               f"{asked} has no default one.")
            note = (f"{asked} is not loaded into labkit's containerd, which never pulls: "
                    f"container {container.name} runs labkit's stand-in ({stand_in.what}).")
            self._images[container.name] = (self.node.toolbox_image, stand_in.command, note)
            notes.append(note)
        return notes

    def start(self, quiet: bool = False) -> CriPod:
        notes = self._resolve_images()  # before anything is created
        self.node.session.on_cleanup(self._key, self.delete)
        try:
            # The kubelet makes the pod's cgroup, with pod-level limits, before the sandbox.
            spec = self.spec
            if self.slice:
                systemd_units.start_slice(self.slice, spec.memory_limit, spec.cpu_limit)
            else:
                make_cgroup(self.layout, self.cgroup_parent,
                            memory_bytes=spec.memory_limit, cpus=spec.cpu_limit,
                            cpu_shares=sum(cpu_shares(requests(c)[1]) for c in spec.containers))
            sandbox_config = self.sandbox_config()
            self.sandbox_id = self.node.call(
                "RunPodSandbox", self.cri.pb.RunPodSandboxRequest(config=sandbox_config),
                what=f"run the sandbox of pod {self.name}").pod_sandbox_id
            for container in self.spec.containers:
                created = self.node.call("CreateContainer", self.cri.pb.CreateContainerRequest(
                    pod_sandbox_id=self.sandbox_id, config=self.container_config(container),
                    sandbox_config=sandbox_config), what=f"create container {container.name}")
                ref = self._images[container.name][0]
                self.containers[container.name] = CriMember(container.name,
                                                            created.container_id, ref)
                self.node.call("StartContainer", self.cri.pb.StartContainerRequest(
                    container_id=created.container_id), what=f"start container {container.name}")
        except BaseException:
            self.delete()
            raise
        if not quiet:
            for note in notes:
                self.node.session.say_once(note)
        return self

    def _pid(self, info: dict[str, str]) -> int:
        return int(json.loads(info["info"])["pid"])

    def members(self) -> list[Member]:
        pb = self.cri.pb
        status = self.node.call("PodSandboxStatus", pb.PodSandboxStatusRequest(
            pod_sandbox_id=self.sandbox_id, verbose=True), what="read the sandbox's status")
        found = [Member("pause", self._pid(status.info), self.sandbox_id, "sandbox")]
        for container in self.spec.containers:
            member = self.containers[container.name]
            status = self.node.call("ContainerStatus", pb.ContainerStatusRequest(
                container_id=member.id, verbose=True), what=f"read {member.name}'s status")
            found.append(Member(member.name, self._pid(status.info), member.id, member.name,
                                container.spec.asked))
        return found

    def names(self) -> dict[str, str]:
        found = {self.sandbox_id: "pause"} if self.sandbox_id else {}
        return found | {m.id: m.name for m in self.containers.values()}

    def __getitem__(self, name: str) -> CriMember:
        if name == "pause" and self.sandbox_id:
            return CriMember("pause", self.sandbox_id, self.node.pause_image)
        return self.containers[name]

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
        stopped = [f"{name} {state.lower()}" for name, state in states.items()
                   if state != "Running"]
        return ", ".join(stopped) or "running"

    def exec(self, container: str, command: str | Sequence[str],
             timeout: int = 30) -> ExecResult:
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        response = self.node.call("ExecSync", self.cri.pb.ExecSyncRequest(
            container_id=self.containers[container].id, cmd=argv, timeout=timeout),
            what=f"run {argv[0]} in {container}")
        output = (response.stdout + response.stderr).decode(errors="replace")
        return ExecResult(response.exit_code, output)

    def listing(self) -> list[dict[str, str]]:
        """What ``crictl pods`` and ``crictl ps`` would show for this pod."""
        pb = self.cri.pb
        rows = [{"CONTAINER": self.sandbox_id[:13], "IMAGE": self.node.pause_image,
                 "NAME": "(sandbox: pause)", "POD ID": self.sandbox_id[:13],
                 "STATE": self.states()["pause"]}]
        listed = self.node.call("ListContainers", pb.ListContainersRequest(
            filter=pb.ContainerFilter(pod_sandbox_id=self.sandbox_id)))
        for item in sorted(listed.containers, key=lambda c: c.metadata.name):
            rows.append({"CONTAINER": item.id[:13], "IMAGE": item.image.image,
                         "NAME": item.metadata.name, "POD ID": item.pod_sandbox_id[:13],
                         "STATE": CONTAINER_STATES.get(item.state, "?")})
        return rows

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

    def kill_pause(self) -> None:
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
            remove_cgroup(self.layout, self.cgroup_parent,
                          up_to=self.node.kubepods.rsplit("/", 1)[0])
        self.node.session.forget(self._key)
        self._deleted = True
