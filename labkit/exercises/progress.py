"""Each learner's progress, in one small JSON file that survives kernel restarts.

Where: ``$LABKIT_PROGRESS`` if set, else ``$XDG_DATA_HOME/labkit/progress.json``
(``~/.local/share/labkit/progress.json`` by default). Who: ``$LABKIT_LEARNER``, else the
user who ran ``sudo`` (``$SUDO_USER``), else the user name. The format is in
docs/exercises.md; every write replaces the file atomically (a temporary file in the
same directory, fsync, rename), under a lock so two kernels do not lose each other's tries.

>>> entry("01.oom-64mi")                        # doctest: +SKIP
{'tries': 2, 'passed': True, 'hints': 1, 'first_pass': '2025-05-01T09:12:03Z', ...}
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

FORMAT = 1


def path() -> Path:
    if os.environ.get("LABKIT_PROGRESS"):
        return Path(os.environ["LABKIT_PROGRESS"])
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"),
                                                           ".local", "share")
    return Path(data) / "labkit" / "progress.json"


def learner() -> str:
    for variable in ("LABKIT_LEARNER", "SUDO_USER"):
        if os.environ.get(variable):
            return os.environ[variable]
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


def blank_entry() -> dict:
    return {"tries": 0, "passed": False, "hints": 0, "first_pass": None, "first_try": None,
            "last_try": None, "first_answer": None, "last_sentence": None}


KINDS = {"tries": int, "passed": bool, "hints": int, "first_pass": str, "first_try": str,
         "last_try": str, "first_answer": str, "last_sentence": str}
"""Each field of an entry and the type labkit writes it as (or None for the times, answer
and sentence)."""


def clean_entry(raw: dict) -> dict:
    """An entry with every field of the type labkit writes; a field of another type (a hand
    edited file) reads as blank.

    >>> entry = clean_entry({"tries": "3", "passed": True, "hints": True, "note": "kept"})
    >>> entry["tries"], entry["passed"], entry["hints"], entry["note"]
    (0, True, 0, 'kept')
    """
    entry = {**raw, **blank_entry()}
    for key, kind in KINDS.items():
        value = raw.get(key)
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            entry[key] = value
    return entry


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


MAX_BYTES = 1 << 20
"""The most of a learner's progress file the class's readers read: a whole class's
exercises take a few KiB."""


def read_untrusted(file: Path) -> str:
    """A progress file in a learner's work, read by the instructor's tools as this host's
    root: a regular file only, reached through no symbolic link in its own directory or
    name, and at most ``MAX_BYTES`` (a learner is root in their node: a link to /dev/zero,
    a FIFO or a link to another file of the host must not hang or feed the board).

    >>> import os, tempfile
    >>> where = tempfile.mkdtemp()
    >>> os.symlink("/dev/zero", os.path.join(where, "progress.json"))
    >>> read_untrusted(Path(where) / "progress.json")
    Traceback (most recent call last):
    ...
    OSError: [Errno 40] Too many levels of symbolic links: 'progress.json'
    """
    directory = os.open(file.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        handle = os.open(file.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK,
                         dir_fd=directory)
    finally:
        os.close(directory)
    with os.fdopen(handle, "rb") as opened:
        if not stat.S_ISREG(os.fstat(opened.fileno()).st_mode):
            raise ValueError(f"{file} is not a regular file")
        data = opened.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"{file} is larger than a progress file")
    return data.decode()


def load(file: Path | None = None, aside: bool = True) -> dict:
    """The whole file: ``{"format": 1, "learners": {name: {"exercises": {id: entry}}}}``.
    An unreadable file reads as empty; with ``aside`` (its learner's own lab) it is also
    renamed ``*.broken-<time>`` for a human, so the lesson starts afresh. The instructor's
    readers of a class's files pass ``aside=False``: they never change a learner's work,
    and read it warily (:func:`read_untrusted`)."""
    file = file or path()
    try:
        data = json.loads(file.read_text() if aside else read_untrusted(file))
    except FileNotFoundError:
        return {"format": FORMAT, "learners": {}}
    except (OSError, ValueError):
        if aside:
            with contextlib.suppress(OSError):
                file.rename(file.with_name(f"{file.name}.broken-{int(time.time())}"))
        return {"format": FORMAT, "learners": {}}
    if not isinstance(data, dict) or not isinstance(data.get("learners"), dict):
        return {"format": FORMAT, "learners": {}}
    return data


def entries(who: str | None = None, file: Path | None = None,
            aside: bool = True) -> dict[str, dict]:
    """exercise id -> entry, for one learner (this one by default). Parts of the file that
    are not what labkit writes (a learner may edit it) are left out, not raised.

    >>> import json, pathlib, tempfile
    >>> odd = pathlib.Path(tempfile.mkdtemp()) / "progress.json"
    >>> _ = odd.write_text(json.dumps({"learners": {"ann": {"exercises": {
    ...     "01.oom-64mi": {"passed": True}, "01.lean": "yes"}}, "bob": []}}))
    >>> [(k, v["passed"], v["tries"]) for k, v in entries("ann", odd, aside=False).items()]
    [('01.oom-64mi', True, 0)]
    >>> entries("bob", odd, aside=False)
    {}
    """
    data = load(file, aside)
    record = data["learners"].get(who or learner())
    found = record.get("exercises") if isinstance(record, dict) else None
    if not isinstance(found, dict):
        return {}
    return {k: clean_entry(v) for k, v in found.items() if isinstance(v, dict)}


def entry(exercise_id: str, who: str | None = None) -> dict:
    return entries(who).get(exercise_id, blank_entry())


def save(data: dict, file: Path | None = None) -> None:
    """Replace the file atomically: readers see the old or the new file, never half."""
    file = file or path()
    import tempfile

    file.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(data, out, indent=1, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _locked(file: Path):
    file.parent.mkdir(parents=True, exist_ok=True)
    with open(file.with_name(f".{file.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update(exercise_id: str, change: Callable[[dict], None], who: str | None = None) -> dict:
    """Change one exercise's entry for one learner; returns the entry as written."""
    file = path()
    who = who or learner()
    with _locked(file):
        data = load(file)
        data["format"] = FORMAT
        person = data["learners"].setdefault(who, {})
        person.setdefault("exercises", {})
        current = {**blank_entry(), **person["exercises"].get(exercise_id, {})}
        change(current)
        person["exercises"][exercise_id] = current
        person["updated"] = now()
        save(data, file)
    return current


def record_try(exercise_id: str, success: bool, hints_available: int, *,
               first_answer: str | None = None, sentence: str | None = None) -> dict:
    """A judged check: one more try, its ``sentence`` kept as the last one; a pass is kept
    (with its first time) for good; a failure unlocks the next hint. A prediction
    (``first_answer`` given) counts its first answer only: that answer is kept, and it
    passes only if that answer was right."""

    def change(current: dict) -> None:
        current["tries"] += 1
        current["last_try"] = now()
        current["first_try"] = current["first_try"] or current["last_try"]
        current["last_sentence"] = sentence
        prediction = first_answer is not None
        if prediction and current["first_answer"] is None:
            current["first_answer"] = first_answer
            if success:
                current["passed"], current["first_pass"] = True, now()
        elif success and not current["passed"] and not prediction:
            current["passed"], current["first_pass"] = True, now()
        if not success:
            current["hints"] = min(current["hints"] + 1, hints_available)

    return update(exercise_id, change)


def unlock_hint(exercise_id: str, available: int) -> dict:
    def change(current: dict) -> None:
        current["hints"] = min(current["hints"] + 1, available)

    return update(exercise_id, change)
