"""Manifests checked as the Kubernetes API server checks them, on every kind of pod.

Each invalid manifest is refused with one sentence naming the field and the fix, by
``lab.docker_pod``, ``lab.cri_pod``, ``lab.podman_pod``, ``lab.scratch_pod`` and
``lab.cluster_pod`` alike, before anything is
created: no container, no cgroup, no sandbox, and no kubectl call. Valid edge cases of
quantities and names parse to the exact values, and a few run end to end.
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
PORT = f"{APP}__ports__0"
LIMITS = f"{APP}__resources__limits"
REQUESTS = f"{APP}__resources__requests"

INVALID = {
    # apiVersion, kind
    "apiVersion apps/v1": (manifest(apiVersion="apps/v1"), "write apiVersion: v1"),
    "no apiVersion": (manifest(apiVersion=None), "apiVersion None does not serve Pods"),
    "kind Deployment": (manifest(kind="Deployment"), "not a Pod: write kind: Pod"),
    # metadata
    "name upper case": (manifest(metadata__name="Rules"), "metadata.name 'Rules' cannot"),
    "name with a dot": (manifest(metadata__name="a.b"), "metadata.name 'a.b' cannot be used"),
    "name of 41": (manifest(metadata__name="a" * 41), "(at most 40)"),
    "namespace upper": (manifest(metadata__namespace="Kube_System"),
                        "metadata.namespace 'Kube_System' is not a DNS label"),
    "namespace of 64": (manifest(metadata__namespace="n" * 64), "is not a DNS label: use at"),
    "label key dash": (manifest(metadata__labels={"-app": "x"}), "metadata.labels key '-app'"),
    "label key prefix": (manifest(metadata__labels={"Example.com/app": "x"}),
                         "key 'Example.com/app' is not a valid key"),
    "label key name 64": (manifest(metadata__labels={"k" * 64: "x"}), "is not a valid key"),
    "label value 64": (manifest(metadata__labels={"app": "v" * 64}),
                       "is not a valid label value: use at most 63"),
    "label value space": (manifest(metadata__labels={"app": "my app"}),
                          "metadata.labels.app value 'my app' is not a valid label value"),
    "label value number": (manifest(metadata__labels={"tier": 1}),
                           "metadata.labels.tier 1 is not a string: quote it"),
    "label labkit's": (manifest(metadata__labels={"io.labkit.session": "x"}),
                       "is one of labkit's own marks"),
    "annotation key": (manifest(metadata__annotations={"a b": "x"}),
                       "metadata.annotations key 'a b' is not a valid key"),
    "uid path": (manifest(metadata__uid="../../etc"), "metadata.uid '../../etc' is not a UUID"),
    # containers
    "container upper": (manifest(**{f"{APP}__name": "App"}),
                        "spec.containers[0].name 'App' cannot be used"),
    "container underscore": (manifest(**{f"{APP}__name": "my_app"}),
                             "spec.containers[0].name 'my_app' cannot be used"),
    "two apps": (manifest(**{"spec__containers__1__name": "app"}),
                 "Two containers are named 'app'"),
    "no image": (manifest(**{f"{APP}__image": None}), "container app has no image: add one"),
    "image spaces": (manifest(**{f"{APP}__image": " busybox"}), "has spaces around it"),
    "image number": (manifest(**{f"{APP}__image": 5}), "image 5 is not a string: quote it"),
    "command string": (manifest(**{f"{APP}__command": "sleep 600"}),
                       "container app: command must be a list"),
    "args number": (manifest(**{f"{APP}__args": ["-c", 10]}),
                    "args item 10 is not a string: quote it"),
    "pull policy": (manifest(**{f"{APP}__imagePullPolicy": "Sometimes"}),
                    "imagePullPolicy 'Sometimes' is not one Kubernetes knows"),
    "no containers": (manifest(spec__containers=[]), "list at least one under spec.containers"),
    "volumes": (manifest(spec__volumes=[]), "spec.volumes is a real Pod field"),
    # ports
    "port 0": (manifest(**{f"{PORT}__containerPort": 0}),
               "containerPort 0 is not a port number: give one between 1 and 65535"),
    "port 65536": (manifest(**{f"{PORT}__containerPort": 65536}),
                   "containerPort 65536 is not a port number"),
    "port string": (manifest(**{f"{PORT}__containerPort": "80"}),
                    "a port needs containerPort as a number"),
    "protocol lower": (manifest(**{f"{PORT}__protocol": "tcp"}), "use TCP, UDP or SCTP"),
    "protocol HTTP": (manifest(**{f"{PORT}__protocol": "HTTP"}), "has protocol 'HTTP'"),
    "port name 16": (manifest(**{f"{PORT}__name": "a-very-long-name"}),
                     "port name 'a-very-long-name' is not an IANA service name"),
    "port name digits": (manifest(**{f"{PORT}__name": "8080"}), "port name '8080' is not"),
    "port name --": (manifest(**{f"{PORT}__name": "web--x"}), "port name 'web--x' is not"),
    "port name dash": (manifest(**{f"{PORT}__name": "-web"}), "port name '-web' is not"),
    "port name upper": (manifest(**{f"{PORT}__name": "Web"}), "port name 'Web' is not"),
    "port names twice": (manifest(**{f"{APP}__ports": [{"containerPort": 80, "name": "web"},
                                                       {"containerPort": 81, "name": "web"}]}),
                         "two ports are named 'web'"),
    "port twice in pod": (manifest(**{"spec__containers__1__ports": [{"containerPort": 80}]}),
                          "containers app and side both declare port 80/TCP"),
    "hostPort": (manifest(**{f"{PORT}__hostPort": 8080}), "ports.hostPort is a real Pod field"),
    "ports not a list": (manifest(**{f"{APP}__ports": 80}), "container app: ports must be a"),
    # env
    "env digit": (manifest(**{f"{APP}__env": [{"name": "1ABC", "value": "x"}]}),
                  "env name '1ABC' is not a valid variable name"),
    "env equals": (manifest(**{f"{APP}__env": [{"name": "A=B", "value": "x"}]}),
                   "env name 'A=B' is not"),
    "env dotdot": (manifest(**{f"{APP}__env": [{"name": "..x", "value": "x"}]}),
                   "env name '..x' is not"),
    "env value number": (manifest(**{f"{APP}__env": [{"name": "PORT", "value": 80}]}),
                         "env PORT: value 80 is not a string: quote it"),
    "env no name": (manifest(**{f"{APP}__env": [{"value": "x"}]}), "an env item has no name"),
    "env valueFrom": (manifest(**{f"{APP}__env": [{"name": "A", "valueFrom": {}}]}),
                      "env.valueFrom is a real Pod field"),
    # resources
    "memory request > limit": (manifest(**{REQUESTS: {"memory": "128Mi"}}),
                               "resources.requests.memory 128 MiB is more than "
                               "resources.limits.memory 64 MiB: lower the request"),
    "cpu request > limit": (manifest(**{REQUESTS: {"cpu": "0.5"}}),
                            "resources.requests.cpu 500m is more than resources.limits.cpu "
                            "250m"),
    "memory negative": (manifest(**{LIMITS: {"memory": "-64Mi"}}), "'-64Mi' is negative"),
    "memory millis": (manifest(**{LIMITS: {"memory": "100m"}}),
                      "'100m' counts fractions of a byte"),
    "memory docker style": (manifest(**{LIMITS: {"memory": "64MB"}}),
                            "'64MB' is not a Kubernetes quantity"),
    "memory huge": (manifest(**{LIMITS: {"memory": "1e999"}}), "larger than any machine's"),
    "memory tiny": (manifest(**{LIMITS: {"memory": "1Ki"}}), "too small for any container"),
    "cpu negative": (manifest(**{LIMITS: {"cpu": "-1"}}), "CPU quantity '-1' is negative"),
    "cpu zero": (manifest(**{LIMITS: {"cpu": "0"}}), "CPU quantity '0' is out of range"),
    "cpu words": (manifest(**{LIMITS: {"cpu": "1 core"}}), "'1 core' is not a number of cores"),
    "ephemeral-storage": (manifest(**{LIMITS: {"ephemeral-storage": "1Gi"}}),
                          "Unknown field 'ephemeral-storage' in container app: "
                          "resources.limits: allowed: cpu, memory."),
    # spec
    "restartPolicy": (manifest(spec__restartPolicy="always"), "use Always, OnFailure or Never"),
    "grace negative": (manifest(spec__terminationGracePeriodSeconds=-1),
                       "terminationGracePeriodSeconds -1 is not a number of seconds"),
    "grace float": (manifest(spec__terminationGracePeriodSeconds=1.5),
                    "terminationGracePeriodSeconds 1.5 is not"),
    "hostPID and shared": (manifest(spec__hostPID=True, spec__shareProcessNamespace=True),
                           "shareProcessNamespace and hostPID cannot both be enabled"),
    "hostNetwork string": (manifest(spec__hostNetwork="on please"),
                           "spec.hostNetwork must be true or false"),
}


def _sentence(error: Exception, expected: str) -> None:
    text = str(error)
    assert expected in text, text
    assert "\n" not in text and text.endswith(".") and ": " in text, text


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


@pytest.mark.parametrize("kind", ["docker", "cri", "podman", "scratch", "cluster"])
@pytest.mark.parametrize("case", INVALID, ids=str)
def test_refused_with_one_sentence_before_anything_is_created(request, case, kind):
    text, expected = INVALID[case]
    make, created = _way(request, kind)
    with pytest.raises(SpecError) as caught:
        make(text, quiet=True)
    _sentence(caught.value, expected)
    assert created() == []


def test_the_fake_kubectl_is_the_one_called(docker_lab, fake_kubectl):
    """The control for the test above: a valid Pod does reach kubectl."""
    pod = docker_lab.cluster_pod(manifest(), node_shell=_no_shell)
    pod.delete()
    calls = fake_kubectl.read_text().splitlines()
    assert [c.split()[2] for c in calls] == ["version", "apply", "get", "delete"]


# Keyword arguments (docker_pod, cri_pod, podman_pod and scratch_pod take them): the same rules.
BOX = {"image": "busybox", "command": "sleep 600"}
INVALID_KWARGS = {
    "pod name": (dict(name="Bad_Name", containers={"app": BOX}), "The Pod name 'Bad_Name'"),
    "container name": (dict(name="k", containers={"App": BOX}), "The container name 'App'"),
    "both pid flags": (dict(name="k", containers={"app": BOX}, host_pid=True,
                            share_process_namespace=True), "cannot both be enabled"),
    "flag typo": (dict(name="k", containers={"app": BOX}, hostPID=True),
                  "hostPID= is not a Pod flag labkit runs: use host_pid=True."),
    "flag not bool": (dict(name="k", containers={"app": BOX}, host_ipc="yes"),
                      "host_ipc='yes' must be True or False"),
    "unknown option": (dict(name="k", containers={"app": {**BOX, "memroy": "1Gi"}}),
                       "Unknown field 'memroy' in container app: write 'memory' instead."),
    "request > limit": (dict(name="k", containers={"app": {**BOX, "memory": "64Mi",
                                                           "requests_memory": "1Gi"}}),
                        "resources.requests.memory 1 GiB is more than"),
    "port 0": (dict(name="k", containers={"app": {**BOX, "ports": [0]}}),
               "containerPort 0 is not a port number"),
    "env name": (dict(name="k", containers={"app": {**BOX, "env": {"1X": "y"}}}),
                 "env name '1X' is not a valid variable name"),
}


@pytest.mark.parametrize("kind", ["docker", "cri", "podman", "scratch"])
@pytest.mark.parametrize("case", INVALID_KWARGS, ids=str)
def test_keyword_pods_are_checked_the_same(request, case, kind):
    kwargs, expected = INVALID_KWARGS[case]
    make, created = _way(request, kind)
    with pytest.raises(SpecError) as caught:
        make(quiet=True, **kwargs)
    _sentence(caught.value, expected)
    assert created() == []


# -- valid edge cases ------------------------------------------------------------------------
VALID = [
    # (paths to set, what to read from the PodSpec, expected)
    ({LIMITS: {"memory": 128974848}}, lambda p: p.containers[0].spec.memory_bytes, 128974848),
    ({LIMITS: {"memory": "129e6"}}, lambda p: p.containers[0].spec.memory_bytes, 129 * 10**6),
    ({LIMITS: {"memory": "129M"}}, lambda p: p.containers[0].spec.memory_bytes, 129 * 10**6),
    ({LIMITS: {"memory": "123Mi"}}, lambda p: p.containers[0].spec.memory_bytes, 128974848),
    ({LIMITS: {"memory": "1E8"}}, lambda p: p.containers[0].spec.memory_bytes, 10**8),
    ({LIMITS: {"memory": "0.5Gi"}}, lambda p: p.containers[0].spec.memory_bytes, 2**29),
    ({LIMITS: {"memory": "1000000.5"}}, lambda p: p.containers[0].spec.memory_bytes, 1000001),
    ({LIMITS: {"cpu": "100m"}}, lambda p: p.containers[0].spec.cpus, 0.1),
    ({LIMITS: {"cpu": 0.5}}, lambda p: p.containers[0].spec.cpus, 0.5),
    ({LIMITS: {"cpu": "1e-1"}}, lambda p: p.containers[0].spec.cpus, 0.1),
    ({LIMITS: {"cpu": "0.0005"}}, lambda p: p.containers[0].spec.cpus, 0.001),  # rounded up
    ({LIMITS: {"cpu": "100u"}}, lambda p: p.containers[0].spec.cpus, 0.001),
    ({LIMITS: {"cpu": 2}}, lambda p: p.containers[0].spec.cpus, 2.0),
    ({LIMITS: {"memory": "64Mi", "cpu": "250m"}, REQUESTS: {"memory": "64Mi", "cpu": "250m"},
      "spec__containers__1__resources": {"limits": {"memory": "8Mi", "cpu": "10m"}}},
     lambda p: p.qos_class, "Guaranteed"),
    ({"metadata__name": "a" * 40}, lambda p: p.name, "a" * 40),
    ({"metadata__name": "0-rules"}, lambda p: p.name, "0-rules"),
    ({f"{APP}__name": "a"}, lambda p: p.containers[0].name, "a"),
    ({"metadata__namespace": "n" * 63}, lambda p: p.namespace, "n" * 63),
    ({"metadata__labels": {"app.kubernetes.io/name": "my-app_1.0", "empty": ""}},
     lambda p: p.labels, (("app.kubernetes.io/name", "my-app_1.0"), ("empty", ""))),
    ({"metadata__annotations": {"example.com/note": "anything, even spaces: fine"}},
     lambda p: p.annotations, (("example.com/note", "anything, even spaces: fine"),)),
    ({"metadata__uid": "9C1E7A5E-3F0B-4D7E-8A51-2B6F0D3C4E1A"}, lambda p: p.uid,
     "9c1e7a5e-3f0b-4d7e-8a51-2b6f0d3c4e1a"),
    ({f"{APP}__ports": [{"containerPort": 65535, "name": "abcdefghijklmno"},
                        {"containerPort": 1, "protocol": "UDP", "name": "a1-b2"},
                        {"containerPort": 65535, "protocol": "SCTP"}]},
     lambda p: p.containers[0].ports,
     (Port(65535, "TCP", "abcdefghijklmno"), Port(1, "UDP", "a1-b2"), Port(65535, "SCTP"))),
    ({"spec__containers__1__ports": [{"containerPort": 80, "protocol": "UDP", "name": "http"}]},
     lambda p: [c.ports for c in p.containers],
     [(Port(80, "TCP", "http"),), (Port(80, "UDP", "http"),)]),
    ({f"{APP}__env": [{"name": "my.env-name", "value": "1"}, {"name": "_X"},
                      {"name": "_X", "value": "again"}]},
     lambda p: p.containers[0].env, (("my.env-name", "1"), ("_X", ""), ("_X", "again"))),
    ({}, lambda p: [c.image_pull_policy for c in p.containers], ["Always", "Always"]),
    ({f"{APP}__image": "busybox:1.36", "spec__containers__1__imagePullPolicy": "Never"},
     lambda p: [c.image_pull_policy for c in p.containers], ["IfNotPresent", "Never"]),
    ({"spec__terminationGracePeriodSeconds": 0, "spec__restartPolicy": "Never",
      "spec__hostPID": True}, lambda p: (p.grace_period_s, p.restart_policy, p.host_pid),
     (0, "Never", True)),
]


@pytest.mark.parametrize(("paths", "read", "expected"), VALID)
def test_valid_edge_cases_parse_to_exact_values(paths, read, expected):
    assert read(parse_pod(manifest(**paths))) == expected


EDGES = {  # valid edge cases run end to end on Docker
    "quantities": manifest(**{LIMITS: {"memory": "129e6", "cpu": 0.5},
                              REQUESTS: {"memory": "0.0625Gi", "cpu": "100m"},
                              "metadata__uid": "9C1E7A5E-3F0B-4D7E-8A51-2B6F0D3C4E1A"}),
    "names": manifest(**{"metadata__name": "r" * 40, f"{APP}__name": "a",
                         "metadata__namespace": "team-1",
                         "metadata__labels": {"app.kubernetes.io/name": "my-app_1.0"},
                         f"{APP}__env": [{"name": "my.env-name", "value": "1"},
                                         {"name": "my.env-name", "value": "2"}],
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
        assert config["HostConfig"]["MemoryReservation"] == (first.requests_memory or 0)
        assert all(f"{k}={v}" in config["Config"]["Env"] for k, v in first.env[-1:])
        assert _session_cgroups(docker_lab)  # the control: the check above sees a pod's
        kernel = docker_lab.observe(pod).member(first.name).state.limits.memory_bytes
        assert 0 <= first.spec.memory_bytes - kernel < 4096  # the kernel counts whole pages
    assert docker_lab.docker.session_containers() == []


def test_a_valid_edge_case_runs_on_the_cri(cri_lab):
    with cri_lab.cri_pod(EDGES["quantities"], quiet=True) as pod:
        assert pod.spec.uid == "9c1e7a5e-3f0b-4d7e-8a51-2b6f0d3c4e1a"
        sandboxes, cgroups = _cri_created(cri_lab)  # the control: the listing sees a pod
        assert len(sandboxes) == 1 and any(pod.spec.uid in c for c in cgroups)
        kernel = cri_lab.observe(pod).member("app").state.limits.memory_bytes
        assert 0 <= 129 * 10**6 - kernel < 4096
    assert _cri_created(cri_lab) == ([], [])
