"""Recording a chapter: a stand-in for the real ``Lab`` that writes down every answer.

``LABKIT_RECORD=1`` (``./lab record`` sets it) makes ``labkit.chapter_lab("01")`` return a
:class:`RecordingLab`: each attribute read and method call on the lab, and on every
object it hands out (containers, pods, the node reader, the Docker client the exercise
checks use), goes to the real object; the answer, what it printed and any error it
raised are filed on the chapter's :class:`~labkit.replay.tape.Tape`, and the cell gets
the answer back through the same decoding a replay uses.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import inspect
import io
import os
import platform
import sys
from pathlib import Path
from typing import Any

from .codec import decode, encode, type_name
from .tape import GET, TAPES, Tape, argument_text, fingerprint


def is_method(value: Any) -> bool:
    return inspect.ismethod(value) or inspect.isbuiltin(value) or inspect.isfunction(value)


class _Tee(io.TextIOBase):
    """Writes go to the cell as usual and into the recording."""

    def __init__(self, stream) -> None:
        self.stream, self.kept = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.kept.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


class Recorder:
    """Files answers on one tape and hands out the proxies that ask for them."""

    def __init__(self, tape: Tape) -> None:
        self.tape = tape
        self._names: dict[int, str] = {}  # id(real object) -> its path
        self._objects: dict[str, Any] = {}  # path -> real object (kept, so ids stay unique)

    def proxy(self, real: Any, path: str) -> RecordingProxy:
        return RecordingProxy(self, self._name(real, path))

    def real(self, path: str) -> Any:
        return self._objects[path]

    def name_of(self, value: Any) -> str | None:
        return object.__getattribute__(value, "_path") if isinstance(value, RecordingProxy) \
            else None

    def ask(self, who: str, what: str, args: tuple = (), kwargs: dict | None = None,
            call: bool = True) -> Any:
        """Ask the real object; file the answer (or the error) and what it printed."""
        real = self._objects[who]
        kwargs = kwargs or {}
        key = argument_text(args, kwargs, self.name_of) if call else GET
        suggested = f"{who}.{what}({key})" if call else f"{who}.{what}"
        if what == "__getitem__":
            suggested = f"{who}[{key}]"
        out, err = _Tee(sys.stdout), _Tee(sys.stderr)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                if call:
                    value = getattr(real, what)(*self._unwrap(args),
                                                **{k: self._unwrap(v) for k, v in kwargs.items()})
                else:
                    value = getattr(real, what)
        except Exception as error:  # filed, then raised as it was
            attrs = {}
            for name, value in vars(error).items():  # what the error carries (engine_said)
                with contextlib.suppress(Exception):
                    attrs[name] = encode(value, _not_data)
            self.tape.add(who, what, key, {"raise": type_name(type(error)),
                                           "args": [str(a) for a in error.args],
                                           "attrs": attrs, "out": out.kept.getvalue(),
                                           "err": err.kept.getvalue()})
            raise
        answer = encode(value, lambda obj: self._name(obj, suggested))
        self.tape.add(who, what, key, {"v": answer, "out": out.kept.getvalue(),
                                       "err": err.kept.getvalue()})
        return decode(answer, lambda path: RecordingProxy(self, path))

    def _name(self, real: Any, suggested: str) -> str:
        """The path of a live object: where it was first handed out (``#2``, ``#3`` for a
        second and third object handed out by the same call, as a replay numbers them)."""
        if id(real) not in self._names:
            path, count = suggested, 1
            while path in self._objects:
                count += 1
                path = f"{suggested}#{count}"
            self._names[id(real)] = path
            self._objects[path] = real
        return self._names[id(real)]

    def _unwrap(self, value: Any) -> Any:
        if isinstance(value, RecordingProxy):
            return self._objects[object.__getattribute__(value, "_path")]
        if type(value) in (list, tuple):
            return type(value)(self._unwrap(v) for v in value)
        return value


def _not_data(value: Any) -> str:
    raise TypeError(f"{type(value).__name__} is not data")


class RecordingProxy:
    """Stands for one real object while a chapter is recorded."""

    __slots__ = ("_path", "_recorder")

    def __init__(self, recorder: Recorder, path: str) -> None:
        object.__setattr__(self, "_recorder", recorder)
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("_repr_", "_ipython")):  # notebooks show proxies by their repr
            raise AttributeError(name)
        recorder, path = self._recorder, self._path
        value = getattr(recorder.real(path), name)
        if is_method(value):
            return lambda *args, **kwargs: recorder.ask(path, name, args, kwargs)
        return recorder.ask(path, name, call=False)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._recorder.real(self._path), name, value)

    def __getitem__(self, key: Any) -> Any:
        return self._recorder.ask(self._path, "__getitem__", (key,))

    def __repr__(self) -> str:
        return self._recorder.ask(self._path, "__repr__", ())

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._recorder.ask(self._path, "__exit__", (None, None, None))


class RecordingLab(RecordingProxy):
    """The lab of a chapter being recorded; its tape is saved when it closes."""

    __slots__ = ("_directory", "_rehearsed")

    def __init__(self, real_lab: Any, chapter: str, directory: Path | str = TAPES) -> None:
        notebook = os.environ.get("LABKIT_RECORD_NOTEBOOK")  # set by ./lab record
        tape = Tape(chapter, host=describe_host(real_lab),
                    recorded=datetime.date.today().isoformat(),
                    cells=fingerprint(notebook) if notebook else "")
        recorder = Recorder(tape)
        recorder.proxy(real_lab, "lab")
        super().__init__(recorder, "lab")
        object.__setattr__(self, "_directory", directory)
        object.__setattr__(self, "_rehearsed", set())
        # Written after every cell (and at exit): what a cell asked after close() counts too.
        atexit.register(self.save)
        with contextlib.suppress(Exception):
            from IPython import get_ipython

            get_ipython().events.register("post_run_cell", lambda _result: self.save())

    def close(self) -> Any:
        closed = self._recorder.ask("lab", "close", ())
        self.save()
        return closed

    def save(self) -> Path:
        return self._recorder.tape.save(self._directory)

    def cleanup_button(self) -> Any:
        """The real lab's button, not filed: a replay draws its own."""
        from ..lab import cleanup_button

        return cleanup_button(self)

    def checks_through(self, machine: Any) -> RecordingProxy:
        """The exercises' machine, reading the real lab, each answer filed as ``machine``."""
        machine.lab = self._recorder.real("lab")
        return self._recorder.proxy(machine, "machine")

    def rehearse(self, card: Any) -> None:
        """Judge a *find* or *predict* exercise's solution and its wrong answers now, while
        what it reads exists, so that a replay can judge them (and a learner's) later."""
        spec = card.spec
        if spec.kind == "do" or spec.id in self._rehearsed:
            return
        real = self._recorder.real("lab")  # the answers come from the real lab; the
        for solve in (spec.solution, *(wrong.solve for wrong in spec.wrong)):  # checks are filed
            try:
                card.judge(solve(real))
            except Exception:  # not there yet: rehearsed when the card is shown again
                return
        self._rehearsed.add(spec.id)
        self._recorder.tape.rehearsed.append(spec.id)
        self.save()


def describe_host(lab: Any) -> str:
    """``Debian GNU/Linux 12 (bookworm), Docker 20.10.24, cgroup v1``: the banner's words."""
    system = "Linux"
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = line.split("=", 1)[1].strip('"')
    parts = [system, f"kernel {platform.release()}"]
    with contextlib.suppress(Exception):
        parts.append(lab.docker.description)
    with contextlib.suppress(Exception):
        parts.append(f"cgroup v{lab.node.cgroup_version}")
    return ", ".join(parts)
