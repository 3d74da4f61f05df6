"""A cgroup subtree as nested ipywidgets Accordions, browsable in JupyterLab."""

from __future__ import annotations

from collections.abc import Mapping

from ..model import CgroupNode
from ..quantity import format_bytes
from .cgroup_tree import limits_label, node_label, ordered


def _details(node: CgroupNode) -> str:
    limits, usage = node.state.limits, node.state.usage
    rows = [
        ("path", node.path),
        ("memory limit", format_bytes(limits.memory_bytes)),
        ("memory used", format_bytes(usage.memory_bytes) if usage.memory_bytes else "-"),
        ("cpu quota", f"{limits.cpus:g} CPU" if limits.cpus is not None else "unlimited"),
        ("throttled periods", "-" if usage.cpu_throttled_periods is None
         else str(usage.cpu_throttled_periods)),
    ]
    cells = "".join(f"<tr><td><b>{k}</b></td><td><code>{v}</code></td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def cgroup_tree_widget(tree: CgroupNode, names: Mapping[str, str] | None = None):
    """Nested Accordions: open a cgroup to see its limits and its children.

    >>> cgroup_tree_widget(obs.trees[0])           # doctest: +SKIP
    """
    import ipywidgets as widgets

    def build(node: CgroupNode, is_root: bool):
        body = widgets.VBox([widgets.HTML(_details(node)),
                             *(build(child, False) for child in ordered(node, names))])
        title = node.path if is_root else node_label(node, names)
        accordion = widgets.Accordion(children=[body],
                                      titles=(f"{title} — {limits_label(node.state.limits)}",))
        if is_root:
            accordion.selected_index = 0
        return accordion

    return build(tree, True)
