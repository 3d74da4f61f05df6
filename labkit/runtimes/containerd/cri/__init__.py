"""A small gRPC client of the Kubernetes CRI (runtime.v1), as the kubelet speaks it."""

from .client import CONTAINER_STATES, CriClient

__all__ = ["CONTAINER_STATES", "CriClient"]
