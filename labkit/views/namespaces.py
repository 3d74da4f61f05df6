"""Who owns which namespace: stable labels beside the inode numbers."""

from __future__ import annotations

import pandas as pd

from ..model import NAMESPACE_TYPES, Observation

HOST, OWN = "host", "own"


def sharing_labels(obs: Observation) -> dict[str, dict[str, str]]:
    """member -> namespace type -> ``host`` | ``own`` | ``shared with <member>``.

    A namespace is labelled after the first member (in the observation's
    order) that holds it, so list the sandbox first.

    >>> sharing_labels(obs)["app"]["net"]          # doctest: +SKIP
    'shared with sandbox'
    """
    labels: dict[str, dict[str, str]] = {}
    for index, observed in enumerate(obs.members):
        row = {}
        for ns_type in NAMESPACE_TYPES:
            inode = observed.namespaces.get(ns_type)
            if inode is None:
                row[ns_type] = "unreadable"
            elif inode == obs.host_namespaces.get(ns_type):
                row[ns_type] = HOST
            else:
                holder = next((m.name for m in obs.members[:index]
                               if m.namespaces.get(ns_type) == inode), None)
                row[ns_type] = f"shared with {holder}" if holder else OWN
        labels[observed.name] = row
    return labels


def sharing_matrix(obs: Observation) -> pd.DataFrame:
    """Members × namespace types, each cell a label.

    >>> sharing_matrix(obs)                        # doctest: +SKIP
    """
    labels = sharing_labels(obs)
    frame = pd.DataFrame([labels[m.name] for m in obs.members],
                         index=[m.name for m in obs.members], columns=list(NAMESPACE_TYPES))
    frame.index.name = "member"
    return frame


def namespace_table(obs: Observation, member: str | None = None) -> pd.DataFrame:
    """One member's namespaces beside the host's, with a label for each.

    >>> namespace_table(obs, "foo")                # doctest: +SKIP
    """
    observed = obs.member(member) if member else obs.members[0]
    labels = sharing_labels(obs)[observed.name]
    rows = [
        {
            "namespace": ns_type,
            observed.name: observed.namespaces.get(ns_type),
            "host": obs.host_namespaces.get(ns_type),
            "verdict": labels[ns_type],
        }
        for ns_type in NAMESPACE_TYPES
    ]
    return pd.DataFrame(rows).set_index("namespace")
