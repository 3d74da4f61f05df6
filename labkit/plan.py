"""What labkit does to make something, as data: one list of steps, executed by labkit and
printed for the learner as the commands they would type.

A pod kind builds its :class:`Plan` first (pure, from the spec and what the machine
offers), then executes it step by step; ``pod.commands()`` is the same plan rendered.
Nothing is reconstructed afterwards from what an engine reports, so what is shown is
what was done. The steps are few and plain:

* :class:`MakeDirectories`: ``mkdir -p`` of cgroup directories (one per hierarchy on v1);
* :class:`WriteFile`: ``echo VALUE > FILE``, a cgroup limit or control file;
* :class:`WriteEach`: the same value into one file per hierarchy (a PID into
  ``cgroup.procs``);
* :class:`Unpack`: ``tar -xf`` of an image's root file system into a directory;
* :class:`Command`: a command line (``docker run ...``, ``podman pod create ...``,
  ``systemctl ...``, ``unshare ...``), run in the foreground or in the background, its
  started process's PID kept in a shell variable when later steps name it.

>>> plan = Plan([MakeDirectories(("/sys/fs/cgroup/cpu/p", "/sys/fs/cgroup/memory/p")),
...              WriteFile("/sys/fs/cgroup/memory/p/memory.limit_in_bytes", "67108864"),
...              Command(("docker", "run", "-d", "--name", "a b", "busybox"))])
>>> print(plan.text())
for h in cpu memory; do mkdir -p /sys/fs/cgroup/$h/p; done
echo 67108864 > /sys/fs/cgroup/memory/p/memory.limit_in_bytes
docker run -d --name 'a b' busybox
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MakeDirectories:
    """``mkdir -p`` each directory (one per hierarchy on cgroup v1)."""

    directories: tuple[str, ...]

    def lines(self) -> list[str]:
        return each_hierarchy(self.directories, "mkdir -p {}")


@dataclass(frozen=True)
class WriteFile:
    """Write ``value`` into ``path``, as ``echo`` does (a cgroup file takes one write)."""

    path: str
    value: str

    def lines(self) -> list[str]:
        """``echo VALUE > PATH``; ``echo > PATH`` for an empty line (a FIFO's release). A
        ``$NAME`` in either stays the shell variable it stands for.

        >>> WriteFile("/proc/$USERNS/uid_map", "0 65536 65536").lines()
        ["echo '0 65536 65536' > /proc/$USERNS/uid_map"]
        """
        value = f" {shell_word(self.value)}" if self.value else ""
        return [f"echo{value} > {shell_word(self.path)}"]

    def with_values(self, values: dict[str, str]) -> WriteFile:
        """This write with each ``$NAME`` in its path and value replaced by its value."""
        return WriteFile(fill(self.path, values), fill(self.value, values))


@dataclass(frozen=True)
class WriteEach:
    """Write ``value`` into each of ``paths``: one file per hierarchy (a PID into each
    ``cgroup.procs`` of a cgroup on v1), in one loop where the shell can.

    >>> WriteEach(("/sys/fs/cgroup/cpu/p/cgroup.procs", "/sys/fs/cgroup/memory/p/cgroup.procs"),
    ...           "$APP").lines()
    ['for h in cpu memory; do echo $APP > /sys/fs/cgroup/$h/p/cgroup.procs; done']
    """

    paths: tuple[str, ...]
    value: str

    def lines(self) -> list[str]:
        return each_hierarchy(self.paths, f"echo {shell_word(self.value)} > {{}}")

    def writes(self, values: dict[str, str]) -> list[WriteFile]:
        """One :class:`WriteFile` per path, each ``$NAME`` replaced by its value."""
        return [WriteFile(path, self.value).with_values(values) for path in self.paths]


@dataclass(frozen=True)
class Command:
    """One command line. ``background``: it keeps running (``&``); ``keeps``: the name of a
    shell variable that later steps use for a PID this step's process starts (``PAUSE``),
    with ``finds`` the command that prints it (``$!`` is the command's own PID), asked
    until it answers (the process may not be there the moment the command returns) or the
    command has ended (then the variable stays empty).
    ``does``: where labkit sends the engine a request instead of running the program (a
    ``DockerRun``), that request, built from the same fields as ``argv``."""

    argv: tuple[str, ...]
    background: bool = False
    keeps: str = ""
    finds: str = "echo $!"
    comment: str = ""
    does: Any = field(default=None, compare=False)  # the engine request made of the same fields

    def lines(self) -> list[str]:
        lines = [shell_line(self.argv) + (" &" if self.background else "")]
        if self.keeps:  # asked until it answers, or the command has ended
            name = self.keeps
            lines.append(f'until {name}=$({self.finds} 2>/dev/null) && [ -n "${name}" ]; do '
                         "kill -0 $! || break; sleep 0.01; done" +
                         (f"  # {self.comment}" if self.comment else ""))
        return lines

    def with_values(self, values: dict[str, str]) -> tuple[str, ...]:
        """The argv with each ``$NAME`` word replaced by its value, as the shell would."""
        return tuple(values.get(word[1:], word) if word.startswith("$") else word
                     for word in self.argv)


@dataclass(frozen=True)
class Unpack:
    """An image's root file system in ``directory``: ``tar -xf ARCHIVE -C DIRECTORY``, as a
    snapshotter unpacks one per container."""

    archive: str
    directory: str

    def lines(self) -> list[str]:
        directory = shlex.quote(self.directory)
        return [f"mkdir -p {directory} && tar -xf {shlex.quote(self.archive)} -C {directory}"]


Step = MakeDirectories | WriteFile | WriteEach | Command | Unpack


class Plan:
    """An ordered list of steps: what labkit executes, and the commands it shows."""

    def __init__(self, steps: Iterable[Step] = ()) -> None:
        self.steps: list[Step] = []
        self.add(*steps)

    def add(self, *steps: Step) -> Plan:
        """Append steps; a ``mkdir -p`` or a write already in the plan, the same, is not
        added again (its second run would change nothing)."""
        for step in steps:
            if isinstance(step, MakeDirectories | WriteFile) and step in self.steps:
                continue
            self.steps.append(step)
        return self

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def lines(self) -> list[str]:
        """Every step as the shell lines a learner would type, in order."""
        return [line for step in self.steps for line in step.lines()]

    def text(self) -> str:
        return "\n".join(self.lines())

    def commands(self, program: str | None = None) -> list[Command]:
        """The :class:`Command` steps (of one program, if given)."""
        return [s for s in self.steps if isinstance(s, Command)
                and (program is None or s.argv[:1] == (program,))]


def each_hierarchy(files: Sequence[str], template: str) -> list[str]:
    """Shell lines running ``template`` (``{}`` stands for a file or directory) for each of
    ``files``: one loop when they differ only by their hierarchy's directory.

    >>> each_hierarchy(["/sys/fs/cgroup/cpu/p", "/sys/fs/cgroup/memory/p"], "rmdir {}")
    ['for h in cpu memory; do rmdir /sys/fs/cgroup/$h/p; done']
    >>> each_hierarchy(["/sys/fs/cgroup/p"], "rmdir {}")
    ['rmdir /sys/fs/cgroup/p']
    """
    split = [f.split("/", 5) for f in files]
    if len(files) > 1 and all(len(s) == 6 for s in split) and \
            len({(s[1], s[2], s[3], s[5]) for s in split}) == 1:
        first = split[0]
        names = " ".join(s[4] for s in split)
        where = f"/{first[1]}/{first[2]}/{first[3]}/$h/{shlex.quote(first[5])}"
        return [f"for h in {names}; do {template.format(where)}; done"]
    return [template.format(shlex.quote(f)) for f in files]


_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each ``$NAME`` that ``values`` holds replaced by its value."""
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def shell_word(text: str) -> str:
    """One word for a shell, quoted where needed; a word made only of plain characters
    and ``$NAME`` variables (``/proc/$PAUSE/uid_map``) is left for the shell to expand.

    >>> shell_word("/proc/$PAUSE/uid_map"), shell_word("0 1 2"), shell_word("$(x)")
    ('/proc/$PAUSE/uid_map', "'0 1 2'", "'$(x)'")
    """
    if _VARIABLE.search(text) and re.fullmatch(r"(?:[\w@%+=:,./-]|\$[A-Za-z_]\w*)+", text):
        return text
    return shlex.quote(text)


def shell_line(argv: Sequence[str]) -> str:
    """An argv as one line for a shell: quoted where needed (newlines stay inside the
    quotes), a ``$NAME`` word left as the variable it stands for.

    >>> print(shell_line(["nsenter", "--target", "$PAUSE", "sh", "-c", "echo $$"]))
    nsenter --target $PAUSE sh -c 'echo $$'
    """
    line = shlex.join(argv)
    for word in argv:
        if word.startswith("$") and word[1:].isidentifier():
            line = line.replace(shlex.quote(word), word)
    return line
