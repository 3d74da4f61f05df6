"""Pods from scratch: no engine, only ``unshare``, ``nsenter``, ``chroot`` and cgroupfs."""

from .pod import ScratchPod, check_can_run

__all__ = ["ScratchPod", "check_can_run"]
