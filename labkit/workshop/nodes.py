"""A learner node as Docker is asked to make it: one description for the hub's spawner
(a node started at a learner's login) and the warm pool (nodes started before anyone
logs in, :mod:`labkit.workshop.warm`)."""

from __future__ import annotations

from .privileges import node_privileges
from .settings import NODE_PIDS, NODE_PROGRESS

ENGINE_STORAGE = "rw,exec,dev,suid,mode=755,size=4g"
NODE_PORT = 8888
"""The port a node's JupyterLab listens on; Docker publishes it on the host's 127.0.0.1."""
CPU_PERIOD_US = 100_000
HOSTNAME = "labkit-node"
ENVIRONMENT = {"LABKIT_PROGRESS": NODE_PROGRESS}
"""What every node's environment holds before it is a learner's (their name comes with it)."""


def host_config() -> dict:
    """What every node gets beyond its memory and CPU limits, as Docker's host-config
    keywords: privileged (Docker in Docker; labkit/workshop/privileges.py says how where
    this host's root cannot grant --privileged itself), a process limit, a cgroup namespace
    of its own (its engines' cgroups nest under the node's, inside its limits), and the
    engines' storage on tmpfs (fresh with each node)."""
    return {
        **node_privileges(),
        "pids_limit": NODE_PIDS,
        "cgroupns": "private",
        "tmpfs": {"/var/lib/docker": ENGINE_STORAGE, "/var/lib/labkit": ENGINE_STORAGE,
                  "/var/lib/containers": ENGINE_STORAGE, "/run": "rw,exec,mode=755"},
    }


def cpu_quota(cpus: float) -> int:
    """The CFS quota (µs per period of ``CPU_PERIOD_US``) for ``cpus`` CPUs, as DockerSpawner
    sets it.

    >>> cpu_quota(1.0), cpu_quota(0.5)
    (100000, 50000)
    """
    return int(cpus * CPU_PERIOD_US)
