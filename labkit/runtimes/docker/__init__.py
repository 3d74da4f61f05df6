"""Docker: containers through the SDK (``runtime``, ``container``) and the Pod the article
emulates with them (``pod``)."""

from .container import Container
from .pod import DockerPod
from .runtime import DockerRuntime, connect

__all__ = ["Container", "DockerPod", "DockerRuntime", "connect"]
