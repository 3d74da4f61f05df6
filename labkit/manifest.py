"""Kubernetes Pod manifests, checked field by field before anything is created.

>>> pod = parse_pod(open("pod.yaml").read())     # doctest: +SKIP
>>> [c.name for c in pod.containers]             # doctest: +SKIP
['app', 'sidecar']
"""

from __future__ import annotations

import difflib
import uuid
from dataclasses import dataclass, field

import yaml

from .errors import SpecError
from .quantity import parse_cpus, parse_memory
from .spec import ContainerSpec, check_name

# Fields labkit understands; anything else is a typo or something it cannot run.
TOP_FIELDS = {"apiVersion", "kind", "metadata", "spec"}
METADATA_FIELDS = {"name", "namespace", "labels", "annotations", "uid"}
SPEC_FIELDS = {"containers", "shareProcessNamespace", "hostNetwork", "hostIPC", "hostPID",
               "restartPolicy", "terminationGracePeriodSeconds"}
CONTAINER_FIELDS = {"name", "image", "command", "args", "ports", "resources", "env",
                    "imagePullPolicy"}
RESOURCE_FIELDS = {"limits", "requests"}
QUANTITY_FIELDS = {"cpu", "memory"}
PORT_FIELDS = {"containerPort", "name", "protocol"}
ENV_FIELDS = {"name", "value"}
# Real Pod fields that labkit's runtimes do not run: named, never silently dropped.
KNOWN_NOT_RUN = {
    "spec": {"volumes", "initContainers", "hostname", "subdomain", "securityContext",
             "serviceAccountName", "nodeSelector", "nodeName", "tolerations", "affinity",
             "dnsPolicy", "dnsConfig", "priorityClassName", "runtimeClassName",
             "ephemeralContainers", "hostAliases", "overhead", "readinessGates",
             "topologySpreadConstraints", "schedulerName", "enableServiceLinks"},
    "container": {"volumeMounts", "livenessProbe", "readinessProbe", "startupProbe",
                  "securityContext", "lifecycle", "workingDir", "envFrom", "stdin", "tty",
                  "volumeDevices", "terminationMessagePath", "terminationMessagePolicy"},
}


@dataclass(frozen=True)
class PodContainer:
    """A container of a Pod: what to run, its limits and its requests."""

    spec: ContainerSpec
    requests_memory: int | None = None
    requests_cpus: float | None = None
    env: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class PodSpec:
    name: str
    containers: tuple[PodContainer, ...]
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    share_process_namespace: bool = False
    host_network: bool = False
    host_ipc: bool = False
    host_pid: bool = False
    restart_policy: str = "Always"  # Always, OnFailure, Never
    grace_period_s: int = 30  # terminationGracePeriodSeconds

    @property
    def qos_class(self) -> str:
        """Guaranteed, Burstable or BestEffort, as the kubelet computes it."""
        limits = [(c.spec.memory_bytes, c.spec.cpus) for c in self.containers]
        requests = [(c.requests_memory or c.spec.memory_bytes, c.requests_cpus or c.spec.cpus)
                    for c in self.containers]
        if all(m is None and cpu is None for m, cpu in limits + requests):
            return "BestEffort"
        if all(m is not None and cpu is not None for m, cpu in limits) and requests == limits:
            return "Guaranteed"
        return "Burstable"

    @property
    def memory_limit(self) -> int | None:
        """The pod-level memory limit: the sum, when every container has one."""
        values = [c.spec.memory_bytes for c in self.containers]
        return sum(values) if values and None not in values else None  # type: ignore[arg-type]

    @property
    def cpu_limit(self) -> float | None:
        values = [c.spec.cpus for c in self.containers]
        return sum(values) if values and None not in values else None  # type: ignore[arg-type]


def _unknown(where: str, data: dict, allowed: set[str], kind: str | None = None) -> None:
    for key in data:
        if key in allowed:
            continue
        if kind and key in KNOWN_NOT_RUN[kind]:
            raise SpecError(
                f"{where}.{key} is a real Pod field that labkit's runtimes cannot run: "
                f"remove it from the manifest to run this Pod here."
            )
        close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(sorted(allowed))}."
        raise SpecError(f"Unknown field {key!r} in {where}: {hint}")


def _mapping(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{where} must be a mapping of fields: indent its fields under it.")
    return value


def _bool(spec: dict, key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise SpecError(f"spec.{key} must be true or false, not {value!r}: write {key}: true.")
    return value


def _quantities(container: str, section: str, data) -> tuple[int | None, float | None]:
    where = f"container {container}: resources.{section}"
    data = _mapping(data, where)
    _unknown(where, data, QUANTITY_FIELDS)
    memory = cpus = None
    try:
        if "memory" in data:
            memory = parse_memory(str(data["memory"]), style="kubernetes")
        if "cpu" in data:
            cpus = parse_cpus(data["cpu"])
    except SpecError as error:
        raise SpecError(f"{where}: {error}") from None
    return memory, cpus


def _container(index: int, data, seen: set[str]) -> PodContainer:
    data = _mapping(data, f"spec.containers[{index}]")
    name = data.get("name")
    where = f"container {name}" if name else f"spec.containers[{index}]"
    if not name:
        raise SpecError(f"{where} has no name: give every container a name, e.g. name: app.")
    _unknown(where, data, CONTAINER_FIELDS, "container")
    check_name(str(name))
    if name in seen:
        raise SpecError(f"Two containers are named {name!r}: container names in a Pod must be "
                        "unique.")
    seen.add(name)
    if not data.get("image"):
        raise SpecError(f"{where} has no image: add one, e.g. image: nginx.")
    command = list(data.get("command") or []) + list(data.get("args") or [])
    resources = _mapping(data.get("resources"), f"{where}: resources")
    _unknown(f"{where}: resources", resources, RESOURCE_FIELDS)
    memory, cpus = _quantities(name, "limits", resources.get("limits"))
    requests_memory, requests_cpus = _quantities(name, "requests", resources.get("requests"))
    ports = {}
    for port in data.get("ports") or []:
        port = _mapping(port, f"{where}: ports")
        _unknown(f"{where}: ports", port, PORT_FIELDS)
        if not isinstance(port.get("containerPort"), int):
            raise SpecError(f"{where}: a port needs containerPort as a number, e.g. "
                            "containerPort: 80.")
    env = []
    for item in data.get("env") or []:
        item = _mapping(item, f"{where}: env")
        _unknown(f"{where}: env", item, ENV_FIELDS)
        env.append((str(item.get("name")), str(item.get("value", ""))))
    spec = ContainerSpec(name=name, image=str(data["image"]),
                         command=tuple(str(c) for c in command) or None,
                         memory_bytes=memory, cpus=cpus, ports=ports)
    return PodContainer(spec, requests_memory, requests_cpus, tuple(env))


def parse_pod(text: str) -> PodSpec:
    """A PodSpec from Kubernetes YAML, or one SpecError sentence saying what to fix."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "it cannot be parsed"
        raise SpecError(f"The manifest is not valid YAML{where} ({problem}): fix the "
                        "indentation or punctuation there.") from None
    document = _mapping(document, "The manifest")
    if not document:
        raise SpecError("The manifest is empty: give a Pod with apiVersion: v1 and kind: Pod.")
    _unknown("the manifest", document, TOP_FIELDS)
    if document.get("kind") != "Pod":
        raise SpecError(f"The manifest is a {document.get('kind')!r}, not a Pod: "
                        "write kind: Pod.")
    metadata = _mapping(document.get("metadata"), "metadata")
    _unknown("metadata", metadata, METADATA_FIELDS)
    name = metadata.get("name")
    if not name:
        raise SpecError("The Pod has no name: add metadata.name, e.g. name: foo.")
    check_name(str(name))
    spec = _mapping(document.get("spec"), "spec")
    _unknown("spec", spec, SPEC_FIELDS, "spec")
    containers = spec.get("containers")
    if not containers or not isinstance(containers, list):
        raise SpecError("The Pod has no containers: list at least one under spec.containers.")
    seen: set[str] = set()
    parsed = tuple(_container(i, c, seen) for i, c in enumerate(containers))
    kwargs = {"uid": str(metadata["uid"])} if metadata.get("uid") else {}
    restart = spec.get("restartPolicy", "Always")
    if restart not in ("Always", "OnFailure", "Never"):
        raise SpecError(f"spec.restartPolicy {restart!r} is not one Kubernetes knows: use "
                        "Always, OnFailure or Never.")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if not isinstance(grace, int) or isinstance(grace, bool) or grace < 0:
        raise SpecError(f"spec.terminationGracePeriodSeconds {grace!r} is not a number of "
                        "seconds: write e.g. terminationGracePeriodSeconds: 30.")
    return PodSpec(
        name=str(name), containers=parsed,
        share_process_namespace=_bool(spec, "shareProcessNamespace"),
        host_network=_bool(spec, "hostNetwork"), host_ipc=_bool(spec, "hostIPC"),
        host_pid=_bool(spec, "hostPID"), restart_policy=restart, grace_period_s=grace,
        **kwargs,
    )


def pod_from_kwargs(name: str, containers: dict[str, dict], **flags: bool) -> PodSpec:
    """A PodSpec from keyword arguments: ``{"app": {"image": ..., "memory": "256Mi"}}``."""
    check_name(name)
    built = []
    for cname, options in containers.items():
        options = dict(options)
        image = options.pop("image", None)
        command = options.pop("command", None)
        if not image:
            raise SpecError(f"container {cname} has no image: add image=..., e.g. 'nginx'.")
        built.append(PodContainer(ContainerSpec.build(cname, image, command, style="kubernetes",
                                                      **options)))
    if not built:
        raise SpecError("The Pod has no containers: give at least one.")
    return PodSpec(name=name, containers=tuple(built),
                   share_process_namespace=flags.get("share_process_namespace", False),
                   host_network=flags.get("host_network", False),
                   host_ipc=flags.get("host_ipc", False), host_pid=flags.get("host_pid", False))
