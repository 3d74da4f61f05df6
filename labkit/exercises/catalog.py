"""Every exercise there is, in chapter order, and whether solutions are shown.

The chapter modules (``ch01`` ... ``ch06``) register their exercises when imported; this
module imports them all and lists the specs, for the cards (``labkit.exercises``), the
progress views and ``labkit progress``. Instructor mode (solutions shown and runnable) is
switched here too.
"""

from __future__ import annotations

import importlib
import inspect
import os
import textwrap

from .core import REGISTRY, Spec

CHAPTERS = ("ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07", "ch08")
_mode: dict[str, bool | None] = {"instructor": None}


def specs(chapter: str | None = None) -> dict[str, Spec]:
    """id -> spec of every exercise (or a chapter's: ``"01"``), in chapter order and, within
    a chapter, in the order its module registers them."""
    for module in CHAPTERS:
        importlib.import_module(f".{module}", __package__)
    ordered = sorted(REGISTRY.items(), key=lambda item: item[1].chapter)
    return {i: spec for i, spec in ordered if chapter in (None, spec.chapter)}


def instructor(on: bool | None = None) -> bool:
    """Switch instructor mode (solutions shown and runnable) on or off; returns whether it
    is on. Without an argument it only says; ``LABKIT_INSTRUCTOR=1`` switches it on too."""
    if on is not None:
        _mode["instructor"] = bool(on)
    if _mode["instructor"] is not None:
        return bool(_mode["instructor"])
    return os.environ.get("LABKIT_INSTRUCTOR", "") not in ("", "0")


def solution_source(spec: Spec) -> str:
    """The reference solution's source (and what the chapter has made before it)."""
    parts = []
    if spec.setup is not None:
        parts.append("# what the chapter's cells have made by then\n" +
                     textwrap.dedent(inspect.getsource(spec.setup)))
    parts.append("# the solution\n" + textwrap.dedent(inspect.getsource(spec.solution)))
    return "\n".join(parts).rstrip() + "\n"
