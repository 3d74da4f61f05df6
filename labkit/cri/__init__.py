"""A small gRPC client of the Kubernetes CRI (runtime.v1), as the kubelet speaks it."""

from .client import CriClient

__all__ = ["CriClient"]
