"""JupyterHub on Kubernetes for a labkit workshop: one learner node per learner.

A learner node is the privileged image labkit/learner-node (its own dockerd, containerd
and podman inside), spawned by KubeSpawner. Run it with `jupyterhub -f` on this file, or
hand it to the Zero to JupyterHub chart as `hub.extraConfig` (see README.md next to it).

The instructor's choices come from the hub's environment:

    LABKIT_NODE_IMAGE      the node image in your registry (required)
    LABKIT_NODE_CPUS       CPU limit of a node (default 1.0)
    LABKIT_NODE_MEMORY     memory limit of a node, as 3G or 3072M (default 3G)
    LABKIT_STORAGE_CLASS   storage class of the learners' volumes (default: the cluster's)
    LABKIT_WORKSHOP_CODE   the password learners log in with (8 characters or more)
    LABKIT_ADMIN_CODE      the password of the user `instructor` (32 characters or more)
    LABKIT_IDLE_MINUTES    stop a node after this many idle minutes (default 60)
"""

# ruff: noqa: F821 -- `c` is the config object that JupyterHub's loader puts in scope.

import math
import os
import re
import sys
from typing import NoReturn

# JupyterHub's units for memory (its ByteSpecification): powers of 1024.
_MEMORY_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _stop(sentence: str) -> NoReturn:
    # A SystemExit leaves the hub at once and shows just this sentence; any other
    # exception from a config file is logged by JupyterHub with its whole traceback.
    raise SystemExit(sentence)


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _cpus(name: str, default: float) -> float:
    text = _env(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (math.isfinite(value) and value > 0):
        _stop(f"{name}={text!r} is not a number of CPUs: set it to one such as 1.0 or 0.5.")
    return value


def _memory(name: str, default: str) -> str:
    text = _env(name) or default
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?[KMGT]", text) or _bytes(text) == 0:
        _stop(f"{name}={text!r} is not an amount of memory: set it to one such as 3G or 3072M.")
    return text


def _bytes(memory: str) -> int:
    return int(float(memory[:-1]) * _MEMORY_UNITS[memory[-1]])


def _minutes(name: str, default: int) -> int:
    text = _env(name)
    if not text:
        return default
    if not re.fullmatch(r"[0-9]+", text) or int(text) == 0:
        _stop(f"{name}={text!r} is not a number of minutes: set it to a whole number such as 60.")
    return int(text)


image = _env("LABKIT_NODE_IMAGE")
if not image:
    _stop(
        "LABKIT_NODE_IMAGE is not set: set it to the learner node image you pushed"
        " to your registry, such as registry.example.org/labkit/learner-node:2026-11."
    )

c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
c.KubeSpawner.image = image

# In Kubernetes `command` replaces the image's ENTRYPOINT, which starts the node's dockerd,
# so it stays unset. KubeSpawner puts cmd + args into the container's `args` (the image's
# CMD) and ignores `args` when `cmd` is empty: hence cmd is spelled out here.
c.KubeSpawner.cmd = ["jupyterhub-singleuser"]
c.KubeSpawner.args = ["--allow-root"]

# Docker-in-Docker needs a privileged container running as root. Privileged nodes are a
# classroom boundary, not a security boundary: a learner can become root on the
# cluster node.
c.KubeSpawner.privileged = True
c.KubeSpawner.allow_privilege_escalation = True
c.KubeSpawner.uid = 0

# Limits per node. A guarantee above its limit would be refused by Kubernetes, so a
# smaller limit from the environment lowers the guarantee with it.
cpu_limit = _cpus("LABKIT_NODE_CPUS", 1.0)
mem_limit = _memory("LABKIT_NODE_MEMORY", "3G")
c.KubeSpawner.cpu_limit = cpu_limit
c.KubeSpawner.cpu_guarantee = min(0.5, cpu_limit)
c.KubeSpawner.mem_limit = mem_limit
c.KubeSpawner.mem_guarantee = "2G" if _bytes(mem_limit) >= _bytes("2G") else mem_limit

# The learner's notebooks and progress live on a volume of their own, so they outlive the
# node. The engines inside keep their storage on emptyDirs: an overlay cannot sit on the
# container's own overlay root, and a node's engines start empty each time. Besides
# dockerd's and containerd's, these are podman's and the lab's own (its containerd, its
# podman store, its pods from scratch), as on the single-host node's tmpfs mounts.
c.KubeSpawner.pvc_name_template = "labkit-work-{username}"
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.storage_capacity = "1Gi"
c.KubeSpawner.storage_access_modes = ["ReadWriteOnce"]
if _env("LABKIT_STORAGE_CLASS"):
    c.KubeSpawner.storage_class = _env("LABKIT_STORAGE_CLASS")
c.KubeSpawner.volumes = [
    # {pvc_name}, not the template again: KubeSpawner remembers a learner's claim name.
    {"name": "work", "persistentVolumeClaim": {"claimName": "{pvc_name}"}},
    {"name": "docker", "emptyDir": {}},
    {"name": "containerd", "emptyDir": {}},
    {"name": "containers", "emptyDir": {}},
    {"name": "labkit", "emptyDir": {}},
]
c.KubeSpawner.volume_mounts = [
    {"name": "work", "mountPath": "/root/work"},
    {"name": "docker", "mountPath": "/var/lib/docker"},
    {"name": "containerd", "mountPath": "/var/lib/containerd"},
    {"name": "containers", "mountPath": "/var/lib/containers"},
    {"name": "labkit", "mountPath": "/var/lib/labkit"},
]
c.KubeSpawner.working_dir = "/root/work"
c.KubeSpawner.notebook_dir = "/root/work"

# update(), not assignment, here and for the labels: what the chart has already set
# (singleuser.extraEnv, the label its network policy looks for) is kept.
c.KubeSpawner.environment.update(
    {
        "LABKIT_PROGRESS": "/root/work/.labkit/progress.json",
        # The name the learner logged in with; {username} would be its DNS-safe slug.
        "LABKIT_LEARNER": "{unescaped_username}",
        "LABKIT_OFFLINE": "1",
        "LABKIT_WORKSHOP": "1",
    }
)
# The claims get the label too: they are not part of a Helm release, and the label is
# how to find them when the workshop is over.
c.KubeSpawner.extra_labels.update({"app.kubernetes.io/part-of": "labkit-workshop"})
c.KubeSpawner.storage_extra_labels.update({"app.kubernetes.io/part-of": "labkit-workshop"})

# The hub reaches a node by its pod IP: no Service per node.
c.KubeSpawner.services_enabled = False

# A node's first start on a cluster node pulls a large image; then, before its server
# answers, the node starts dockerd and loads the lab's images into it.
c.KubeSpawner.start_timeout = 600
c.KubeSpawner.http_timeout = 180

# One workshop code for every learner (any user name), one admin code for `instructor`.
c.JupyterHub.authenticator_class = "jupyterhub.authenticators.shared.SharedPasswordAuthenticator"
c.SharedPasswordAuthenticator.allow_all = True
c.SharedPasswordAuthenticator.admin_users = {"instructor"}
if _env("LABKIT_WORKSHOP_CODE"):
    c.SharedPasswordAuthenticator.user_password = _env("LABKIT_WORKSHOP_CODE")
if _env("LABKIT_ADMIN_CODE"):
    c.SharedPasswordAuthenticator.admin_password = _env("LABKIT_ADMIN_CODE")

# Stop idle nodes (their work volume stays). The culler is a hub-managed service whose
# rights come from a role; these lists replace any the chart made (set cull.enabled=false).
idle_seconds = 60 * _minutes("LABKIT_IDLE_MINUTES", 60)
c.JupyterHub.services = [
    {
        "name": "jupyterhub-idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={idle_seconds}"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "jupyterhub-idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["jupyterhub-idle-culler"],
    }
]
