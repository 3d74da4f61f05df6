"""Pre-flight checks: is this machine ready for the lab, and if not, what to do.

Each check's line names the chapters that need what it checks: the static busybox the lab's
images are built from, the machine's Docker engine (chapters 1, 3, 4, 7 and 8 run
containers on it, and every chapter asks it whether to run for real or replay a recording:
``labkit.chapter_lab``), its cgroups, how labkit reads the kernel and the lab's images (every
chapter), root (chapters 2 to 8 write cgroups, start labkit's own engines or a pod from
scratch, or plumb a pod's network), labkit's own containerd with runc and the CNI plugins
(chapters 2, 4, 6, 7 and 8), labkit's own Podman (chapters 4, 5, 7 and 8), the tools of a pod from
scratch (chapters 6 and 7) and iptables (chapter 7).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from .errors import LabError

CHAPTERS = ("1", "2", "3", "4", "5", "6", "7", "8")
ROOT_CHAPTERS = ("2", "3", "4", "5", "6", "7", "8")
CONTAINERD_CHAPTERS = ("2", "4", "6", "7", "8")
PODMAN_CHAPTERS = ("4", "5", "7", "8")
SCRATCH_CHAPTERS = ("6", "7")
NETWORK_CHAPTERS = ("7",)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    chapters: tuple[str, ...] = CHAPTERS  # the chapters that need what it checks

    def __str__(self) -> str:
        return f"{'✔' if self.ok else '✘'} {self.name}: {self.detail}"


def chapter_list(chapters: tuple[str, ...] | list[str]) -> str:
    """``chapters 2, 4 and 6``, ``chapter 1``.

    >>> chapter_list(("2", "4", "6")), chapter_list(["1"])
    ('chapters 2, 4 and 6', 'chapter 1')
    """
    items = sorted(chapters)
    if len(items) == 1:
        return f"chapter {items[0]}"
    return f"chapters {', '.join(items[:-1])} and {items[-1]}"


def run_checks() -> list[Check]:
    """Engine, permissions, cgroups, images, labkit's own engines: one line each, saying
    which chapters need it, with the fix when one fails."""
    from . import images
    from .lab import choose_gatherer
    from .node import Node
    from .node.gather import DirectGatherer
    from .runtimes.docker import DockerRuntime
    from .session import Session

    every = f"({EVERY})"
    checks: list[Check] = []
    try:
        busybox = images.find_busybox()
        checks.append(Check(f"static busybox {every}", True, f"{busybox} (the lab builds its "
                                                             "images from it)"))
    except LabError as error:
        checks.append(Check(f"static busybox {every}", False, str(error)))
    # every chapter asks Docker whether to run for real or replay: its ✘ stops them all
    docker = ("Docker engine (chapters 1, 3, 4, 7 and 8 run their containers on it; every chapter "
              "asks it first, and replays its recording where it does not answer)")
    try:
        runtime = DockerRuntime(Session())
    except LabError as error:
        checks.append(Check(docker, False, str(error)))
        recorded = _recordings_check()
        if recorded is not None:
            checks.append(recorded)
        return checks
    info = runtime.client.info()
    checks.append(Check(docker, True, f"{runtime.description} answers; {docker_command()}"))
    checks.append(Check(f"cgroups {every}", True, f"cgroup v{info.get('CgroupVersion', '?')}, "
                                                  f"{info.get('CgroupDriver', '?')} driver"))
    reading = f"reading the kernel {every}"
    try:
        how = choose_gatherer()
        detail = {"direct": "root beside the engine: labkit reads /proc and /sys itself",
                  "helper": "labkit reads /proc and /sys through a helper container"}[how]
        if how == "direct":
            Node(DirectGatherer())
        checks.append(Check(reading, True, detail))
    except LabError as error:
        checks.append(Check(reading, False, str(error)))
    try:
        ref = runtime.toolbox()
        checks.append(Check(f"lab images {every}", True,
                            f"{ref.split(':')[0]} is loaded, built here from busybox; "
                            f"{_pulls()}"))
    except LabError as error:
        checks.append(Check(f"lab images {every}", False, str(error)))
    checks.append(_root_check())
    checks.append(_containerd_check())
    checks.append(_podman_check())
    checks.append(_scratch_check())
    checks.append(_network_check())
    runtime.session.close()
    return checks


REPLAYING = "replaying"
EVERY = "every chapter"


def docker_command() -> str:
    """The ``docker`` command a terminal runs here, as a sentence: a client with a version of
    its own, not the engine's, and the version decides which units its ``--memory`` takes
    (the 20.10 client took ``64Mi``; 23 and later refuse it).

    >>> print(docker_command())                      # doctest: +SKIP
    the docker command in a terminal is client 28.2.2
    """
    from .node.oci_runtime import program_version

    version = program_version("docker")
    if not version:
        return "no docker command in the PATH (the hints' terminal commands need one)"
    return f"the docker command in a terminal is client {version}"


def _pulls() -> str:
    """What labkit does for an image a chapter names that this machine does not have."""
    if os.environ.get("LABKIT_OFFLINE", "") not in ("", "0"):
        return ("LABKIT_OFFLINE=1: nothing is pulled, labkit's stand-ins run for images this "
                "machine does not have")
    return ("an image this machine does not have is tried as a pull first (a registry that "
            "does not answer within 20 s counts as none), else labkit's stand-in runs")


def verdict(checks: list[Check]) -> str:
    """``ready``; ``ready, replaying ...`` where no engine answers but the chapters have
    recordings (Binder); otherwise which chapters can run and what to fix for the rest."""
    if all(c.ok for c in checks):
        return "ready"
    if any(c.name == REPLAYING and c.ok for c in checks):
        return "ready, replaying the chapters' recordings (no engine answers here)"
    blocked = {chapter for c in checks if not c.ok for chapter in c.chapters}
    ready = [chapter for chapter in CHAPTERS if chapter not in blocked]
    if not ready:
        return "fix the ✘ lines above first"
    return (f"ready for {chapter_list(ready)}; fix the ✘ lines above for "
            f"{chapter_list(sorted(blocked))}")


def _recordings_check() -> Check | None:
    """Where no engine answers, the chapters replay what they recorded on a real machine."""
    from .replay import TAPES, Tape

    chapters = sorted(p.stem for p in TAPES.glob("*.json"))
    tape = Tape.load(chapters[0]) if chapters else None
    if tape is None:
        return None
    return Check(REPLAYING, True, f"chapters {', '.join(chapters)} replay what the kernel "
                                  f"said on {tape.host} ({tape.recorded})")


def _root_check() -> Check:
    """Chapters 2 to 8 write cgroups, start labkit's own engines or plumb a pod's network,
    as root only can."""
    name = f"root ({chapter_list(ROOT_CHAPTERS)})"
    if os.geteuid() == 0:
        return Check(name, True, "labkit runs as root, so it can write cgroups and start its "
                                 "own containerd, Podman and pods from scratch, or plumb a "
                                 "pod's network",
                     ROOT_CHAPTERS)
    return Check(name, False, f"labkit runs as uid {os.geteuid()}, not root: those chapters "
                              "write cgroups and start labkit's own engines, so open the lab "
                              "as root (sudo ./lab up)", ROOT_CHAPTERS)


def _containerd_check() -> Check:
    """labkit's own containerd (beside Docker's), with runc and the CNI plugins: the
    programs ``ContainerdNode`` needs."""
    from .node.oci_runtime import program_version
    from .runtimes.containerd.node import CNI_BIN

    name = f"labkit's containerd ({chapter_list(CONTAINERD_CHAPTERS)})"
    missing = [tool for tool in ("containerd", "ctr", "containerd-shim-runc-v2", "runc")
               if shutil.which(tool) is None]
    if missing:
        return Check(name, False, f"{', '.join(missing)} not installed: run `sudo ./lab setup` "
                                  "(it installs containerd, runc and the CNI plugins).",
                     CONTAINERD_CHAPTERS)
    if not os.path.isfile(os.path.join(CNI_BIN, "bridge")):
        return Check(name, False, f"the CNI plugins are not in {CNI_BIN}: install "
                                  "containernetworking-plugins (`sudo ./lab setup` does).",
                     CONTAINERD_CHAPTERS)
    return Check(name, True, f"containerd {program_version('containerd') or '?'}, runc "
                             f"{program_version('runc') or '?'}, CNI plugins in {CNI_BIN}; "
                             "labkit starts a containerd of its own beside Docker's",
                 CONTAINERD_CHAPTERS)


def _podman_check() -> Check:
    """Podman for chapters 4, 5, 7 and 8: installed, and new enough."""
    from .runtimes.podman.service import OLDEST, podman_version

    name = f"Podman ({chapter_list(PODMAN_CHAPTERS)})"
    if shutil.which("podman") is None:
        return Check(name, False, "not installed: run `sudo ./lab setup` (it installs "
                                  "Debian's podman).", PODMAN_CHAPTERS)
    try:
        version = podman_version()
    except LabError as error:
        return Check(name, False, str(error), PODMAN_CHAPTERS)
    found = ".".join(map(str, version))
    if version[:2] < OLDEST:
        return Check(name, False, f"{found} is older than the lab supports (4.0 or newer): "
                                  "upgrade it, e.g. to Debian 12's podman 4.3.",
                     PODMAN_CHAPTERS)
    return Check(name, True, f"podman {found}, run rootful by labkit with storage of its own",
                 PODMAN_CHAPTERS)


def _scratch_check() -> Check:
    """A pod from scratch runs no engine: only the host's own tools, as root."""
    from .runtimes.scratch.pod import TOOLS

    name = f"pod from scratch, no engine ({chapter_list(SCRATCH_CHAPTERS)})"
    missing = [(tool, package) for tool, package in TOOLS if shutil.which(tool) is None]
    if missing:
        packages = " ".join(sorted({package for _tool, package in missing}))
        return Check(name, False, f"{', '.join(tool for tool, _ in missing)} not found: "
                                  f"install them (sudo apt-get install {packages}).",
                     SCRATCH_CHAPTERS)
    return Check(name, True, f"{', '.join(tool for tool, _ in TOOLS)} are here",
                 SCRATCH_CHAPTERS)


def _network_check() -> Check:
    """Chapter 7 lets two pods from scratch talk with one FORWARD rule of the session's."""
    name = f"iptables ({chapter_list(NETWORK_CHAPTERS)})"
    if shutil.which("iptables") is None:
        return Check(name, False, "iptables not found: install it (sudo apt-get install "
                                  "iptables).", NETWORK_CHAPTERS)
    return Check(name, True, "iptables is here (the session's FORWARD rule)", NETWORK_CHAPTERS)
