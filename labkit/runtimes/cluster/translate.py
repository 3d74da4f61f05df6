"""What goes to ``kubectl`` and what it and ``crictl`` say back: pure, so it is tested on
recorded outputs (tests/unit/test_cluster.py) where no cluster runs."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ...session import Session
from ...spec import PodSpec


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
        # as written: the cluster's kubelet expands $(VAR) itself
        if container.command is not None:
            entry["command"] = list(container.command)
        if container.args is not None:
            entry["args"] = list(container.args)
        limits = {}
        if container.spec.memory_bytes is not None:
            limits["memory"] = str(container.spec.memory_bytes)
        if container.spec.cpus is not None:
            limits["cpu"] = f"{round(container.spec.cpus * 1000)}m"
        requests = {}
        if container.requests_memory is not None:
            requests["memory"] = str(container.requests_memory)
        if container.requests_cpus is not None:
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
    if not spec.host_users:  # the cluster's runtime makes the user namespace, or refuses
        pod_spec["hostUsers"] = False
    metadata: dict = {"name": session.name(spec.name), "namespace": spec.namespace,
                      "labels": {**dict(spec.labels), **session.labels}}
    if spec.annotations:
        metadata["annotations"] = dict(spec.annotations)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec}


