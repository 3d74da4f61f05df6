"""What to run: a container, or a Pod of containers, in exact numbers before anything starts.

``ContainerSpec`` is validated from a learner's keywords here; ``PodSpec`` is built by
:mod:`labkit.manifest` from YAML or keywords, with every rule the API server applies.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, fields
from typing import ClassVar

from . import kubernetes
from .errors import SpecError
from .model import Limits
from .quantity import Style, parse_cpus, parse_memory

_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@dataclass(frozen=True)
class ContainerSpec:
    """One container: image, command, and its limits in bytes and cores."""

    name: str
    image: str
    command: tuple[str, ...] | None = None
    memory_bytes: int | None = None
    cpus: float | None = None
    ports: dict[int, int] = field(default_factory=dict)  # container port -> host port

    @classmethod
    def build(cls, name: str, image: str, command=None, *, memory=None, cpus=None,
              ports=None, style: Style = "docker") -> ContainerSpec:
        """Validate learner input (``memory="512MB"``, ``cpus=0.5``) into a spec."""
        check_name(name)
        if not image or not isinstance(image, str):
            raise SpecError(f"Container {name!r} has no image: give one, e.g. image='nginx'.")
        if isinstance(command, str):
            command = ("sh", "-c", command)
        return cls(
            name=name,
            image=image,
            command=tuple(str(c) for c in command) if command else None,
            memory_bytes=parse_memory(memory, style=style) if memory is not None else None,
            cpus=parse_cpus(cpus) if cpus is not None else None,
            ports=check_published_ports(ports),
        )

    @property
    def asked(self) -> Limits:
        """The limits as the kernel should show them."""
        quota = kubernetes.milli_cpu_to_quota(kubernetes.milli_cpu(self.cpus)) or None
        return Limits(memory_bytes=self.memory_bytes, cpu_quota_us=quota,
                      cpu_period_us=kubernetes.QUOTA_PERIOD if quota else None)


@dataclass(frozen=True)
class Port:
    """A port the container declares (``containerPort``): informational, as in Kubernetes."""

    container_port: int
    protocol: str = "TCP"  # TCP, UDP or SCTP
    name: str | None = None


@dataclass(frozen=True)
class PodContainer:
    """A container of a Pod: what to run, its limits and its requests, and what it declares.

    ``command`` and ``args`` are the Pod's (the image's ENTRYPOINT and CMD replaced, as
    Kubernetes says), before ``$(VAR)`` expansion; ``spec.command`` is not used for a Pod's
    container (it is ``docker run``'s command, for :meth:`labkit.Lab.run`)."""

    spec: ContainerSpec
    requests_memory: int | None = None
    requests_cpus: float | None = None
    env: tuple[tuple[str, str], ...] = ()
    ports: tuple[Port, ...] = ()  # declared; spec.ports stays Docker's publishing (none here)
    image_pull_policy: str = "IfNotPresent"  # Always, IfNotPresent or Never
    command: tuple[str, ...] | None = None
    args: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def resources(self) -> kubernetes.Resources:
        """Its CPU (millicores) and memory, requests defaulted from limits as the API
        server defaults them."""
        return kubernetes.default_requests(kubernetes.Resources(
            cpu_request=kubernetes.milli_cpu(self.requests_cpus),
            cpu_limit=kubernetes.milli_cpu(self.spec.cpus),
            memory_request=self.requests_memory, memory_limit=self.spec.memory_bytes))

    @property
    def resource_config(self) -> kubernetes.ResourceConfig:
        """What the kubelet asks the runtime to write in its cgroup."""
        return kubernetes.container_resources(self.resources)

    @property
    def environment(self) -> dict[str, str]:
        """Its environment as the kubelet gives it: ``$(VAR)`` in values expanded."""
        return kubernetes.environment(self.env)

    def command_and_args(self) -> tuple[list[str], list[str]]:
        """Its command and args as the kubelet sends them: ``$(VAR)`` expanded."""
        return kubernetes.command_and_args(self.command, self.args, self.environment)

    def argv(self, entrypoint=None, cmd=None) -> list[str]:
        """What runs, given the image's ENTRYPOINT and CMD."""
        return kubernetes.process_args(*self.command_and_args(), entrypoint, cmd)


@dataclass(frozen=True)
class InitContainer(PodContainer):
    """One of a Pod's ``initContainers``: run before the containers, one after the other,
    each to its end; with ``restartPolicy: Always`` a sidecar instead, which keeps running
    beside the containers (KEP-753: alpha 1.28, beta 1.29, stable 1.33)."""

    restart_policy: str | None = None

    @property
    def sidecar(self) -> bool:
        return self.restart_policy == "Always"


@dataclass(frozen=True)
class EphemeralContainer(PodContainer):
    """An ephemeral container added to a running Pod (``kubectl debug``), with the container
    whose PID namespace it joins (``targetContainerName``), if any."""

    target: str | None = None


@dataclass(frozen=True)
class PodSpec:
    """A Pod: its containers, the four namespace flags, and what else the lab accepts."""

    name: str
    containers: tuple[PodContainer, ...]
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    share_process_namespace: bool = False
    host_network: bool = False
    host_ipc: bool = False
    host_pid: bool = False
    restart_policy: str = "Always"  # Always, OnFailure, Never
    grace_period_s: int = 30  # terminationGracePeriodSeconds
    namespace: str = "default"
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()  # what the API server would warn about, said on creation

    # What a Pod of today adds (FullPodSpec): none here, so that a Pod without them is
    # recorded (labkit.replay) exactly as before they existed.
    init_containers: ClassVar[tuple[InitContainer, ...]] = ()
    ephemeral_containers: ClassVar[tuple[EphemeralContainer, ...]] = ()
    resources: ClassVar[kubernetes.Resources | None] = None  # spec.resources, defaulted
    host_users: ClassVar[bool] = True  # spec.hostUsers: false, a user namespace of its own

    @property
    def all_containers(self) -> tuple[PodContainer, ...]:
        """Init containers, containers, ephemeral containers: every container of the Pod."""
        return (*self.init_containers, *self.containers, *self.ephemeral_containers)

    @property
    def pod_resources(self) -> kubernetes.PodResources:
        """The Pod's CPU and memory as the kubelet reads them: containers, init containers
        (sidecars marked), pod-level resources."""
        return kubernetes.PodResources(
            tuple(c.resources for c in self.containers),
            tuple((c.resources, c.sidecar) for c in self.init_containers), self.resources)

    @property
    def qos_class(self) -> str:
        """Guaranteed, Burstable or BestEffort, as the kubelet computes it."""
        return kubernetes.pod_qos_class(self.pod_resources)

    @property
    def resource_config(self) -> kubernetes.ResourceConfig:
        """The values the kubelet writes on the pod's cgroup."""
        return kubernetes.pod_resource_config(self.pod_resources)

    @property
    def resource_config_requests(self) -> int:
        """The pod's effective CPU request in millicores (what a QoS tier counts)."""
        return kubernetes.pod_requests(self.pod_resources).cpu_request or 0

    @property
    def effective_requests(self) -> kubernetes.Resources:
        """What the scheduler and the kubelet count the Pod as asking for (``PodRequests``):
        CPU in millicores, memory in bytes."""
        return kubernetes.pod_requests(self.pod_resources)

    @property
    def effective_limits(self) -> kubernetes.Resources:
        """The Pod's limits as the kubelet adds them up (``PodLimits``)."""
        return kubernetes.pod_limits(self.pod_resources)

    def oom_score_adjs(self, memory_capacity: int) -> dict[str, int]:
        """Container name -> the OOM score adjustment the kubelet asks for it, ephemeral
        containers included (``GetContainerOOMScoreAdjust``)."""
        regular, init, ephemeral = kubernetes.oom_score_adjs(
            self.pod_resources, self.qos_class, memory_capacity)
        return {**{c.name: score for c, score in zip(self.init_containers, init, strict=True)},
                **{c.name: score for c, score in zip(self.containers, regular, strict=True)},
                **{c.name: ephemeral for c in self.ephemeral_containers}}

    @property
    def namespace_modes(self) -> kubernetes.NamespaceModes:
        """Whose net, ipc, pid and uts namespaces the containers are in."""
        return kubernetes.namespace_modes(
            host_network=self.host_network, host_ipc=self.host_ipc, host_pid=self.host_pid,
            share_process_namespace=self.share_process_namespace)

    def only_the_cri_runs(self) -> list[str]:
        """The fields of this Pod that, in this lab, only labkit's containerd runs
        (``lab.cri_pod``): init containers, pod-level resources."""
        return [name for name, used in (("spec.initContainers", self.init_containers),
                                        ("spec.resources", self.resources is not None)) if used]

    def with_ephemeral(self, container: EphemeralContainer) -> FullPodSpec:
        """This Pod with an ephemeral container added, as the ``ephemeralcontainers``
        subresource adds one."""
        return FullPodSpec(**{f.name: getattr(self, f.name) for f in fields(PodSpec)},
                           init_containers=self.init_containers, resources=self.resources,
                           host_users=self.host_users,
                           ephemeral_containers=(*self.ephemeral_containers, container))


@dataclass(frozen=True)
class FullPodSpec(PodSpec):
    """A Pod with what Pods of today may add to ``containers``: init containers (sidecars
    among them), pod-level resources (``spec.resources``, defaulted as the API server
    defaults them), the ephemeral containers added while it runs, and ``hostUsers: false``.
    A class of its own so that a Pod with none of them stays a plain :class:`PodSpec`."""

    init_containers: tuple[InitContainer, ...] = ()
    ephemeral_containers: tuple[EphemeralContainer, ...] = ()
    resources: kubernetes.Resources | None = None
    host_users: bool = True


def refuse_what_only_the_cri_runs(spec: PodSpec) -> None:
    """For every pod kind but labkit's containerd, before anything is made: a field of a Pod
    of today that this kind does not run is refused by name, rather than left out."""
    for name in spec.only_the_cri_runs():
        raise SpecError(f"{name} is real Kubernetes that only labkit's containerd runs in this "
                        f"lab: make this Pod with lab.cri_pod, or remove {name}.")


def refuse_host_users(spec: PodSpec, why: str) -> None:
    """For every pod kind that makes no user namespace, before anything is made:
    ``hostUsers: false`` is refused with the reason, rather than run in the host's."""
    if not spec.host_users:
        raise SpecError(f"spec.hostUsers: false asks for a user namespace of the Pod's own, "
                        f"and {why}: make this Pod with lab.scratch_pod (the same manifest) or "
                        "lab.podman_pod(name=..., containers=..., host_users=False), or remove "
                        "hostUsers.")


def check_name(name: str, what: str = "The name") -> str:
    """A DNS-1123 label of at most 40 characters: stricter than Kubernetes (a label of 63 for
    containers, a subdomain of 253 with dots for a Pod), since labkit builds engine, cgroup
    and hostname strings (``lk-<session>-<pod>-<container>``) from it."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or len(name) > 40:
        raise SpecError(
            f"{what} {name!r} cannot be used: use lower-case letters, digits and '-' "
            "(at most 40), starting and ending with a letter or digit."
        )
    return name


def check_published_ports(ports) -> dict[int, int]:
    """``{container port: host port}`` for ``docker run -p 127.0.0.1:HOST:PORT``; host port 0
    lets Docker choose one."""
    if ports is None:
        return {}
    if not isinstance(ports, dict):
        raise SpecError(f"ports={ports!r} is not a mapping: give container port -> host port, "
                        "e.g. ports={80: 8080}.")
    for port, host in ports.items():
        for number, low in ((port, 1), (host, 0)):
            if isinstance(number, bool) or not isinstance(number, int) \
                    or not low <= number <= 65535:
                raise SpecError(f"ports={{{port!r}: {host!r}}} is not a port mapping: give "
                                f"numbers between {low} and 65535, e.g. ports={{80: 8080}}.")
    return dict(ports)
