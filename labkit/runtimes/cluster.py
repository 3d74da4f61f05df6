"""A Pod on a real cluster (minikube first), observed on its node.

The Pod is applied through ``kubectl`` (any kubeconfig context); the node is
read through the same thin gatherer the helper container uses, with commands
run on the node (``minikube ssh``, or any ``node_shell`` you pass), and the
members' host PIDs come from ``crictl inspect`` there.

minikube cannot run on the CI machine: the parsing and translation here are
tested on recorded outputs (tests/unit/test_cluster.py); the live test runs
where a cluster is reachable (``sudo LABKIT_KUBE_CONTEXT=minikube ./lab test -m cluster``).
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import EngineRefused, EngineUnavailable, LabError
from ..manifest import PodSpec
from ..model import Limits, Member, Observation
from ..node import Node
from ..node.gather import HelperGatherer
from ..session import Session

NodeShell = Callable[[list[str]], str]


@dataclass(frozen=True)
class PodStatus:
    """What ``kubectl get pod -o json`` says that labkit needs."""

    uid: str
    node: str
    phase: str
    qos_class: str
    ready: bool
    containers: dict[str, str]  # name -> runtime container id (without "containerd://")


def parse_pod_status(text: str) -> PodStatus:
    """Parse ``kubectl get pod NAME -o json``."""
    pod = json.loads(text)
    status = pod.get("status", {})
    statuses = status.get("containerStatuses") or []
    containers = {s["name"]: s.get("containerID", "").split("://", 1)[-1] for s in statuses}
    return PodStatus(
        uid=pod["metadata"]["uid"],
        node=pod.get("spec", {}).get("nodeName", ""),
        phase=status.get("phase", "Unknown"),
        qos_class=status.get("qosClass", ""),
        ready=bool(statuses) and all(s.get("ready") for s in statuses),
        containers={k: v for k, v in containers.items() if v},
    )


def parse_crictl_inspect(text: str) -> tuple[int, str]:
    """(host PID, sandbox id) from ``crictl inspect ID`` or ``crictl inspectp ID``."""
    data = json.loads(text)
    info = data.get("info", {})
    sandbox = info.get("sandboxID") or data.get("status", {}).get("id", "")
    return int(info["pid"]), sandbox


def cluster_manifest(spec: PodSpec, session: Session) -> dict:
    """The Pod to apply: the learner's spec, named and labelled for this session."""
    containers = []
    for container in spec.containers:
        entry: dict = {"name": container.name, "image": container.spec.image,
                       "imagePullPolicy": container.image_pull_policy}
        if container.ports:
            entry["ports"] = [{"containerPort": p.container_port, "protocol": p.protocol,
                               **({"name": p.name} if p.name else {})}
                              for p in container.ports]
        if container.spec.command:
            entry["command"] = list(container.spec.command)
        limits = {}
        if container.spec.memory_bytes:
            limits["memory"] = str(container.spec.memory_bytes)
        if container.spec.cpus:
            limits["cpu"] = f"{round(container.spec.cpus * 1000)}m"
        requests = {}
        if container.requests_memory:
            requests["memory"] = str(container.requests_memory)
        if container.requests_cpus:
            requests["cpu"] = f"{round(container.requests_cpus * 1000)}m"
        if limits or requests:
            entry["resources"] = {k: v for k, v in (("limits", limits), ("requests", requests))
                                  if v}
        if container.env:
            entry["env"] = [{"name": k, "value": v} for k, v in container.env]
        containers.append(entry)
    pod_spec: dict = {"containers": containers, "restartPolicy": spec.restart_policy,
                      "terminationGracePeriodSeconds": spec.grace_period_s}
    for field, value in (("shareProcessNamespace", spec.share_process_namespace),
                         ("hostNetwork", spec.host_network), ("hostIPC", spec.host_ipc),
                         ("hostPID", spec.host_pid)):
        if value:
            pod_spec[field] = True
    metadata: dict = {"name": session.name(spec.name), "namespace": spec.namespace,
                      "labels": {**dict(spec.labels), **session.labels}}
    if spec.annotations:
        metadata["annotations"] = dict(spec.annotations)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec}


def minikube_start_command(profile: str = "minikube") -> list[str]:
    """The article's cluster: minikube with containerd as its container runtime."""
    return ["minikube", "start", "-p", profile, "--container-runtime=containerd"]


def start_minikube(profile: str = "minikube") -> None:
    """Start (or resume) minikube with containerd; needs minikube, a VM or container driver
    and, the first time, a network to download its images."""
    if shutil.which("minikube") is None:
        raise EngineUnavailable("minikube is not installed, so labkit cannot start a cluster: "
                                "install minikube and kubectl, or use lab.cri_pod() here.")
    done = subprocess.run(minikube_start_command(profile), capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip() or "no reason given").splitlines()[-1]
        raise EngineRefused(f"minikube could not start: {said} (see `minikube logs`).", said)


def minikube_shell(profile: str = "minikube") -> NodeShell:
    """Run an argv as root on minikube's node."""
    def run(argv: list[str]) -> str:
        done = subprocess.run(["minikube", "-p", profile, "ssh", "--", "sudo " + shlex.join(argv)],
                              capture_output=True, text=True, check=False, timeout=60)
        return done.stdout
    return run


class ClusterRuntime:
    """Pods through kubectl on a kubeconfig context; node readings through a node shell."""

    kind = "cluster"

    def __init__(self, session: Session, context: str = "minikube",
                 node_shell: NodeShell | None = None) -> None:
        if shutil.which("kubectl") is None:
            raise EngineUnavailable("kubectl is not installed: install it (and minikube) to "
                                    "run the Pod on a cluster, or use lab.cri_pod() here.")
        self.session = session
        self.context = context
        self.node_shell = node_shell or minikube_shell(context)
        self._node: Node | None = None
        self.kubectl("version", "--client")

    def kubectl(self, *args: str, data: str | None = None) -> str:
        done = subprocess.run(["kubectl", "--context", self.context, *args], input=data,
                              capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            said = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
            raise EngineRefused(f"kubectl ({self.context}) refused to {args[0]}: {said}.", said)
        return done.stdout

    @property
    def node(self) -> Node:
        if self._node is None:
            self._node = Node(HelperGatherer(self.node_shell), engine=f"cluster {self.context}")
        return self._node

    def run(self, spec: PodSpec, timeout: float = 180) -> ClusterPod:
        manifest = cluster_manifest(spec, self.session)
        name = manifest["metadata"]["name"]
        self.kubectl("apply", "-f", "-", data=json.dumps(manifest))
        pod = ClusterPod(self, spec, name)
        self.session.on_cleanup(f"cluster-pod-{name}", pod.delete)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = pod.status()
            if status.phase == "Running" and status.ready:
                return pod
            if status.phase in ("Failed", "Succeeded"):
                break
            time.sleep(1)
        pod.delete()
        raise LabError(f"Pod {name} did not become ready on {self.context} within "
                       f"{timeout:.0f} s: look at `kubectl describe pod {name}`.")


class ClusterPod:
    def __init__(self, runtime: ClusterRuntime, spec: PodSpec, name: str) -> None:
        self.runtime = runtime
        self.spec = spec
        self.name = name

    def status(self) -> PodStatus:
        return parse_pod_status(self.runtime.kubectl("get", "pod", self.name, "-o", "json",
                                                     "-n", self.spec.namespace))

    def members(self) -> list[Member]:
        status = self.status()
        found: list[Member] = []
        for container in self.spec.containers:
            runtime_id = status.containers[container.name]
            pid, sandbox = parse_crictl_inspect(
                self.runtime.node_shell(["crictl", "inspect", runtime_id]))
            if not found:
                pause_pid, _ = parse_crictl_inspect(
                    self.runtime.node_shell(["crictl", "inspectp", sandbox]))
                found.append(Member("pause", pause_pid, sandbox, "sandbox"))
            asked = container.spec.asked
            found.append(Member(container.name, pid, runtime_id, container.name,
                                Limits(asked.memory_bytes, asked.cpu_quota_us,
                                       asked.cpu_period_us)))
        return found

    def observe(self) -> Observation:
        return self.runtime.node.snapshot(self.members())

    def delete(self) -> None:
        self.runtime.kubectl("delete", "pod", self.name, "--wait=true", "--ignore-not-found",
                             "-n", self.spec.namespace)
        self.runtime.session.forget(f"cluster-pod-{self.name}")
