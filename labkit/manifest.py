"""Kubernetes Pod manifests (or keywords), checked field by field before anything is
created, into the ``PodSpec`` of :mod:`labkit.spec`, as the API server of Kubernetes
:data:`labkit.kubernetes.VERSION` checks them.

Each rule names the upstream function it mirrors (paths are in kubernetes/kubernetes). What
the API server refuses, labkit refuses, in one sentence; what it only warns about, labkit
keeps in ``PodSpec.warnings`` and goes on; what it ignores or defaults (``status``,
``metadata.creationTimestamp``, ``dnsPolicy: ClusterFirst``), labkit accepts, so the output
of ``kubectl run foo --image=nginx --dry-run=client -o yaml`` parses. A real Pod field that
labkit's runtimes cannot run is refused by name; a field Kubernetes does not have is an
unknown field, with the closest real name suggested.

>>> pod = parse_pod('''
... apiVersion: v1
... kind: Pod
... metadata: {name: foo}
... spec:
...   containers:
...   - {name: app, image: nginx, resources: {limits: {memory: 256Mi}}}
...   - {name: sidecar, image: curlimages/curl, command: [sleep], args: [3650d]}
... ''')
>>> [c.name for c in pod.containers], pod.qos_class, pod.containers[1].args
(['app', 'sidecar'], 'Burstable', ('3650d',))
>>> pod_from_kwargs("foo", {"app": {"image": "nginx", "memory": "64Mi", "cpus": "250m"}}).qos_class
'Guaranteed'
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import replace
from datetime import datetime

import yaml

from .errors import SpecError
from .kubernetes import (
    Resources,
    aggregate_requests,
    default_pod_resources,
    milli_cpu,
    pod_level_set,
)
from .quantity import format_bytes, kubernetes_cpus, kubernetes_memory
from .spec import (
    ContainerSpec,
    EphemeralContainer,
    FullPodSpec,
    InitContainer,
    PodContainer,
    PodSpec,
    Port,
    check_name,
)

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (its wheels do): the same documents as the
Python one, about ten times faster, which a lab that parses every manifest it is given feels."""

# Every field of a Pod (staging/src/k8s.io/api/core/v1/types.go, ObjectMeta in
# staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go), in two kinds: the fields labkit
# reads (some only to ignore them, as the API server does), and the real ones it cannot run.
FIELDS: dict[str, set[str]] = {
    "manifest": {"apiVersion", "kind", "metadata", "spec", "status"},
    "metadata": {"name", "generateName", "namespace", "labels", "annotations", "uid",
                 "resourceVersion", "creationTimestamp", "ownerReferences", "finalizers"},
    "ownerReference": {"apiVersion", "kind", "name", "uid", "controller",
                       "blockOwnerDeletion"},
    "spec": {"containers", "shareProcessNamespace", "hostNetwork", "hostIPC", "hostPID",
             "hostUsers",
             "restartPolicy", "terminationGracePeriodSeconds", "dnsPolicy", "initContainers",
             "resources", "ephemeralContainers"},
    "container": {"name", "image", "command", "args", "ports", "resources", "env",
                  "imagePullPolicy"},
    "initContainer": {"name", "image", "command", "args", "ports", "resources", "env",
                      "imagePullPolicy", "restartPolicy"},
    "resources": {"limits", "requests"},
    "podResources": {"limits", "requests"},
    "podQuantity": {"cpu", "memory"},
    "quantity": {"cpu", "memory"},
    "port": {"containerPort", "name", "protocol"},
    "env": {"name", "value"},
}
NOT_RUN: dict[str, set[str]] = {
    "manifest": set(),
    "metadata": {"generation", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
                 "managedFields"},
    "ownerReference": set(),
    "spec": {"volumes", "activeDeadlineSeconds",
             "nodeSelector", "serviceAccountName", "serviceAccount",
             "automountServiceAccountToken", "nodeName", "securityContext", "imagePullSecrets",
             "hostname", "subdomain", "affinity", "schedulerName", "tolerations", "hostAliases",
             "priorityClassName", "priority", "dnsConfig", "readinessGates", "runtimeClassName",
             "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints",
             "setHostnameAsFQDN", "os", "schedulingGates", "resourceClaims",
             "hostnameOverride", "workloadRef", "schedulingGroup",
             "evictionResponders"},
    "container": {"workingDir", "envFrom", "resizePolicy", "restartPolicy",
                  "restartPolicyRules", "volumeMounts", "volumeDevices", "livenessProbe",
                  "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
                  "terminationMessagePolicy", "securityContext", "stdin", "stdinOnce", "tty"},
    "initContainer": {"workingDir", "envFrom", "resizePolicy", "restartPolicyRules",
                      "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe",
                      "startupProbe", "lifecycle", "terminationMessagePath",
                      "terminationMessagePolicy", "securityContext", "stdin", "stdinOnce",
                      "tty"},
    "resources": {"claims"},
    "podResources": set(),  # claims: refused by _pod_resources, as the API server does
    "podQuantity": set(),  # hugepages-<size>: _not_run
    "quantity": {"ephemeral-storage"},  # and hugepages-<size>, extended resources: _not_run
    "port": {"hostPort", "hostIP"},
    "env": {"valueFrom"},
}


def _not_run(kind: str, key) -> bool:
    """A real Kubernetes field that labkit's runtimes cannot run; for a resource name, the
    standard ones besides cpu and memory and any extended one (``example.com/gpu``), as
    ``validateContainerResourceName`` (pkg/apis/core/validation/validation.go) takes them."""
    if kind == "quantity" and isinstance(key, str):
        return key in NOT_RUN[kind] or key.startswith("hugepages-") or "/" in key
    if kind == "podQuantity" and isinstance(key, str):
        return key.startswith("hugepages-")
    return key in NOT_RUN[kind]


def _check_fields(where: str, data: dict, kind: str) -> None:
    """Refuse a field labkit does not read: by name when it is real Kubernetes that labkit
    cannot run; else as unknown, as the API server's strict field validation refuses it
    ("strict decoding error: unknown field", the default of kubectl since 1.27)."""
    for key in data:
        if key in FIELDS[kind]:
            continue
        if _not_run(kind, key):
            raise SpecError(f"{where}.{key} is real Kubernetes but not supported by this lab: "
                            "remove it from the manifest to run this Pod here.")
        raise _unknown(key, where, FIELDS[kind] | NOT_RUN[kind], FIELDS[kind])


def _unknown(key, where: str, known: set[str], allowed: set[str], *,
             ask: bool = True) -> SpecError:
    """The sentence for an unknown field: the closest ``known`` name (difflib) as a question
    ("did you mean 'containers'?", as the stored chapter 3 prints it) or, ``ask=False``, as
    "write ... instead."; without one, the ``allowed`` names."""
    close = difflib.get_close_matches(str(key), sorted(known), n=1)
    if close:
        hint = f"did you mean {close[0]!r}?" if ask else f"write {close[0]!r} instead."
    else:
        hint = f"allowed: {', '.join(sorted(allowed))}."
    return SpecError(f"Unknown field {key!r} in {where}: {hint}")


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
    value = spec.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise SpecError(f"spec.{key} must be true or false, not {value!r}: write {key}: true.")
    return value


def _string(value, where: str, example: str) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{where} {value!r} is not a string: quote it, e.g. {example}.")
    return value


def _quote(text: str) -> str:
    """A string as Go's ``%q`` writes it in the API server's warnings."""
    return json.dumps(text)


# -- the API server's string rules (staging/src/k8s.io/apimachinery/pkg/util/validation and
# pkg/api/validate/content) -------------------------------------------------------------------
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL_RE = re.compile(_DNS_LABEL)
_DNS_SUBDOMAIN_RE = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_QUALIFIED_RE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
PROTOCOLS = ("TCP", "UDP", "SCTP")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
RESERVED_LABEL_PREFIX = "io.labkit."  # labkit's own marks (session.labels), not Kubernetes'
MIN_MEMORY_LIMIT = 4096  # labkit's own floor: one page, below which no container starts


def is_dns_label(value: str) -> bool:
    """RFC 1123 label (``IsDNS1123Label``,
    staging/src/k8s.io/apimachinery/pkg/api/validate/content/dns.go): at most 63 lower-case
    letters, digits and '-', alphanumeric ends."""
    return len(value) <= 63 and bool(_DNS_LABEL_RE.fullmatch(value))


def is_dns_subdomain(value: str) -> bool:
    """RFC 1123 subdomain (``IsDNS1123Subdomain``,
    staging/src/k8s.io/apimachinery/pkg/api/validate/content/dns.go): DNS labels joined by dots,
    at most 253 characters in all; a part is not held to 63.

    >>> is_dns_subdomain("example.com"), is_dns_subdomain("a" * 253), is_dns_subdomain("a..b")
    (True, True, False)
    """
    return len(value) <= 253 and bool(_DNS_SUBDOMAIN_RE.fullmatch(value))


def is_qualified_name(key: str) -> bool:
    """A label or annotation key (``IsQualifiedName``, that is ``IsLabelKey``,
    staging/src/k8s.io/apimachinery/pkg/api/validate/content/kube.go): ``[prefix/]name``, the
    prefix a DNS subdomain, the name at most 63 letters, digits, '-', '_' and '.' with
    alphanumeric ends.

    >>> is_qualified_name("example.com/Name_1"), is_qualified_name("Example.com/x")
    (True, False)
    """
    parts = key.split("/")
    if len(parts) > 2 or (len(parts) == 2 and not is_dns_subdomain(parts[0])):
        return False
    return len(parts[-1]) <= 63 and bool(_QUALIFIED_RE.fullmatch(parts[-1]))


def is_port_name(name: str) -> bool:
    """``IsValidPortName`` (IANA_SVC_NAME): at most 15 lower-case letters, digits and '-',
    at least one letter, no '--', no '-' at either end."""
    return (0 < len(name) <= 15 and re.fullmatch(r"[-a-z0-9]+", name) is not None
            and re.search(r"[a-z]", name) is not None and "--" not in name
            and not name.startswith("-") and not name.endswith("-"))


def is_env_name(name: str) -> bool:
    """An environment variable name (``IsRelaxedEnvVarName``,
    staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go;
    the rule of ``ValidateEnv`` since RelaxedEnvironmentVariableValidation went GA in 1.34):
    not empty, printable ASCII, no '='.

    >>> [is_env_name(n) for n in ("1ST", "MY VAR", "a:b", ".", "A=B", "", "é")]
    [True, True, True, True, False, False, False]
    """
    return bool(name) and all(" " <= c <= "~" for c in name) and "=" not in name


# An image reference as ParseImageName reads it, through ParseNormalizedNamed of
# github.com/distribution/reference (regexp.go, normalize.go; vendored in kubernetes/kubernetes):
# [domain[:port]/]path[:tag][@digest], the path in lower case.
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
_IMAGE_RE = re.compile(
    rf"(?:(?:{_DOMAIN}(?:\.{_DOMAIN})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?/)?{_PATH}(?:/{_PATH})*"
    r"(?::(?P<tag>\w[\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?",
    re.ASCII)


def parse_image_name(image: str) -> tuple[str, str] | None:
    """(tag, digest) of an image (``ParseImageName``, pkg/util/parsers/parsers.go): the tag
    is ``latest`` only when neither a tag nor a digest is given; None if it is no reference.

    >>> parse_image_name("root"), parse_image_name("url:5000/repo:tag")
    (('latest', ''), ('tag', ''))
    >>> parse_image_name("nginx:latest@sha256:" + "0" * 64)[0], parse_image_name("Nginx")
    ('latest', None)
    """
    match = _IMAGE_RE.fullmatch(image)
    if not match or re.fullmatch(r"[a-f0-9]{64}", image):
        return None
    tag, digest = match["tag"] or "", match["digest"] or ""
    return (tag or ("" if digest else "latest")), digest


def default_pull_policy(image: str) -> str:
    """The API server's default (``SetDefaults_Container``, pkg/apis/core/v1/defaults.go):
    Always when the image's tag is ``latest`` (also when it has no tag and no digest), else
    IfNotPresent, also for an image it cannot parse."""
    parsed = parse_image_name(image)
    return "Always" if parsed and parsed[0] == "latest" else "IfNotPresent"


def _image(value, where: str) -> str:
    """Required, and no spaces around it (``validateContainers``,
    pkg/apis/core/validation/validation.go)."""
    if not value:
        raise SpecError(f"{where} has no image: add one, e.g. image: nginx.")
    image = _string(value, f"{where}: image", "image: nginx")
    if image != image.strip():
        raise SpecError(f"{where}: image {image!r} has spaces around it: remove them.")
    return image


def _pull_policy(value, where: str, image: str) -> str:
    """``validatePullPolicy`` (pkg/apis/core/validation/validation.go), defaulted by
    ``SetDefaults_Container``."""
    if value is None:
        return default_pull_policy(image)
    if value not in PULL_POLICIES:
        raise SpecError(f"{where}: imagePullPolicy {value!r} is not one Kubernetes knows: use "
                        "Always, IfNotPresent or Never.")
    return value


def _argv(value, where: str, key: str, example: str) -> tuple[str, ...] | None:
    """command or args: a list of strings, as the API's []string is; empty is not given.
    Kept apart, as the kubelet sends them (``ContainerConfig.Command`` and ``.Args``), and
    not expanded here: ``$(VAR)`` is the kubelet's, when it makes the container."""
    items = _list(value, f"{where}: {key}", example)
    for item in items:
        if not isinstance(item, str):
            raise SpecError(f"{where}: {key} item {item!r} is not a string: quote it, e.g. "
                            f"{example}.")
    return tuple(items) or None


def _env(items, where: str) -> tuple[tuple[str, str], ...]:
    """``ValidateEnv`` (pkg/apis/core/validation/validation.go): a name, by
    ``IsRelaxedEnvVarName``; a repeated name is allowed (the last one wins), and warned about by
    :func:`_env_warnings`."""
    env = []
    for item in _list(items, f"{where}: env", "- name: GREETING"):
        item = _mapping(item, f"{where}: env")
        _check_fields(f"{where}: env", item, "env")
        name = item.get("name")
        if not name:
            raise SpecError(f"{where}: an env item has no name: give one, e.g. name: GREETING.")
        if not isinstance(name, str) or not is_env_name(name):
            raise SpecError(f"{where}: env name {name!r} is not a valid variable name: use "
                            "printable ASCII characters other than '=', e.g. GREETING.")
        value = item.get("value")
        value = "" if value is None else _string(value, f"{where}: env {name}: value",
                                                 'value: "80"')
        env.append((name, value))
    return tuple(env)


def _port(item, where: str) -> Port:
    """``validateContainerPorts`` (pkg/apis/core/validation/validation.go): the number, the
    protocol, the name."""
    item = _mapping(item, f"{where}: ports")
    _check_fields(f"{where}: ports", item, "port")
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
    """``validateContainerPorts``: port names unique within the container. The same number
    twice is only warned about (:func:`_port_warnings`)."""
    ports = tuple(_port(item, where)
                  for item in _list(items, f"{where}: ports", "- containerPort: 80"))
    names = [p.name for p in ports if p.name]
    for name in names:
        if names.count(name) > 1:
            raise SpecError(f"{where}: two ports are named {name!r}: port names in a "
                            "container must be unique.")
    return ports


def _quantities(index: int, container: str, section: str, data, said: list[str], *,
                path: str = "spec.containers", who: str = "container",
                kind: str = "quantity") -> tuple[int | None, float | None]:
    """Memory and CPU of resources.limits or .requests as the API server reads them
    (``ValidateContainerResourceRequirements``, pkg/apis/core/validation/validation.go: any
    quantity not negative, 0 included); a fraction of a byte is warned about
    (``warningsForPodSpecAndMeta``, pkg/api/pod/warnings.go) and rounded up. ``path`` and
    ``who`` name where they are (``spec.initContainers``, ``init container``); the pod-level
    ones (``kind="podQuantity"``) are ``spec.resources``."""
    if kind == "podQuantity":
        where, warned = f"spec.resources.{section}", f"spec.resources.{section}"
    else:
        where = f"{who} {container}: resources.{section}"
        warned = f"{path}[{index}].resources.{section}"
    data = _mapping(data, where)
    if kind == "podQuantity":
        _pod_quantity_names(where, data)
    else:
        _check_fields(where, data, kind)
    memory = cpus = fraction = None
    try:
        if "memory" in data:
            memory, fraction = kubernetes_memory(data["memory"])
        if "cpu" in data:
            cpus = kubernetes_cpus(data["cpu"])
    except SpecError as error:
        raise SpecError(f"{where}: {error}") from None
    if fraction:
        said.append(f"{warned}[memory]: fractional byte value {_quote(fraction)} is invalid, "
                    "must be an integer")
    if section == "limits" and memory and memory < MIN_MEMORY_LIMIT:
        raise _too_small(where, data["memory"], memory, fraction)
    return memory, cpus


def _too_small(where: str, value, size: int, fraction: str | None) -> SpecError:
    """A memory limit the API server accepts but under labkit's floor: no container starts
    in less than a page."""
    text = str(value)
    if fraction:
        unit = " (m is a thousandth, not mega)" if text.endswith("m") else ""
        what = (f"is a fraction of a byte{unit}, which the API server rounds up to {size} "
                f"byte{'' if size == 1 else 's'}")
    else:
        what = f"is only {size} bytes, which the API server accepts"
    return SpecError(f"{where}: memory {text!r} {what}, but labkit does not run a memory "
                     f"limit under {MIN_MEMORY_LIMIT} bytes, since no container can start in "
                     "that: write e.g. 64Mi.")


def _pod_quantity_names(where: str, data: dict) -> None:
    """The resources a Pod may set at pod level: cpu and memory (and huge pages, which labkit
    does not run), as ``SupportedPodLevelResources`` (staging/src/k8s.io/component-helpers/
    resource/helpers.go, 1.34 to 1.36) has them; anything else is refused by
    ``validatePodResources`` (pkg/apis/core/validation/validation.go)."""
    for key in data:
        if key in FIELDS["podQuantity"]:
            continue
        if _not_run("podQuantity", key):
            raise SpecError(f"{where}.{key} is real Kubernetes but not supported by this lab: "
                            "remove it from the manifest to run this Pod here.")
        if key in FIELDS["quantity"] | NOT_RUN["quantity"] or (isinstance(key, str)
                                                               and "/" in key):
            raise SpecError(f"{where}.{key} cannot be set for a whole Pod: pod-level resources "
                            "are cpu, memory and hugepages-<size>; set it on a container.")
        raise _unknown(key, where, FIELDS["podQuantity"], FIELDS["podQuantity"])


def _container(index: int, data, seen: set[str], said: list[str], *,
               path: str = "spec.containers", who: str = "container") -> PodContainer:
    """One of spec.containers (``validateContainers``, pkg/apis/core/validation/validation.go): a
    name (labkit's :func:`labkit.spec.check_name`, stricter than the DNS label Kubernetes asks),
    unique (also among the init containers, ``validateInitContainers``). For
    spec.initContainers (``path``, ``who="init container"``) the same, and its
    ``restartPolicy`` (:func:`_init_restart_policy`)."""
    data = _mapping(data, f"{path}[{index}]")
    name = data.get("name")
    where = f"{who} {name}" if name else f"{path}[{index}]"
    if not name:
        raise SpecError(f"{where} has no name: give every container a name, e.g. name: app.")
    init = path == "spec.initContainers"
    _check_fields(where, data, "initContainer" if init else "container")
    check_name(name, f"{path}[{index}].name")
    if name in seen:
        raise SpecError(f"Two containers are named {name!r}: container names in a Pod must be "
                        "unique.")
    seen.add(name)
    image = _image(data.get("image"), where)
    resources = _mapping(data.get("resources"), f"{where}: resources")
    _check_fields(f"{where}: resources", resources, "resources")
    kwargs = dict(path=path, who=who)
    memory, cpus = _quantities(index, name, "limits", resources.get("limits"), said, **kwargs)
    requests = _quantities(index, name, "requests", resources.get("requests"), said, **kwargs)
    fields = dict(
        env=_env(data.get("env"), where), ports=_ports(data.get("ports"), where),
        image_pull_policy=_pull_policy(data.get("imagePullPolicy"), where, image),
        command=_argv(data.get("command"), where, "command", 'command: ["sleep", "3600"]'),
        args=_argv(data.get("args"), where, "args", 'args: ["--port", "8080"]'))
    spec = ContainerSpec(name=name, image=image, memory_bytes=memory, cpus=cpus)
    if init:
        return InitContainer(spec, *requests, **fields,
                             restart_policy=_init_restart_policy(data, where))
    return PodContainer(spec, *requests, **fields)


def _init_restart_policy(data: dict, where: str) -> str | None:
    """An init container's ``restartPolicy``: ``Always`` makes it a sidecar
    (``validateInitContainerRestartPolicy``, pkg/apis/core/validation/validation.go; KEP-753,
    stable in 1.33). Since Kubernetes 1.34 (KEP-5307, container restart rules, beta in 1.35)
    ``OnFailure`` and ``Never`` are Kubernetes too, which labkit does not run."""
    policy = data.get("restartPolicy")
    if policy is None or policy == "Always":
        return policy
    if policy in ("OnFailure", "Never"):
        raise SpecError(f"{where}.restartPolicy {policy} is real Kubernetes but not supported "
                        "by this lab: remove it (an init container runs to its end) or write "
                        "Always (a sidecar).")
    raise SpecError(f"{where}.restartPolicy {policy!r} is not one Kubernetes knows: write "
                    "Always for a sidecar, or leave it out.")


def _pod_resources(spec: dict, said: list[str]) -> Resources | None:
    """spec.resources, the Pod's own CPU and memory (KEP-2837: alpha 1.32, beta and on by
    default 1.34): the quantities as a container's (``validatePodResourceRequirements``,
    pkg/apis/core/validation/validation.go), no claims at pod level (``validatePodResources``);
    defaulted later with the containers (:func:`check_pod`). A stanza that sets neither CPU
    nor memory sets nothing."""
    data = spec.get("resources")
    if data is None:
        return None
    data = _mapping(data, "spec.resources")
    if "claims" in data:
        raise SpecError("spec.resources.claims cannot be set for a whole Pod: claims belong to "
                        "containers (Kubernetes refuses them at pod level).")
    _check_fields("spec.resources", data, "podResources")
    memory, cpus = _quantities(0, "", "limits", data.get("limits"), said, kind="podQuantity")
    requests_memory, requests_cpus = _quantities(0, "", "requests", data.get("requests"), said,
                                                 kind="podQuantity")
    found = Resources(cpu_request=milli_cpu(requests_cpus), cpu_limit=milli_cpu(cpus),
                      memory_request=requests_memory, memory_limit=memory)
    return found if pod_level_set(found) else None


def _string_map(data, where: str, *, values: bool) -> tuple[tuple[str, str], ...]:
    """metadata.labels (``values=True``: ``ValidateLabels``,
    staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go, keys and
    values) or metadata.annotations (``ValidateAnnotations``,
    staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go: keys only, checked in
    lower case, "case doesn't matter")."""
    found = []
    for key, value in _mapping(data, where).items():
        if not isinstance(key, str) or not is_qualified_name(key if values else key.lower()):
            raise SpecError(f"{where} key {key!r} is not a valid key: use [prefix/]name, the "
                            "prefix a lower-case DNS name, the name at most 63 letters, digits, "
                            "'-', '_' or '.' with a letter or digit at each end, e.g. "
                            "app.kubernetes.io/name.")
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


def _mask_trailing_dash(prefix: str) -> str:
    """``maskTrailingDash`` (staging/src/k8s.io/apimachinery/pkg/api/validation/generic.go),
    quirk included: a trailing '-' and the character before it become 'a'."""
    return prefix[:-2] + "a" if len(prefix) > 1 and prefix.endswith("-") else prefix


def _name(metadata: dict) -> str:
    """metadata.name, required ("name or generateName is required", ``ValidateObjectMeta``,
    staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go). labkit does not make
    names up, so generateName alone is refused; beside a name it is checked as a prefix
    (``ValidatePodName``, pkg/apis/core/validation/validation.go) and unused, as in Kubernetes.
    The name is labkit's :func:`labkit.spec.check_name`, stricter than Kubernetes' DNS
    subdomain."""
    name, prefix = metadata.get("name"), metadata.get("generateName")
    if prefix is not None and (not isinstance(prefix, str)
                               or not is_dns_subdomain(_mask_trailing_dash(prefix))):
        raise SpecError(f"metadata.generateName {prefix!r} is not a name prefix: use lower-case "
                        "letters, digits, '-' and '.', e.g. generateName: foo-.")
    if not name and prefix:
        raise SpecError(f"metadata.generateName {prefix!r} asks the API server to make up the "
                        "Pod's name, which labkit does not do: give metadata.name instead, e.g. "
                        "name: foo.")
    if not name:
        raise SpecError("The Pod has no name: add metadata.name, e.g. name: foo.")
    return check_name(name, "metadata.name")


def _metadata(data, said: list[str]) -> dict:
    """``ValidateObjectMeta`` (staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go):
    name, namespace (``ValidateNamespaceName``, a DNS label), labels, annotations (at most 256
    KiB, ``TotalAnnotationSizeLimitB``), and the fields the API server fills in or keeps for
    others (:func:`_system_fields`)."""
    metadata = _mapping(data, "metadata")
    _check_fields("metadata", metadata, "metadata")
    found: dict = {"name": _name(metadata)}
    namespace = metadata.get("namespace") or "default"
    if not isinstance(namespace, str) or not is_dns_label(namespace):
        raise SpecError(f"metadata.namespace {namespace!r} is not a DNS label: use at most 63 "
                        "lower-case letters, digits and '-', e.g. namespace: default.")
    found["namespace"] = namespace
    found["labels"] = _string_map(metadata.get("labels"), "metadata.labels", values=True)
    found["annotations"] = _string_map(metadata.get("annotations"), "metadata.annotations",
                                       values=False)
    if sum(len(k.encode()) + len(v.encode()) for k, v in found["annotations"]) > 256 * 1024:
        raise SpecError("metadata.annotations are larger than 256 KiB in total: shorten them.")
    _system_fields(metadata, said)
    return found


_RFC3339_RE = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def _system_fields(metadata: dict, said: list[str]) -> None:
    """What a client may send but the API server sets itself on creation
    (:func:`_creation_timestamp`, :func:`_resource_version`, the uid), or keeps for
    controllers labkit does not have (ownerReferences, finalizers: checked, then said to be
    ignored). The uid is set anew (``FillObjectMetaSystemFields``,
    staging/src/k8s.io/apiserver/pkg/registry/rest/meta.go), so one given is not used, with
    a warning, since a learner may expect it used."""
    _creation_timestamp(metadata.get("creationTimestamp"))
    _resource_version(metadata.get("resourceVersion"))
    if metadata.get("uid") is not None:
        said.append(f"metadata.uid: the API server sets the uid of a Pod it creates, so "
                    f"{str(metadata['uid'])!r} is ignored and this Pod gets a new one")
    if _owner_references(metadata.get("ownerReferences")):
        said.append("metadata.ownerReferences: ignored here, as labkit has no garbage "
                    "collector to delete this Pod with its owner")
    if _finalizers(metadata.get("finalizers")):
        said.append("metadata.finalizers: ignored here, as labkit has no controllers to wait "
                    "for when the Pod is deleted")


def _creation_timestamp(stamp) -> None:
    """Set anew by the API server (``FillObjectMetaSystemFields``), so only decoded: null or
    an RFC 3339 time (``metav1.Time.UnmarshalJSON``,
    staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/time.go)."""
    if stamp is not None and not isinstance(stamp, datetime) and not (
            isinstance(stamp, str) and _RFC3339_RE.fullmatch(stamp)):
        raise SpecError(f"metadata.creationTimestamp {stamp!r} is not a time: remove it (the "
                        "API server sets it), or write e.g. 2026-01-01T00:00:00Z.")


def _resource_version(value) -> None:
    """Refused when set (a number other than 0), as the storage refuses it ("resourceVersion
    should not be set on objects to be created", ``store.Create``,
    staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go); anything else is cleared."""
    version = "" if value is None else str(value)
    if re.fullmatch(r"[0-9]+", version) and 0 < int(version) < 2**64:
        raise SpecError(f"metadata.resourceVersion {version} is set by the API server on a Pod "
                        "it has stored: remove it to create this Pod (Kubernetes refuses it: "
                        "\"resourceVersion should not be set on objects to be created\").")


def _owner_references(items) -> list:
    """``ValidateOwnerReferences``
    (staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go): apiVersion, kind, name
    and uid given, at most one controller."""
    items = _list(items, "metadata.ownerReferences", "- {apiVersion: v1, kind: Node, ...}")
    for item in items:
        item = _mapping(item, "metadata.ownerReferences")
        _check_fields("metadata.ownerReferences", item, "ownerReference")
        for key in ("apiVersion", "kind", "name", "uid"):
            if not item.get(key):
                raise SpecError(f"metadata.ownerReferences: an owner has no {key}: give "
                                "apiVersion, kind, name and uid, or remove the owner.")
    if sum(1 for item in items if item.get("controller") is True) > 1:
        raise SpecError("metadata.ownerReferences: only one owner can have controller: true: "
                        "keep it on one.")
    return items


def _finalizers(items) -> list:
    """``ValidateFinalizers`` (staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go):
    qualified names, not both orphan and foregroundDeletion."""
    items = _list(items, "metadata.finalizers", "- example.com/cleanup")
    for item in items:
        if not isinstance(item, str) or not is_qualified_name(item):
            raise SpecError(f"metadata.finalizers: {item!r} is not a valid name: use "
                            "[prefix/]name, e.g. example.com/cleanup.")
    if {"orphan", "foregroundDeletion"} <= set(items):
        raise SpecError("metadata.finalizers: orphan and foregroundDeletion cannot be both set: "
                        "keep one.")
    return items


def _dns_policy(spec: dict) -> None:
    """``validateDNSPolicy`` (pkg/apis/core/validation/validation.go): one of four. ClusterFirst,
    the default (``SetDefaults_PodSpec``, pkg/apis/core/v1/defaults.go), is accepted: labkit
    plays a kubelet with no cluster DNS, which runs a ClusterFirst Pod with the node's resolver
    (``GetPodDNS``, pkg/kubelet/network/dns/dns.go); the others are not run here."""
    policy = spec.get("dnsPolicy")
    if policy in (None, "ClusterFirst"):
        return
    if policy in DNS_POLICIES:
        raise SpecError(f"spec.dnsPolicy {policy} is real Kubernetes but not supported by this "
                        "lab: remove it to run this Pod here (ClusterFirst, the default, is "
                        "what its Pods get).")
    raise SpecError(f"spec.dnsPolicy {policy!r} is not one Kubernetes knows: use ClusterFirst "
                    "(the default), ClusterFirstWithHostNet, Default or None.")


def _restart_policy(spec: dict) -> str:
    """``validateRestartPolicy`` (pkg/apis/core/validation/validation.go), Always by default
    (``SetDefaults_PodSpec``)."""
    restart = spec.get("restartPolicy") or "Always"
    if restart not in RESTART_POLICIES:
        raise SpecError(f"spec.restartPolicy {restart!r} is not one Kubernetes knows: use "
                        "Always, OnFailure or Never.")
    return restart


def _grace(spec: dict, said: list[str]) -> int:
    """terminationGracePeriodSeconds, 30 by default (``SetDefaults_PodSpec``). A negative
    one is only warned about (``warningsForPodSpecAndMeta``) and treated as 1, as the API
    server does when the Pod is deleted (``CheckGracefulDelete``,
    pkg/registry/core/pod/strategy.go)."""
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is None:
        return 30
    if not isinstance(grace, int) or isinstance(grace, bool):
        raise SpecError(f"spec.terminationGracePeriodSeconds {grace!r} is not a number of "
                        "seconds: write e.g. terminationGracePeriodSeconds: 30.")
    if grace < 0:
        said.append("spec.terminationGracePeriodSeconds: must be >= 0; negative values are "
                    "invalid and will be treated as 1")
        return 1
    return grace


def check_pod(pod: PodSpec) -> PodSpec:
    """The rules of ``ValidatePodSpec`` (pkg/apis/core/validation/validation.go) that span
    fields, applied to every PodSpec however it was written, and the warnings read from the
    whole Pod (``warningsForPodSpecAndMeta``: :func:`_env_warnings`, :func:`_port_warnings`)
    added to its ``warnings``."""
    if pod.host_pid and pod.share_process_namespace:
        # validatePodSpecSecurityContext (pkg/apis/core/validation/validation.go)
        raise SpecError("shareProcessNamespace and hostPID cannot both be enabled: keep one "
                        "of them (Kubernetes refuses the pair).")
    hosts = [flag for flag, on in (("hostNetwork", pod.host_network), ("hostPID", pod.host_pid),
                                   ("hostIPC", pod.host_ipc)) if on]
    if not pod.host_users and hosts:  # validateHostUsers (the same file)
        raise SpecError(f"{' and '.join(hosts)} cannot be used with hostUsers: false: a Pod "
                        "in a user namespace of its own does not share the node's namespaces "
                        "(Kubernetes forbids it); keep one of them.")
    names = [c.name for c in pod.all_containers]
    for name in names:  # validateContainers, validateInitContainers, validateEphemeral...
        if names.count(name) > 1:
            raise SpecError(f"Two containers are named {name!r}: container names in a Pod must "
                            "be unique.")
    for container in (*pod.init_containers, *pod.containers):
        _requests_within_limits(container)
    if pod.resources is not None:
        given = pod.resources
        pod = replace(pod, resources=default_pod_resources(pod.pod_resources))
        _pod_resources_consistent(pod, given)
    return replace(pod, warnings=(*pod.warnings, *_env_warnings(pod), *_port_warnings(pod)))


def _cpu(milli: int | None) -> str:
    return f"{milli or 0}m"


def _memory(size: int | None) -> str:
    return format_bytes(size or 0)


def _pod_resources_consistent(pod: PodSpec, given: Resources) -> None:
    """``validatePodResources`` (pkg/apis/core/validation/validation.go), on the pod-level
    resources as the API server has defaulted them (``given``: as written): no container's
    limit more than the Pod's (``validatePodResourceConsistency``); the pod-level requests no
    less than the containers' effective requests together (the same, with
    ``AggregateContainerRequests``: sidecars and init containers counted as the kubelet counts
    them); each pod-level request no more than its limit (``validateResourceRequirements``).
    Upstream lists every such error; labkit says the first."""
    level = pod.resources
    assert level is not None
    for container in pod.containers:
        for resource, own, whole, shown in (
                ("cpu", milli_cpu(container.spec.cpus), level.cpu_limit, _cpu),
                ("memory", container.spec.memory_bytes, level.memory_limit, _memory)):
            if own is not None and whole is not None and own > whole:
                raise SpecError(f"container {container.name}: resources.limits.{resource} "
                                f"{shown(own)} is more than the Pod's own limit "
                                f"(spec.resources.limits.{resource} {shown(whole)}): lower it, "
                                "since no container can have more than the whole Pod.")
    cpu, memory = aggregate_requests(pod.pod_resources)
    for resource, asked, request, written, shown in (
            ("cpu", cpu, level.cpu_request, given.cpu_request, _cpu),
            ("memory", memory, level.memory_request, given.memory_request, _memory)):
        if written is not None and asked > written:
            raise SpecError(f"spec.resources.requests.{resource} {shown(request)} is less than "
                            f"the containers ask for together ({shown(asked)}, as the kubelet "
                            "adds up containers, sidecars and init containers): raise it, or "
                            "lower theirs.")
    for resource, request, written, limit, shown in (
            ("cpu", level.cpu_request, given.cpu_request, level.cpu_limit, _cpu),
            ("memory", level.memory_request, given.memory_request, level.memory_limit,
             _memory)):
        if request is not None and limit is not None and request > limit:
            what = f"spec.resources.requests.{resource} {shown(request)}" if written is not None \
                else (f"the containers' {resource} requests together ({shown(request)}, what a "
                      "pod-level request not written defaults to)")
            raise SpecError(f"{what} is more than spec.resources.limits.{resource} "
                            f"{shown(limit)}: lower the requests or raise the limit.")


def _requests_within_limits(container: PodContainer) -> None:
    """``ValidateContainerResourceRequirements`` (pkg/apis/core/validation/validation.go): a
    request no more than its limit, when both are given (a limit of 0 too)."""
    spec = container.spec
    for resource, request, limit, shown in (
            ("memory", container.requests_memory, spec.memory_bytes, format_bytes),
            ("cpu", container.requests_cpus, spec.cpus, lambda c: f"{round(c * 1000)}m")):
        if request is not None and limit is not None and request > limit:
            raise SpecError(
                f"container {container.name}: resources.requests.{resource} {shown(request)} "
                f"is more than resources.limits.{resource} {shown(limit)}: lower the request "
                "or raise the limit.")


def _env_warnings(pod: PodSpec) -> list[str]:
    """A repeated env name (``warningsForPodSpecAndMeta``, pkg/api/pod/warnings.go), unless
    the later value uses the earlier one (``$(NAME)`` in it, and not only that)."""
    said = []
    for i, container in enumerate(pod.containers):
        names: set[str] = set()
        for j, (name, value) in enumerate(container.env):
            ref = f"$({name})"
            if name in names and (value == ref or ref not in value):
                said.append(f"spec.containers[{i}].env[{j}]: hides previous definition of "
                            f"{_quote(name)}, which may be dropped when using apply")
            names.add(name)
    return said


def _port_warnings(pod: PodSpec) -> list[str]:
    """A port number and protocol declared twice, in one container or two
    (``warningsForPodSpecAndMeta``): only warned about, though in the Pod's one network
    namespace only one process can listen on it."""
    said: list[str] = []
    seen: dict[tuple[int, str], list[str]] = {}
    for i, container in enumerate(pod.containers):
        for j, port in enumerate(container.ports):
            path = f"spec.containers[{i}].ports[{j}]"
            others = seen.setdefault((port.container_port, port.protocol), [])
            said += [f"{path}: duplicate port definition with {other}" for other in others]
            others.append(path)
    return said


def _load(text: str) -> dict:
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
    return document


def parse_pod(text: str) -> PodSpec:
    """A PodSpec from Kubernetes YAML, or one SpecError sentence saying what to fix: the
    checks of ``ValidatePodCreate`` and ``ValidatePodSpec``
    (pkg/apis/core/validation/validation.go), field by field. The top-level ``status`` is
    ignored, as the API server resets it on creation (``PrepareForCreate``,
    pkg/registry/core/pod/strategy.go)."""
    document = _load(text)
    _check_fields("the manifest", document, "manifest")
    if document.get("kind") != "Pod":
        raise SpecError(f"The manifest is a {document.get('kind')!r}, not a Pod: "
                        "write kind: Pod.")
    if document.get("apiVersion") != "v1":
        raise SpecError(f"apiVersion {document.get('apiVersion')!r} does not serve Pods: "
                        "write apiVersion: v1.")
    _mapping(document.get("status"), "status")
    said: list[str] = []
    metadata = _metadata(document.get("metadata"), said)
    spec = _mapping(document.get("spec"), "spec")
    _check_fields("spec", spec, "spec")
    containers = spec.get("containers")
    if not containers or not isinstance(containers, list):
        raise SpecError("The Pod has no containers: list at least one under spec.containers.")
    if spec.get("ephemeralContainers"):
        # ValidatePodCreate (pkg/apis/core/validation/validation.go)
        raise SpecError("spec.ephemeralContainers cannot be set when a Pod is created: the API "
                        "server adds them to a running Pod (the ephemeralcontainers "
                        "subresource, which kubectl debug uses); remove them, and add one with "
                        "pod.debug(...) once the Pod runs on labkit's containerd.")
    seen: set[str] = set()
    parsed = tuple(_container(i, c, seen, said) for i, c in enumerate(containers))
    inits = tuple(_container(i, c, seen, said, path="spec.initContainers", who="init container")
                  for i, c in enumerate(_list(spec.get("initContainers"), "spec.initContainers",
                                              "- name: setup")))
    level = _pod_resources(spec, said)
    _dns_policy(spec)
    grace = _grace(spec, said)
    fields = dict(
        containers=parsed,
        share_process_namespace=_bool(spec, "shareProcessNamespace"),
        host_network=_bool(spec, "hostNetwork"), host_ipc=_bool(spec, "hostIPC"),
        host_pid=_bool(spec, "hostPID"), restart_policy=_restart_policy(spec),
        grace_period_s=grace, warnings=tuple(said), **metadata)
    host_users = spec.get("hostUsers")
    host_users = True if host_users is None else host_users
    if not isinstance(host_users, bool):
        raise SpecError(f"spec.hostUsers must be true or false, not {host_users!r}: write "
                        "hostUsers: false.")
    if inits or level is not None or not host_users:
        return check_pod(FullPodSpec(**fields, init_containers=inits, resources=level,
                                     host_users=host_users))
    return check_pod(PodSpec(**fields))


# Keyword arguments for one container of pod_from_kwargs, and the Pod flags it takes.
KWARG_FIELDS = {"image", "command", "args", "memory", "cpus", "requests_memory",
                "requests_cpus", "env", "ports", "image_pull_policy"}
FLAGS = ("share_process_namespace", "host_network", "host_ipc", "host_pid", "host_users")


def _kwargs_argv(options: dict, where: str, key: str) -> tuple[str, ...] | None:
    """command or args as keywords give them: a list (or tuple) of strings; a string
    command is a shell line, ``("sh", "-c", text)``."""
    value = options.get(key)
    if key == "command" and isinstance(value, str):
        value = ["sh", "-c", value]
    example = {"command": "'command': ['sleep', '3600']", "args": "'args': ['--port', '8080']"}
    return _argv(list(value) if isinstance(value, tuple) else value, where, key, example[key])


def _given(options: dict, **keys: str) -> dict:
    """The resources a container's keywords give: ``{"memory": options["memory"], ...}``."""
    return {key: options[option] for key, option in keys.items()
            if options.get(option) is not None}


def _kwargs_container(index: int, name, options, said: list[str], *,
                      init: bool = False) -> PodContainer:
    check_name(name, "The container name")
    where = f"{'init container' if init else 'container'} {name}"
    options = _mapping(options, where)
    allowed = KWARG_FIELDS | ({"restart_policy"} if init else set())
    for key in options:
        if key not in allowed:
            raise _unknown(key, where, allowed, allowed, ask=False)
    image = options.get("image")
    if not image:
        raise SpecError(f"container {name} has no image: add image=..., e.g. 'nginx'.")
    image = _image(image, where)
    path = dict(path="spec.initContainers", who="init container") if init else {}
    memory, cpus = _quantities(index, name, "limits",
                               _given(options, memory="memory", cpu="cpus"), said, **path)
    requests = _quantities(index, name, "requests",
                           _given(options, memory="requests_memory", cpu="requests_cpus"), said,
                           **path)
    env = _mapping(options.get("env"), f"{where}: env")
    ports = [p if isinstance(p, dict) else {"containerPort": p}
             for p in _list(options.get("ports"), f"{where}: ports", "ports=[80]")]
    fields = dict(env=_env([{"name": k, "value": v} for k, v in env.items()], where),
                  ports=_ports(ports, where),
                  image_pull_policy=_pull_policy(options.get("image_pull_policy"), where, image),
                  command=_kwargs_argv(options, where, "command"),
                  args=_kwargs_argv(options, where, "args"))
    spec = ContainerSpec(name=name, image=image, memory_bytes=memory, cpus=cpus)
    if init:
        policy = _init_restart_policy({"restartPolicy": options.get("restart_policy")}, where)
        return InitContainer(spec, *requests, **fields, restart_policy=policy)
    return PodContainer(spec, *requests, **fields)


POD_RESOURCE_KWARGS = {"memory", "cpus", "requests_memory", "requests_cpus"}


def _kwargs_pod_resources(options, said: list[str]) -> Resources | None:
    """``resources=`` of pod_from_kwargs: the Pod's own ``memory``, ``cpus``,
    ``requests_memory``, ``requests_cpus`` (spec.resources), read as a manifest's."""
    if options is None:
        return None
    options = _mapping(options, "resources=")
    for key in options:
        if key not in POD_RESOURCE_KWARGS:
            raise _unknown(key, "resources=", POD_RESOURCE_KWARGS, POD_RESOURCE_KWARGS,
                           ask=False)
    limits = _given(options, memory="memory", cpu="cpus")
    requests = _given(options, memory="requests_memory", cpu="requests_cpus")
    return _pod_resources({"resources": {"limits": limits, "requests": requests}}, said)


def pod_from_kwargs(name: str, containers: dict[str, dict], *,
                    init_containers: dict[str, dict] | None = None,
                    resources: dict | None = None, **flags: bool) -> PodSpec:
    """A PodSpec from keyword arguments: ``{"app": {"image": ..., "memory": "256Mi"}}``;
    a container may also give ``command`` (a list, or a string run by ``sh -c``), ``args``,
    ``cpus``, ``requests_memory``, ``requests_cpus``, ``env`` (a dict), ``ports`` (numbers
    or ``{"containerPort": 80, "name": "http"}``) and ``image_pull_policy``.
    ``init_containers`` are given the same way, in order, each with
    ``restart_policy="Always"`` to make it a sidecar; ``resources`` are the Pod's own
    (``{"memory": "256Mi", "cpus": "500m"}``, and ``requests_…``). The same rules as a
    manifest's apply, and the same warnings are kept."""
    check_name(name, "The Pod name")
    for flag, value in flags.items():
        if flag not in FLAGS:
            same = {f.replace("_", ""): f for f in FLAGS}.get(flag.lower().replace("_", ""))
            raise SpecError(f"{flag}= is not a Pod flag labkit runs: " + (
                f"use {same}=True." if same else f"use one of {', '.join(FLAGS)}."))
        if not isinstance(value, bool):
            raise SpecError(f"{flag}={value!r} must be True or False: write {flag}=True.")
    containers = _mapping(containers, "containers=")
    said: list[str] = []
    built = tuple(_kwargs_container(i, cname, options, said)
                  for i, (cname, options) in enumerate(containers.items()))
    if not built:
        raise SpecError("The Pod has no containers: give at least one.")
    inits = tuple(_kwargs_container(i, cname, options, said, init=True) for i, (cname, options)
                  in enumerate(_mapping(init_containers, "init_containers=").items()))
    level = _kwargs_pod_resources(resources, said)
    if inits or level is not None or flags.get("host_users") is False:
        return check_pod(FullPodSpec(name=name, containers=built, warnings=tuple(said),
                                     init_containers=inits, resources=level, **flags))
    flags.pop("host_users", None)  # True: the host's, as for every plain PodSpec
    return check_pod(PodSpec(name=name, containers=built, warnings=tuple(said), **flags))


def ephemeral_container(pod: PodSpec, name: str, image: str = "busybox", *,
                        command=None, args=None, target: str | None = None,
                        env: dict | None = None) -> EphemeralContainer:
    """An ephemeral container for a running Pod, checked as the API server checks one added
    through the ``ephemeralcontainers`` subresource (``validateEphemeralContainers``,
    pkg/apis/core/validation/validation.go; KEP-277, stable in 1.25): a name unique among all
    the Pod's containers, an image, a ``targetContainerName`` that names one of its containers
    or init containers (not an ephemeral one). Ports, resources, probes and lifecycle hooks
    cannot be set for one, so this takes none.

    >>> pod = pod_from_kwargs("foo", {"app": {"image": "busybox", "command": "sleep 60"}})
    >>> ephemeral_container(pod, "debugger", target="app").target
    'app'
    """
    check_name(name, "The ephemeral container's name")
    where = f"ephemeral container {name}"
    if any(c.name == name for c in pod.all_containers):
        raise SpecError(f"Pod {pod.name} already has a container named {name!r}: container "
                        "names in a Pod must be unique, ephemeral ones included; choose another "
                        "name, e.g. debugger-2.")
    image = _image(image, where)
    targets = [c.name for c in (*pod.containers, *pod.init_containers)]
    if target is not None and target not in targets:
        ephemeral = any(c.name == target for c in pod.ephemeral_containers)
        raise SpecError(f"{where}: target {target!r} is not " + (
            "one it can target: an ephemeral container cannot be a target" if ephemeral else
            f"a container of pod {pod.name}") + f"; name one of {', '.join(targets)}.")
    options: dict = {"image": image}
    for key, value in (("command", command), ("args", args), ("env", env)):
        if value is not None:
            options[key] = value
    said: list[str] = []
    base = _kwargs_container(0, name, options, said)
    return EphemeralContainer(base.spec, env=base.env, image_pull_policy=base.image_pull_policy,
                              command=base.command, args=base.args, target=target)
