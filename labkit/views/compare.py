"""Side-by-side comparison of how different runtimes package the same container."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from ..model import Observation
from ..session import NAME_RE
from .namespaces import sharing_labels

_POD_ID = re.compile(r"\b[0-9a-f]{64}\b")
_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def cgroup_pattern(obs: Observation, member: str) -> str:
    """A member's cgroup path with ids written as placeholders: ``/docker/<app-id>``."""
    path = obs.member(member).state.path
    for observed in obs.members:
        if observed.member.runtime_id:
            path = path.replace(observed.member.runtime_id, f"<{observed.name}-id>")
    path = _POD_ID.sub("<pod-id>", path)  # what is left of 64 hex digits: a Podman pod's id
    return NAME_RE.sub("lk-<session>-", _UID.sub("<uid>", path))


def comparison(observations: Mapping[str, Observation], member: str = "app",
               namespaces: tuple[str, ...] = ("net", "ipc", "uts", "pid", "mnt")) -> pd.DataFrame:
    """One row per way of running ``member``: its namespace labels and its cgroup.

    >>> comparison({"plain container": a, "Kubernetes pod": b})   # doctest: +SKIP
    """
    rows = {}
    for kind, obs in observations.items():
        labels = sharing_labels(obs)[member]
        rows[kind] = {**{ns: labels[ns] for ns in namespaces},
                      "cgroup": cgroup_pattern(obs, member)}
    frame = pd.DataFrame(rows).T
    frame.index.name = member
    return frame
