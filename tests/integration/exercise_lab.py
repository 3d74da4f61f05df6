"""What the exercise tests of every chapter share: a progress file of their own, one Lab per
module whose chapter state stays between tests, and an attempt in a learner's order.

A *find* or *predict* exercise reads what the chapter's cells made (its setup): that is made
once per chapter and kept, so the reference and every wrong answer are checked against the
same machine, as a learner's tries are. A *do* exercise's attempt removes what it made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import labkit
from labkit import exercises


@pytest.fixture(autouse=True)
def own_progress(tmp_path, monkeypatch):
    """Progress in the test's own file, as a learner's, never an instructor's."""
    monkeypatch.setenv("LABKIT_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.delenv("LABKIT_INSTRUCTOR", raising=False)
    yield
    exercises.use(None)


class Made:
    """What the module's lab made, by its session's cleanup keys: the chapter state a read
    exercise needs stays between tests, everything else goes after each test."""

    def __init__(self, lab):
        self.lab = lab
        self.base = set(self.keys())  # the engines the module's lab started
        self.setup = None
        self.prepared: set[str] = set()

    def keys(self) -> list[str]:
        return [what for what, _undo in self.lab.session._cleanups]

    def undo(self, keep: set[str]) -> None:
        todo = [(w, u) for w, u in self.lab.session._cleanups if w not in keep]
        for what, undo in reversed(todo):
            undo()
            self.lab.session.forget(what)

    def prepare(self, setup) -> None:
        if self.setup is not setup:
            self.drop()
            before = set(self.keys())
            setup(self.lab)
            self.setup, self.prepared = setup, set(self.keys()) - before

    def drop(self) -> None:
        self.undo(keep=self.base)
        self.setup, self.prepared = None, set()


def made_by_a_lab(engine: str | None = None, *, made: Callable[[labkit.Lab], Made] = Made,
                  traces: Callable[[labkit.Lab], list[str]] | None = None) -> Iterator[Made]:
    """A module fixture's body: a Lab reading the kernel directly (and ``engine`` started
    once for the module) that leaves no container behind when the module closes it, nor any
    of ``traces`` (what its engine could leave on the host)."""
    lab = labkit.Lab(gather="direct")
    try:
        if engine:
            getattr(lab, engine)
        yield made(lab)
    finally:
        lab.close()
    assert lab.docker.session_containers() == [], "the lab left containers behind"
    if traces is not None:
        assert traces(lab) == [], f"the lab left some of its {engine} behind"


def attempt(ex, made: Made, solve):
    """Make what the chapter's cells make first (the exercise's setup, kept between tests),
    run ``solve`` and check what it made (a *do*) or the answer it returns; then remove what
    ``solve`` made."""
    if ex.spec.setup is not None:
        made.prepare(ex.spec.setup)
    answer = solve(made.lab)
    try:
        return ex.check(None if ex.kind == "do" else answer)
    finally:
        made.undo(keep=made.base | made.prepared)


def wrong_then_right(ex, made: Made, *, tries: int) -> None:
    """Each wrong solution, then the reference, as a learner tries them after ``tries``
    counted tries already: each wrong one fails with its sentence and unlocks one more hint,
    and the reference passes (in the progress file too, unless it is a prediction: that
    counts its first answer only, here a wrong one)."""
    for wrong in ex.spec.wrong:
        result = attempt(ex, made, wrong.solve)
        tries += 1
        assert not result.passed and result.counted, result.sentence
        assert wrong.expect in result.sentence, result.sentence
        assert len(ex.hints()) == min(tries, len(ex.spec.hints))  # each failure unlocks one
    result = attempt(ex, made, ex.spec.solution)
    assert result.passed, result.sentence
    assert ex.progress["passed"] == (ex.kind != "predict")
    assert ex.progress["tries"] == tries + 1
    assert "\n" not in result.sentence and result.sentence.endswith("."), result.sentence
