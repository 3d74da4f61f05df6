"""Nothing outlives a kernel: killed, restarted or shut down at any cell of chapters 2, 3, 5,
6 and 7.

Each run starts a real IPython kernel in notebooks/, executes the chapter's cells up to a
random one, and ends the kernel the way a learner's would end (SIGKILL, a restart, a normal
shutdown). The session's watcher and then ``labkit clean`` must leave zero of everything
the lab makes: containers, cgroups in every hierarchy, network namespaces and links,
mounts, containerd and podman processes, podman pods, CNI and iptables state, and what
chapter 7 plumbs: links and bridges named after a session, their addresses, network
namespaces (bind-mounted or not), the sessions' firewall rules; a foreign container and a
foreign cgroup survive. LABKIT_KILL_RUNS sets the number of runs (10 by default),
LABKIT_KILL_SEED the seed (printed, so a failing run can be replayed), LABKIT_KILL_CHAPTERS
the chapters (their numbers, e.g. ``06`` or ``02,06``; all by default).

On a machine that other lab sessions share (other learners, other test runs),
LABKIT_KILL_SHARED=1 asks the dying kernel for its session's id first, removes with
``labkit clean --session`` that session's things only, and counts what is left of that
session alone; the default, a global ``labkit clean`` and a count of everything, would
remove the others' sessions and count their things.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit.cleanup import lab_cgroup_dirs
from labkit.node.firewall import session_rules
from labkit.node.mounts import CgroupLayout, parse_mountinfo
from labkit.node.network import lab_links

from ..conftest import need

# Kernels killed at random cells of every chapter: a slow suite (./lab test-slow).
pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHAPTERS = tuple(
    name for name in ("02-pods.ipynb", "03-docker-pod.ipynb", "05-podman-pods.ipynb",
                      "06-pod-from-scratch.ipynb", "07-pod-network.ipynb",
                      "08-pods-today.ipynb")
    if name[:2] in os.environ.get("LABKIT_KILL_CHAPTERS", name[:2]).split(","))
RUNS = int(os.environ.get("LABKIT_KILL_RUNS", "10"))
SEED = int(os.environ.get("LABKIT_KILL_SEED", str(secrets.randbits(32))))
ENDINGS = ("sigkill", "restart", "shutdown")
SHARED = os.environ.get("LABKIT_KILL_SHARED", "") not in ("", "0")


def _code_cells(chapter: str) -> list[str]:
    cells = json.loads((NOTEBOOKS / chapter).read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _plan() -> list[tuple[str, int, str]]:
    """(chapter, cells to run before the end, how the kernel ends) for every run."""
    chooser = random.Random(SEED)
    plan = []
    for run in range(RUNS):
        chapter = CHAPTERS[run % len(CHAPTERS)]
        plan.append((chapter, chooser.randint(1, len(_code_cells(chapter))),
                     ENDINGS[run % len(ENDINGS)]))
    return plan


# -- what the lab leaves, counted from the kernel and the engines ------------------------
def _lines(*argv: str) -> set[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return set(done.stdout.splitlines())


def _iptables() -> set[str]:
    """Rules and chains, without their packet counters."""
    return {re.sub(r"\[\d+:\d+\]", "", line) for line in _lines("iptables-save")
            if line and not line.startswith("#")}


def _processes() -> list[str]:
    """Processes started by a labkit containerd (the daemons and their shims), and the
    unshare and nsenter of a pod from scratch."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                argv = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if re.search(rb"/(run|var/lib)/labkit/(podman/|scratch/)?lk-[0-9a-f]{8}-", argv):
                found.append(argv.decode(errors="replace"))
    return found


def _busy_watchers() -> list[int]:
    """Watchers whose owner is gone: they are cleaning up right now."""
    from labkit import liveness

    busy = []
    for name in os.listdir("/proc"):
        argv = _read(f"/proc/{name}/cmdline").split(b"\0") if name.isdigit() else []
        if (b"labkit.watcher" in argv and len(argv) > 5
                and not liveness.alive({"pid": int(argv[4]), "start": int(argv[5])})):
            busy.append(int(name))
    return busy


def _podman_things(label: str = "io.labkit.owner=labkit") -> set[str]:
    """Pods and containers in labkit's podman store that carry the lab's label (or this
    one: a session's)."""
    from labkit.runtimes.podman.service import podman_command, podman_environment

    if not Path("/run/labkit/podman/containers.conf").is_file():
        return set()
    found = set()
    for kind in ("pod", "container"):
        every = ["-a"] if kind == "container" else []  # `pod ps` lists every pod already
        listed = subprocess.run(podman_command(kind, "ps", *every, "-q", "--filter",
                                               f"label={label}"),
                                capture_output=True, text=True, env=podman_environment())
        assert listed.returncode == 0, listed.stderr
        found |= {f"{kind} {item}" for item in listed.stdout.split()}
    return found


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def state() -> dict[str, set[str]]:
    layout = CgroupLayout(tuple(parse_mountinfo(Path("/proc/self/mountinfo").read_text())))
    mounts = {line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()}
    lab_dirs = ("/run/labkit", "/var/lib/labkit")
    cni = Path("/var/lib/cni/results")
    return {
        "containers": _lines("docker", "ps", "-aq", "--filter", "label=io.labkit.owner=labkit"),
        "cgroups": set(lab_cgroup_dirs(layout)),
        "links": {line.split(": ")[1].split("@")[0] for line in _lines("ip", "-o", "link")},
        "netns": set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set(),
        "mounts": {m for m in mounts if any(m.startswith(d + "/") for d in lab_dirs)},
        "processes": set(_processes()),
        "cni": {p.name for p in cni.iterdir()} if cni.is_dir() else set(),
        "iptables": _iptables(),
        "podman": _podman_things(),
        "pods from scratch": {p.name for p in Path("/var/lib/labkit/scratch").glob("lk-*")},
        "libpod cgroups": {str(p) for p in Path("/sys/fs/cgroup").glob("*/libpod_parent/*")
                           if p.is_dir()},
        # chapter 7: bridges, addresses, network namespaces kept by a mount, and what a
        # session names or labels (links lk<id>…, FORWARD rules lk-<id>-pods), absolutely
        "bridges": {line.split(": ")[1].split("@")[0]
                    for line in _lines("ip", "-o", "link", "show", "type", "bridge")},
        "addresses": {" ".join(line.split()[1:4]) for line in _lines("ip", "-o", "addr")},
        "netns mounts": {m for line in Path("/proc/self/mountinfo").read_text().splitlines()
                         if " - nsfs " in line for m in line.split()[4:5]},
        "lab links": set(lab_links()),
        "lab rules": set(session_rules()),
        "podman networks": _podman_networks(),
    }


def _podman_networks(session: str = "") -> set[str]:
    """The CNI networks labkit's Podman was given for a session (chapter 7), and their
    leases: files and directories named lk-<id>-pods."""
    base = Path("/run/labkit/podman")
    return {str(p) for p in (*base.glob("networks/lk-*"), *base.glob("ipam/lk-*"))
            if not session or f"lk-{session}-" in p.name}


def leftovers(before: dict[str, set[str]]) -> dict[str, set[str]]:
    """What is there now and was not before (lab things are counted absolutely)."""
    now = state()
    absolute = ("containers", "cgroups", "mounts", "processes", "podman", "lab links",
                "lab rules", "podman networks")
    return {key: now[key] if key in absolute else now[key] - before[key]
            for key in now if (now[key] if key in absolute else now[key] - before[key])}


def session_leftovers(session: str) -> dict[str, set[str]]:
    """What is left of one session (LABKIT_KILL_SHARED=1): only what it names or labels,
    counted absolutely, so that other sessions' things on the machine do not count."""
    mark = f"lk-{session}-"
    mounts = {line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()}
    layout = CgroupLayout(tuple(parse_mountinfo(Path("/proc/self/mountinfo").read_text())))
    cni = Path("/var/lib/cni/results")
    links = set(lab_links(session))
    found = {
        "containers": _lines("docker", "ps", "-aq", "--filter",
                             f"label=io.labkit.session={session}"),
        "cgroups": set(lab_cgroup_dirs(layout, session)),
        "mounts": {m for m in mounts if mark in m},  # the CRI pods' netns mounts among them
        "processes": {p for p in _processes() if mark in p},
        "cni": {p.name for p in cni.iterdir() if p.name.startswith(f"labkit-{session}-")}
        if cni.is_dir() else set(),
        "podman": _podman_things(f"io.labkit.session={session}"),
        "pods from scratch": {p.name for p in Path("/var/lib/labkit/scratch").glob(f"{mark}*")},
        "lab links": links,
        "lab rules": set(session_rules(session)),
        "podman networks": _podman_networks(session),
        "addresses": {line for line in _lines("ip", "-o", "addr")
                      if line.split()[1:2] and line.split()[1].split("@")[0] in links},
    }
    return {key: value for key, value in found.items() if value}


# -- the foreign things that must survive --------------------------------------------------
@pytest.fixture
def foreign(docker_client):
    from labkit.runtimes.docker import DockerRuntime
    from labkit.session import Session

    tag = secrets.token_hex(3)
    image = DockerRuntime(Session()).toolbox()
    container = docker_client.containers.run(image, ["sleep", "600"], detach=True,
                                             name=f"not-the-lab-{tag}")
    cgroup = Path(f"/sys/fs/cgroup/memory/not-the-lab-{tag}")
    cgroup.mkdir()
    yield container, cgroup
    container.remove(force=True)
    cgroup.rmdir()


def _run_kernel(chapter: str, cells: int, ending: str) -> str:
    """Run the chapter's first ``cells`` code cells in a new kernel and end it; returns the
    session id of its ``lab`` (asked just before the end), or "" if it had none yet."""
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "LABKIT_OFFLINE": "1"}
    env.pop("MPLBACKEND", None)
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(NOTEBOOKS), env=env,
                                       startup_timeout=60)
    try:
        for source in _code_cells(chapter)[:cells]:
            reply = client.execute_interactive(source, timeout=120, output_hook=lambda _: None)
            assert reply["content"]["status"] in ("ok", "error")
        said: list[str] = []
        client.execute_interactive(
            "print(lab.session.id if 'lab' in globals() else '')", timeout=30,
            output_hook=lambda message: said.append(message["content"].get("text", "")))
        session = "".join(said).strip()
        pid = manager.provisioner.process.pid
        if ending == "sigkill":
            os.kill(pid, signal.SIGKILL)
        elif ending == "restart":  # JupyterLab's "Restart kernel": the old process is killed
            manager.restart_kernel(now=True)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=ending != "shutdown")
    return session


def _wait_for_watchers(timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while _busy_watchers() and time.monotonic() < deadline:
        time.sleep(0.2)


def test_nothing_outlives_a_kernel(foreign):
    need(os.geteuid() == 0, "chapters 2 and 3 run as root")
    print(f"LABKIT_KILL_SEED={SEED}")
    before = state()
    container, cgroup = foreign
    for chapter, cells, ending in _plan():
        session = _run_kernel(chapter, cells, ending)
        _wait_for_watchers()
        only = ["--session", session] if SHARED else []
        if not SHARED or session:
            clean = subprocess.run([sys.executable, "-m", "labkit.cli", "clean", *only],
                                   capture_output=True, text=True, check=False, timeout=120)
            assert clean.returncode == 0, clean.stderr
        left = (session_leftovers(session) if session else {}) if SHARED else \
            leftovers(before)
        assert left == {}, (f"{chapter} ended by {ending} after {cells} cell(s) "
                            f"(LABKIT_KILL_SEED={SEED}) left {left}")
    container.reload()
    assert container.status == "running" and cgroup.is_dir()


def test_the_watcher_alone_cleans_after_sigkill(docker_client):
    """No `labkit clean` at all: the watcher removes a killed kernel's pods by itself."""
    need(os.geteuid() == 0, "chapter 3 runs as root")
    before = state()
    cells = _code_cells("03-docker-pod.ipynb")
    _run_kernel("03-docker-pod.ipynb", len(cells) // 2, "sigkill")
    _wait_for_watchers()
    assert leftovers(before) == {}


def test_a_lab_used_again_after_close_is_still_watched(docker_client):
    """The lab closed (as the chapters' last cell once did), then used again: an exercise
    checked, podman asked about, which starts labkit's podman again. Killing the kernel then
    must leave nothing, with no `labkit clean`: the reopened session is owned and watched
    again (it was not: its podman service outlived the kernel)."""
    need(os.geteuid() == 0, "chapter 5 runs as root")
    from jupyter_client.manager import start_new_kernel

    before = state()
    env = {**os.environ, "LABKIT_OFFLINE": "1"}
    env.pop("MPLBACKEND", None)
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(NOTEBOOKS), env=env,
                                       startup_timeout=60)
    try:
        for source in ("import labkit\nfrom labkit import exercises\n"
                       "lab = labkit.chapter_lab('05')\nexercises.use(lab)",
                       "lab.podman_pod(name='first', containers={'app': {'image': 'busybox', "
                       "'command': 'sleep 600'}}, quiet=True)",
                       "lab.close()",
                       "exercises.get('05.shared-pid').check()",
                       "print(lab.describe('busybox', engine='podman'))"):
            reply = client.execute_interactive(source, timeout=120, output_hook=lambda _: None)
            assert reply["content"]["status"] == "ok", reply["content"]
        os.kill(manager.provisioner.process.pid, signal.SIGKILL)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    _wait_for_watchers()
    assert leftovers(before) == {}
