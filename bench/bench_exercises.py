"""Exercise checks: each check's median time against one plain ``lab.observe`` of a container.

    sudo LABKIT_OFFLINE=1 .venv/bin/python bench/bench_exercises.py [--repeat 30]

Every exercise is solved with its reference solution in one lab per chapter, then
checked ``--repeat`` times (a check as a learner runs it: machine reads plus the atomic write
of the progress file, here to a temporary one). Prints a Markdown table of medians and the
ratio to ``lab.observe(foo)``; the goal is a median of 100 ms or less per check.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from timing import median_seconds

import labkit
from labkit import exercises


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    os.environ["LABKIT_PROGRESS"] = os.path.join(tempfile.mkdtemp(prefix="labkit-bench-"),
                                                 "progress.json")
    rows = []
    observe = None
    for chapter in sorted({ex.chapter for ex in exercises.exercises()}):
        # A lab per chapter: each chapter's cells make their own pods (several named foo).
        with labkit.Lab(gather="direct") as lab:
            exercises.use(lab)
            every = exercises.exercises(chapter)
            done_setups = set()
            answers = {}
            for ex in every:
                setup = ex.spec.setup
                if setup is not None and setup not in done_setups:
                    setup(lab)
                    done_setups.add(setup)
                answer = ex.spec.solution(lab)
                answers[ex.id] = None if ex.kind == "do" else answer
            if observe is None:
                foo = lab.run("bench-foo", "nginx", memory="512MB", cpus=0.5, quiet=True)
                observe = median_seconds(lambda c=foo: lab.observe(c), args.repeat)
            for ex in every:
                answer = answers[ex.id]
                result = ex.check(answer)
                assert result.passed, f"{ex.id}: {result}"
                rows.append((ex.id, ex.kind,
                             median_seconds(lambda e=ex, a=answer: e.check(a), args.repeat),
                             median_seconds(lambda e=ex, a=answer: e.judge(a), args.repeat)))
    print("| exercise | kind | check (median) | of which without the progress write | "
          "ratio to lab.observe |")
    print("| --- | --- | --- | --- | --- |")
    for exercise_id, kind, check, judge in rows:
        print(f"| {exercise_id} | {kind} | {check * 1000:.2f} ms | {judge * 1000:.2f} ms | "
              f"{check / observe:.1f}× |")
    print(f"\n`lab.observe(foo)`: {observe * 1000:.2f} ms (median of {args.repeat}); "
          f"slowest check: {max(r[2] for r in rows) * 1000:.1f} ms (goal: ≤ 100 ms).")


if __name__ == "__main__":
    main()
