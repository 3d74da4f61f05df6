"""A Pod on a real cluster (minikube first), through ``kubectl``; its members on the node.

The Pod is applied through ``kubectl`` (any kubeconfig context); the members' host
PIDs come from ``crictl inspect`` run on the node (``minikube ssh``, or any
``node_shell`` you pass), and ``lab.observe(pod)`` reads that node through the same
thin gatherer the helper container uses, running its commands with the same shell.

minikube cannot run on the CI machine: the parsing and translation are tested on
recorded outputs (tests/unit/test_cluster.py); the live test runs where a cluster
is reachable (``sudo LABKIT_KUBE_CONTEXT=minikube ./lab test -m cluster``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Sequence

from ...errors import EngineUnavailable, LabError, refused
from ...model import ExecResult, Member
from ...session import Session
from ...spec import PodSpec
from ..pod import PodBase
from .minikube import NodeShell, minikube_shell
from .translate import PodStatus, cluster_manifest, parse_crictl_inspect, parse_pod_status


class ClusterRuntime:
    """Pods through kubectl on a kubeconfig context; commands on the node through a shell."""

    engine_process = "kubelet"  # its namespaces stand for "the host" on the node

    def __init__(self, session: Session, context: str = "minikube",
                 node_shell: NodeShell | None = None) -> None:
        if shutil.which("kubectl") is None:
            raise EngineUnavailable("kubectl is not installed: install it (and minikube) to "
                                    "run the Pod on a cluster, or use lab.cri_pod() here.")
        self.session = session
        self.context = context
        self.node_shell = node_shell or minikube_shell(context)
        self.kubectl("version", "--client")

    def _kubectl(self, *args: str, data: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["kubectl", "--context", self.context, *args], input=data,
                              capture_output=True, text=True, check=False, timeout=120)

    def kubectl(self, *args: str, data: str | None = None) -> str:
        done = self._kubectl(*args, data=data)
        if done.returncode != 0:
            said = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
            raise refused(f"kubectl ({self.context})", args[0], said)
        return done.stdout

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


class ClusterPod(PodBase):
    """A Pod applied to a cluster; its name there carries the session's prefix."""

    kind = "on a cluster"
    sandbox_name = "pause"
    cgroup_parent = ""  # on the node, under the cluster's kubelet: not walked from here

    def __init__(self, runtime: ClusterRuntime, spec: PodSpec, name: str) -> None:
        self.runtime = runtime
        self.where = runtime  # its members are on the cluster's node
        self.spec = spec
        self.name = name
        self._deleted = False

    def status(self) -> PodStatus:
        return parse_pod_status(self.runtime.kubectl("get", "pod", self.name, "-o", "json",
                                                     "-n", self.spec.namespace))

    @property
    def state(self) -> str:
        """``running`` once Running and ready; else the phase (``pending``, ...) or
        ``not ready``; ``deleted``."""
        if self._deleted:
            return "deleted"
        status = self.status()
        if status.phase != "Running":
            return status.phase.lower()
        return "running" if status.ready else "not ready"

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
            found.append(Member(container.name, pid, runtime_id, container.name,
                                container.spec.asked))
        return found

    def _handles(self) -> dict[str, str]:
        """Member name -> its runtime id on the node."""
        return {m.name: m.runtime_id for m in self.members()}

    def states(self) -> dict[str, str]:
        """Each container's state as the Pod's status says it."""
        status = self.status()
        return {name: "running" if status.phase == "Running" else status.phase.lower()
                for name in status.containers}

    def kill_sandbox(self) -> None:
        raise LabError("On a cluster the kubelet owns the pause container: kill it on the "
                       "node yourself (minikube ssh, then sudo crictl stopp POD-ID).")

    def exec(self, container: str, command: str | Sequence[str]) -> ExecResult:
        """``kubectl exec``: a string runs through ``sh -c``."""
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        done = self.runtime._kubectl("exec", self.name, "-n", self.spec.namespace,
                                     "-c", container, "--", *argv)
        return ExecResult(done.returncode, done.stdout + done.stderr)

    def delete(self) -> None:
        self.runtime.kubectl("delete", "pod", self.name, "--wait=true", "--ignore-not-found",
                             "-n", self.spec.namespace)
        self.runtime.session.forget(f"cluster-pod-{self.name}")
        self._deleted = True
