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

import contextlib
import errno
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Separators that never occur in /proc or cgroup text; EOT ends each answer of the reader.
_RECORD, _UNIT, _FAIL, _END = "\x1e", "\x1f", "\x15", "\x04"

# The helper's reader: one request as arguments (VERB ARG...), or, without arguments, one
# request a line on stdin (fields split by US), each answer followed by EOT. Builtins do the
# reading (readlink is one of busybox's too), so a request starts no process per file.
_READER_SCRIPT = r"""
read_paths() {
  for p in "$@"; do
    printf '\036%s\037' "$p"
    if [ -h "$p" ]; then
      readlink "$p" 2>/dev/null || { [ -e "$p" ] && printf '\025EACCES' || printf '\025ENOENT'; }
    elif [ -f "$p" ]; then
      case $p in  # sysctls answer one read only; cmdline holds NULs: cat, as the host reads
        /proc/sys/*|/proc/*/cmdline|/proc/*/environ) cat "$p" 2>/dev/null || printf '\025EACCES' ;;
        *) { while IFS= read -r l; do printf '%s\n' "$l"; done; printf '%s' "$l"; } 2>/dev/null \
             <"$p" || printf '\025EACCES' ;;
      esac
    elif [ -e "$p" ]; then printf '\025EISDIR'
    else printf '\025ENOENT'; fi
  done
}
answer() {
  verb=$1; shift
  case $verb in
    read) read_paths "$@" ;;
    ns) for d in /proc/[0-9]*; do for t in "$@"; do read_paths "$d/ns/$t"; done; done ;;
    walk) find "$1" -type d 2>/dev/null ;;
    pids) for d in /proc/[0-9]*; do printf '%s\n' "${d#/proc/}"; done ;;
    engine) for d in /proc/[0-9]*; do  # processes come and go during the scan
              { IFS= read -r c <"$d/comm"; } 2>/dev/null || continue
              [ "$c" = "$1" ] && { printf '%s\n' "${d#/proc/}"; return; }
            done ;;
  esac
}
if [ $# -gt 0 ]; then answer "$@"; exit 0; fi
us=$(printf '\037')
while IFS= read -r request; do
  set -f; IFS=$us; set -- $request; unset IFS; set +f
  answer "$@"; printf '\004'
done
"""

READER_TIMEOUT_S = 10.0  # the longest answer: every process's namespaces, well under a second


class Channel(Protocol):
    """A process started in the helper, its stdin and stdout attached."""

    def send(self, data: bytes) -> None: ...

    def receive(self, timeout: float) -> bytes:
        """The next bytes of its stdout (``b""`` once it has ended); OSError on a timeout."""
        ...

    def close(self) -> None:
        """Detach, and end the process if it still runs."""
        ...


class ReaderLost(Exception):
    """The long-lived reader ended or did not answer in time. Not a LabError: the gatherer
    catches it at once and starts the reader again, or reads another way; no learner sees
    it (so it stays here, beside the only code that raises and catches it)."""


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
                try:  # a link's target in one call; anything else is not a link (EINVAL)
                    result.texts[path] = os.readlink(real)
                except OSError as error:
                    if error.errno != errno.EINVAL:
                        raise
                    with open(real) as handle:
                        result.texts[path] = handle.read()
            except OSError as error:
                result.texts[path] = None
                result.errors[path] = errno.errorcode.get(error.errno or 0, "EIO")
        return result

    def namespace_links(self, types: Sequence[str]) -> dict[int, dict[str, str]]:
        """Every process's namespace links (type -> link text), in one pass over /proc,
        each process's ns directory opened once; what cannot be read is left out."""
        found: dict[int, dict[str, str]] = {}
        readlink, flags = os.readlink, os.O_RDONLY | os.O_DIRECTORY  # the loop runs ~10^4 times
        for pid in self.pids():
            try:
                directory = os.open(f"{self.root}/proc/{pid}/ns", flags)
            except OSError:  # exited meanwhile, or not ours to read
                continue
            links: dict[str, str] = {}
            try:
                for ns_type in types:
                    try:
                        links[ns_type] = readlink(ns_type, dir_fd=directory)
                    except OSError:
                        continue
            finally:
                os.close(directory)
            if links:
                found[pid] = links
        return found

    def walk(self, root: str) -> list[str]:
        found = []
        for directory, _subdirs, _files in os.walk(self.root + root):
            found.append(directory[len(self.root):])
        return sorted(found)

    def pids(self) -> list[int]:
        return sorted(int(name) for name in os.listdir(self.root + "/proc") if name.isdigit())


class HelperGatherer:
    """Reads the kernel's files inside a helper container via ``run(argv) -> stdout``;
    ``engine_process`` names the engine's process (its ``comm``: ``dockerd``, ...).

    When ``run`` also has ``attach(argv) -> Channel`` (the Docker helper's has), one
    long-lived reader answers every request, instead of a process started per call (an
    exec costs ~0.1 s); a reader that dies or stops answering is started again once,
    then the request runs through ``run`` as before.
    """

    kind = "helper"
    description = "reading the kernel's files through a helper container (host PID namespace)"

    def __init__(self, run: Callable[[list[str]], str], engine_process: str,
                 timeout_s: float = READER_TIMEOUT_S) -> None:
        self._run = run
        self._attach: Callable[[list[str]], Channel] | None = getattr(run, "attach", None)
        self._reader: Channel | None = None
        self._lock = threading.Lock()
        self.timeout_s = timeout_s
        self.engine_process = engine_process
        self._reference: str | None = None

    def reference_ns_dir(self) -> str:
        """The engine's namespaces stand for "the host" (the helper's own mnt ns is private)."""
        if self._reference is None:
            pid = self._ask("engine", self.engine_process).strip()
            self._reference = f"/proc/{pid}/ns" if pid.isdigit() else "/proc/self/ns"
        return self._reference

    def read(self, paths: Sequence[str]) -> ReadResult:
        if not paths:
            return ReadResult({})
        return parse_read_output(self._ask("read", *paths))

    def namespace_links(self, types: Sequence[str]) -> dict[int, dict[str, str]]:
        """Every process's namespace links, gathered by the helper in one pass over /proc."""
        found: dict[int, dict[str, str]] = {}
        for path, text in parse_read_output(self._ask("ns", *types)).texts.items():
            _, _, pid, _, ns_type = path.split("/", 4)  # /proc/<pid>/ns/<type>
            if text and pid.isdigit():
                found.setdefault(int(pid), {})[ns_type] = text.rstrip("\n")  # readlink ends a line
        return dict(sorted(found.items()))

    def walk(self, root: str) -> list[str]:
        return sorted(line for line in self._ask("walk", root).splitlines() if line)

    def pids(self) -> list[int]:
        return sorted(int(name) for name in self._ask("pids").split() if name.isdigit())

    def close(self) -> None:
        """End the long-lived reader (the helper's removal ends it too)."""
        with self._lock:
            self._drop_reader()

    # -- one request ---------------------------------------------------------------
    def _ask(self, verb: str, *args: str) -> str:
        if self._attach is not None:
            request = (_UNIT.join((verb, *args)) + "\n").encode()
            with self._lock:
                for _attempt in range(2):  # the reader may have died: start it again, once
                    try:
                        return self._exchange(request)
                    except (OSError, ReaderLost):
                        self._drop_reader()
        return self._run(["sh", "-c", _READER_SCRIPT, "labkit-reader", verb, *args])

    def _exchange(self, request: bytes) -> str:
        if self._reader is None:
            assert self._attach is not None
            self._reader = self._attach(["sh", "-c", _READER_SCRIPT, "labkit-reader"])
        self._reader.send(request)
        deadline = time.monotonic() + self.timeout_s
        answer = bytearray()
        while not answer.endswith(_END.encode()):  # one request at a time: EOT comes last
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReaderLost(f"no answer within {self.timeout_s:g} s")
            chunk = self._reader.receive(remaining)
            if not chunk:
                raise ReaderLost("the reader ended")
            answer += chunk
        return answer[:-1].decode(errors="replace")

    def _drop_reader(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(Exception):  # it is gone either way
                self._reader.close()
            self._reader = None


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
