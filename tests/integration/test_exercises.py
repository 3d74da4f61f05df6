"""Chapters 1 and 3 exercises against the real engine and kernel.

For every exercise: untouched, the check fails with its "not done yet" sentence; then, in a
learner's order, each wrong solution fails with its sentence and the reference passes. Then a
learner who solves the *do* exercises by hand with the docker CLI (no labkit) passes too.
One Lab serves the module; each test removes what it made, and the chapter state a *find*
or *predict* exercise reads (foo, pod foo) is made once and removed before anything that
needs a machine without it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time

import pytest

from labkit import exercises
from labkit.exercises.core import REGISTRY
from tests.conftest import need
from tests.integration.exercise_lab import (  # noqa: F401 - own_progress: autouse, here too
    made_by_a_lab,
    own_progress,
    wrong_then_right,
)

exercises.exercises()  # load the registry
IDS = [i for i in REGISTRY if i.split(".")[0] in ("01", "03")]
# Made by hand with the docker CLI, named as a learner types them: every chapter's checks on
# this machine count them, so these run in ./lab test-slow, one test at a time.
BY_HAND = pytest.mark.slow


@pytest.fixture(scope="module")
def made(docker_client):
    need(os.geteuid() == 0, "chapter 3 writes cgroups: the exercises' tests run as root")
    yield from made_by_a_lab()


@pytest.fixture
def lab(made):
    """The module's lab on a machine without the chapter state; what the test makes goes
    after it."""
    made.drop()
    exercises.use(made.lab)
    yield made.lab
    made.drop()


@pytest.mark.parametrize("exercise_id", IDS)
def test_untouched_machine_fails_with_not_done_yet(exercise_id, made):
    made.drop()
    exercises.use(None)  # the checks connect by themselves, as in a fresh kernel
    ex = exercises.get(exercise_id)
    untouched = ex.check(None if ex.kind == "do" else ex.spec.example)
    if ex.chapter == "01":  # nothing of the learner's there yet: no try, no hint, any kind
        assert not untouched.passed and not untouched.counted and ex.hints() == []
    else:  # chapter 3 too: nothing of the learner's there yet is no try, no hint, any kind
        assert not untouched.passed and not untouched.counted and ex.hints() == []
    assert ex.spec.untouched in untouched.sentence, untouched.sentence
    assert "\n" not in untouched.sentence and untouched.sentence.endswith(".")


@pytest.mark.parametrize("exercise_id", IDS)
def test_each_wrong_solution_then_the_reference(exercise_id, made):
    """Against the chapter's state, made once for its find and predict exercises and kept
    beside the do exercises, as a learner's notebook keeps it."""
    exercises.use(made.lab)
    wrong_then_right(exercises.get(exercise_id), made, tries=0)


def test_an_oom_kill_docker_did_not_flag_is_found_in_its_events(lab):
    """Docker 20.10 leaves State.OOMKilled false when a container's exit reaches it before
    the kernel's OOM notice does (this test's suite met it once under load). That race
    cannot be made to happen on demand: the check reads a real oom64, OOM-killed at 64 MiB,
    whose inspect is handed back with the flag as Docker then leaves it; its events are
    Docker's own. A container killed with SIGKILL (exit 137 too) has no oom event."""
    from labkit.exercises.machine import Machine

    spec = REGISTRY["01.oom-64mi"]
    machine = Machine(lab)
    inspect = machine.container

    def unflagged(name):
        details = inspect(name)
        details["State"]["OOMKilled"] = False
        return details

    machine.container = unflagged
    oom = lab.run("oom64", "busybox", "head -c 100m /dev/zero | tail >/dev/null",
                  memory="64Mi", quiet=True)
    assert oom.wait(timeout=30) == 137
    verdict = spec.check(machine, None)
    assert verdict.passed and "Docker logged an oom event" in verdict.sentence, verdict.sentence
    oom.remove()
    killed = lab.run("oom64", "busybox", "sleep 600", memory="64Mi", quiet=True)
    killed.stop(timeout=0)
    assert killed.wait() == 137
    verdict = spec.check(Machine(lab), None)
    assert not verdict.passed and "without an OOM kill" in verdict.sentence, verdict.sentence


# -- a learner at a terminal: the docker CLI, no labkit -------------------------------------

def docker(*argv: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=60,
                          check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout.strip()


@contextlib.contextmanager
def by_hand(*names: str):
    """Containers made by hand with these plain names; exactly those are removed after."""
    for name in names:
        exists = subprocess.run(["docker", "inspect", name], capture_output=True, check=False)
        need(exists.returncode != 0, f"a container named {name} exists already; not touching it")
    made: list[str] = []
    try:
        yield made
    finally:
        for container in reversed(made):
            docker("rm", "-f", "-v", container, check=False)


@pytest.fixture
def toolbox(lab):
    exercises.use(None)  # the check must not lean on the lab
    return lab.docker.toolbox()


@BY_HAND
def test_by_hand_oom64(toolbox):
    """As chapter 1 tells a learner at a terminal: the image by its plain name (labkit tags
    it latest), the docker command's own units (64m: clients from 23 on refuse 64Mi)."""
    with by_hand("oom64") as made:
        docker("create", "--name", "oom64", "--memory", "64m", "--memory-swap", "64m",
               "labkit/toolbox", "sh", "-c", "head -c 100m /dev/zero | tail >/dev/null")
        made.append("oom64")
        docker("start", "-a", "oom64", check=False)
        result = exercises.get("01.oom-64mi").check()
        assert result.passed, result.sentence


@BY_HAND
def test_by_hand_quarter_and_reset_removes_exactly_it(toolbox):
    with by_hand("quarter", "lk-0badc0de-quarter", "quarter-not-it") as made:
        for name in ("quarter", "lk-0badc0de-quarter", "quarter-not-it"):
            docker("run", "-d", "--name", name, "--cpus", "0.25", toolbox, "sleep", "3650d")
            made.append(name)
        ex = exercises.get("01.cpu-quarter")
        result = ex.check()
        assert result.passed, result.sentence
        assert ex.progress["last_sentence"] == result.sentence
        said = ex.reset()
        assert said == "Removed quarter; the recorded progress of 01.cpu-quarter stays."
        left = docker("ps", "-a", "--format", "{{.Names}}").split()
        assert "quarter" not in left  # another session's and a look-alike stay
        assert "lk-0badc0de-quarter" in left and "quarter-not-it" in left
        assert ex.progress["passed"]


@BY_HAND
def test_by_hand_quarter_of_another_period(toolbox):
    """Exactly 0.25 CPU is a ratio: 50 ms in every 200 ms passes as 25 in every 100 does."""
    with by_hand("quarter") as made:
        docker("run", "-d", "--name", "quarter", "--cpu-period", "200000", "--cpu-quota",
               "50000", toolbox, "sleep", "3650d")
        made.append("quarter")
        result = exercises.get("01.cpu-quarter").check()
        assert result.passed and "50000 µs in every 200000 µs" in result.sentence, \
            result.sentence


@BY_HAND
def test_by_hand_shared_pid(toolbox):
    names = ("shared-sandbox", "shared-app", "shared-sidecar")
    with by_hand(*names) as made:
        docker("run", "-d", "--name", "shared-sandbox", "--ipc", "shareable", toolbox,
               "sleep", "3650d")
        made.append("shared-sandbox")
        join = "container:shared-sandbox"
        for name in names[1:]:
            docker("run", "-d", "--name", name, "--network", join, "--ipc", join, "--pid", join,
                   toolbox, "sleep", "3650d")
            made.append(name)
        result = exercises.get("03.shared-pid").check()
        assert result.passed, result.sentence


@BY_HAND
def test_by_hand_pod_memory_192mi(toolbox, lab):
    layout = lab.node.layout
    need(lab.docker.cgroup_driver == "cgroupfs",
         "the by-hand pod parent is a cgroupfs directory (systemd hosts make a slice)")
    parent = f"/limited-by-hand-{os.getpid()}"
    memory = layout.for_controller("memory").directory(parent)
    limit_file = "memory.max" if layout.version == 2 else "memory.limit_in_bytes"
    names = ("limited-sandbox", "limited-app", "limited-sidecar")
    with by_hand(*names) as made:
        try:
            os.mkdir(memory)
            with open(os.path.join(memory, limit_file), "w") as handle:
                handle.write(str(192 * 2**20))
            for name in names:
                flags = ["--ipc", "shareable"] if name == "limited-sandbox" else [
                    "--network", "container:limited-sandbox", "--ipc",
                    "container:limited-sandbox", "--memory", "64m"]
                docker("create", "--name", name, "--cgroup-parent", parent, *flags, toolbox,
                       "sleep", "3650d")
                made.append(name)
                docker("start", name)
            result = exercises.get("03.pod-memory-192mi").check()
            assert result.passed, result.sentence
        finally:
            for container in reversed(made):
                docker("rm", "-f", "-v", container, check=False)
            made.clear()
            for mount in layout.mounts:  # Docker made the parent in the other hierarchies
                directory = mount.directory(parent)
                for _ in range(20):
                    if not (directory and os.path.isdir(directory)):
                        break
                    try:
                        os.rmdir(directory)
                    except OSError:
                        time.sleep(0.1)  # the last process is still leaving


# -- the sandbox-dies prediction: from the kernel while it lives, from the engine after -----

def test_sandbox_dies_is_judged_by_the_kernel_then_by_the_engine(lab):
    from labkit.exercises.ch03 import FOO_POD, KEEPS, KILLED

    ex = exercises.get("03.sandbox-dies")
    pod = lab.docker_pod(FOO_POD, quiet=True)
    pod.kill_sandbox()
    result = ex.check(KEEPS)
    assert result.passed and "Docker says the sidecar still runs" in result.sentence
    pod.delete()
    sleeper = {"image": "busybox", "command": "sleep 3650d"}
    pod = lab.docker_pod(name="foo", share_process_namespace=True, quiet=True,
                              containers={"app": sleeper, "sidecar": sleeper})
    result = ex.check(KILLED)
    assert result.passed and "in the sandbox's PID namespace" in result.sentence
    sidecar = pod["sidecar"]
    pod.kill_sandbox()
    deadline = time.monotonic() + 10
    while sidecar.state.get("Running") and time.monotonic() < deadline:
        time.sleep(0.1)
    result = ex.check(KILLED)
    assert result.passed and "the sandbox does not run and the sidecar is" in result.sentence


def test_reset_removes_what_the_lab_made_for_the_exercise(lab):
    ex = exercises.get("03.shared-pid")
    ex.spec.solution(lab)
    other = lab.run("shared", "busybox", "sleep 3650d", quiet=True)  # not an exercise name
    parent = lab.pods[-1].cgroup_parent
    said = ex.reset()
    assert said == ("Removed pod shared (emulated with Docker); the recorded progress of "
                    "03.shared-pid stays.")
    assert lab.docker.session_containers() == [other.engine_name]
    assert not any(os.path.isdir(m.mountpoint + parent)  # the whole pod went
                   for m in lab.node.layout.mounts)
    assert "There is no container named shared-app yet" in ex.check().sentence
