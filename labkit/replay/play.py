"""Replaying a chapter: a ``Lab`` that answers from its recording, with no engine at all.

Every cell of the chapter runs: each call a cell makes gets the answer it got when the
chapter was recorded (in order, so a status that changed changes again; the last one
again once they run out), prints what it printed then, or raises the same error. Views,
trees and widgets are drawn here from the recorded data, so they are live. A call the
chapter never made has no answer: one sentence says so.
"""

from __future__ import annotations

import sys
from typing import Any

from ..errors import LabError, NotRecorded
from .codec import decode, find_type
from .tape import GET, Tape, argument_text


class Player:
    def __init__(self, tape: Tape) -> None:
        self.tape = tape
        self._turns: dict[tuple[str, str, str], int] = {}

    def name_of(self, value: Any) -> str | None:
        return object.__getattribute__(value, "_path") if isinstance(value, ReplayProxy) \
            else None

    def answer(self, who: str, what: str, args: tuple = (), kwargs: dict | None = None,
               call: bool = True) -> Any:
        asked = self.tape.asked(who, what) or {}
        key = argument_text(args, kwargs or {}, self.name_of) if call else GET
        answers = asked.get(key)
        if not answers and who == "machine":  # a check reading what the chapter never read
            raise NotRecorded(
                "This chapter is a recording, and it knows only what the kernel and the "
                f"engines said while it was recorded: {what}({key}) was not read then. The "
                "answer is in the chapter's outputs above.")
        if not answers:
            shown = f"{who}.{what}({key})" if call else f"{who}.{what}"
            raise NotRecorded(
                f"This chapter is a recording, and {shown} was not part of it: only the "
                "chapter's own cells (and its find and predict exercises) replay here; run "
                "the lab on a machine with Docker (./lab up) to try your own.")
        turn = self._turns.get((who, what, key), 0)
        self._turns[(who, what, key)] = turn + 1
        found = answers[min(turn, len(answers) - 1)]
        if found.get("out"):
            sys.stdout.write(found["out"])
        if found.get("err"):
            sys.stderr.write(found["err"])
        if "raise" in found:
            error = _error(found["raise"], found["args"])
            for name, value in found.get("attrs", {}).items():
                setattr(error, name, decode(value, lambda path: ReplayProxy(self, path)))
            raise error
        return decode(found["v"], lambda path: ReplayProxy(self, path))

    def kind(self, who: str, what: str) -> str | None:
        """"get" for an attribute the chapter read, "call" for a method it called."""
        asked = self.tape.asked(who, what)
        if not asked:
            return None
        return "get" if GET in asked else "call"


def _error(name: str, args: list[str]) -> Exception:
    try:
        cls = find_type(name)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            return cls(*args)
    except Exception:  # the class moved or wants other arguments: say the same words
        pass
    return LabError(" ".join(args))


class ReplayProxy:
    """Stands for an object of the recorded chapter: a container, a pod, the node reader."""

    __slots__ = ("_local", "_path", "_player")

    def __init__(self, player: Player, path: str) -> None:
        object.__setattr__(self, "_player", player)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_local", {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("_repr_", "_ipython")) or name == "__wrapped__":
            raise AttributeError(name)
        if name in self._local:
            return self._local[name]
        player, path = self._player, self._path
        kind = player.kind(path, name)
        if kind == "get":
            return player.answer(path, name, call=False)
        if kind == "call":
            return lambda *args, **kwargs: player.answer(path, name, args, kwargs)
        raise NotRecorded(
            f"This chapter is a recording, and it never used {path}.{name}: run the lab on a "
            "machine with Docker (./lab up) to try it.")

    def __setattr__(self, name: str, value: Any) -> None:
        self._local[name] = value

    def __getitem__(self, key: Any) -> Any:
        return self._player.answer(self._path, "__getitem__", (key,))

    def __repr__(self) -> str:
        try:
            return self._player.answer(self._path, "__repr__", ())
        except NotRecorded:
            return f"<recorded {self._path}>"

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._player.answer(self._path, "__exit__", (None, None, None))


class ReplayLab(ReplayProxy):
    """The lab of a chapter replayed from its recording."""

    __slots__ = ()
    replaying = True

    def __init__(self, tape: Tape) -> None:
        super().__init__(Player(tape), "lab")

    @property
    def tape(self) -> Tape:
        return self._player.tape

    def cleanup_button(self) -> Any:
        """A button that says a replay made nothing to remove."""
        from ..lab import cleanup_button

        return cleanup_button(self, replaying=True)

    def checks_through(self, machine: Any) -> ReplayProxy:
        """The exercises' machine: what the checks read, as recorded."""
        return ReplayProxy(self._player, "machine")

    def watch(self, container: Any, **options: Any) -> Any:
        """The recorded samples, drawn as the live figure was drawn when recorded."""
        readings = self._player.answer("lab", "watch", (container,), options)
        plot = options.get("plot")
        if plot is not None and readings:
            from ..views.live import LiveFigure, cpu_figure, memory_figure

            LiveFigure({"memory": memory_figure, "cpu": cpu_figure}[plot]).show(readings)
        return readings


def banner(tape: Tape) -> str:
    """What a replayed chapter says once, at its top: where and when it was recorded, on
    which cgroup version, and how to get the other recording or the real thing."""
    other = ("LABKIT_REPLAY_CGROUP=v1 replays the cgroup v1 recording, whose outputs the "
             "notebook stores" if "cgroup v2" in tape.host else
             "the notebook's stored outputs come from the same machine")
    return (f"▶ No container engine answers here, so this chapter replays a recording made on "
            f"{tape.host} ({tape.recorded}): every cell shows what the kernel said there; "
            f"tables, trees and the find and predict exercises work on it ({other}). To run "
            "it for real, open the lab on a machine with Docker (./lab up).")
