"""Exercise cards and the progress view, in ipywidgets 8 (no front-end extension needed).

>>> card(get("01.oom-64mi"))                    # doctest: +SKIP
"""

from __future__ import annotations

import html
import re

from . import progress
from .report import progress_rows

KIND_LABEL = {"do": "Do", "find": "Find", "predict": "Predict"}
MARK = {True: "✔", False: "✘", None: "…"}


def _inline(text: str) -> str:
    """Escape, then `code` spans."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def answer_widget(exercise):
    """Text for *find*; a row of toggles (pick every one) or a Dropdown for *predict*;
    None for *do*."""
    import ipywidgets as widgets

    spec = exercise.spec
    if spec.kind == "find":
        return widgets.Text(placeholder=str(spec.example), description="Answer:")
    if spec.multiple:
        return choices(spec.options)
    if spec.kind == "predict":
        return widgets.Dropdown(options=spec.options, value=None, description="Answer:")
    return None


def choices(options):
    """One toggle button per option, each picked or not with a click; ``value`` is the
    tuple of those picked (settable, as a SelectMultiple's)."""
    import ipywidgets as widgets

    class Choices(widgets.HBox):
        @property
        def value(self) -> tuple[str, ...]:
            return tuple(b.description for b in self.children if b.value)

        @value.setter
        def value(self, picked) -> None:
            for button in self.children:
                button.value = button.description in picked

    return Choices([widgets.ToggleButton(description=o, layout=widgets.Layout(width="auto"))
                    for o in options])


def _result_html(result) -> str:
    mark = MARK[result.passed] if result.counted or result.passed else MARK[None]
    colour = "green" if result.passed else ("#b00" if result.counted else "#555")
    return (f"<p style='color:{colour}'><b>{mark}</b> {_inline(result.sentence)}</p>")


def _hints_children(exercise):
    import ipywidgets as widgets

    unlocked = exercise.hints()
    children = [widgets.HTML(f"<p>{_inline(h)}</p>") for h in unlocked]
    titles = tuple(f"Hint {i + 1} of {len(exercise.spec.hints)}" for i in range(len(unlocked)))
    return children, titles


def card(exercise):
    """Title, task, answer input, Check and Hint buttons, the result, the hints (folded);
    in instructor mode also the solution (folded) and a button that runs it."""
    import ipywidgets as widgets

    from . import instructor

    spec = exercise.spec
    header = widgets.HTML(
        f"<h4 style='margin:0'>{KIND_LABEL[spec.kind]} · {_inline(spec.title)} "
        f"<small style='color:#666'>{spec.id}</small></h4><p>{_inline(spec.task)}</p>")
    answer = answer_widget(exercise)
    check = widgets.Button(description="Check", button_style="primary", icon="check")
    hint = widgets.Button(description="Hint", icon="lightbulb-o")
    result = widgets.HTML()
    hints = widgets.Accordion()

    def show_hints() -> None:
        children, titles = _hints_children(exercise)
        hints.children = children
        hints.titles = titles
        left = len(spec.hints) - len(children)
        hint.description = f"Hint ({left} left)" if left else "Hint (all shown)"
        hint.disabled = not left

    def on_check(_button=None) -> None:
        value = None
        if answer is not None:
            value = answer.value
            if isinstance(value, tuple):
                value = list(value) or None
        shown = exercise.check(value)
        result.value = _result_html(shown)
        show_hints()

    def on_hint(_button=None) -> None:
        exercise.hint()
        show_hints()
        hints.selected_index = len(hints.children) - 1

    check.on_click(on_check)
    hint.on_click(on_hint)
    show_hints()
    buttons = [check, hint]
    rows = [header]
    if answer is not None:
        rows.append(answer)
    extra = []
    if instructor():
        from . import solution_source

        solve = widgets.Button(description="Run solution", button_style="warning", icon="play")

        def on_solve(_button=None) -> None:
            try:
                shown = exercise.solve()
            except Exception as error:  # the instructor sees why, in one line
                result.value = f"<p style='color:#b00'>✘ {_inline(str(error))}</p>"
                return
            result.value = _result_html(shown)

        solve.on_click(on_solve)
        buttons.append(solve)
        source = widgets.HTML(f"<pre>{html.escape(solution_source(spec))}</pre>")
        extra.append(widgets.Accordion(children=[source], titles=("Solution (instructor)",)))
    box = widgets.VBox([*rows, widgets.HBox(buttons), result, hints, *extra],
                       layout=widgets.Layout(border="1px solid #ccc", padding="4px 8px"))
    box.exercise, box.answer, box.check_button, box.hint_button = exercise, answer, check, hint
    box.result, box.hints = result, hints
    box.solve_button = buttons[2] if len(buttons) > 2 else None
    return box


# -- progress -------------------------------------------------------------------------------

def progress_html(chapter: str) -> str:
    rows = progress_rows(chapter)
    done = sum(r["passed"] for r in rows)
    lines = []
    for r in rows:
        status = "✔ passed" if r["passed"] else ("✘ not yet" if r["tries"] else "· not tried")
        lines.append(f"<tr><td>{r['id']}</td><td>{_inline(r['title'])}</td><td>{status}</td>"
                     f"<td>{r['tries']}</td><td>{r['hints']}/{r['hints_total']}</td></tr>")
    return (f"<p><b>{html.escape(progress.learner())}</b>: {done} of {len(rows)} exercises of "
            f"chapter {chapter} passed</p><table><tr><th>exercise</th><th></th><th>status</th>"
            f"<th>tries</th><th>hints</th></tr>{''.join(lines)}</table>")


def progress_view(chapter: str):
    import ipywidgets as widgets

    rows = progress_rows(chapter)
    bar = widgets.IntProgress(value=sum(r["passed"] for r in rows), min=0, max=len(rows),
                              description=f"Chapter {chapter}:")
    class ProgressView(widgets.VBox):
        def __repr__(self) -> str:  # what a reader without the widget sees
            done = sum(r["passed"] for r in progress_rows(chapter))
            return (f"{progress.learner()}: {done} of {len(rows)} exercises of chapter "
                    f"{chapter} passed")

    view = ProgressView([bar, widgets.HTML(progress_html(chapter))])
    view.bar, view.table = bar, view.children[1]
    return view


def refresh_progress(view, chapter: str) -> None:
    rows = progress_rows(chapter)
    view.bar.value = sum(r["passed"] for r in rows)
    view.table.value = progress_html(chapter)
