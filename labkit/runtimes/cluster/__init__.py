"""A Pod on a real cluster: ``kubectl`` and ``crictl`` texts (``translate``), minikube
(``minikube``), the runtime and its pods (``pod``)."""

from .minikube import NodeShell, minikube_shell, minikube_start_command, start_minikube
from .pod import ClusterPod, ClusterRuntime
from .translate import PodStatus, cluster_manifest, parse_crictl_inspect, parse_pod_status

__all__ = ["ClusterPod", "ClusterRuntime", "NodeShell", "PodStatus", "cluster_manifest",
           "minikube_shell", "minikube_start_command", "parse_crictl_inspect",
           "parse_pod_status", "start_minikube"]
