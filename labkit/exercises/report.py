"""A learner's progress as rows and as text (for ``labkit progress`` and the widget)."""

from __future__ import annotations

import json

from . import progress
from .catalog import specs


def progress_rows(chapter: str | None = None, who: str | None = None) -> list[dict]:
    """One row per exercise, in order: id, title, kind, hints_total and the learner's entry."""
    recorded = progress.entries(who)
    rows = []
    for spec in specs(chapter).values():
        entry = recorded.get(spec.id, progress.blank_entry())
        rows.append({"id": spec.id, "title": spec.title, "kind": spec.kind,
                     "hints_total": len(spec.hints), **entry})
    return rows


def progress_text(who: str | None = None, chapter: str | None = None) -> str:
    """A plain table of one learner's progress, with a line of totals."""
    who = who or progress.learner()
    rows = progress_rows(chapter, who)
    lines = [f"{'exercise':<22} {'kind':<8} {'status':<10} {'tries':>5} {'hints':>5}  first pass"]
    for r in rows:
        if r["kind"] == "predict" and r.get("first_answer") is not None:
            status = "right" if r["passed"] else "otherwise"
        else:
            status = "passed" if r["passed"] else ("not yet" if r["tries"] else "not tried")
        lines.append(f"{r['id']:<22} {r['kind']:<8} {status:<10} {r['tries']:>5} "
                     f"{r['hints']:>3}/{r['hints_total']}  {r['first_pass'] or '-'}")
    done = sum(r["passed"] for r in rows)
    lines.append(f"{who}: {done} of {len(rows)} passed ({progress.path()})")
    return "\n".join(lines)


def progress_json(who: str | None = None) -> str:
    """One learner's entry of the progress file, as the file holds it."""
    who = who or progress.learner()
    data = progress.load()
    return json.dumps({"learner": who, **data["learners"].get(who, {"exercises": {}})},
                      indent=1, sort_keys=True)
