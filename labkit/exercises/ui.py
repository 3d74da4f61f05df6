"""Exercise cards and the progress view, in ipywidgets 8 (no front-end extension needed).

>>> card(get("01.oom-64mi"))                    # doctest: +SKIP
"""

from __future__ import annotations

import functools
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
    if spec.kind == "find":  # wide enough for a cgroup path
        return widgets.Text(placeholder=str(spec.example), description="Answer:",
                            layout=widgets.Layout(width="95%"))
    if spec.multiple:
        return choices(spec.options)
    if spec.kind == "predict":
        return widgets.Dropdown(options=spec.options, value=None, description="Answer:")
    return None


def choices(options):
    """One toggle button per option, each picked or not with a click, a picked one filled
    and ticked; ``value`` is the tuple of those picked (settable, as a SelectMultiple's)."""
    import ipywidgets as widgets

    class Choices(widgets.HBox):
        @property
        def value(self) -> tuple[str, ...]:
            return tuple(b.description for b in self.children if b.value)

        @value.setter
        def value(self, picked) -> None:
            for button in self.children:
                button.value = button.description in picked

    def show(change) -> None:
        button = change["owner"]
        button.button_style, button.icon = ("info", "check") if change["new"] else ("", "")

    buttons = [widgets.ToggleButton(description=o, layout=widgets.Layout(width="auto"))
               for o in options]
    for button in buttons:
        button.observe(show, names="value")
    return Choices(buttons)


def _result_html(result) -> str:
    mark = MARK[result.passed] if result.counted or result.passed else MARK[None]
    colour = "green" if result.passed else ("#b00" if result.counted else "#555")
    return (f"<p style='color:{colour}'><b>{mark}</b> {_inline(result.sentence)}</p>")


@functools.cache
def _card_class():
    import ipywidgets as widgets

    class Card(widgets.VBox):
        """An exercise's card: title and task, the answer input, Check and Hint buttons,
        the result, the hints unlocked so far (folded); in instructor mode also the
        solution (folded) and a button that runs it. One per exercise: every view of it
        shows the same state."""

        def __init__(self, exercise) -> None:
            from .catalog import instructor, solution_source

            self.exercise = exercise
            spec = exercise.spec
            header = widgets.HTML(
                f"<h4 style='margin:0'>{KIND_LABEL[spec.kind]} · {_inline(spec.title)} "
                f"<small style='color:#666'>{spec.id}</small></h4>"
                f"<p>{_inline(exercise.task)}</p>")
            self.answer = answer_widget(exercise)
            self.check_button = widgets.Button(description="Check", button_style="primary",
                                               icon="check")
            self.hint_button = widgets.Button(description="Hint", icon="lightbulb-o")
            self.result = widgets.HTML()
            self.hints = widgets.Accordion()
            self.solve_button = None
            self.check_button.on_click(self.on_check)
            self.hint_button.on_click(self.on_hint)
            buttons = [self.check_button, self.hint_button]
            extra = []
            if instructor():
                self.solve_button = widgets.Button(description="Run solution",
                                                   button_style="warning", icon="play")
                self.solve_button.on_click(self.on_solve)
                buttons.append(self.solve_button)
                source = widgets.HTML(f"<pre>{html.escape(solution_source(spec))}</pre>")
                extra.append(widgets.Accordion(children=[source],
                                               titles=("Solution (instructor)",)))
            rows = [header] + ([self.answer] if self.answer is not None else [])
            super().__init__([*rows, widgets.HBox(buttons), self.result, self.hints, *extra],
                             layout=widgets.Layout(border="1px solid #ccc",
                                                   padding="4px 8px"))
            self.show_hints()

        def show_hints(self) -> None:
            unlocked = self.exercise.hints()
            total = len(self.exercise.spec.hints)
            self.hints.children = [widgets.HTML(f"<p>{_inline(h)}</p>") for h in unlocked]
            self.hints.titles = tuple(f"Hint {i + 1} of {total}" for i in range(len(unlocked)))
            left = total - len(unlocked)
            self.hint_button.description = f"Hint ({left} left)" if left else "Hint (all shown)"
            self.hint_button.disabled = not left

        def on_check(self, _button=None) -> None:
            value = None
            if self.answer is not None:
                value = self.answer.value
                if isinstance(value, tuple):
                    value = list(value) or None
            self.result.value = _result_html(self.exercise.check(value))
            self.show_hints()

        def on_hint(self, _button=None) -> None:
            self.exercise.hint()
            self.show_hints()
            self.hints.selected_index = len(self.hints.children) - 1

        def on_solve(self, _button=None) -> None:
            try:
                shown = self.exercise.solve()
            except Exception as error:  # the instructor sees why, in one line
                self.result.value = f"<p style='color:#b00'>✘ {_inline(str(error))}</p>"
                return
            self.result.value = _result_html(shown)

    return Card


def card(exercise):
    """The exercise's card (see ``Card``)."""
    return _card_class()(exercise)


def status(row: dict) -> str:
    """A progress row's status in words: a prediction says how its first answer went."""
    if row["kind"] == "predict" and row.get("first_answer") is not None:
        return "✔ predicted right" if row["passed"] else "✘ predicted otherwise"
    return "✔ passed" if row["passed"] else ("✘ not yet" if row["tries"] else "· not tried")


# -- progress -------------------------------------------------------------------------------

def progress_html(chapter: str) -> str:
    rows = progress_rows(chapter)
    done = sum(r["passed"] for r in rows)
    lines = []
    for r in rows:
        lines.append(f"<tr><td>{r['id']}</td><td>{_inline(r['title'])}</td><td>{status(r)}</td>"
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
