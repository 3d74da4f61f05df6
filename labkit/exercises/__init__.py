"""Exercises checked from the kernel and the engines, with hints, progress and solutions.

In a chapter's cell:

>>> from labkit import exercises                          # doctest: +SKIP
>>> exercises.progress_widget("01")                       # doctest: +SKIP
>>> ex = exercises.get("01.oom-64mi"); ex                 # doctest: +SKIP
>>> ex.check()                                            # doctest: +SKIP
oom64 was killed by the kernel's OOM killer at its 64 MiB limit (...).

A check reads the machine, never the learner's code: a container made by hand with
the docker CLI passes as one made with ``lab.run``. Solutions are not in the notebooks;
instructor mode (``LABKIT_INSTRUCTOR=1``, or :func:`instructor`) shows and runs them.
Nothing heavy loads here: the Docker SDK and ipywidgets load when a check or a card needs
them. More: docs/exercises.md.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from ..errors import LabError
from . import catalog, progress
from .catalog import instructor, solution_source
from .core import FormError, Result, Sentence, Spec, unjudged

__all__ = ["Exercise", "Result", "exercises", "get", "instructor", "progress_widget", "use"]

REPLAYED_DO = ("This exercise is done on a machine: it asks you to make containers or pods, "
               "and here no engine answers (the chapter replays a recording), so it cannot be "
               "checked and no try is counted. Open the lab where Docker runs (./lab up) to "
               "do it.")

_state: dict[str, Any] = {"lab": None, "machine": None, "own_lab": None}
_cards: dict[str, Exercise] = {}
_progress_views: list[tuple[str, Any]] = []  # every progress view shown, kept up to date


def get(exercise_id: str) -> Exercise:
    """The exercise with this id (``"01.oom-64mi"``); the same object on every call."""
    specs = catalog.specs()
    if exercise_id not in specs:
        known = ", ".join(specs)
        raise LabError(f"There is no exercise {exercise_id!r}: the exercises are {known}.")
    if exercise_id not in _cards:
        _cards[exercise_id] = Exercise(specs[exercise_id])
    return _cards[exercise_id]


def exercises(chapter: str | None = None) -> list[Exercise]:
    """Every exercise, or a chapter's (``"01"``), in order."""
    return [get(i) for i in catalog.specs(chapter)]


def use(lab) -> None:
    """Read the machine through this ``Lab`` (its node reader and engine), and run
    instructor solutions in it. Optional: without it checks connect by themselves."""
    from .machine import Machine

    machine = Machine(lab)
    # A recorded chapter's checks read through its recording (labkit.replay).
    through = getattr(lab, "checks_through", None)
    _state["lab"], _state["machine"] = lab, through(machine) if through else machine


def _machine():
    from .machine import Machine

    if _state["machine"] is None:
        _state["machine"] = Machine(_state["lab"])
    return _state["machine"]


def _lab():
    if _state["lab"] is not None:
        return _state["lab"]
    if _state["own_lab"] is None:
        from ..lab import Lab

        _state["own_lab"] = Lab()
    return _state["own_lab"]


class Exercise:
    """One exercise: its task, its check, its hints; displayed as a card in a notebook."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._card = None  # one card per exercise: every view of it shows the same state

    id = property(lambda self: self.spec.id)
    kind = property(lambda self: self.spec.kind)
    title = property(lambda self: self.spec.title)
    chapter = property(lambda self: self.spec.chapter)

    @property
    def task(self) -> str:
        return engine_names(self.spec.task)

    # -- checking ------------------------------------------------------------------------
    def check(self, answer: Any = None) -> Result:
        """Check the machine (and, for *find* and *predict*, the answer); record the try.

        An answer in the wrong form is answered with the form expected and is no try; so is
        a *do* exercise where the chapter replays a recording (nothing can be made here). A
        prediction's first answer is kept, and whether it was right."""
        if self.kind == "do" and getattr(_state["lab"], "replaying", False):
            return Result(self.id, False, REPLAYED_DO, counted=False)
        result = self.judge(answer)
        if result.counted:
            first = _shown_answer(answer) if self.kind == "predict" else None
            try:
                progress.record_try(self.id, result.passed, len(self.spec.hints),
                                    first_answer=first, sentence=result.sentence)
            except OSError as error:
                warnings.warn(f"labkit could not record progress in {progress.path()}: "
                              f"{error}", stacklevel=2)
            _refresh_progress(self.chapter)
        return result

    def judge(self, answer: Any = None) -> Result:
        """The check alone: nothing recorded."""
        try:
            value = self._parse(answer)
        except FormError as error:
            return Result(self.id, False, str(error), counted=False)
        try:
            verdict = self.spec.check(_machine(), value)
        except LabError as error:
            verdict = unjudged(str(error))
        return Result(self.id, verdict.passed, verdict.sentence, verdict.counted)

    def _parse(self, answer: Any) -> Any:
        if self.kind == "do":
            if answer is not None:
                raise FormError(f"{self.id} is checked from the machine itself: call check() "
                                "with no answer once the state is reached.")
            return None
        if answer is None or (isinstance(answer, str) and not answer.strip()):
            what = "Pick" if self.kind == "predict" else "Type"
            raise FormError(f"{what} an answer first, e.g. {self.spec.example!r}, then check.")
        return self.spec.form(answer)

    # -- hints -----------------------------------------------------------------------------
    @property
    def progress(self) -> dict:
        return progress.entry(self.id)

    def hints(self) -> list[str]:
        """The hints unlocked so far (a failed check or :meth:`hint` unlocks the next)."""
        return [engine_names(h) for h in self.spec.hints[:self.progress["hints"]]]

    def hint(self) -> Sentence:
        """Unlock the next hint and say it (the last one again once all are out)."""
        count = progress.unlock_hint(self.id, len(self.spec.hints))["hints"]
        _refresh_progress(self.chapter)
        return Sentence(f"Hint {count} of {len(self.spec.hints)}: "
                        f"{engine_names(self.spec.hints[count - 1])}")

    # -- reset -------------------------------------------------------------------------------
    def reset(self) -> Sentence:
        """Remove the containers this exercise asks for (exactly its names, typed by hand or
        prefixed by this kernel's lab session) and say which; the recorded progress stays."""
        if not self.spec.names:
            return Sentence(f"{self.id} only reads the machine: there is nothing of it to "
                            "remove (your progress stays as it is).")
        # The lab's pods of those names first, whole (their parent cgroups, CRI sandboxes);
        # then any container of the exercise's names, made by hand with the docker CLI.
        lab = _state["lab"]
        deleted = []
        for pod in list(getattr(lab, "pods", ())):
            if pod.spec.name in self.spec.pods and pod.state != "deleted":
                pod.delete()
                deleted.append(f"pod {pod.spec.name} ({pod.kind})")
        found = _machine().named(self.spec.names)
        order = {n: i for i, n in enumerate(self.spec.names)}
        found.sort(key=lambda s: -order[s["short"]])  # joiners before the sandbox they join
        for summary in found:
            _machine().remove(summary["Id"])
        if not found and not deleted:
            return Sentence(f"No container named {_names(self.spec.names)} was there: nothing "
                            "removed.")
        removed = ", ".join(deleted + [s["engine_name"] for s in found])
        return Sentence(f"Removed {removed}; the recorded progress of {self.id} stays.")

    # -- solutions (instructor mode) ----------------------------------------------------------
    def solution(self) -> Sentence:
        """The reference solution's source (instructor mode only)."""
        self._instructor_only("shown")
        return Sentence(solution_source(self.spec))

    def solve(self, lab=None) -> Result:
        """Run the reference solution in ``lab`` and check (instructor mode only; the learner's
        progress is not touched)."""
        self._instructor_only("run")
        answer = self.spec.solution(lab or _lab())
        return self.judge(None if self.kind == "do" else answer)

    def _instructor_only(self, what: str) -> None:
        if not instructor():
            raise LabError(f"Solutions are {what} in instructor mode only: set "
                           "LABKIT_INSTRUCTOR=1 before starting JupyterLab, or call "
                           "labkit.exercises.instructor(True).")

    # -- display ----------------------------------------------------------------------------
    def widget(self):
        """The exercise's card (ipywidgets): task, answer, Check and Hint buttons, result;
        one per exercise, so every view of it shows the same state."""
        mode = instructor()
        if self._card is None or self._card[0] != mode:  # instructor mode adds a solution
            from .ui import card

            self._card = (mode, card(self))
        return self._card[1]

    def _repr_mimebundle_(self, include=None, exclude=None):
        # Shown where the chapter has made what it reads: a chapter being recorded judges
        # here the answers its replay must judge (labkit.replay).
        rehearse = getattr(_state["lab"], "rehearse", None)
        if rehearse is not None:
            rehearse(self)
        try:
            bundle = self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        except ImportError:
            bundle = {}
        bundle = dict(bundle or {})
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"{self.id} ({self.kind}) · {self.title}: {self.task}"


def progress_widget(chapter: str):
    """A chapter's progress for this learner, kept up to date as checks run.

    >>> exercises.progress_widget("01")            # doctest: +SKIP
    """
    from .ui import progress_view

    view = progress_view(chapter)
    _progress_views.append((chapter, view))
    return view


def _refresh_progress(chapter: str) -> None:
    if not _progress_views:
        return
    from .ui import refresh_progress

    for which, view in _progress_views:
        if which == chapter:
            refresh_progress(view, chapter)


_ENGINE_NAME = re.compile(r"\{name:([a-z0-9][a-z0-9.-]*)\}")


def engine_names(text: str, prefix: str | None = None) -> str:
    """A task's or hint's text with each ``{name:foo}`` written as the engine knows it in
    this kernel's lab (``lk-1a2b3c4d-foo``), and ``{session}`` as the session's id, so that
    a command in it runs as typed.

    >>> engine_names("docker ps -f label=io.labkit.session={session} {name:foo}", "lk-0badcafe-")
    'docker ps -f label=io.labkit.session=0badcafe lk-0badcafe-foo'
    """
    if prefix is None:
        lab = _state["lab"]
        session = getattr(lab, "session", None)
        prefix = getattr(session, "prefix", None) or "lk-<session>-"
    session_id = prefix.removeprefix("lk-").removesuffix("-")
    return _ENGINE_NAME.sub(lambda m: f"{prefix}{m[1]}", text).replace("{session}", session_id)


def _shown_answer(answer: Any) -> str:
    """A prediction's answer as the progress file keeps it."""
    if isinstance(answer, (list, tuple, set, frozenset)):
        return ", ".join(sorted(str(a) for a in answer))
    return str(answer)


def _names(names) -> str:
    return " or ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " or " + names[-1]
