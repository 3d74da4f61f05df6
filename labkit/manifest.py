"""Kubernetes Pod manifests (or keywords), checked field by field before anything is
created, into the ``PodSpec`` of :mod:`labkit.spec`.

>>> pod = parse_pod('''
... apiVersion: v1
... kind: Pod
... metadata: {name: foo}
... spec:
...   containers:
...   - {name: app, image: nginx, resources: {limits: {memory: 256Mi}}}
...   - {name: sidecar, image: curlimages/curl, command: [sleep, 3650d]}
... ''')
>>> [c.name for c in pod.containers], pod.qos_class, pod.memory_limit
(['app', 'sidecar'], 'Burstable', None)
>>> pod_from_kwargs("foo", {"app": {"image": "nginx", "memory": "64Mi", "cpus": "250m"}}).qos_class
'Guaranteed'
"""

from __future__ import annotations

import difflib
import re

import yaml

from .errors import SpecError
from .quantity import format_bytes, parse_cpus, parse_memory
from .spec import ContainerSpec, PodContainer, PodSpec, Port, check_name

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (its wheels do): the same documents as the
Python one, about ten times faster, which a lab that parses every manifest it is given feels."""

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
    "port": {"hostPort", "hostIP"},
    "env": {"valueFrom"},
}


def _unknown(where: str, data: dict, allowed: set[str], kind: str | None = None, *,
             ask: bool = True) -> None:
    """Refuse a key that is not in ``allowed``. ``ask``: the close match as a question
    ("did you mean 'containers'?"), as the stored chapter 3 prints it; else "write ... instead."."""
    for key in data:
        if key in allowed:
            continue
        if kind and key in KNOWN_NOT_RUN[kind]:
            raise SpecError(
                f"{where}.{key} is a real Pod field that labkit's runtimes cannot run: "
                f"remove it from the manifest to run this Pod here."
            )
        close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
        if close:
            hint = f"did you mean {close[0]!r}?" if ask else f"write {close[0]!r} instead."
        else:
            hint = f"allowed: {', '.join(sorted(allowed))}."
        raise SpecError(f"Unknown field {key!r} in {where}: {hint}")


def _mapping(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{where} must be a mapping of fields: indent its fields under it.")
    return value


def _list(value, where: str, example: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError(f"{where} must be a list: write each item on a line starting with "
                        f"'- ', e.g. {example}.")
    return value


def _bool(spec: dict, key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise SpecError(f"spec.{key} must be true or false, not {value!r}: write {key}: true.")
    return value


def _string(value, where: str, example: str) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{where} {value!r} is not a string: quote it, e.g. {example}.")
    return value


# -- the API server's rules (k8s.io/kubernetes pkg/apis/core/validation, v1.29) --------------
_DNS_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_RE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_ENV_NAME_RE = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")  # before RelaxedEnvironmentVariable...
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
PROTOCOLS = ("TCP", "UDP", "SCTP")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
RESERVED_LABEL_PREFIX = "io.labkit."  # labkit's own marks (session.labels)


def is_dns_label(value: str) -> bool:
    """RFC 1123 label: at most 63 lower-case letters, digits and '-', alphanumeric ends."""
    return len(value) <= 63 and bool(_DNS_LABEL_RE.fullmatch(value))


def is_dns_subdomain(value: str) -> bool:
    """RFC 1123 subdomain: dot-separated labels, at most 253 characters."""
    return 0 < len(value) <= 253 and all(is_dns_label(part) for part in value.split("."))


def is_qualified_name(key: str) -> bool:
    """A label or annotation key: ``[prefix/]name``, prefix a DNS subdomain, name at most 63
    characters of letters, digits, '-', '_', '.' with alphanumeric ends."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and not is_dns_subdomain(prefix):
        return False
    return len(name) <= 63 and bool(_QUALIFIED_RE.fullmatch(name))


def is_port_name(name: str) -> bool:
    """IANA_SVC_NAME: at most 15 lower-case letters, digits and '-', at least one letter,
    no '--', no '-' at either end."""
    return (0 < len(name) <= 15 and re.fullmatch(r"[-a-z0-9]+", name) is not None
            and re.search(r"[a-z]", name) is not None and "--" not in name
            and not name.startswith("-") and not name.endswith("-"))


def is_env_name(name: str) -> bool:
    """Kubernetes 1.29's C_IDENTIFIER-like rule: letters, digits, '_', '-', '.', not starting
    with a digit; not '.', and not starting with '..'."""
    return bool(_ENV_NAME_RE.fullmatch(name)) and name != "." and not name.startswith("..")


def default_pull_policy(image: str) -> str:
    """The API server's default: Always for ``:latest`` or no tag, else IfNotPresent."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    return "IfNotPresent" if ":" in last and not last.endswith(":latest") else "Always"


def _image(value, where: str) -> str:
    if not value:
        raise SpecError(f"{where} has no image: add one, e.g. image: nginx.")
    image = _string(value, f"{where}: image", "image: nginx")
    if image != image.strip():
        raise SpecError(f"{where}: image {image!r} has spaces around it: remove them.")
    return image


def _pull_policy(value, where: str, image: str) -> str:
    if value is None:
        return default_pull_policy(image)
    if value not in PULL_POLICIES:
        raise SpecError(f"{where}: imagePullPolicy {value!r} is not one Kubernetes knows: use "
                        "Always, IfNotPresent or Never.")
    return value


def _strings(value, where: str, key: str) -> list[str]:
    """command/args: a list of strings, as the API's []string is."""
    example = f'{key}: ["sleep", "3600"]'
    items = _list(value, f"{where}: {key}", example)
    for item in items:
        if not isinstance(item, str):
            raise SpecError(f"{where}: {key} item {item!r} is not a string: quote it, e.g. "
                            f"{example}.")
    return items


def _env(items, where: str) -> tuple[tuple[str, str], ...]:
    """Names checked as the API server checks them; a repeated name is allowed (the last
    one wins), as in Kubernetes."""
    env = []
    for item in _list(items, f"{where}: env", "- name: GREETING"):
        item = _mapping(item, f"{where}: env")
        _unknown(f"{where}: env", item, ENV_FIELDS, "env")
        name = item.get("name")
        if not name:
            raise SpecError(f"{where}: an env item has no name: give one, e.g. name: GREETING.")
        if not isinstance(name, str) or not is_env_name(name):
            raise SpecError(f"{where}: env name {name!r} is not a valid variable name: use "
                            "letters, digits, '_', '-' or '.', not starting with a digit.")
        value = item.get("value")
        value = "" if value is None else _string(value, f"{where}: env {name}: value",
                                                 'value: "80"')
        env.append((name, value))
    return tuple(env)


def _port(item, where: str) -> Port:
    item = _mapping(item, f"{where}: ports")
    _unknown(f"{where}: ports", item, PORT_FIELDS, "port")
    number = item.get("containerPort")
    if isinstance(number, bool) or not isinstance(number, int):
        raise SpecError(f"{where}: a port needs containerPort as a number, e.g. "
                        "containerPort: 80.")
    if not 1 <= number <= 65535:
        raise SpecError(f"{where}: containerPort {number} is not a port number: give one "
                        "between 1 and 65535.")
    protocol = item.get("protocol", "TCP")
    if protocol not in PROTOCOLS:
        raise SpecError(f"{where}: port {number} has protocol {protocol!r}: use TCP, UDP or "
                        "SCTP (in capitals).")
    name = item.get("name")
    if name is not None and (not isinstance(name, str) or not is_port_name(name)):
        raise SpecError(f"{where}: port name {name!r} is not an IANA service name: use at "
                        "most 15 lower-case letters, digits and single '-', with a letter, "
                        "e.g. http.")
    return Port(number, protocol, name)


def _ports(items, where: str) -> tuple[Port, ...]:
    ports = tuple(_port(item, where)
                  for item in _list(items, f"{where}: ports", "- containerPort: 80"))
    names = [p.name for p in ports if p.name]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(f"{where}: two ports are named {name!r}: port names in a "
                            "container must be unique.")
    return ports


def _quantities(container: str, section: str, data) -> tuple[int | None, float | None]:
    where = f"container {container}: resources.{section}"
    data = _mapping(data, where)
    _unknown(where, data, QUANTITY_FIELDS)
    memory = cpus = None
    try:
        if "memory" in data:
            memory = parse_memory(_quantity_text(data["memory"]), style="kubernetes")
        if "cpu" in data:
            cpus = parse_cpus(data["cpu"])
    except SpecError as error:
        raise SpecError(f"{where}: {error}") from None
    return memory, cpus


def _quantity_text(value) -> str:
    """YAML numbers (``memory: 128974848``, ``0.5``) as the quantity they spell."""
    if isinstance(value, float):
        return repr(value)
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _container(index: int, data, seen: set[str]) -> PodContainer:
    data = _mapping(data, f"spec.containers[{index}]")
    name = data.get("name")
    where = f"container {name}" if name else f"spec.containers[{index}]"
    if not name:
        raise SpecError(f"{where} has no name: give every container a name, e.g. name: app.")
    _unknown(where, data, CONTAINER_FIELDS, "container")
    check_name(name, f"spec.containers[{index}].name")
    if name in seen:
        raise SpecError(f"Two containers are named {name!r}: container names in a Pod must be "
                        "unique.")
    seen.add(name)
    image = _image(data.get("image"), where)
    command = _strings(data.get("command"), where, "command") + \
        _strings(data.get("args"), where, "args")
    resources = _mapping(data.get("resources"), f"{where}: resources")
    _unknown(f"{where}: resources", resources, RESOURCE_FIELDS)
    memory, cpus = _quantities(name, "limits", resources.get("limits"))
    requests_memory, requests_cpus = _quantities(name, "requests", resources.get("requests"))
    spec = ContainerSpec(name=name, image=image, command=tuple(command) or None,
                         memory_bytes=memory, cpus=cpus)
    return PodContainer(spec, requests_memory, requests_cpus, _env(data.get("env"), where),
                        _ports(data.get("ports"), where),
                        _pull_policy(data.get("imagePullPolicy"), where, image))


def _string_map(data, where: str, *, values: bool) -> tuple[tuple[str, str], ...]:
    """metadata.labels (``values=True``: values checked too) or metadata.annotations."""
    found = []
    for key, value in _mapping(data, where).items():
        if not isinstance(key, str) or not is_qualified_name(key):
            raise SpecError(f"{where} key {key!r} is not a valid key: use [prefix/]name, the "
                            "name at most 63 letters, digits, '-', '_' or '.' with a letter or "
                            "digit at each end, e.g. app.kubernetes.io/name.")
        if values and key.startswith(RESERVED_LABEL_PREFIX):
            raise SpecError(f"{where} key {key!r} is one of labkit's own marks: choose another "
                            "key, e.g. app.")
        value = _string(value, f"{where}.{key}", f'{key}: "1"')
        if values and value and (len(value) > 63 or not _QUALIFIED_RE.fullmatch(value)):
            raise SpecError(f"{where}.{key} value {value!r} is not a valid label value: use at "
                            "most 63 letters, digits, '-', '_' or '.', with a letter or digit "
                            "at each end.")
        found.append((key, value))
    return tuple(found)


def _metadata(data) -> dict:
    metadata = _mapping(data, "metadata")
    _unknown("metadata", metadata, METADATA_FIELDS)
    name = metadata.get("name")
    if not name:
        raise SpecError("The Pod has no name: add metadata.name, e.g. name: foo.")
    found = {"name": check_name(name, "metadata.name")}
    namespace = metadata.get("namespace", "default")
    if not isinstance(namespace, str) or not is_dns_label(namespace):
        raise SpecError(f"metadata.namespace {namespace!r} is not a DNS label: use at most 63 "
                        "lower-case letters, digits and '-', e.g. namespace: default.")
    found["namespace"] = namespace
    found["labels"] = _string_map(metadata.get("labels"), "metadata.labels", values=True)
    found["annotations"] = _string_map(metadata.get("annotations"), "metadata.annotations",
                                       values=False)
    if sum(len(k) + len(v) for k, v in found["annotations"]) > 256 * 1024:
        raise SpecError("metadata.annotations are larger than 256 KiB in total: shorten them.")
    uid = metadata.get("uid")
    if uid is not None:
        if not isinstance(uid, str) or not _UUID_RE.fullmatch(uid):
            raise SpecError(f"metadata.uid {uid!r} is not a UUID: remove it (Kubernetes sets "
                            "the uid) or write one like 9c1e7a5e-3f0b-4d7e-8a51-2b6f0d3c4e1a.")
        found["uid"] = uid.lower()
    return found


def check_pod(pod: PodSpec) -> PodSpec:
    """The rules that span fields, applied to every PodSpec however it was written."""
    if pod.host_pid and pod.share_process_namespace:
        raise SpecError("shareProcessNamespace and hostPID cannot both be enabled: keep one "
                        "of them (Kubernetes refuses the pair).")
    names = [c.name for c in pod.containers]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(f"Two containers are named {name!r}: container names in a Pod must "
                            "be unique.")
    declared: dict[tuple[int, str], str] = {}
    for container in pod.containers:
        _requests_within_limits(container)
        for port in container.ports:
            key = (port.container_port, port.protocol)
            if key in declared:
                # The API server only warns; in one network namespace only one can listen.
                raise SpecError(
                    f"containers {declared[key]} and {container.name} both declare port "
                    f"{port.container_port}/{port.protocol}: the Pod's containers share one "
                    "network namespace, so declare each port once.")
            declared[key] = container.name
    return pod


def _requests_within_limits(container: PodContainer) -> None:
    spec = container.spec
    for resource, request, limit, shown in (
            ("memory", container.requests_memory, spec.memory_bytes, format_bytes),
            ("cpu", container.requests_cpus, spec.cpus, lambda c: f"{round(c * 1000)}m")):
        if request is not None and limit is not None and request > limit:
            raise SpecError(
                f"container {container.name}: resources.requests.{resource} {shown(request)} "
                f"is more than resources.limits.{resource} {shown(limit)}: lower the request "
                "or raise the limit.")


def parse_pod(text: str) -> PodSpec:
    """A PodSpec from Kubernetes YAML, or one SpecError sentence saying what to fix."""
    try:
        document = yaml.load(text, Loader=SAFE_LOADER)
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
    if document.get("apiVersion") != "v1":
        raise SpecError(f"apiVersion {document.get('apiVersion')!r} does not serve Pods: "
                        "write apiVersion: v1.")
    metadata = _metadata(document.get("metadata"))
    spec = _mapping(document.get("spec"), "spec")
    _unknown("spec", spec, SPEC_FIELDS, "spec")
    containers = spec.get("containers")
    if not containers or not isinstance(containers, list):
        raise SpecError("The Pod has no containers: list at least one under spec.containers.")
    seen: set[str] = set()
    parsed = tuple(_container(i, c, seen) for i, c in enumerate(containers))
    restart = spec.get("restartPolicy", "Always")
    if restart not in RESTART_POLICIES:
        raise SpecError(f"spec.restartPolicy {restart!r} is not one Kubernetes knows: use "
                        "Always, OnFailure or Never.")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if not isinstance(grace, int) or isinstance(grace, bool) or grace < 0:
        raise SpecError(f"spec.terminationGracePeriodSeconds {grace!r} is not a number of "
                        "seconds: write e.g. terminationGracePeriodSeconds: 30.")
    return check_pod(PodSpec(
        containers=parsed,
        share_process_namespace=_bool(spec, "shareProcessNamespace"),
        host_network=_bool(spec, "hostNetwork"), host_ipc=_bool(spec, "hostIPC"),
        host_pid=_bool(spec, "hostPID"), restart_policy=restart, grace_period_s=grace,
        **metadata,
    ))


# Keyword arguments for one container of pod_from_kwargs, and the Pod flags it takes.
KWARG_FIELDS = {"image", "command", "memory", "cpus", "requests_memory", "requests_cpus",
                "env", "ports", "image_pull_policy"}
FLAGS = ("share_process_namespace", "host_network", "host_ipc", "host_pid")


def _kwargs_container(index: int, name, options) -> PodContainer:
    check_name(name, "The container name")
    where = f"container {name}"
    options = _mapping(options, where)
    _unknown(where, options, KWARG_FIELDS, ask=False)
    image = options.get("image")
    if not image:
        raise SpecError(f"container {name} has no image: add image=..., e.g. 'nginx'.")
    image = _image(image, where)
    spec = ContainerSpec.build(name, image, options.get("command"), style="kubernetes",
                               memory=options.get("memory"), cpus=options.get("cpus"))
    requests = _quantities(name, "requests", {
        key: options[option] for key, option in (("memory", "requests_memory"),
                                                 ("cpu", "requests_cpus"))
        if options.get(option) is not None})
    env = _mapping(options.get("env"), f"{where}: env")
    ports = [p if isinstance(p, dict) else {"containerPort": p}
             for p in _list(options.get("ports"), f"{where}: ports", "ports=[80]")]
    return PodContainer(spec, *requests,
                        env=_env([{"name": k, "value": v} for k, v in env.items()], where),
                        ports=_ports(ports, where),
                        image_pull_policy=_pull_policy(options.get("image_pull_policy"), where,
                                                       image))


def pod_from_kwargs(name: str, containers: dict[str, dict], **flags: bool) -> PodSpec:
    """A PodSpec from keyword arguments: ``{"app": {"image": ..., "memory": "256Mi"}}``;
    a container may also give ``requests_memory``, ``requests_cpus``, ``env`` (a dict),
    ``ports`` (numbers or ``{"containerPort": 80, "name": "http"}``) and
    ``image_pull_policy``. The same rules as a manifest's apply."""
    check_name(name, "The Pod name")
    for flag, value in flags.items():
        if flag not in FLAGS:
            same = {f.replace("_", ""): f for f in FLAGS}.get(flag.lower().replace("_", ""))
            raise SpecError(f"{flag}= is not a Pod flag labkit runs: " + (
                f"use {same}=True." if same else f"use one of {', '.join(FLAGS)}."))
        if not isinstance(value, bool):
            raise SpecError(f"{flag}={value!r} must be True or False: write {flag}=True.")
    containers = _mapping(containers, "containers=")
    built = tuple(_kwargs_container(i, cname, options)
                  for i, (cname, options) in enumerate(containers.items()))
    if not built:
        raise SpecError("The Pod has no containers: give at least one.")
    return check_pod(PodSpec(name=name, containers=built, **flags))
