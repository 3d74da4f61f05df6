"""The class's progress: every learner's exercises, read from the progress files on
their work volumes (each node writes its learner's file there, so it outlives the node);
as the instructor's table, or as grades, one CSV row per learner and exercise."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import docker

from ..exercises import Exercise, exercises
from ..exercises import progress as progress_file
from .settings import NODE_PROGRESS, NODE_WORK, ROLE_LABEL, WORKSHOP_LABEL, Workshop

# The grades' columns, in this order for good: new ones, if ever, go at the end.
GRADE_COLUMNS = ("learner", "exercise", "chapter", "kind", "passed", "first_pass", "tries",
                 "hints", "last_check")


def progress_files(client: docker.DockerClient, workshop: Workshop) -> dict[str, Path]:
    """learner -> their progress file on this host (the volume's mount point)."""
    files = {}
    relative = Path(NODE_PROGRESS).relative_to(NODE_WORK)
    for volume in client.volumes.list(filters={"label": [f"{WORKSHOP_LABEL}={workshop.id}",
                                                         f"{ROLE_LABEL}=learner-work"]}):
        learner = volume.name.removeprefix(workshop.prefix).removesuffix("-work")
        files[learner] = Path(volume.attrs["Mountpoint"]) / relative
    return files


def class_rows(files: dict[str, Path]) -> list[dict]:
    """One row per learner: exercises passed per chapter, out of the chapter's; in all, those
    passed and those tried (checked at least once, passed or not)."""
    chapters: dict[str, list[str]] = {}
    for exercise in exercises():
        chapters.setdefault(exercise.spec.chapter, []).append(exercise.id)
    catalog = {exercise_id for ids in chapters.values() for exercise_id in ids}
    rows = []
    for learner, file in sorted(files.items()):
        entries = {i: e for i, e in progress_file.entries(learner, file, aside=False).items()
                   if i in catalog}  # what a hand-edited file adds is no exercise
        done = {i for i, e in entries.items() if e["passed"]}
        row = {"learner": learner, "chapters": {}, "passed": len(done),
               "tried": sum(1 for e in entries.values() if e["tries"]),
               "total": sum(len(ids) for ids in chapters.values())}
        for chapter, ids in sorted(chapters.items()):
            row["chapters"][chapter] = (len(done & set(ids)), len(ids))
        rows.append(row)
    return rows


def class_text(rows: list[dict]) -> str:
    """The instructor's table: a line per learner, chapters as columns."""
    if not rows:
        return "No learner has started a node yet."
    chapters = list(rows[0]["chapters"])
    lines = [f"{'learner':<20} " + " ".join(f"{c:>5}" for c in chapters)
             + "   passed   tried"]
    for row in rows:
        cells = " ".join(f"{p}/{t}".rjust(5) for p, t in row["chapters"].values())
        lines.append(f"{row['learner']:<20} {cells}   {row['passed']:>2} of {row['total']:<3}"
                     f"{row['tried']:>5}")
    return "\n".join(lines)


def grade_rows(files: dict[str, Path]) -> list[dict[str, str | int]]:
    """One row per learner and exercise of the catalog, the untried ones too, sorted by
    learner then exercise id."""
    catalog = sorted(exercises(), key=lambda exercise: exercise.id)
    rows = []
    for learner, file in sorted(files.items()):
        entries = progress_file.entries(learner, file, aside=False)
        for exercise in catalog:
            entry = entries.get(exercise.id, progress_file.blank_entry())
            rows.append(grade_row(learner, exercise, entry))
    return rows


def grade_row(learner: str, exercise: Exercise, entry: dict) -> dict[str, str | int]:
    """A learner's entry for one exercise, as the grades' columns."""
    return {"learner": learner, "exercise": exercise.id, "chapter": exercise.chapter,
            "kind": exercise.kind, "passed": "true" if entry["passed"] else "false",
            "first_pass": entry["first_pass"] or "", "tries": entry["tries"],
            "hints": entry["hints"], "last_check": entry["last_sentence"] or ""}


def grades_csv(rows: list[dict[str, str | int]]) -> str:
    """The rows as CSV after a header row: RFC 4180 (fields quoted where they need it,
    CRLF line ends)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=GRADE_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
