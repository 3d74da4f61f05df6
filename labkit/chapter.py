"""Which lab a chapter's notebook holds: ``lab = labkit.chapter_lab("01")``.

* Where a Docker engine answers: the real :class:`~labkit.lab.Lab`, named for the chapter.
* Where none answers (Binder) and the chapter has a recording: a
  :class:`~labkit.replay.play.ReplayLab` that answers every call from that recording, and
  says so once at the top of the chapter. The cgroup v2 recording first
  (``labkit/replay/tapes/v2/01.json``, made in the lab's v2 guest) where it is of the
  chapter's current code, else the cgroup v1 one (``labkit/replay/tapes/01.json``), whose
  outputs the notebooks store; ``LABKIT_REPLAY_CGROUP=v1`` asks for that one.
* Under ``./lab record`` (``LABKIT_RECORD=1``): a
  :class:`~labkit.replay.record.RecordingLab`, the real lab writing down every answer.

``LABKIT_REPLAY=1`` asks for the recording even where an engine answers; ``LABKIT_REPLAY=0``
never replays. A plain ``Lab()`` is always the real one.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import LabError, install_notebook_handler
from .lab import Lab
from .replay import TAPES, RecordingLab, ReplayLab, banner, choose_tape, engine_answers


def chapter_lab(chapter: str, **options: Any) -> Lab | ReplayLab | RecordingLab:
    """The lab for chapter ``chapter`` ("01"): real, replayed or recording, as above;
    ``options`` go to :class:`~labkit.lab.Lab`.

    >>> lab = labkit.chapter_lab("01")                 # doctest: +SKIP
    """
    install_notebook_handler()
    if os.environ.get("LABKIT_RECORD", "") not in ("", "0"):
        where = os.environ["LABKIT_RECORD"]
        return RecordingLab(Lab(chapter=chapter, **options), chapter,
                            TAPES if where == "1" else where)
    replay = os.environ.get("LABKIT_REPLAY", "")
    if replay == "0" or (replay in ("", "auto") and engine_answers()):
        return Lab(chapter=chapter, **options)
    tape = choose_tape(chapter)
    if tape is None:
        if replay not in ("", "auto"):
            raise LabError(f"LABKIT_REPLAY asks for a recording, but chapter {chapter} has "
                           "none: run ./lab record on a machine with Docker.")
        return Lab(chapter=chapter, **options)  # it says what is missing in its own words
    print(banner(tape))
    return ReplayLab(tape)
