"""The class board's data (labkit/workshop/board.py): who looks stuck and why, the class's
first answers to each prediction, and the state the board's page renders, made from real
progress files written by labkit's own progress code."""

from __future__ import annotations

import pytest

from labkit.exercises import exercises, progress
from labkit.workshop.board import (
    STUCK_FAILED_TRIES,
    STUCK_MINUTES,
    _seconds,
    board_state,
    learner_row,
    predictions,
    stuck_reason,
)

CATALOG = sorted(exercises(), key=lambda e: e.id)
DO = next(e for e in CATALOG if e.kind == "do" and e.spec.hints)
PREDICT = next(e for e in CATALOG if e.kind == "predict")


def entry(**fields) -> dict:
    return {**progress.blank_entry(), **fields}


def test_failed_checks_flag_a_learner():
    assert stuck_reason(entry(tries=STUCK_FAILED_TRIES - 1), DO, 0) is None
    assert stuck_reason(entry(tries=STUCK_FAILED_TRIES), DO, 0) == \
        f"{STUCK_FAILED_TRIES} failed checks"


def test_every_hint_opened_flags_a_learner():
    hints = len(DO.spec.hints)
    assert stuck_reason(entry(tries=1, hints=hints - 1), DO, 0) is None
    assert stuck_reason(entry(tries=1, hints=hints), DO, 0) == f"every hint unlocked ({hints})"


def test_long_on_one_exercise_flags_a_learner():
    first = "2026-12-06T09:00:00Z"
    soon = _seconds(first) + STUCK_MINUTES * 60 - 1
    assert stuck_reason(entry(tries=1, first_try=first), DO, soon) is None
    assert stuck_reason(entry(tries=1, first_try=first), DO, soon + 1) == \
        f"{STUCK_MINUTES} min since the first check"


def test_a_pass_or_a_prediction_is_never_stuck():
    assert stuck_reason(entry(tries=9, passed=True), DO, 0) is None
    assert stuck_reason(entry(tries=1, first_answer="mnt"), PREDICT, 0) is None


def test_only_the_exercise_checked_last_looks_stuck():
    """Three failed checks on one exercise, then a check of another: the learner moved on."""
    other = next(e for e in CATALOG if e.kind == "do" and e.id != DO.id)
    entries = {DO.id: entry(tries=STUCK_FAILED_TRIES, last_try="2026-12-06T09:00:00Z"),
               other.id: entry(tries=1, last_try="2026-12-06T09:05:00Z")}
    row = learner_row("ada", entries, CATALOG, _seconds("2026-12-06T09:06:00Z"))
    assert row["cells"][DO.id]["stuck"] is None and row["stuck"] == []
    entries[DO.id]["last_try"] = "2026-12-06T09:05:30Z"  # back to it
    row = learner_row("ada", entries, CATALOG, _seconds("2026-12-06T09:06:00Z"))
    assert row["stuck"] == [f"{DO.id}: {STUCK_FAILED_TRIES} failed checks"]


def test_the_class_first_answers_most_given_first():
    everyone = {"ada": {PREDICT.id: entry(tries=1, first_answer="mnt, net")},
                "bo": {PREDICT.id: entry(tries=2, first_answer="mnt, net")},
                "cy": {PREDICT.id: entry(tries=1, first_answer="net")},
                "di": {}}
    question = next(q for q in predictions(everyone, CATALOG) if q["exercise"] == PREDICT.id)
    assert question["answers"] == [("mnt, net", 2), ("net", 1)]
    assert (question["answered"], question["of"]) == (3, 4)


@pytest.fixture
def class_files(tmp_path, monkeypatch):
    """Two learners' progress files, written by the code a check in their node runs."""
    files = {}
    for learner in ("ada", "bo"):
        file = tmp_path / learner / "progress.json"
        monkeypatch.setenv("LABKIT_PROGRESS", str(file))
        monkeypatch.setenv("LABKIT_LEARNER", learner)
        files[learner] = file
        if learner == "ada":  # her prediction, then the exercise she is stuck on
            progress.record_try(PREDICT.id, False, 2, first_answer="mnt, net")
            for _ in range(STUCK_FAILED_TRIES):
                progress.record_try(DO.id, False, len(DO.spec.hints), sentence="not yet")
        else:
            progress.record_try(DO.id, True, len(DO.spec.hints), sentence="done")
    return files


def test_the_board_state(class_files):
    usage = {"bo": {"memory": 300 * 2**20, "memory_limit": 2**31, "cpu": 0.2,
                    "cpu_limit": 1.0, "busy": False}}
    state = board_state(class_files, usage)
    assert [e["id"] for e in state["exercises"]] == [e.id for e in CATALOG]
    ada, bo = state["learners"]
    assert ada["learner"] == "ada" and ada["node"] is None
    assert ada["cells"][DO.id] == {"state": "tried", "tries": STUCK_FAILED_TRIES,
                                   "hints": min(STUCK_FAILED_TRIES, len(DO.spec.hints)),
                                   "stuck": f"{STUCK_FAILED_TRIES} failed checks"}
    assert ada["stuck"] == [f"{DO.id}: {STUCK_FAILED_TRIES} failed checks"]
    assert bo["cells"][DO.id]["state"] == "passed" and bo["passed"] == 1 and not bo["stuck"]
    assert bo["node"] == usage["bo"]
    question = next(q for q in state["predictions"] if q["exercise"] == PREDICT.id)
    assert question["answers"] == [("mnt, net", 1)]


def test_the_first_try_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_PROGRESS", str(tmp_path / "progress.json"))
    first = progress.record_try(DO.id, False, 2)["first_try"]
    assert first and progress.record_try(DO.id, False, 2)["first_try"] == first


def test_a_learners_odd_file_spoils_only_their_row_and_is_left_as_it_is(class_files,
                                                                         tmp_path):
    """A learner is root in their node and may write anything in their progress file: the
    board shows the rest of the class as before, and never moves or mends their file."""
    import json

    odd = tmp_path / "cy" / "progress.json"
    odd.parent.mkdir()
    odd.write_text(json.dumps({"learners": {"cy": {"exercises": {
        DO.id: {"tries": "many", "passed": "yes", "hints": None, "last_try": 7},
        PREDICT.id: {"first_answer": ["not", "text"], "tries": 1, "passed": False}}}}}))
    broken = tmp_path / "dee" / "progress.json"
    broken.parent.mkdir()
    broken.write_text("{not json")
    state = board_state({**class_files, "cy": odd, "dee": broken}, {})
    rows = {row["learner"]: row for row in state["learners"]}
    assert rows["ada"]["stuck"] and rows["bo"]["passed"] == 1  # the others as before
    assert rows["cy"]["cells"][DO.id] == {"state": "untried", "tries": 0, "hints": 0,
                                          "stuck": None}
    assert rows["cy"]["cells"][PREDICT.id]["state"] == "tried"
    assert rows["dee"]["passed"] == 0 and not rows["dee"]["stuck"]
    assert broken.read_text() == "{not json" and sorted(p.name for p in broken.parent.iterdir()
                                                        ) == ["progress.json"]


def test_the_class_readers_do_not_follow_what_a_learner_plants(class_files, tmp_path):
    """As this host's root, the board and grades read a learner's file warily: a link to
    /dev/zero, a FIFO, a link to a host file or a linked directory read as no progress (and
    return at once); exercises the catalog does not hold count for nothing."""
    import json
    import os

    from labkit.workshop.progress import class_rows

    host_file = tmp_path / "host-secret.json"
    host_file.write_text(json.dumps({"learners": {"eve": {"exercises": {
        DO.id: {"passed": True, "tries": 1}}}}}))
    planted = {}
    for learner, plant in (("zed", lambda f: os.symlink("/dev/zero", f)),
                           ("fifo", os.mkfifo),
                           ("eve", lambda f: os.symlink(host_file, f))):
        file = tmp_path / learner / ".labkit" / "progress.json"
        file.parent.mkdir(parents=True)
        plant(file)
        planted[learner] = file
    linked = tmp_path / "lin" / ".labkit"
    linked.parent.mkdir()
    os.symlink(host_file.parent, linked)  # the learner's .labkit, a link elsewhere
    planted["lin"] = linked / "host-secret.json"
    made_up = tmp_path / "max" / "progress.json"
    made_up.parent.mkdir()
    made_up.write_text(json.dumps({"learners": {"max": {"exercises": {
        f"99.made-up-{n}": {"passed": True, "tries": 1} for n in range(50)}}}}))
    rows = {row["learner"]: row for row in class_rows({**planted, "max": made_up})}
    assert {name: (row["passed"], row["tried"]) for name, row in rows.items()} == {
        name: (0, 0) for name in (*planted, "max")}
    state = board_state({**class_files, **planted}, {})
    assert [row["passed"] for row in state["learners"] if row["learner"] in planted] == [0] * 4
