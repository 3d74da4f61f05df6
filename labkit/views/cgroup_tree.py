"""A cgroup subtree as text (like ``systemd-cgls``) and as a matplotlib figure."""

from __future__ import annotations

from collections.abc import Mapping

from ..model import CgroupNode, Limits
from ..quantity import format_bytes


def node_label(node: CgroupNode, names: Mapping[str, str] | None = None) -> str:
    """A cgroup's name, with the member it belongs to when it is a container's."""
    names = names or {}
    for runtime_id, member in names.items():
        # cgroupfs names a container's cgroup by its id; systemd by docker-<id>.scope or
        # cri-containerd-<id>.scope.
        if runtime_id and runtime_id in node.name:
            return f"{member} [{runtime_id[:12]}]"
    return node.name


def ordered(node: CgroupNode, names: Mapping[str, str] | None = None) -> list[CgroupNode]:
    """Children sorted by their label, then their limits (two cgroups of one container, its
    own and its conmon's under systemd, share a label), so the same tree always prints the
    same."""
    return sorted(node.children, key=lambda child: (node_label(child, names),
                                                    limits_label(child.state.limits)))


def limits_label(limits: Limits) -> str:
    cpu = f"{limits.cpus:g} CPU" if limits.cpus is not None else "unlimited"
    return f"memory {format_bytes(limits.memory_bytes)}, cpu {cpu}"


def cgroup_tree_text(tree: CgroupNode, names: Mapping[str, str] | None = None) -> str:
    """Indented text of a subtree with each cgroup's limits.

    >>> print(cgroup_tree_text(obs.trees[0], {c.id: c.name}))   # doctest: +SKIP
    """
    lines = [f"{tree.path}  ({limits_label(tree.state.limits)})"]

    def add(node: CgroupNode, prefix: str) -> None:
        children = ordered(node, names)
        for i, child in enumerate(children):
            last = i == len(children) - 1
            lines.append(f"{prefix}{'└── ' if last else '├── '}{node_label(child, names)}  "
                         f"({limits_label(child.state.limits)})")
            add(child, prefix + ("    " if last else "│   "))

    add(tree, "")
    return "\n".join(lines)


def _layout(tree: CgroupNode, names: Mapping[str, str] | None) -> dict[str, tuple[float, int]]:
    """x (leaf order) and depth of every node."""
    positions: dict[str, tuple[float, int]] = {}
    next_leaf = [0.0]

    def place(node: CgroupNode, depth: int) -> float:
        if not node.children:
            x = next_leaf[0]
            next_leaf[0] += 1
        else:
            xs = [place(child, depth + 1) for child in ordered(node, names)]
            x = sum(xs) / len(xs)
        positions[node.path] = (x, depth)
        return x

    place(tree, 0)
    return positions


def cgroup_tree_figure(tree: CgroupNode, names: Mapping[str, str] | None = None,
                       title: str | None = None):
    """A matplotlib Figure of the subtree: a box per cgroup with its limits.

    >>> cgroup_tree_figure(obs.trees[0])           # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    positions = _layout(tree, names)
    width = max(x for x, _ in positions.values()) + 1
    depth = max(d for _, d in positions.values()) + 1
    fig, ax = plt.subplots(figsize=(max(4.0, 3.2 * width), 1.3 * depth + 0.6))
    for node in tree.walk():
        x, d = positions[node.path]
        for child in node.children:
            cx, cd = positions[child.path]
            ax.plot([x, cx], [-d, -cd], color="#888888", zorder=1)
    for node in tree.walk():
        x, d = positions[node.path]
        label = node.path if node is tree else node_label(node, names)
        ax.text(x, -d, f"{label}\n{limits_label(node.state.limits)}", ha="center",
                va="center", fontsize=8, zorder=2,
                bbox={"boxstyle": "round", "facecolor": "#eef4fb", "edgecolor": "#4a7ab5"})
    ax.set_xlim(-0.7, width - 0.3)
    ax.set_ylim(-depth + 0.4, 0.6)
    ax.axis("off")
    ax.set_title(title or f"cgroup tree at {tree.path}")
    fig.tight_layout()
    plt.close(fig)
    return fig
