"""labkit's own containerd, as a Kubernetes node: the node (``node``), the kubelet's
calls for a Pod (``pod``) and the CRI client they speak through (``cri``)."""

from .node import ContainerdNode
from .pod import CriPod

__all__ = ["ContainerdNode", "CriPod"]
