"""The namespace-box figures, and the data every picture of who shares what uses: a box
per namespace, each process drawn inside the boxes it is in.

The categories, one colour each in every view (Okabe–Ito, safe for colour-blind readers);
the coloured matrices (``coloured_matrix``) and the widget (``namespace_widget``) take them
from here:

* ``own``: this process alone is in the namespace;
* ``pod``: several members of the pod are in it (the sandbox's, lent to the others);
* ``host``: the host's namespace (the reading context's, see ``Observation``).

Everything here is a function of an :class:`~labkit.model.Observation`; the layout is
computed, never random, so the same observation always draws the same picture.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..model import NAMESPACE_TYPES, Observation

OWN, POD, HOST, UNREADABLE = "own", "pod", "host", "unreadable"
CATEGORIES = (OWN, POD, HOST)

CATEGORY_NAMES = {OWN: "its own", POD: "shared in the pod", HOST: "the host's",
                  UNREADABLE: "unreadable"}
"""What each category means, as the legends say it."""

COLOURS = {OWN: "#E69F00", POD: "#56B4E9", HOST: "#999999", UNREADABLE: "#FFFFFF"}
"""Edge colour of each category: Okabe–Ito orange and sky blue, and a neutral grey."""

COLOUR_WORDS = {OWN: "orange", POD: "blue", HOST: "grey", UNREADABLE: "white"}
"""The colours' names, for the text forms (the matrix's legend line)."""

ARTICLE_TYPES = ("net", "ipc", "uts", "pid", "mnt")
"""The five namespace types the article looks at, in the order it names them."""

THE_HOST = "the host"
"""The process that stands for the host in the pictures (the reading context)."""

ABOUT = {"net": "network stack", "ipc": "System V IPC, POSIX message queues",
         "uts": "hostname", "pid": "process ids", "mnt": "mount table",
         "cgroup": "cgroup view", "user": "user ids", "time": "clocks"}
"""What each namespace type isolates, as the pictures say it under the row's name."""


def _tint(hex_colour: str, share: float = 0.42) -> str:
    """The colour mixed with white (``share`` of the colour), for fills behind text."""
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * share):02X}" for c in rgb)


FILLS = {category: _tint(colour) for category, colour in COLOURS.items()}
"""Fill colour of each category (boxes and matrix cells): the edge colour, lightened."""


@dataclass(frozen=True)
class Box:
    """One namespace drawn as a box: its type, whose it is, and the processes in it."""

    ns_type: str
    inode: int | None
    category: str
    label: str
    processes: tuple[str, ...]  # in column order: the host first, then the members


def _check(obs: Observation, namespaces: Sequence[str]) -> None:
    from ..errors import LabError

    if not obs.members:
        raise LabError("This observation has no members to draw: observe a container or a pod "
                       "that is running (lab.observe(pod)).")
    unknown = [ns for ns in namespaces if ns not in NAMESPACE_TYPES]
    if unknown or not namespaces:
        raise LabError(f"{', '.join(unknown) or 'No namespace type'} is not a namespace type "
                       f"labkit draws: pick among {', '.join(NAMESPACE_TYPES)}.")


def namespace_groups(obs: Observation,
                     namespaces: Sequence[str] = ARTICLE_TYPES) -> list[Box]:
    """The boxes of the picture: per namespace type, one box per namespace a process is
    in, the host's first, then in the order of the first member in each.

    >>> [b.label for b in namespace_groups(obs, ("net",))]    # doctest: +SKIP
    ["the host's net", "pause's net, shared"]
    """
    _check(obs, namespaces)
    boxes = []
    for ns_type in namespaces:
        host_inode = obs.host_namespaces.get(ns_type)
        boxes.append(Box(ns_type, host_inode, HOST, f"the host's {ns_type}",
                         (THE_HOST, *(m.name for m in obs.members
                                      if host_inode is not None
                                      and m.namespaces.get(ns_type) == host_inode))))
        seen: set[int] = set()
        for observed in obs.members:
            inode = observed.namespaces.get(ns_type)
            if inode is None:
                boxes.append(Box(ns_type, None, UNREADABLE, f"{observed.name}'s {ns_type}: "
                                 "unreadable", (observed.name,)))
                continue
            if inode == host_inode or inode in seen:
                continue
            seen.add(inode)
            inside = tuple(m.name for m in obs.members if m.namespaces.get(ns_type) == inode)
            if len(inside) > 1:
                boxes.append(Box(ns_type, inode, POD, f"{observed.name}'s {ns_type}, shared",
                                 inside))
            else:
                boxes.append(Box(ns_type, inode, OWN, f"{observed.name}'s own {ns_type}", inside))
    return boxes


def _runs(columns: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs of sorted column indices: [0, 1, 3] → [(0, 1), (3, 3)]."""
    runs: list[tuple[int, int]] = []
    for column in sorted(columns):
        if runs and column == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], column)
        else:
            runs.append((column, column))
    return runs


def _header(obs: Observation, name: str) -> str:
    if name == THE_HOST:
        return THE_HOST
    role = obs.member(name).member.role
    return f"{name}\n(the sandbox)" if role == "sandbox" and name != "sandbox" else name


def _legend(fig) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=FILLS[c], edgecolor=COLOURS[c], label=CATEGORY_NAMES[c])
               for c in CATEGORIES]
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False, fontsize=9)


def _draw(ax, obs: Observation, namespaces: Sequence[str], highlight: str | None,
          width: int) -> None:
    from matplotlib.patches import FancyBboxPatch

    columns = [THE_HOST, *(m.name for m in obs.members)]
    if highlight is not None and highlight not in columns:
        from ..errors import LabError

        raise LabError(f"{highlight!r} is not a process of this picture: pick one of "
                       f"{', '.join(columns)}.")
    place = {name: i for i, name in enumerate(columns)}
    for i, name in enumerate(columns):
        ax.text(i + 0.5, 0.62, _header(obs, name), ha="center", va="bottom", fontsize=9,
                fontweight="bold", gid=f"header:{name}")
    for row, ns_type in enumerate(namespaces):
        y = -row
        ax.text(-0.08, y + 0.08, ns_type, ha="right", va="center", fontsize=11,
                fontweight="bold", gid=f"row:{ns_type}")
        ax.text(-0.08, y - 0.2, ABOUT[ns_type], ha="right", va="center", fontsize=7,
                color="#444444")
    boxes = namespace_groups(obs, namespaces)
    for box in boxes:
        y = -list(namespaces).index(box.ns_type)
        lit = highlight is None or highlight in box.processes
        for part, (first, last) in enumerate(_runs([place[p] for p in box.processes])):
            patch = FancyBboxPatch(
                (first + 0.06, y - 0.42), last - first + 1 - 0.12, 0.84,
                boxstyle="round,pad=0,rounding_size=0.08", facecolor=FILLS[box.category],
                edgecolor="#000000" if highlight is not None and lit else COLOURS[box.category],
                linewidth=2.6 if highlight is not None and lit else 1.4,
                alpha=1.0 if lit else 0.3, zorder=1,
                gid=f"box:{box.ns_type}:{box.inode}:{part}")
            ax.add_patch(patch)
            ax.text(first + 0.12, y + 0.36, box.label, ha="left", va="top", fontsize=7.5,
                    color="#000000" if lit else "#888888", zorder=3,
                    gid=f"label:{box.ns_type}:{box.inode}:{part}")
        for name in box.processes:
            bold = name == highlight
            ax.text(place[name] + 0.5, y - 0.1, name, ha="center", va="center", fontsize=8.5,
                    color="#FFFFFF" if bold else "#000000", zorder=4,
                    fontweight="bold" if bold or name == THE_HOST else "normal",
                    alpha=1.0 if lit else 0.4, gid=f"process:{box.ns_type}:{name}",
                    bbox={"boxstyle": "round,pad=0.25", "linewidth": 0.8,
                          "facecolor": "#000000" if bold else "#FFFFFF",
                          "edgecolor": "#333333"})
    ax.set_xlim(-1.25, width + 0.05)
    ax.set_ylim(-len(namespaces) + 0.45, 1.05)
    ax.axis("off")


def namespace_boxes(obs: Observation, title: str | None = None, *,
                    namespaces: Sequence[str] = ARTICLE_TYPES, highlight: str | None = None):
    """A matplotlib Figure: a row per namespace type, a box per namespace, and each process
    (the host, then the members) drawn in the boxes it is in, coloured by category.

    ``highlight`` names a process whose boxes stand out (the others fade).

    >>> namespace_boxes(lab.observe(pod), title="a CRI pod")    # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    _check(obs, namespaces)
    width = len(obs.members) + 1
    fig, ax = plt.subplots(figsize=(1.6 + 1.55 * width, 0.85 * len(namespaces) + 1.4))
    _draw(ax, obs, namespaces, highlight, width)
    ax.set_title(title or "who is in which namespace", fontsize=11, loc="left")
    _legend(fig)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    plt.close(fig)
    return fig


def namespace_boxes_by_kind(observations: Mapping[str, Observation], *,
                            namespaces: Sequence[str] = ARTICLE_TYPES):
    """One picture per kind of pod (the mapping's keys are the titles), stacked, at the same
    scale so their columns line up.

    >>> namespace_boxes_by_kind({"plain container": a, "CRI pod": b})   # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    from ..errors import LabError

    if not observations:
        raise LabError("There is nothing to draw: give namespace_boxes_by_kind a mapping of "
                       "titles to observations ({'CRI pod': lab.observe(pod)}).")
    for obs in observations.values():
        _check(obs, namespaces)
    width = max(len(obs.members) for obs in observations.values()) + 1
    row_height = 0.85 * len(namespaces) + 0.9
    fig, axes = plt.subplots(len(observations), 1, squeeze=False,
                             figsize=(1.6 + 1.55 * width, row_height * len(observations) + 0.6))
    for ax, (kind, obs) in zip(axes[:, 0], observations.items(), strict=True):
        _draw(ax, obs, namespaces, None, width)
        ax.set_title(kind, fontsize=11, loc="left", fontweight="bold")
    _legend(fig)
    fig.tight_layout(rect=(0, 0.6 / fig.get_figheight(), 1, 1))
    plt.close(fig)
    return fig
