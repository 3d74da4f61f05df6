"""The namespace-box picture with controls (ipywidgets): pick a process to light up its
boxes and list them, show all eight namespace types, and pick the kind of pod."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from ..model import NAMESPACE_TYPES, Observation
from .namespace_figures import (
    ARTICLE_TYPES,
    COLOURS,
    FILLS,
    THE_HOST,
    _check,
    namespace_boxes,
    namespace_groups,
)


def _summary(obs: Observation, namespaces: Sequence[str], process: str | None) -> str:
    if process is None:
        return "<i>Pick a process to see the namespaces it is in.</i>"
    items = []
    for box in namespace_groups(obs, namespaces):
        if process not in box.processes:
            continue
        others = [p for p in box.processes if p != process]
        company = f"with {', '.join(others)}" if others else "alone"
        items.append(f'<li><span style="background-color: {FILLS[box.category]}; '
                     f'border: 1px solid {COLOURS[box.category]}; padding: 0 0.4em">'
                     f'{html.escape(box.label)}</span> {html.escape(company)}</li>')
    return f"<b>{html.escape(process)}</b> is in:<ul>{''.join(items)}</ul>"


def namespace_boxes_widget(observations: Observation | Mapping[str, Observation]):
    """The picture with controls: pick a process to light up its boxes (and list them),
    show all eight namespace types, and, given several observations, pick the kind.

    >>> namespace_boxes_widget({"CRI pod": a, "Podman pod": b})    # doctest: +SKIP
    """
    import io

    import ipywidgets as widgets

    if isinstance(observations, Observation):
        observations = {"": observations}
    for obs in observations.values():
        _check(obs, ARTICLE_TYPES)
    kinds = list(observations)
    kind = widgets.ToggleButtons(options=kinds, value=kinds[0], description="pod",
                                 style={"button_width": "auto"},
                                 layout=widgets.Layout(display="" if len(kinds) > 1 else "none"))
    process = widgets.ToggleButtons(description="process", style={"button_width": "auto"})
    every = widgets.Checkbox(value=False, description="all eight namespace types",
                             indent=False)
    image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
    summary = widgets.HTML()

    def processes() -> list[str]:
        return ["nobody", THE_HOST, *(m.name for m in observations[kind.value].members)]

    def draw(_change=None) -> None:
        obs = observations[kind.value]
        chosen = None if process.value in (None, "nobody") else process.value
        namespaces = NAMESPACE_TYPES if every.value else ARTICLE_TYPES
        fig = namespace_boxes(obs, title=kind.value or None, namespaces=namespaces,
                              highlight=chosen)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        image.value = buffer.getvalue()
        summary.value = _summary(obs, namespaces, chosen)

    def new_kind(_change=None) -> None:
        keep = process.value
        process.unobserve(draw, names="value")
        process.options = processes()
        process.value = keep if keep in process.options else "nobody"
        process.observe(draw, names="value")
        draw()

    process.options = processes()
    process.value = "nobody"
    kind.observe(new_kind, names="value")
    process.observe(draw, names="value")
    every.observe(draw, names="value")
    draw()
    return widgets.VBox([kind, process, every, image, summary])
