"""Thin gatherers of kernel text: read files and links, list directories.

Two ways, one interface:

* :class:`DirectGatherer` reads this machine's /proc and /sys itself (root on a
  Linux host, where the engine runs on the same kernel and PID namespace).
* :class:`HelperGatherer` runs the same reads inside a helper container that
  shares the host's PID and cgroup namespaces and sees /sys/fs/cgroup read-only
  (a learner in the ``docker`` group without root, or Docker Desktop). It only
  needs a function that runs an argv in that container and returns its stdout,
  and the name of the engine's process, whose namespaces stand for the host's.

Neither parses anything: parsing lives in the pure modules beside this one.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Separators that never occur in /proc or cgroup text.
_RECORD, _UNIT, _FAIL = "\x1e", "\x1f", "\x15"

_READ_SCRIPT = r"""
for p in "$@"; do
  printf '\036%s\037' "$p"
  if [ -h "$p" ]; then
    readlink "$p" 2>/dev/null || { [ -e "$p" ] && printf '\025EACCES' || printf '\025ENOENT'; }
  elif [ -f "$p" ]; then cat "$p" 2>/dev/null || printf '\025EACCES'
  elif [ -e "$p" ]; then printf '\025EISDIR'
  else printf '\025ENOENT'; fi
done
"""

_ENGINE_PID_SCRIPT = r"""
for d in /proc/[0-9]*; do
  c=$(cat "$d/comm" 2>/dev/null) || continue  # processes come and go during the scan
  [ "$c" = "$1" ] && { echo "${d#/proc/}"; exit 0; }
done
exit 0
"""


@dataclass
class ReadResult:
    """Texts by path; a path that could not be read maps to None and has an errno name."""

    texts: dict[str, str | None]
    errors: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, path: str) -> str | None:
        return self.texts.get(path)

    def denied(self) -> list[str]:
        return [p for p, e in self.errors.items() if e in ("EACCES", "EPERM")]


class DirectGatherer:
    """Reads the kernel's files from this process.

    ``root`` re-roots every path, so recorded /proc and /sys trees (test
    fixtures, e.g. of a cgroup v2 host) are read through the same code.
    """

    kind = "direct"
    description = "reading the kernel's files directly"

    def __init__(self, root: str = "") -> None:
        self.root = root.rstrip("/")

    def reference_ns_dir(self) -> str:
        return "/proc/self/ns"

    def read(self, paths: Sequence[str]) -> ReadResult:
        result = ReadResult({})
        for path in paths:
            real = self.root + path
            try:
                if os.path.islink(real):
                    result.texts[path] = os.readlink(real)
                else:
                    with open(real) as handle:
                        result.texts[path] = handle.read()
            except OSError as error:
                result.texts[path] = None
                result.errors[path] = errno.errorcode.get(error.errno or 0, "EIO")
        return result

    def walk(self, root: str) -> list[str]:
        found = []
        for directory, _subdirs, _files in os.walk(self.root + root):
            found.append(directory[len(self.root):])
        return sorted(found)

    def pids(self) -> list[int]:
        return sorted(int(name) for name in os.listdir(self.root + "/proc") if name.isdigit())


class HelperGatherer:
    """Reads the kernel's files inside a helper container via ``run(argv) -> stdout``;
    ``engine_process`` names the engine's process (its ``comm``: ``dockerd``, ...)."""

    kind = "helper"
    description = "reading the kernel's files through a helper container (host PID namespace)"

    def __init__(self, run: Callable[[list[str]], str], engine_process: str) -> None:
        self._run = run
        self.engine_process = engine_process
        self._reference: str | None = None

    def reference_ns_dir(self) -> str:
        """The engine's namespaces stand for "the host" (the helper's own mnt ns is private)."""
        if self._reference is None:
            pid = self._run(["sh", "-c", _ENGINE_PID_SCRIPT, "find", self.engine_process]).strip()
            self._reference = f"/proc/{pid}/ns" if pid.isdigit() else "/proc/self/ns"
        return self._reference

    def read(self, paths: Sequence[str]) -> ReadResult:
        if not paths:
            return ReadResult({})
        output = self._run(["sh", "-c", _READ_SCRIPT, "read", *paths])
        return parse_read_output(output)

    def walk(self, root: str) -> list[str]:
        output = self._run(["find", root, "-type", "d"])
        return sorted(line for line in output.splitlines() if line)

    def pids(self) -> list[int]:
        output = self._run(["ls", "/proc"])
        return sorted(int(name) for name in output.split() if name.isdigit())


def parse_read_output(output: str) -> ReadResult:
    """The helper script's records (``RS path US text-or-NAK-errno``) as a ReadResult."""
    result = ReadResult({})
    for record in output.split(_RECORD)[1:]:
        path, _, text = record.partition(_UNIT)
        if text.startswith(_FAIL):
            result.texts[path] = None
            result.errors[path] = text[1:].strip() or "EIO"
        else:
            result.texts[path] = text
    return result


Gatherer = DirectGatherer | HelperGatherer
