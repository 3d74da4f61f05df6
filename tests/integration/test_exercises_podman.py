"""Chapter 5 exercises against labkit's real Podman (Debian's 4.3) and the kernel.

For every exercise: untouched, the check fails with its "not done yet" sentence; the
reference solution passes; each wrong solution fails with its sentence. Then the *do*
exercises solved by hand with the podman CLI against labkit's podman (no lab.podman_pod),
and the pods that do not count: another name, another session's. One Lab (and one podman
service) serves the module; each test removes what it made, and pod foo, which the *find*
and *predict* exercises read, is made once and removed before anything that needs a
machine without it. At the end nothing of the session is left: no pod, container, service,
socket or pod cgroup.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from labkit import exercises
from labkit.exercises.core import REGISTRY
from labkit.exercises.machine import Machine
from labkit.exercises.pods import find_podman_pod
from labkit.runtimes.podman.service import podman_command, podman_environment, remove_pod_cgroups
from labkit.session import SESSION_LABEL
from tests.integration.exercise_lab import own_progress, wrong_then_right  # noqa: F401
from tests.integration.test_podman_pod import made_with_podman, session_pod_ids

exercises.exercises()  # load the registry
IDS = [i for i in REGISTRY if i.startswith("05.")]


def podman(*args: str, url: str | None = None) -> str:
    """The podman CLI, as a learner types it: on labkit's podman, directly (its storage and
    configuration) or through a session's socket (``podman --url unix://...``)."""
    argv = ["podman", "--url", f"unix://{url}", *args] if url else podman_command(*args)
    done = subprocess.run(argv, env=podman_environment(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def labelled(lab) -> list[str]:
    """The session's labels as podman flags, so that the lab's close removes a pod made by
    hand too, if a test stops half-way."""
    return [part for key, value in lab.session.labels.items()
            for part in ("--label", f"{key}={value}")]


def remove(name: str, made) -> None:
    """``podman pod rm -f`` by hand, and what Podman's cgroupfs manager leaves of the pod
    (as the lab does for its own pods); the pod's id is kept to look for its traces."""
    pod_id = podman("pod", "inspect", "--format", "{{.ID}}", name)
    made.pod_ids.append(pod_id)
    podman("pod", "rm", "-f", "-t", "0", name)
    remove_pod_cgroups([pod_id])


@pytest.fixture(scope="module")
def made(docker_client):
    yield from made_with_podman()


@pytest.mark.parametrize("exercise_id", IDS)
def test_untouched_machine_fails_with_not_done_yet(exercise_id, made):
    """Nothing made yet, as this kernel sees it and as another kernel, without labkit's
    podman, does: not judged, so no try is counted and no hint unlocked (running every
    cell of the chapter spends nothing), and the sentence names what makes it."""
    ex = exercises.get(exercise_id)
    made.drop()
    exercises.use(None)  # the checks find this process's sessions by themselves
    untouched = ex.check(None if ex.kind == "do" else ex.spec.example)
    assert not untouched.passed and not untouched.counted
    assert ex.progress["tries"] == 0 and ex.progress["hints"] == 0
    assert "«" in untouched.sentence  # the section whose cell makes it
    assert ex.spec.untouched in untouched.sentence, untouched.sentence
    assert "(this kernel has not started it)" not in untouched.sentence  # the module's lab did
    other_kernel = Machine()
    other_kernel.prefixes = lambda: {""}  # none of this process's sessions
    verdict = ex.spec.check(other_kernel, None if ex.kind == "do" else ex.spec.form(
        ex.spec.example))
    assert not verdict.passed and "(this kernel has not started it)" in verdict.sentence
    for said in (untouched.sentence, verdict.sentence):
        assert "\n" not in said and said.endswith("."), said


@pytest.mark.parametrize("exercise_id", IDS)
def test_each_wrong_solution_then_the_reference(exercise_id, made):
    """In a learner's order, against pod foo made once for the find and predict exercises."""
    exercises.use(made.lab)
    wrong_then_right(exercises.get(exercise_id), made, tries=0)


def test_conmon_cgroup_as_a_directory_or_in_another_hierarchy(made):
    ex = exercises.get("05.conmon-cgroup")
    exercises.use(made.lab)
    made.prepare(ex.spec.setup)
    line = ex.spec.solution(made.lab)
    path = line.split(":", 1)[1] if not line.startswith("0::") else line[3:]
    mount = made.lab.node.layout.for_controller("memory")
    assert "conmon" in path  # cgroupfs: <pod cgroup>/conmon; systemd: libpod-conmon-<id>
    assert ex.check(mount.directory(path)).passed
    result = ex.check(f"cpu:{path}")
    assert not result.passed and "is not the memory hierarchy" in result.sentence
    result = ex.check(f"/sys/fs/cgroup/lk-nowhere{path}")
    assert not result.passed and "is not in the memory hierarchy" in result.sentence
    assert ex.progress["tries"] == 3


# -- a learner at a terminal: the podman CLI on labkit's podman, no lab.podman_pod ----------

@pytest.fixture
def bare(made):
    """The module's lab without pod foo; after the test, what it made by hand (labelled with
    the session) goes with the podman command itself, and what the lab made with the lab."""
    made.drop()
    exercises.use(made.lab)
    yield made.lab
    for pod_id in session_pod_ids(made.lab):
        remove(pod_id, made)
    made.drop()


@pytest.fixture
def by_hand(bare):
    """As ``bare``, with the checks of a fresh kernel: this process's sessions, found alone."""
    exercises.use(None)
    return bare


def test_shared_pid_by_hand_with_the_podman_cli(made, by_hand):
    ex = exercises.get("05.shared-pid")
    podman("pod", "create", "--name", "shared", "--network", "none", *labelled(by_hand))
    podman("run", "-d", "--pod", "shared", "--name", "shared-app", *labelled(by_hand),
           by_hand.podman.toolbox_image, "sleep", "3650d")
    result = ex.check()
    assert not result.passed and "its own, not the infra container's" in result.sentence
    remove("shared", made)
    podman("pod", "create", "--name", "shared", "--share", "+pid", "--network", "none",
           *labelled(by_hand))
    podman("run", "-d", "--pod", "shared", "--name", "shared-app", *labelled(by_hand),
           by_hand.podman.toolbox_image, "sleep", "3650d")
    result = ex.check()
    assert result.passed, result.sentence
    assert "its PID 1 is pause" in result.sentence


def test_lonely_by_hand_through_the_sessions_socket(by_hand):
    ex = exercises.get("05.lonely")
    socket = by_hand.podman.socket
    podman("pod", "create", "--name", "lonely", "--network", "none", *labelled(by_hand),
           url=socket)
    podman("run", "-d", "--pod", "lonely", "--name", "lonely-app", *labelled(by_hand),
           by_hand.podman.toolbox_image, "sleep", "3650d", url=socket)
    assert "infra container still runs" in ex.check().sentence
    infra = podman("pod", "inspect", "--format", "{{.InfraContainerID}}", "lonely", url=socket)
    podman("kill", infra, url=socket)
    podman("wait", infra, url=socket)
    result = ex.check()
    assert result.passed, result.sentence
    assert "Pod lonely is degraded" in result.sentence


def test_another_name_or_another_sessions_pod_does_not_count(made, by_hand):
    """shared2 is not shared; a pod labelled with a session this process does not own is
    another kernel's, whether named shared or lk-<that session>-shared."""
    other = "0badcafe"
    assert other != by_hand.session.id
    image = by_hand.podman.toolbox_image
    made_here = []
    try:
        for name, label in (("shared2", by_hand.session.id), ("shared", other),
                            (f"lk-{other}-shared", other)):
            podman("pod", "create", "--name", name, "--share", "+pid", "--network", "none",
                   "--label", f"{SESSION_LABEL}={label}")
            made_here.append(name)
            podman("run", "-d", "--pod", name, "--name", f"{name}-app", "--label",
                   f"{SESSION_LABEL}={label}", image, "sleep", "3650d")
        result = exercises.get("05.shared-pid").check()
        assert not result.passed
        assert "There is no pod named shared on labkit's podman yet" in result.sentence
    finally:
        for name in made_here:
            remove(name, made)


def test_reset_deletes_the_exercises_podman_pod_whole(made, bare):
    ex = exercises.get("05.shared-pid")
    ex.spec.solution(bare)
    pod = bare.pods[-1]
    made.pod_ids.append(pod.id)
    assert ex.check().passed
    said = ex.reset()
    assert said == ("Removed pod shared (on labkit's podman); the recorded progress of "
                    "05.shared-pid stays.")
    assert find_podman_pod(Machine(bare), "shared")[0] is None
    assert not any(os.path.isdir(m.mountpoint + pod.cgroup_parent)
                   for m in bare.node.layout.mounts)
    assert "There is no pod named shared" in ex.check().sentence
    assert ex.progress["passed"]
