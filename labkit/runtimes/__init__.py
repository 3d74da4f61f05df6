"""Runtimes start and stop things and report PIDs; the node reader does the looking.

One folder per runtime (``docker/``, ``containerd/``, ``cluster/``, ``podman/``); every
kind of pod has the shape of :class:`labkit.runtimes.pod.Pod`, and takes what the kubelet
would compute from :mod:`labkit.kubernetes`.
"""
