"""Pre-flight checks: is this machine ready for the lab, and if not, what to do."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LabError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'✔' if self.ok else '✘'} {self.name}: {self.detail}"


def run_checks() -> list[Check]:
    """Engine, permissions, cgroups, images: one line each, with the fix when one fails."""
    from . import images
    from .lab import choose_gatherer
    from .node import Node
    from .node.gather import DirectGatherer
    from .runtimes.docker import DockerRuntime
    from .session import Session

    checks: list[Check] = []
    try:
        busybox = images.find_busybox()
        checks.append(Check("static busybox", True, f"{busybox} (the lab builds its images "
                                                    "from it)"))
    except LabError as error:
        checks.append(Check("static busybox", False, str(error)))
    try:
        runtime = DockerRuntime(Session())
    except LabError as error:
        checks.append(Check("Docker engine", False, str(error)))
        recorded = _recordings_check()
        if recorded is not None:
            checks.append(recorded)
        return checks
    info = runtime.client.info()
    checks.append(Check("Docker engine", True, f"{runtime.description} answers"))
    checks.append(Check("cgroups", True, f"cgroup v{info.get('CgroupVersion', '?')}, "
                                         f"{info.get('CgroupDriver', '?')} driver"))
    try:
        how = choose_gatherer()
        detail = {"direct": "root beside the engine: labkit reads /proc and /sys itself",
                  "helper": "labkit reads /proc and /sys through a helper container"}[how]
        if how == "direct":
            Node(DirectGatherer())
        checks.append(Check("reading the kernel", True, detail))
    except LabError as error:
        checks.append(Check("reading the kernel", False, str(error)))
    try:
        ref = runtime.toolbox()
        checks.append(Check("lab images", True, f"{ref.split(':')[0]} is loaded (offline)"))
    except LabError as error:
        checks.append(Check("lab images", False, str(error)))
    checks.append(_podman_check())
    runtime.session.close()
    return checks


REPLAYING = "replaying"


def verdict(checks: list[Check]) -> str:
    """``ready``; ``ready, replaying ...`` where no engine answers but the chapters have
    recordings (Binder); otherwise what to do."""
    if all(c.ok for c in checks):
        return "ready"
    if any(c.name == REPLAYING and c.ok for c in checks):
        return "ready, replaying the chapters' recordings (no engine answers here)"
    return "fix the ✘ lines above first"


def _recordings_check() -> Check | None:
    """Where no engine answers, the chapters replay what they recorded on a real machine."""
    from .replay import TAPES, Tape

    chapters = sorted(p.stem for p in TAPES.glob("*.json"))
    tape = Tape.load(chapters[0]) if chapters else None
    if tape is None:
        return None
    return Check(REPLAYING, True, f"chapters {', '.join(chapters)} replay what the kernel "
                                  f"said on {tape.host} ({tape.recorded})")


def _podman_check() -> Check:
    """Podman for chapters 4 and 5: installed, and new enough."""
    import shutil

    from .runtimes.podman.service import OLDEST, podman_version

    name = "Podman (chapters 4 and 5)"
    if shutil.which("podman") is None:
        return Check(name, False, "not installed: run `sudo ./lab setup` (it installs "
                                  "Debian's podman).")
    try:
        version = podman_version()
    except LabError as error:
        return Check(name, False, str(error))
    found = ".".join(map(str, version))
    if version[:2] < OLDEST:
        return Check(name, False, f"{found} is older than the lab supports (4.0 or newer): "
                                  "upgrade it, e.g. to Debian 12's podman 4.3.")
    return Check(name, True, f"podman {found}, run rootful by labkit with storage of its own")
