"""The coloured sharing matrices: members (or ways of running one member) × namespace
types, each cell coloured by the categories of ``namespace_figures``, shown as labkit's own
HTML (no random ids) with a text form whose legend line names each colour, so nbval
compares both.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..model import NAMESPACE_TYPES, Observation
from .namespace_figures import (
    ARTICLE_TYPES,
    CATEGORIES,
    CATEGORY_NAMES,
    COLOUR_WORDS,
    COLOURS,
    FILLS,
    HOST,
    OWN,
    POD,
    UNREADABLE,
    _check,
)
from .namespaces import sharing_labels

HELD = "held for the pod"
"""The matrix's word for a namespace a member holds and others share (the sandbox's)."""


def _cells(obs: Observation) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """member -> type -> (text, category); the text is ``sharing_labels``' except that a
    namespace held by one member and shared by later ones reads ``held for the pod``."""
    labels = sharing_labels(obs)
    texts: dict[str, dict[str, str]] = {}
    categories: dict[str, dict[str, str]] = {}
    for observed in obs.members:
        texts[observed.name], categories[observed.name] = {}, {}
        for ns_type in NAMESPACE_TYPES:
            label, inode = labels[observed.name][ns_type], observed.namespaces.get(ns_type)
            sharers = sum(m.namespaces.get(ns_type) == inode for m in obs.members)
            if label == "unreadable":
                category = UNREADABLE
            elif label == "host":
                category = HOST
            elif sharers > 1:
                category, label = POD, HELD if label == "own" else label
            else:
                category = OWN
            texts[observed.name][ns_type] = label
            categories[observed.name][ns_type] = category
    return texts, categories


@dataclass(frozen=True)
class ColouredMatrix:
    """A table whose cells are coloured by category. In a notebook it shows as a coloured
    HTML table; its text form is the same table with a legend naming each colour."""

    labels: pd.DataFrame
    categories: pd.DataFrame  # one of CATEGORIES (or "unreadable"); "" leaves a cell plain
    caption: str = ""

    def colour(self, row: str, column: str) -> str | None:
        """The fill colour of one cell (None for a plain cell)."""
        category = self.categories.loc[row, column]
        return FILLS[category] if category else None

    def legend(self) -> str:
        used = [c for c in (*CATEGORIES, UNREADABLE) if (self.categories == c).any().any()]
        return "colours: " + " · ".join(f"{COLOUR_WORDS[c]} = {CATEGORY_NAMES[c]}"
                                        for c in used)

    def __repr__(self) -> str:
        lines = [self.caption] if self.caption else []
        lines += [self.labels.to_string(), self.legend()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{esc(str(c))}</th>" for c in self.labels.columns)
        rows = []
        for row in self.labels.index:
            cells = []
            for column in self.labels.columns:
                category = self.categories.loc[row, column]
                text = esc(str(self.labels.loc[row, column]))
                if category:
                    cells.append(f'<td class="lk-ns lk-ns-{category}" title="'
                                 f'{esc(CATEGORY_NAMES[category])}" style="background-color: '
                                 f'{FILLS[category]}; color: #000000; text-align: center">'
                                 f'{text}</td>')
                else:
                    cells.append(f'<td style="text-align: left">{text}</td>')
            rows.append(f"<tr><th>{esc(str(row))}</th>{''.join(cells)}</tr>")
        used = [c for c in (*CATEGORIES, UNREADABLE) if (self.categories == c).any().any()]
        swatches = " ".join(
            f'<span class="lk-ns lk-ns-{c}" style="background-color: {FILLS[c]}; color: '
            f'#000000; border: 1px solid {COLOURS[c]}; padding: 0 0.5em">'
            f'{esc(CATEGORY_NAMES[c])}</span>' for c in used)
        caption = f"<caption>{esc(self.caption)}</caption>" if self.caption else ""
        index = esc(str(self.labels.index.name or ""))
        return (f'<table class="lk-sharing">{caption}<thead><tr><th>{index}</th>{head}</tr>'
                f'</thead><tbody>{"".join(rows)}</tbody></table>'
                f'<p class="lk-sharing-legend">{swatches}</p>')


def sharing_colours(obs: Observation,
                    namespaces: Sequence[str] = NAMESPACE_TYPES) -> ColouredMatrix:
    """Members × namespace types, each cell coloured: its own, shared in the pod (the
    sandbox's, ``held for the pod`` in the sandbox's own row), or the host's.

    >>> sharing_colours(lab.observe(pod))               # doctest: +SKIP
    """
    _check(obs, namespaces)
    texts, categories = _cells(obs)
    names = [m.name for m in obs.members]
    labels = pd.DataFrame([texts[n] for n in names], index=names, columns=list(namespaces))
    kinds = pd.DataFrame([categories[n] for n in names], index=names, columns=list(namespaces))
    labels.index.name = kinds.index.name = "member"
    return ColouredMatrix(labels, kinds)


def comparison_colours(observations: Mapping[str, Observation], member: str = "app",
                       namespaces: Sequence[str] = ARTICLE_TYPES) -> ColouredMatrix:
    """One row per way of running ``member``: its namespaces, coloured, and its cgroup.

    >>> comparison_colours({"plain container": a, "CRI pod": b})    # doctest: +SKIP
    """
    from .compare import cgroup_pattern

    texts, kinds = {}, {}
    for kind, obs in observations.items():
        _check(obs, namespaces)
        obs.member(member)  # a clear KeyError naming the members if it is not there
        text, category = _cells(obs)
        texts[kind] = {**{ns: text[member][ns] for ns in namespaces},
                       "cgroup": cgroup_pattern(obs, member)}
        kinds[kind] = {**{ns: category[member][ns] for ns in namespaces}, "cgroup": ""}
    labels, categories = pd.DataFrame(texts).T, pd.DataFrame(kinds).T
    labels.index.name = categories.index.name = member
    return ColouredMatrix(labels, categories)
