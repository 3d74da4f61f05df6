"""A chapter's recording: every answer labkit's objects gave while the chapter ran.

Answers are filed by *who* was asked (a path such as ``lab`` or
``lab.run('foo', 'nginx')``), *what* (an attribute or a method) and, for a method,
*with what* (the arguments as text). Each holds the answers in the order they came, so
a value that changed as the chapter ran (a container's status) changes again on replay.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TAPES = Path(__file__).parent / "tapes"
"""Where the recordings that ship with labkit live (refreshed by ``./lab record``): made on
a cgroup v1 host, the outputs the notebooks store."""

TAPES_V2 = TAPES / "v2"
"""The same chapters recorded in the lab's cgroup v2 + systemd guest (``./lab record --v2``),
which a machine with no engine replays first."""

GET = "="  # the "arguments" under which an attribute's values are filed


@dataclass
class Tape:
    chapter: str
    host: str = ""  # the kind of machine it was recorded on, for the banner
    recorded: str = ""  # the day
    cells: str = ""  # the fingerprint of the chapter's code when recorded (see fingerprint)
    answers: dict[str, dict[str, dict[str, list[Any]]]] = field(default_factory=dict)
    rehearsed: list[str] = field(default_factory=list)  # find and predict exercises judged

    def add(self, who: str, what: str, args: str, answer: dict[str, Any]) -> None:
        self.answers.setdefault(who, {}).setdefault(what, {}).setdefault(args, []).append(answer)

    def asked(self, who: str, what: str) -> dict[str, list[Any]] | None:
        return self.answers.get(who, {}).get(what)

    def save(self, directory: Path | str = TAPES) -> Path:
        path = Path(directory) / f"{self.chapter}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(asdict(self), indent=1) + "\n")  # dicts in order
        os.replace(temporary, path)
        return path

    @classmethod
    def load(cls, chapter: str, directory: Path | str = TAPES) -> Tape | None:
        path = Path(directory) / f"{chapter}.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        return cls(**data)


def argument_text(args: tuple, kwargs: dict, name_of) -> str:
    """The arguments of a call as stable text: a live object by its path, a function as
    ``<function>`` (a lambda's text would hold its address), long text by its digest."""
    parts = [_text(a, name_of) for a in args]
    parts += [f"{key}={_text(value, name_of)}" for key, value in sorted(kwargs.items())]
    return ", ".join(parts)


def _text(value: Any, name_of) -> str:
    name = name_of(value)
    if name is not None:
        return name
    if callable(value) and not isinstance(value, type):  # a module's function by its name
        qualname = getattr(value, "__qualname__", "")
        if qualname and "<" not in qualname:
            return f"<function {value.__module__}.{qualname}>"
        return "<function>"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_text(v, name_of) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    text = repr(value)
    if len(text) > 80:
        return f"<{type(value).__name__} {hashlib.sha256(text.encode()).hexdigest()[:12]}>"
    return text


def fingerprint(notebook: Path | str) -> str:
    """A digest of a notebook's code cells: a recording matches the chapter it was made
    from while this is unchanged (prose and outputs may change freely)."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    code = "\n\x1e\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return hashlib.sha256(code.encode()).hexdigest()[:16]
