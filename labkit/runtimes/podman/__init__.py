"""Podman pods through labkit's own ``podman system service`` (see :mod:`.service`)."""

from .pod import PodmanPod, check_share
from .service import PodmanService

__all__ = ["PodmanPod", "PodmanService", "check_share"]
