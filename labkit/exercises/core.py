"""What an exercise is: data, a check that reads the machine, hints, solutions beside it.

One place per exercise: a chapter module (``ch01.py`` ... ``ch06.py``) registers each
with :func:`exercise`, decorating its check. Beside the check sit the reference
solution (a function of a ``Lab`` that makes the state, or returns the answer) and
plausible wrong ones, each with a piece of the sentence the check must answer them;
the tests replay all of them on the real engine. A chapter module holds only those
declarations: what the checks read of the engines' pods is in ``pods.py``, what they
read of Docker and the kernel in ``machine.py``.

A check gets a :class:`~labkit.exercises.machine.Machine` (the engine and the kernel)
and the learner's answer already in its form; it returns a :class:`Verdict`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import FormError
from ..model import NAMESPACE_TYPES

Kind = Literal["do", "find", "predict"]
KINDS = ("do", "find", "predict")


class Sentence(str):
    """A sentence that a notebook shows as itself (no quotes)."""

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Verdict:
    """What a check concluded: passed or not, in one sentence; ``counted`` is False when
    the answer could not be judged (nothing to compare it with yet), so it is no try."""

    passed: bool
    sentence: str
    counted: bool = True


def passed(sentence: str) -> Verdict:
    return Verdict(True, sentence)


def failed(sentence: str) -> Verdict:
    return Verdict(False, sentence)


def unjudged(sentence: str) -> Verdict:
    """The answer cannot be compared with the machine yet (e.g. the pod is not there)."""
    return Verdict(False, sentence, counted=False)


@dataclass(frozen=True)
class Result:
    """A check's outcome; its repr is the one sentence, so a cell shows just that."""

    exercise: str
    passed: bool
    sentence: str
    counted: bool = True

    def __repr__(self) -> str:
        return self.sentence

    __str__ = __repr__

    def __bool__(self) -> bool:
        return self.passed


@dataclass(frozen=True)
class Wrong:
    """A plausible wrong solution, and a piece of the sentence the check must answer it."""

    solve: Callable[[Any], Any]
    expect: str


@dataclass(frozen=True)
class Spec:
    """Everything about one exercise except the learner's progress."""

    id: str
    kind: Kind
    title: str
    task: str
    hints: tuple[str, ...]
    check: Callable[[Any, Any], Verdict]
    solution: Callable[[Any], Any]
    wrong: tuple[Wrong, ...]
    untouched: str  # a piece of the sentence the check answers on an untouched machine
    names: tuple[str, ...] = ()  # the containers a *do* exercise asks for (what reset removes)
    pods: tuple[str, ...] = ()  # the pods it asks for: reset deletes the lab's pods so named
    setup: Callable[[Any], Any] | None = None  # what the chapter's cells make before it
    form: Callable[[Any], Any] | None = None  # answer -> value, or FormError
    options: tuple[str, ...] = ()  # a predict exercise's choices
    multiple: bool = False  # several options may be picked
    example: Any = None  # a well-formed answer, shown as the placeholder
    reads: str = ""  # what the check reads, for the docs and the instructor

    @property
    def chapter(self) -> str:
        return self.id.split(".", 1)[0]


REGISTRY: dict[str, Spec] = {}


def exercise(exercise_id: str, *, kind: Kind, title: str, task: str, hints: Sequence[str],
             solution: Callable, wrong: Sequence[Wrong], untouched: str, **more: Any):
    """Register the decorated check as exercise ``exercise_id`` (``"01.oom-64mi"``)."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {KINDS}")
    if len(hints) < 2 or not wrong:
        raise ValueError(f"{exercise_id} needs at least two hints and one wrong solution")
    if kind != "do" and more.get("form") is None:
        raise ValueError(f"{exercise_id} asks for an answer, so it needs a form")

    def register(check: Callable[[Any, Any], Verdict]) -> Callable[[Any, Any], Verdict]:
        if exercise_id in REGISTRY:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        REGISTRY[exercise_id] = Spec(exercise_id, kind, title, task, tuple(hints), check,
                                     solution, tuple(wrong), untouched, **more)
        return check

    return register


def wrong_pid(machine, pid: int, whose: str, is_theirs: Callable[[dict[str, str]], bool],
              but: str) -> Verdict:
    """The verdict on a PID that is not the one asked, read from the kernel: no such
    process, one of ``whose`` processes but the wrong one (``but`` says which to find), or
    somebody else's (with the memory cgroup it is in)."""
    cgroups = machine.process_cgroups(pid)
    if cgroups is None:
        return failed(f"There is no process {pid} on this host now: look the PID up again.")
    name = machine.command_name(pid)
    if is_theirs(cgroups):
        return failed(f"Process {pid} ({name}) is in {whose} cgroup but {but}.")
    where = cgroups.get(machine.memory_hierarchy, "?")
    return failed(f"Process {pid} ({name}) is not one of {whose} processes (its memory cgroup "
                  f"is {where}).")


# -- answer forms: each turns an answer into a value, or says which form is expected ---------

def whole_number(what: str, example: int) -> Callable[[Any], int]:
    """A positive integer, given as a number or as digits (``"4242"``)."""

    def parse(answer: Any) -> int:
        if isinstance(answer, int) and not isinstance(answer, bool) and answer > 0:
            return answer
        text = str(answer).strip() if isinstance(answer, str) else ""
        if text.isdigit() and int(text) > 0:
            return int(text)
        raise FormError(f"{_shown(answer)} is not {what}: type a whole number, e.g. {example}.")

    return parse


_NS_LINK = re.compile(r"(?:[a-z_]+:)?\[?(\d+)\]?")


def namespace_inode(example: int) -> Callable[[Any], int]:
    """A namespace inode: ``4026532201``, or the link text ``net:[4026532201]``."""

    def parse(answer: Any) -> int:
        if isinstance(answer, int) and not isinstance(answer, bool) and answer > 0:
            return answer
        match = _NS_LINK.fullmatch(answer.strip()) if isinstance(answer, str) else None
        if match:
            return int(match[1])
        raise FormError(f"{_shown(answer)} is not a namespace inode: type the number in the "
                        f"link, e.g. {example} (from net:[{example}]).")

    return parse


@dataclass(frozen=True)
class CgroupAnswer:
    """A cgroup named with its hierarchy (``memory:/docker/<id>``) or as its directory."""

    hierarchy: str | None = None  # as /proc/<pid>/cgroup names it; "unified" for the 0:: line
    path: str | None = None  # inside the hierarchy
    directory: str | None = None  # under /sys/fs/cgroup

    def __str__(self) -> str:
        if self.directory:
            return self.directory
        return f"{'0:' if self.hierarchy == 'unified' else self.hierarchy}:{self.path}"


_CGROUP_LINE = re.compile(r"(?:\d+:)?(?P<hierarchy>[a-z0-9_=,]*):(?P<path>/\S*)")


def cgroup_path(answer: Any) -> CgroupAnswer:
    """``memory:/docker/<id>``, a whole line of /proc/<pid>/cgroup (``9:memory:/docker/<id>``,
    ``0::/system.slice/docker-<id>.scope``) or the directory under /sys/fs/cgroup."""
    text = answer.strip() if isinstance(answer, str) else ""
    expected = ("write it as /proc/<pid>/cgroup names it, with its hierarchy "
                "(memory:/docker/<id> on cgroup v1, 0::/system.slice/docker-<id>.scope on v2), "
                "or as its directory (/sys/fs/cgroup/memory/docker/<id>).")
    if text.startswith("/sys/fs/cgroup/"):
        return CgroupAnswer(directory=text.rstrip("/"))
    match = _CGROUP_LINE.fullmatch(text)
    if match:
        hierarchy = match["hierarchy"] or "unified"
        path = match["path"].rstrip("/") or "/"
        return CgroupAnswer(hierarchy=hierarchy, path=path)
    if text.startswith("/"):
        raise FormError(f"{_shown(answer)} is a cgroup path without its hierarchy: {expected}")
    raise FormError(f"{_shown(answer)} is not a cgroup: {expected}")


def namespace_types(answer: Any) -> frozenset[str]:
    """Namespace types, as a list (the picked toggles) or ``"net, ipc"``."""
    if isinstance(answer, str):
        items: Iterable[Any] = re.split(r"[\s,]+", answer.strip())
    elif isinstance(answer, Iterable):
        items = list(answer)
    else:
        items = [answer]
    picked = [str(i).strip().lower() for i in items if str(i).strip()]
    unknown = [p for p in picked if p not in NAMESPACE_TYPES]
    if unknown or not picked:
        what = f"{unknown[0]!r} is not a namespace type" if unknown else "Nothing is picked"
        raise FormError(f"{what}: pick one or more of {', '.join(NAMESPACE_TYPES)}.")
    return frozenset(picked)


def namespace_count(answer: Any) -> int:
    """A count of namespace types, 0 to 8, as a number or its digits."""
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer <= 8:
        return answer
    text = answer.strip() if isinstance(answer, str) else ""
    if text.isdigit() and int(text) <= 8:
        return int(text)
    raise FormError(f"{_shown(answer)} is not a count of namespace types: type a whole number "
                    "from 0 to 8.")


def one_of(options: Sequence[str]) -> Callable[[Any], str]:
    def parse(answer: Any) -> str:
        if isinstance(answer, str) and answer.strip() in options:
            return answer.strip()
        choices = " or ".join(repr(o) for o in options)
        raise FormError(f"{_shown(answer)} is not one of the choices: answer {choices}.")

    return parse


def _shown(answer: Any) -> str:
    if answer is None:
        return "No answer"
    text = repr(answer)
    return text if len(text) <= 40 else text[:37] + "..."
