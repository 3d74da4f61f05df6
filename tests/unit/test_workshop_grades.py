"""`workshop grades`: the class's progress files, as labkit writes them, read back as CSV.

Each learner's file is written by labkit's own progress writer (or, for a file from before
`last_sentence`, as such a file was); the CSV is parsed back with the `csv` module.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.cli import write_grades
from labkit.errors import LabError
from labkit.exercises import exercises, progress
from labkit.workshop.progress import GRADE_COLUMNS, grade_rows, grades_csv

COLUMNS = ["learner", "exercise", "chapter", "kind", "passed", "first_pass", "tries", "hints",
           "last_check"]
QUOTED = 'quarter runs at "0.25" CPU, that is, 25000 µs in every 100000 µs: right.'
IDS = sorted(e.id for e in exercises())


def checked(monkeypatch, file: Path, who: str, exercise_id: str, success: bool,
            sentence: str) -> None:
    """One judged check of ``who``'s, recorded in ``file`` by labkit's progress writer."""
    monkeypatch.setenv("LABKIT_PROGRESS", str(file))
    monkeypatch.setenv("LABKIT_LEARNER", who)
    progress.record_try(exercise_id, success, 3, sentence=sentence)


def parsed(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def rows_of(text: str, learner: str) -> dict[str, dict[str, str]]:
    return {row["exercise"]: row for row in parsed(text) if row["learner"] == learner}


def test_the_header_is_the_documented_columns_in_their_order(tmp_path):
    text = grades_csv(grade_rows({"ann": tmp_path / "ann.json"}))
    assert list(GRADE_COLUMNS) == COLUMNS
    assert text.split("\r\n", 1)[0] == ",".join(COLUMNS)
    assert next(csv.reader(io.StringIO(text, newline=""))) == COLUMNS


def test_a_learner_who_tried_nothing_has_every_exercise_untried(tmp_path):
    (tmp_path / "carol.json").write_text(json.dumps({"format": 1, "learners": {}}))
    for files in ({"carol": tmp_path / "carol.json"}, {"carol": tmp_path / "none.json"}):
        rows = parsed(grades_csv(grade_rows(files)))
        assert [r["exercise"] for r in rows] == IDS
        assert {(r["passed"], r["first_pass"], r["tries"], r["hints"], r["last_check"])
                for r in rows} == {("false", "", "0", "0", "")}
        assert all(r["chapter"] == r["exercise"][:2] for r in rows)
        assert {r["kind"] for r in rows} == {"do", "find", "predict"}


def test_checks_recorded_by_labkit_read_back_as_their_rows(tmp_path, monkeypatch):
    ann = tmp_path / "ann" / "progress.json"
    checked(monkeypatch, ann, "ann", "01.cpu-quarter", False,
            "There is no container named quarter yet: make it, then check.")
    checked(monkeypatch, ann, "ann", "01.cpu-quarter", True, QUOTED)
    checked(monkeypatch, ann, "ann", "01.oom-64mi", True, "oom64 was OOM-killed.")
    checked(monkeypatch, ann, "ann", "01.oom-64mi", False, "oom64 runs, and nothing yet.")
    entry = progress.entries("ann", ann)["01.cpu-quarter"]

    rows = rows_of(grades_csv(grade_rows({"ann": ann})), "ann")
    assert list(rows) == IDS
    assert rows["01.cpu-quarter"] == {
        "learner": "ann", "exercise": "01.cpu-quarter", "chapter": "01", "kind": "do",
        "passed": "true", "first_pass": entry["first_pass"], "tries": "2", "hints": "1",
        "last_check": QUOTED}
    assert entry["first_pass"].endswith("Z")
    # A pass stays a pass; the last sentence is the last judged check's, failed or not.
    assert rows["01.oom-64mi"]["passed"] == "true" and rows["01.oom-64mi"]["tries"] == "2"
    assert rows["01.oom-64mi"]["last_check"] == "oom64 runs, and nothing yet."


def test_a_sentence_with_commas_and_quotes_is_quoted_as_rfc_4180_has_it(tmp_path, monkeypatch):
    ann = tmp_path / "ann.json"
    checked(monkeypatch, ann, "ann", "01.cpu-quarter", True, QUOTED)
    text = grades_csv(grade_rows({"ann": ann}))
    assert '"quarter runs at ""0.25"" CPU, that is, 25000 µs in every 100000 µs: right."' in text
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert rows_of(text, "ann")["01.cpu-quarter"]["last_check"] == QUOTED


def test_a_file_from_before_last_sentence_still_reads(tmp_path, monkeypatch):
    old = tmp_path / "bob.json"
    old.write_text(json.dumps({"format": 1, "learners": {"bob": {
        "updated": "2025-05-01T09:14:40Z", "exercises": {"01.oom-64mi": {
            "tries": 2, "passed": True, "hints": 1, "first_answer": None,
            "first_pass": "2025-05-01T09:14:40Z", "last_try": "2025-05-01T09:14:40Z"}}}}}))
    row = rows_of(grades_csv(grade_rows({"bob": old})), "bob")["01.oom-64mi"]
    assert (row["passed"], row["first_pass"], row["tries"], row["hints"], row["last_check"]) == (
        "true", "2025-05-01T09:14:40Z", "2", "1", "")

    checked(monkeypatch, old, "bob", "01.oom-64mi", False, "oom64 runs.")  # and is written on
    data = json.loads(old.read_text())
    assert data["format"] == 1
    assert data["learners"]["bob"]["exercises"]["01.oom-64mi"]["last_sentence"] == "oom64 runs."


def test_rows_go_by_learner_then_exercise_id(tmp_path, monkeypatch):
    files = {name: tmp_path / f"{name}.json" for name in ("carol", "ann", "bob")}
    checked(monkeypatch, files["bob"], "bob", "03.shared-pid", True, "Right.")
    rows = parsed(grades_csv(grade_rows(files)))
    assert [(r["learner"], r["exercise"]) for r in rows] == [
        (name, i) for name in ("ann", "bob", "carol") for i in IDS]


def test_grades_are_written_as_utf_8_to_the_output_file(tmp_path, monkeypatch):
    ann = tmp_path / "ann.json"
    checked(monkeypatch, ann, "ann", "01.cpu-quarter", True, QUOTED)
    text = grades_csv(grade_rows({"ann": ann}))
    write_grades(text, str(tmp_path / "grades.csv"))
    assert (tmp_path / "grades.csv").read_bytes() == text.encode("utf-8")


@pytest.mark.parametrize(("where", "reason"), [
    ("missing/grades.csv", "No such file or directory"),
    (".", "Is a directory"),
])
def test_an_output_that_cannot_be_written_is_one_sentence(tmp_path, where, reason):
    output = str(tmp_path / where)
    with pytest.raises(LabError) as raised:
        write_grades("learner\r\n", output)
    assert str(raised.value) == f"cannot write {output}: {reason}: give a writable path."


def test_with_no_workshop_up_grades_says_what_progress_says(tmp_path):
    env = {**os.environ, "LABKIT_WORKSHOP_STATE": str(tmp_path / "state")}
    said = [subprocess.run([sys.executable, "-m", "labkit.cli", "workshop", verb], env=env,
                           capture_output=True, text=True) for verb in ("grades", "progress")]
    assert [s.returncode for s in said] == [1, 1]
    assert said[0].stderr == said[1].stderr == (
        "labkit: No workshop is up on this host: start one with sudo ./lab workshop up.\n")
    assert said[0].stdout == ""
