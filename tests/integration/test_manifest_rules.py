"""Manifests checked as the Kubernetes API server checks them, on every kind of pod.

Each invalid manifest is refused with one sentence naming the field and the fix, by
``lab.docker_pod``, ``lab.cri_pod``, ``lab.podman_pod``, ``lab.scratch_pod`` and
``lab.cluster_pod`` alike, before anything is
created: no container, no cgroup, no sandbox, and no kubectl call. What the API server only
warns about makes the pod, with the warning in ``PodSpec.warnings``. Valid edge cases of
quantities and names parse to the exact values, and a few run end to end. Each case's test
id names the upstream rule it mirrors (function and file in kubernetes/kubernetes).
"""

from __future__ import annotations

import copy
import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

import labkit
from labkit.errors import SpecError
from labkit.manifest import parse_pod
from labkit.spec import Port
from tests.conftest import FIXTURES, need
from tests.manifests import KUBECTL_RUN

BASE = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rules"},
    "spec": {"containers": [
        {"name": "app", "image": "busybox", "command": ["sleep", "600"],
         "ports": [{"containerPort": 80, "name": "http"}],
         "resources": {"limits": {"memory": "64Mi", "cpu": "250m"}}},
        {"name": "side", "image": "busybox", "command": ["sleep", "600"]},
    ]},
}


def manifest(**paths) -> str:
    """BASE with values set at dotted paths (``spec.containers.0.image``); None deletes."""
    doc = copy.deepcopy(BASE)
    for path, value in paths.items():
        *parents, last = path.split("__")
        node = doc
        for key in parents:
            node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
        if last.isdigit():
            node[int(last)] = value
        elif value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return yaml.safe_dump(doc, sort_keys=False)


APP = "spec__containers__0"
INIT = {"name": "setup", "image": "busybox", "command": ["true"]}
PORT = f"{APP}__ports__0"
LIMITS = f"{APP}__resources__limits"
REQUESTS = f"{APP}__resources__requests"

# Where each rule is upstream (kubernetes/kubernetes, master after v1.37.0): the function and
# its file, named in each case's test id. "labkit" marks labkit's own rules, and what it does
# not run: each says so in its sentence.
VALIDATION = "pkg/apis/core/validation/validation.go"
OBJECTMETA = "staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go"
LABELS = "staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go"
WARNINGS = "pkg/api/pod/warnings.go"
QUANTITY = "staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go"
NOT_RUN = "labkit: real Kubernetes, not run here"
STRICT = ("strict field validation (staging/src/k8s.io/apimachinery/pkg/runtime/serializer/json/"
          "json.go, kubectl's default since 1.27)")
PODS_ONLY = "labkit: Pods only, served by the core group v1 (pkg/apis/core/v1/register.go)"


def rule(function: str, path: str = VALIDATION) -> str:
    return f"{function} ({path})"


def decoding(go_type: str) -> str:
    """A value of the wrong type, refused when the API server decodes the Pod."""
    return f"decoding into {go_type} (staging/src/k8s.io/api/core/v1/types.go)"


INVALID = {
    # apiVersion, kind
    "apiVersion apps/v1": (manifest(apiVersion="apps/v1"), "write apiVersion: v1",
                           PODS_ONLY),
    "no apiVersion": (manifest(apiVersion=None), "apiVersion None does not serve Pods",
                      PODS_ONLY),
    "kind Deployment": (manifest(kind="Deployment"), "not a Pod: write kind: Pod",
                        PODS_ONLY),
    "unknown top field": (manifest(stauts={}), "Unknown field 'stauts' in the manifest: did you "
                                               "mean 'status'?",
                          STRICT),
    # metadata
    "name upper case": (manifest(metadata__name="Rules"), "metadata.name 'Rules' cannot",
                        rule("ValidatePodName")),
    "name with a dot": (manifest(metadata__name="a.b"), "metadata.name 'a.b' cannot be used",
                        "labkit: check_name, stricter than ValidatePodName"),
    "name of 41": (manifest(metadata__name="a" * 41), "(at most 40)",
                   "labkit: check_name, stricter than ValidatePodName"),
    "generateName alone": (manifest(metadata__name=None, metadata__generateName="rules-"),
                           "labkit does not do: give metadata.name instead",
                           "labkit: no name generation (ValidateObjectMeta, objectmeta.go)"),
    "generateName upper": (manifest(metadata__generateName="Rules-"),
                           "'Rules-' is not a name prefix",
                           rule("ValidateObjectMeta + ValidatePodName(prefix)", OBJECTMETA)),
    "resourceVersion": (manifest(metadata__resourceVersion="4711"),
                        "resourceVersion should not be set on objects to be created",
                        rule("store.Create",
                             "staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go")),
    "creationTimestamp": (manifest(metadata__creationTimestamp="yesterday"),
                          "creationTimestamp 'yesterday' is not a time",
                          rule("metav1.Time.UnmarshalJSON",
                               "staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/time.go")),
    "ownerReference no uid": (manifest(metadata__ownerReferences=[
                                  {"apiVersion": "v1", "kind": "Node", "name": "n"}]),
                              "an owner has no uid", rule("ValidateOwnerReferences", OBJECTMETA)),
    "finalizer name": (manifest(metadata__finalizers=["a b"]), "'a b' is not a valid name",
                       rule("ValidateFinalizers", OBJECTMETA)),
    "namespace upper": (manifest(metadata__namespace="Kube_System"),
                        "metadata.namespace 'Kube_System' is not a DNS label",
                        rule("ValidateObjectMeta (ValidateNamespaceName)", OBJECTMETA)),
    "namespace of 64": (manifest(metadata__namespace="n" * 64), "is not a DNS label: use at",
                        rule("ValidateObjectMeta (ValidateNamespaceName)", OBJECTMETA)),
    "label key dash": (manifest(metadata__labels={"-app": "x"}), "metadata.labels key '-app'",
                       rule("ValidateLabels", LABELS)),
    "label key prefix": (manifest(metadata__labels={"Example.com/app": "x"}),
                         "key 'Example.com/app' is not a valid key",
                         rule("ValidateLabels", LABELS)),
    "label key name 64": (manifest(metadata__labels={"k" * 64: "x"}), "is not a valid key",
                          rule("ValidateLabels", LABELS)),
    "label value 64": (manifest(metadata__labels={"app": "v" * 64}),
                       "is not a valid label value: use at most 63",
                       rule("ValidateLabels", LABELS)),
    "label value space": (manifest(metadata__labels={"app": "my app"}),
                          "metadata.labels.app value 'my app' is not a valid label value",
                          rule("ValidateLabels", LABELS)),
    "label value number": (manifest(metadata__labels={"tier": 1}),
                           "metadata.labels.tier 1 is not a string: quote it",
                           decoding("map[string]string")),
    "label labkit's": (manifest(metadata__labels={"io.labkit.session": "x"}),
                       "is one of labkit's own marks", "labkit: its own label prefix"),
    "annotation key": (manifest(metadata__annotations={"a b": "x"}),
                       "metadata.annotations key 'a b' is not a valid key",
                       rule("ValidateAnnotations", OBJECTMETA)),
    "managedFields": (manifest(metadata__managedFields=[]),
                      "metadata.managedFields is real Kubernetes but not supported", NOT_RUN),
    # containers
    "container upper": (manifest(**{f"{APP}__name": "App"}),
                        "spec.containers[0].name 'App' cannot be used",
                        rule("validateContainers (IsDNS1123Label)")),
    "container underscore": (manifest(**{f"{APP}__name": "my_app"}),
                             "spec.containers[0].name 'my_app' cannot be used",
                             rule("validateContainers (IsDNS1123Label)")),
    "two apps": (manifest(**{"spec__containers__1__name": "app"}),
                 "Two containers are named 'app'", rule("validateContainers")),
    "no image": (manifest(**{f"{APP}__image": None}), "container app has no image: add one",
                 rule("validateContainers")),
    "image spaces": (manifest(**{f"{APP}__image": " busybox"}), "has spaces around it",
                     rule("validateContainerCommon")),
    "image number": (manifest(**{f"{APP}__image": 5}), "image 5 is not a string: quote it",
                     decoding("string")),
    "command string": (manifest(**{f"{APP}__command": "sleep 600"}),
                       "container app: command must be a list", decoding("[]string")),
    "args number": (manifest(**{f"{APP}__args": ["-c", 10]}),
                    "args item 10 is not a string: quote it", decoding("[]string")),
    "pull policy": (manifest(**{f"{APP}__imagePullPolicy": "Sometimes"}),
                    "imagePullPolicy 'Sometimes' is not one Kubernetes knows",
                    rule("validatePullPolicy")),
    "no containers": (manifest(spec__containers=[]), "list at least one under spec.containers",
                      rule("ValidatePodSpec")),
    "unknown container field": (manifest(**{f"{APP}__volumeMount": []}),
                                "Unknown field 'volumeMount' in container app: did you mean "
                                "'volumeMounts'?",
                                STRICT),
    "volumeMounts": (manifest(**{f"{APP}__volumeMounts": []}),
                     "container app.volumeMounts is real Kubernetes but not supported by this "
                     "lab", NOT_RUN),
    "resizePolicy": (manifest(**{f"{APP}__resizePolicy": []}),
                     "container app.resizePolicy is real Kubernetes but not supported", NOT_RUN),
    "container restartPolicy": (manifest(**{f"{APP}__restartPolicy": "Always"}),
                                "container app.restartPolicy is real Kubernetes but not "
                                "supported", NOT_RUN),
    # ports
    "port 0": (manifest(**{f"{PORT}__containerPort": 0}),
               "containerPort 0 is not a port number: give one between 1 and 65535",
               rule("validateContainerPorts")),
    "port 65536": (manifest(**{f"{PORT}__containerPort": 65536}),
                   "containerPort 65536 is not a port number", rule("validateContainerPorts")),
    "port string": (manifest(**{f"{PORT}__containerPort": "80"}),
                    "a port needs containerPort as a number", decoding("int32")),
    "protocol lower": (manifest(**{f"{PORT}__protocol": "tcp"}), "use TCP, UDP or SCTP",
                       rule("validateContainerPorts")),
    "protocol HTTP": (manifest(**{f"{PORT}__protocol": "HTTP"}), "has protocol 'HTTP'",
                      rule("validateContainerPorts")),
    "port name 16": (manifest(**{f"{PORT}__name": "a-very-long-name"}),
                     "port name 'a-very-long-name' is not an IANA service name",
                     rule("validateContainerPorts (IsValidPortName)")),
    "port name digits": (manifest(**{f"{PORT}__name": "8080"}), "port name '8080' is not",
                         rule("validateContainerPorts (IsValidPortName)")),
    "port name --": (manifest(**{f"{PORT}__name": "web--x"}), "port name 'web--x' is not",
                     rule("validateContainerPorts (IsValidPortName)")),
    "port name dash": (manifest(**{f"{PORT}__name": "-web"}), "port name '-web' is not",
                       rule("validateContainerPorts (IsValidPortName)")),
    "port name upper": (manifest(**{f"{PORT}__name": "Web"}), "port name 'Web' is not",
                        rule("validateContainerPorts (IsValidPortName)")),
    "port names twice": (manifest(**{f"{APP}__ports": [{"containerPort": 80, "name": "web"},
                                                       {"containerPort": 81, "name": "web"}]}),
                         "two ports are named 'web'", rule("validateContainerPorts")),
    "hostPort": (manifest(**{f"{PORT}__hostPort": 8080}),
                 "ports.hostPort is real Kubernetes but not supported", NOT_RUN),
    "ports not a list": (manifest(**{f"{APP}__ports": 80}), "container app: ports must be a",
                         decoding("[]ContainerPort")),
    # env
    "env equals": (manifest(**{f"{APP}__env": [{"name": "A=B", "value": "x"}]}),
                   "env name 'A=B' is not a valid variable name",
                   rule("ValidateEnv (IsRelaxedEnvVarName)")),
    "env tab": (manifest(**{f"{APP}__env": [{"name": "A\tB", "value": "x"}]}),
                "env name 'A\\tB' is not", rule("ValidateEnv (IsRelaxedEnvVarName)")),
    "env not ASCII": (manifest(**{f"{APP}__env": [{"name": "GRÜSSE", "value": "x"}]}),
                      "env name 'GRÜSSE' is not", rule("ValidateEnv (IsRelaxedEnvVarName)")),
    "env value number": (manifest(**{f"{APP}__env": [{"name": "PORT", "value": 80}]}),
                         "env PORT: value 80 is not a string: quote it", decoding("string")),
    "env no name": (manifest(**{f"{APP}__env": [{"value": "x"}]}), "an env item has no name",
                    rule("ValidateEnv")),
    "env valueFrom": (manifest(**{f"{APP}__env": [{"name": "A", "valueFrom": {}}]}),
                      "env.valueFrom is real Kubernetes but not supported", NOT_RUN),
    # resources
    "memory request > limit": (manifest(**{REQUESTS: {"memory": "128Mi"}}),
                               "resources.requests.memory 128 MiB is more than "
                               "resources.limits.memory 64 MiB: lower the request",
                               rule("ValidateContainerResourceRequirements")),
    "cpu request > limit": (manifest(**{REQUESTS: {"cpu": "0.5"}}),
                            "resources.requests.cpu 500m is more than resources.limits.cpu "
                            "250m", rule("ValidateContainerResourceRequirements")),
    "memory negative": (manifest(**{LIMITS: {"memory": "-64Mi"}}), "'-64Mi' is negative",
                        rule("ValidateResourceQuantityValue")),
    "memory millis limit": (manifest(**{LIMITS: {"memory": "100m"}}),
                            "'100m' is a fraction of a byte (m is a thousandth, not mega), "
                            "which the API server rounds up to 1 byte, but labkit does not run",
                            "labkit: its 4096-byte floor, after warningsForPodSpecAndMeta"),
    "memory docker style": (manifest(**{LIMITS: {"memory": "64MB"}}),
                            "'64MB' is not a Kubernetes quantity",
                            rule("resource.ParseQuantity", QUANTITY)),
    "memory huge": (manifest(**{LIMITS: {"memory": "1e999"}}), "larger than any machine's",
                    rule("resource.ParseQuantity", QUANTITY)),
    "memory tiny": (manifest(**{LIMITS: {"memory": "1Ki"}}),
                    "memory '1Ki' is only 1024 bytes, which the API server accepts, but labkit "
                    "does not run a memory limit under 4096 bytes",
                    "labkit: its 4096-byte floor (the API server accepts it)"),
    "cpu negative": (manifest(**{LIMITS: {"cpu": "-1"}}), "CPU quantity '-1' is negative",
                     rule("ValidateResourceQuantityValue")),
    "cpu beyond any kernel": (manifest(**{LIMITS: {"cpu": "1e12"}}),
                              "more than the 175921860 cores a Linux kernel can give one cgroup",
                              "labkit: the kernel's largest CFS quota (the API server accepts "
                              "it)"),
    "cpu words": (manifest(**{LIMITS: {"cpu": "1 core"}}), "'1 core' is not a number of cores",
                  rule("resource.ParseQuantity", QUANTITY)),
    "ephemeral-storage": (manifest(**{LIMITS: {"ephemeral-storage": "1Gi"}}),
                          "container app: resources.limits.ephemeral-storage is real Kubernetes "
                          "but not supported by this lab", NOT_RUN),
    "resource typo": (manifest(**{LIMITS: {"memroy": "1Gi"}}),
                      "Unknown field 'memroy' in container app: resources.limits: did you mean "
                      "'memory'?", rule("validateContainerResourceName")),
    # spec
    "restartPolicy": (manifest(spec__restartPolicy="always"), "use Always, OnFailure or Never",
                      rule("validateRestartPolicy")),
    "grace float": (manifest(spec__terminationGracePeriodSeconds=1.5),
                    "terminationGracePeriodSeconds 1.5 is not", decoding("int64")),
    "hostPID and shared": (manifest(spec__hostPID=True, spec__shareProcessNamespace=True),
                           "shareProcessNamespace and hostPID cannot both be enabled",
                           rule("validatePodSpecSecurityContext")),
    "hostNetwork string": (manifest(spec__hostNetwork="on please"),
                           "spec.hostNetwork must be true or false", decoding("bool")),
    "dnsPolicy unknown": (manifest(spec__dnsPolicy="Cluster"),
                          "spec.dnsPolicy 'Cluster' is not one Kubernetes knows",
                          rule("validateDNSPolicy")),
    "dnsPolicy Default": (manifest(spec__dnsPolicy="Default"),
                          "spec.dnsPolicy Default is real Kubernetes but not supported", NOT_RUN),
    "volumes": (manifest(spec__volumes=[]),
                "spec.volumes is real Kubernetes but not supported by this lab", NOT_RUN),
    "hostUsers string": (manifest(spec__hostUsers="no"),
                         "spec.hostUsers must be true or false", decoding("bool")),
    "hostUsers and hostNetwork": (manifest(spec__hostUsers=False, spec__hostNetwork=True),
                                  "hostNetwork cannot be used with hostUsers: false",
                                  rule("validateHostUsers")),
    # chapter 8: init containers (sidecars), ephemeral containers, pod-level resources
    "init restartPolicy Never": (manifest(spec__initContainers=[{**INIT, "restartPolicy":
                                                                 "Never"}]),
                                 "init container setup.restartPolicy Never is real Kubernetes "
                                 "but not supported", NOT_RUN + " (KEP-5307)"),
    "init restartPolicy lower": (manifest(spec__initContainers=[{**INIT, "restartPolicy":
                                                                 "always"}]),
                                 "restartPolicy 'always' is not one Kubernetes knows",
                                 rule("validateInitContainerRestartPolicy")),
    "init named as a container": (manifest(spec__initContainers=[{**INIT, "name": "app"}]),
                                  "Two containers are named 'app'",
                                  rule("validateInitContainers")),
    "init unknown field": (manifest(spec__initContainers=[{**INIT, "restartPolicies": []}]),
                           "Unknown field 'restartPolicies' in init container setup: did you "
                           "mean 'restartPolicy'?", STRICT),
    "init probe": (manifest(spec__initContainers=[{**INIT, "startupProbe": {}}]),
                   "init container setup.startupProbe is real Kubernetes but not supported",
                   NOT_RUN),
    "ephemeralContainers": (manifest(spec__ephemeralContainers=[{"name": "debugger",
                                                                 "image": "busybox"}]),
                            "spec.ephemeralContainers cannot be set when a Pod is created",
                            rule("ValidatePodCreate")),
    "pod request > limit": (manifest(spec__resources={"requests": {"memory": "1Gi"},
                                                      "limits": {"memory": "256Mi"}}),
                            "spec.resources.requests.memory 1 GiB is more than "
                            "spec.resources.limits.memory 256 MiB",
                            rule("validatePodResources (validateResourceRequirements)")),
    "container > pod limit": (manifest(spec__resources={"limits": {"memory": "32Mi"}}),
                              "container app: resources.limits.memory 64 MiB is more than the "
                              "Pod's own limit",
                              rule("validatePodResourceConsistency")),
    "pod request < containers'": (manifest(spec__resources={"requests": {"cpu": "100m"}}),
                                  "spec.resources.requests.cpu 100m is less than the containers "
                                  "ask for together (250m",
                                  rule("validatePodResourceConsistency")),
    "pod-level ephemeral-storage": (manifest(spec__resources={"limits": {"ephemeral-storage":
                                                                         "1Gi"}}),
                                    "cannot be set for a whole Pod: pod-level resources are cpu, "
                                    "memory and hugepages-<size>",
                                    rule("validatePodResources (IsSupportedPodLevelResource, "
                                         "component-helpers resource/helpers.go)")),
    "pod-level hugepages": (manifest(spec__resources={"limits": {"hugepages-2Mi": "2Mi"}}),
                            "spec.resources.limits.hugepages-2Mi is real Kubernetes but not "
                            "supported", NOT_RUN),
    "pod-level claims": (manifest(spec__resources={"claims": [{"name": "gpu"}]}),
                         "spec.resources.claims cannot be set for a whole Pod",
                         rule("validatePodResources")),
}


def _sentence(error: Exception, expected: str) -> None:
    text = str(error)
    assert expected in text, text
    assert "\n" not in text and text.endswith((".", "?")) and ": " in text, text


# -- the labs: one per module, reused (containerd costs a second or two to start) -------------
@pytest.fixture(scope="module")
def docker_lab(docker_client):
    with labkit.Lab(gather="direct" if os.geteuid() == 0 else "helper") as lab:
        yield lab
    assert lab.docker.session_containers() == []


@pytest.fixture(scope="module")
def cri_lab(docker_client):
    need(os.geteuid() == 0, "a containerd node needs root")
    with labkit.Lab(gather="direct") as lab:
        lab.containerd  # noqa: B018  started, so that its listing means something
        yield lab


def _session_cgroups(lab) -> list[str]:
    return [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/{lab.session.prefix}*")]


def _cri_created(lab) -> tuple[list, list[str]]:
    cri = lab.containerd.cri
    sandboxes = list(cri.call("ListPodSandbox", cri.pb.ListPodSandboxRequest()).items)
    pods = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*{lab.containerd.kubepods}/**/pod*")]
    return sandboxes, pods


@pytest.fixture
def fake_kubectl(tmp_path, monkeypatch):
    """A kubectl that logs its calls and answers as the recorded minikube did."""
    log = tmp_path / "kubectl.log"
    script = tmp_path / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {log}\n'
        f'case "$3" in get) cat {FIXTURES / "minikube/pod.json"};; esac\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    return log


def _podman_created(lab) -> list[str]:
    """What the session started of Podman: nothing while its service was never started (a
    lab makes pods through that service only), else its pods in labkit's podman store."""
    from labkit.runtimes.podman.service import podman_command, podman_environment

    if lab._podman is None:
        return []
    listed = subprocess.run(podman_command("pod", "ps", "-q", "--filter",
                                           f"label=io.labkit.session={lab.session.id}"),
                            capture_output=True, text=True, env=podman_environment())
    assert listed.returncode == 0, listed.stderr
    return listed.stdout.split()


def _scratch_dirs(lab) -> list[str]:
    """The session's pods from scratch on disk (their root file systems)."""
    from labkit.runtimes.scratch import rootfs

    return [str(p) for p in Path(rootfs.BASE).glob(f"{lab.session.prefix}*")]


def _no_shell(argv):
    raise AssertionError(f"the node shell was called: {argv}")


def _way(request, kind: str):
    """How to make a pod of this kind, and what it has left behind (empty: nothing)."""
    if kind == "docker":
        lab = request.getfixturevalue("docker_lab")
        return lab.docker_pod, lambda: lab.docker.session_containers() + _session_cgroups(lab)
    if kind == "cri":
        lab = request.getfixturevalue("cri_lab")
        return lab.cri_pod, lambda: [x for found in _cri_created(lab) for x in found]
    if kind == "podman":
        lab = request.getfixturevalue("docker_lab")
        return lab.podman_pod, lambda: _podman_created(lab)
    if kind == "scratch":
        lab = request.getfixturevalue("docker_lab")
        return lab.scratch_pod, lambda: _session_cgroups(lab) + _scratch_dirs(lab)
    lab, log = request.getfixturevalue("docker_lab"), request.getfixturevalue("fake_kubectl")
    return (lambda text, **_: lab.cluster_pod(text, node_shell=_no_shell),
            lambda: log.read_text().splitlines() if log.exists() else [])  # kubectl's calls


def _id(table: dict):
    """A case's test id: its name, and the upstream rule it mirrors."""
    return lambda case: f"{case} | {table[case][-1]}"


@pytest.mark.parametrize("kind", ["docker", "cri", "podman", "scratch", "cluster"])
@pytest.mark.parametrize("case", INVALID, ids=_id(INVALID))
def test_refused_with_one_sentence_before_anything_is_created(request, case, kind):
    text, expected, _ = INVALID[case]
    make, created = _way(request, kind)
    with pytest.raises(SpecError) as caught:
        make(text, quiet=True)
    _sentence(caught.value, expected)
    assert created() == []


# What only labkit's containerd runs in this lab (chapter 8): the other kinds refuse it by
# name before anything is made (labkit.spec.refuse_what_only_the_cri_runs); the CRI pod runs
# it (tests/integration/test_cri_pod.py reads it back from the kernel).
CRI_ONLY = {
    "initContainers": (manifest(spec__initContainers=[INIT]), "spec.initContainers"),
    "a sidecar": (manifest(spec__initContainers=[{**INIT, "command": ["sleep", "600"],
                                                  "restartPolicy": "Always"}]),
                  "spec.initContainers"),
    "pod-level resources": (manifest(spec__resources={"limits": {"memory": "256Mi"}}),
                            "spec.resources"),
}


@pytest.mark.parametrize("kind", ["docker", "podman", "scratch", "cluster"])
@pytest.mark.parametrize("case", CRI_ONLY)
def test_what_only_the_cri_runs_is_refused_elsewhere(request, case, kind):
    text, field = CRI_ONLY[case]
    make, created = _way(request, kind)
    try:
        made = make(text, quiet=True)
    except SpecError as refused:
        _sentence(refused, f"{field} is real Kubernetes that only labkit's containerd runs")
    else:  # made without the field: removed at once, so that the next case starts clean
        made.delete()
        pytest.fail(f"a pod {kind} was made without its {field}, where it should be refused")
    assert created() == []


@pytest.mark.parametrize("case", CRI_ONLY)
def test_what_only_the_cri_runs_runs_there(cri_lab, case):
    text, _ = CRI_ONLY[case]
    with cri_lab.cri_pod(text, quiet=True) as pod:
        assert pod.state == "running" and "app" in [m.name for m in pod.members()]
    assert _cri_created(cri_lab) == ([], [])


def test_the_fake_kubectl_is_the_one_called(docker_lab, fake_kubectl):
    """The control for the test above: a valid Pod does reach kubectl."""
    pod = docker_lab.cluster_pod(manifest(), node_shell=_no_shell)
    pod.delete()
    calls = fake_kubectl.read_text().splitlines()
    assert [c.split()[2] for c in calls] == ["version", "apply", "get", "delete"]


# Keyword arguments (docker_pod, cri_pod, podman_pod and scratch_pod take them): the same rules.
BOX = {"image": "busybox", "command": "sleep 600"}
INVALID_KWARGS = {
    "pod name": (dict(name="Bad_Name", containers={"app": BOX}), "The Pod name 'Bad_Name'",
                 rule("ValidatePodName")),
    "container name": (dict(name="k", containers={"App": BOX}), "The container name 'App'",
                       rule("validateContainers (IsDNS1123Label)")),
    "both pid flags": (dict(name="k", containers={"app": BOX}, host_pid=True,
                            share_process_namespace=True), "cannot both be enabled",
                       rule("validatePodSpecSecurityContext")),
    "flag typo": (dict(name="k", containers={"app": BOX}, hostPID=True),
                  "hostPID= is not a Pod flag labkit runs: use host_pid=True.",
                  "labkit: its keywords"),
    "flag not bool": (dict(name="k", containers={"app": BOX}, host_ipc="yes"),
                      "host_ipc='yes' must be True or False", decoding("bool")),
    "unknown option": (dict(name="k", containers={"app": {**BOX, "memroy": "1Gi"}}),
                       "Unknown field 'memroy' in container app: write 'memory' instead.",
                       "labkit: its keywords"),
    "request > limit": (dict(name="k", containers={"app": {**BOX, "memory": "64Mi",
                                                           "requests_memory": "1Gi"}}),
                        "resources.requests.memory 1 GiB is more than",
                        rule("ValidateContainerResourceRequirements")),
    "port 0": (dict(name="k", containers={"app": {**BOX, "ports": [0]}}),
               "containerPort 0 is not a port number", rule("validateContainerPorts")),
    "env name": (dict(name="k", containers={"app": {**BOX, "env": {"A=B": "y"}}}),
                 "env name 'A=B' is not a valid variable name",
                 rule("ValidateEnv (IsRelaxedEnvVarName)")),
    "args string": (dict(name="k", containers={"app": {**BOX, "args": "--port 80"}}),
                    "container app: args must be a list", decoding("[]string")),
}


@pytest.mark.parametrize("kind", ["docker", "cri", "podman", "scratch"])
@pytest.mark.parametrize("case", INVALID_KWARGS, ids=_id(INVALID_KWARGS))
def test_keyword_pods_are_checked_the_same(request, case, kind):
    kwargs, expected, _ = INVALID_KWARGS[case]
    make, created = _way(request, kind)
    with pytest.raises(SpecError) as caught:
        make(quiet=True, **kwargs)
    _sentence(caught.value, expected)
    assert created() == []


# -- what the API server only warns about: the pod is made, the warning kept ------------------
GIVEN_UID = "9c1e7a5e-3f0b-4d7e-8a51-2b6f0d3c4e1a"
WARNED = {  # (manifest, the warning, what the pod is made with, the upstream rule)
    "port in two containers": (
        manifest(**{"spec__containers__1__ports": [{"containerPort": 80}]}),
        "spec.containers[1].ports[0]: duplicate port definition with spec.containers[0].ports[0]",
        lambda s: [c.ports for c in s.containers] == [(Port(80, "TCP", "http"),), (Port(80),)],
        rule("warningsForPodSpecAndMeta", WARNINGS)),
    "port twice in a container": (
        manifest(**{f"{APP}__ports": [{"containerPort": 80, "name": "http"},
                                      {"containerPort": 80}]}),
        "spec.containers[0].ports[1]: duplicate port definition with spec.containers[0].ports[0]",
        lambda s: s.containers[0].ports == (Port(80, "TCP", "http"), Port(80)),
        rule("warningsForPodSpecAndMeta", WARNINGS)),
    "negative grace": (
        manifest(spec__terminationGracePeriodSeconds=-5),
        "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will "
        "be treated as 1",
        lambda s: s.grace_period_s == 1,
        rule("warningsForPodSpecAndMeta", WARNINGS)),
    "fractional memory request": (
        manifest(**{REQUESTS: {"memory": "33554432.5"}}),  # 32Mi and half a byte
        'spec.containers[0].resources.requests[memory]: fractional byte value "33554432500m" '
        "is invalid, must be an integer",
        lambda s: s.containers[0].requests_memory == 32 * 2**20 + 1,  # rounded up
        rule("warningsForPodSpecAndMeta", WARNINGS)),
    "env repeated": (
        manifest(**{f"{APP}__env": [{"name": "GREETING", "value": "hi"},
                                    {"name": "GREETING", "value": "hello"}]}),
        'spec.containers[0].env[1]: hides previous definition of "GREETING", which may be '
        "dropped when using apply",
        lambda s: dict(s.containers[0].env) == {"GREETING": "hello"},  # the last one wins
        rule("warningsForPodSpecAndMeta", WARNINGS)),
    "uid given": (
        manifest(metadata__uid=GIVEN_UID),
        f"metadata.uid: the API server sets the uid of a Pod it creates, so '{GIVEN_UID}' is "
        "ignored and this Pod gets a new one",
        lambda s: s.uid != GIVEN_UID,
        rule("FillObjectMetaSystemFields",
             "staging/src/k8s.io/apiserver/pkg/registry/rest/meta.go")),
}


@pytest.mark.parametrize("kind", ["docker", "cri", "podman", "scratch", "cluster"])
@pytest.mark.parametrize("case", WARNED, ids=_id(WARNED))
def test_warned_about_and_made(request, case, kind):
    text, warning, used, _ = WARNED[case]
    make, created = _way(request, kind)
    with make(text, quiet=True) as pod:
        assert warning in pod.spec.warnings
        assert used(pod.spec)
        assert created()  # the pod is there
    if kind != "cluster":  # the fake kubectl keeps its log
        assert created() == []


def test_the_lab_says_the_warnings_when_it_makes_the_pod(docker_lab, capsys):
    with docker_lab.docker_pod(WARNED["negative grace"][0], quiet=True):
        pass
    assert WARNED["negative grace"][1] in capsys.readouterr().out


def test_kubectls_pod_runs(docker_lab):
    """``kubectl run``'s output (status, a null creationTimestamp, dnsPolicy: ClusterFirst),
    with an image that stays up here."""
    text = KUBECTL_RUN.replace("image: nginx", "image: busybox\n    command: [sleep, '600']")
    with docker_lab.docker_pod(text, quiet=True) as pod:
        assert [m.name for m in pod.members()][-1] == "foo" and pod.spec.warnings == ()


# -- valid edge cases ------------------------------------------------------------------------
def _app(field: str):
    return lambda p: getattr(p.containers[0].spec, field)


VALID = [  # (paths to set, what to read from the PodSpec, expected, the upstream rule)
    ({LIMITS: {"memory": 128974848}}, _app("memory_bytes"), 128974848,
     rule("resource.ParseQuantity", QUANTITY)),
    ({LIMITS: {"memory": "129e6"}}, _app("memory_bytes"), 129 * 10**6,
     rule("resource.ParseQuantity", QUANTITY)),
    ({LIMITS: {"memory": "129M"}}, _app("memory_bytes"), 129 * 10**6,
     rule("resource.ParseQuantity", QUANTITY)),
    ({LIMITS: {"memory": "123Mi"}}, _app("memory_bytes"), 128974848,
     rule("resource.ParseQuantity", QUANTITY)),
    ({LIMITS: {"memory": "1E8"}}, _app("memory_bytes"), 10**8,
     rule("resource.ParseQuantity", QUANTITY)),
    ({LIMITS: {"memory": "0.5Gi"}}, _app("memory_bytes"), 2**29,
     rule("resource.ParseQuantity", QUANTITY)),
    ({LIMITS: {"memory": "1000000.5"}}, _app("memory_bytes"), 1000001,
     rule("Quantity.Value (rounds up), warningsForPodSpecAndMeta", WARNINGS)),
    ({LIMITS: {"memory": 0, "cpu": 0}}, lambda p: (p.containers[0].spec.memory_bytes,
                                                   p.containers[0].spec.cpus, p.qos_class),
     (0, 0.0, "BestEffort"), rule("ValidateResourceQuantityValue; ComputePodQOS (zero: not "
                                  "given)", "pkg/apis/core/v1/helper/qos/qos.go")),
    ({REQUESTS: {"memory": 0, "cpu": "0"}},
     lambda p: (p.containers[0].requests_memory, p.containers[0].requests_cpus, p.qos_class),
     (0, 0.0, "Burstable"), rule("ValidateResourceQuantityValue")),
    ({LIMITS: {"cpu": "100m"}}, _app("cpus"), 0.1, rule("Quantity.MilliValue", QUANTITY)),
    ({LIMITS: {"cpu": 0.5}}, _app("cpus"), 0.5, rule("Quantity.MilliValue", QUANTITY)),
    ({LIMITS: {"cpu": "1e-1"}}, _app("cpus"), 0.1, rule("Quantity.MilliValue", QUANTITY)),
    ({LIMITS: {"cpu": "0.0005"}}, _app("cpus"), 0.001,
     rule("Quantity.MilliValue (rounds up)", QUANTITY)),
    ({LIMITS: {"cpu": "100u"}}, _app("cpus"), 0.001,
     rule("Quantity.MilliValue (rounds up)", QUANTITY)),
    ({LIMITS: {"cpu": 2}}, _app("cpus"), 2.0, rule("Quantity.MilliValue", QUANTITY)),
    ({LIMITS: {"cpu": "2000"}, REQUESTS: {"cpu": "1"}}, _app("cpus"), 2000.0,
     rule("ValidateResourceQuantityValue (no upper bound; MilliCPUToShares clamps)")),
    ({LIMITS: {"memory": "64Mi", "cpu": "250m"}, REQUESTS: {"memory": "64Mi", "cpu": "250m"},
      "spec__containers__1__resources": {"limits": {"memory": "8Mi", "cpu": "10m"}}},
     lambda p: p.qos_class, "Guaranteed",
     rule("ComputePodQOS", "pkg/apis/core/v1/helper/qos/qos.go")),
    ({"metadata__name": "a" * 40}, lambda p: p.name, "a" * 40, rule("ValidatePodName")),
    ({"metadata__name": "0-rules"}, lambda p: p.name, "0-rules", rule("ValidatePodName")),
    ({"metadata__generateName": "rules-"}, lambda p: p.name, "rules",
     rule("ValidateObjectMeta (a name wins over generateName)", OBJECTMETA)),
    ({"metadata__creationTimestamp": "2026-01-01T00:00:00Z", "status": {"phase": "Running"},
      "metadata__resourceVersion": "0"},
     lambda p: p.warnings, (),
     rule("FillObjectMetaSystemFields; PrepareForCreate",
          "staging/src/k8s.io/apiserver/pkg/registry/rest/meta.go")),
    ({f"{APP}__name": "a"}, lambda p: p.containers[0].name, "a",
     rule("validateContainers (IsDNS1123Label)")),
    ({"metadata__namespace": "n" * 63}, lambda p: p.namespace, "n" * 63,
     rule("ValidateObjectMeta (ValidateNamespaceName)", OBJECTMETA)),
    ({"metadata__labels": {"app.kubernetes.io/name": "my-app_1.0", "empty": ""}},
     lambda p: p.labels, (("app.kubernetes.io/name", "my-app_1.0"), ("empty", "")),
     rule("ValidateLabels", LABELS)),
    ({"metadata__labels": {"a" * 64 + ".example.com/app": "x"}}, lambda p: p.labels[0][0],
     "a" * 64 + ".example.com/app",
     rule("ValidateLabels (IsDNS1123Subdomain: 253 in all, parts not held to 63)", LABELS)),
    ({"metadata__annotations": {"example.com/note": "anything, even spaces: fine"}},
     lambda p: p.annotations, (("example.com/note", "anything, even spaces: fine"),),
     rule("ValidateAnnotations", OBJECTMETA)),
    ({"metadata__annotations": {"Example.COM/Note": "x"}}, lambda p: p.annotations,
     (("Example.COM/Note", "x"),), rule("ValidateAnnotations (keys in lower case)", OBJECTMETA)),
    ({"metadata__uid": "../../etc"}, lambda p: p.uid != "../../etc", True,
     rule("FillObjectMetaSystemFields",
          "staging/src/k8s.io/apiserver/pkg/registry/rest/meta.go")),
    ({f"{APP}__ports": [{"containerPort": 65535, "name": "abcdefghijklmno"},
                        {"containerPort": 1, "protocol": "UDP", "name": "a1-b2"},
                        {"containerPort": 65535, "protocol": "SCTP"}]},
     lambda p: p.containers[0].ports,
     (Port(65535, "TCP", "abcdefghijklmno"), Port(1, "UDP", "a1-b2"), Port(65535, "SCTP")),
     rule("validateContainerPorts")),
    ({"spec__containers__1__ports": [{"containerPort": 80, "protocol": "UDP", "name": "http"}]},
     lambda p: ([c.ports for c in p.containers], p.warnings),
     ([(Port(80, "TCP", "http"),), (Port(80, "UDP", "http"),)], ()),
     rule("validateContainerPorts; warningsForPodSpecAndMeta (another protocol)", WARNINGS)),
    ({f"{APP}__env": [{"name": "my.env-name", "value": "1"}, {"name": "_X"},
                      {"name": "_X", "value": "again"}]},
     lambda p: p.containers[0].env, (("my.env-name", "1"), ("_X", ""), ("_X", "again")),
     rule("ValidateEnv")),
    ({f"{APP}__env": [{"name": n, "value": "1"} for n in ("1ST", "MY VAR", "a:b", ".", "..x")]},
     lambda p: [n for n, _ in p.containers[0].env], ["1ST", "MY VAR", "a:b", ".", "..x"],
     rule("ValidateEnv (IsRelaxedEnvVarName, GA in 1.34)")),
    ({f"{APP}__command": ["sh", "-c"], f"{APP}__args": ["echo $(A)"]},
     lambda p: (p.containers[0].command, p.containers[0].args), (("sh", "-c"), ("echo $(A)",)),
     decoding("[]string: command and args kept apart, unexpanded (the kubelet expands them)")),
    ({}, lambda p: [c.image_pull_policy for c in p.containers], ["Always", "Always"],
     rule("SetDefaults_Container", "pkg/apis/core/v1/defaults.go")),
    ({f"{APP}__image": "busybox:1.36", "spec__containers__1__imagePullPolicy": "Never"},
     lambda p: [c.image_pull_policy for c in p.containers], ["IfNotPresent", "Never"],
     rule("SetDefaults_Container", "pkg/apis/core/v1/defaults.go")),
    ({f"{APP}__image": "busybox:latest@sha256:" + "0" * 64},
     lambda p: p.containers[0].image_pull_policy, "Always",
     rule("SetDefaults_Container (ParseImageName: the tag decides)",
          "pkg/apis/core/v1/defaults.go")),
    ({"spec__terminationGracePeriodSeconds": 0, "spec__restartPolicy": "Never",
      "spec__hostPID": True, "spec__dnsPolicy": "ClusterFirst"},
     lambda p: (p.grace_period_s, p.restart_policy, p.host_pid), (0, "Never", True),
     rule("validateRestartPolicy; validateDNSPolicy")),
]


@pytest.mark.parametrize(("paths", "read", "expected"),
                         [pytest.param(*case[:3], id=f"{i} | {case[3]}")
                          for i, case in enumerate(VALID)])
def test_valid_edge_cases_parse_to_exact_values(paths, read, expected):
    assert read(parse_pod(manifest(**paths))) == expected


EDGES = {  # valid edge cases run end to end on Docker
    "quantities": manifest(**{LIMITS: {"memory": "129e6", "cpu": 0.5},
                              REQUESTS: {"memory": "0.0625Gi", "cpu": "100m"}}),
    "names": manifest(**{"metadata__name": "r" * 40, f"{APP}__name": "a",
                         "metadata__namespace": "team-1",
                         "metadata__labels": {"app.kubernetes.io/name": "my-app_1.0"},
                         f"{APP}__env": [{"name": "my.env-name", "value": "1"},
                                         {"name": "MY VAR", "value": "2"}],
                         f"{APP}__ports": [{"containerPort": 65535, "name": "abcdefghijklmno",
                                            "protocol": "UDP"}]}),
}


@pytest.mark.parametrize("case", EDGES, ids=str)
def test_valid_edge_cases_run_on_docker(docker_lab, case):
    spec = parse_pod(EDGES[case])
    with docker_lab.docker_pod(EDGES[case], quiet=True) as pod:
        first = spec.containers[0]
        config = pod[first.name].inspect()
        assert config["HostConfig"]["Memory"] == (first.spec.memory_bytes or 0)
        assert config["HostConfig"]["NanoCpus"] == round((first.spec.cpus or 0) * 1e9)
        assert all(f"{k}={v}" in config["Config"]["Env"] for k, v in first.env)
        assert _session_cgroups(docker_lab)  # the control: the check above sees a pod's
        kernel = docker_lab.observe(pod).member(first.name).state.limits.memory_bytes
        assert 0 <= first.spec.memory_bytes - kernel < 4096  # the kernel counts whole pages
    assert docker_lab.docker.session_containers() == []


def test_a_valid_edge_case_runs_on_the_cri(cri_lab):
    text = manifest(**{LIMITS: {"memory": "129e6", "cpu": 0.5},
                       REQUESTS: {"memory": "0.0625Gi", "cpu": "100m"},
                       "metadata__uid": GIVEN_UID})
    with cri_lab.cri_pod(text, quiet=True) as pod:
        assert pod.spec.uid != GIVEN_UID  # the API server's uid, not the manifest's
        sandboxes, cgroups = _cri_created(cri_lab)  # the control: the listing sees a pod
        assert len(sandboxes) == 1 and any(pod.spec.uid in c for c in cgroups)
        kernel = cri_lab.observe(pod).member("app").state.limits.memory_bytes
        assert 0 <= 129 * 10**6 - kernel < 4096
    assert _cri_created(cri_lab) == ([], [])
