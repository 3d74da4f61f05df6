"""Chapters 2, 4 and 8 exercises against real Docker, labkit's containerd and the kernel.

For every exercise: untouched, the check fails with its "not done yet" sentence; the
reference solution passes; each wrong solution fails with its sentence. One Lab (and one
containerd) serves the module; each test removes what it made, and the chapter state a
*find* or *predict* exercise reads is made once per chapter and removed before anything
that needs a machine without it.
"""

from __future__ import annotations

import os
import time

import pytest

from labkit import exercises
from labkit.exercises import ch04
from labkit.exercises.core import REGISTRY
from labkit.exercises.machine import Machine
from labkit.exercises.pods import CRI, SLEEPER, find_cri_pod
from tests.conftest import need
from tests.integration.exercise_lab import made_by_a_lab, own_progress  # noqa: F401 - autouse

exercises.exercises()  # load the registry
IDS = [i for i in REGISTRY if i.split(".")[0] in ("02", "04", "08")]
DO = [i for i in IDS if REGISTRY[i].kind == "do"]
READ = [i for i in IDS if REGISTRY[i].kind != "do"]
WRONG_DO = [(i, n) for i in DO for n in range(len(REGISTRY[i].wrong))]


@pytest.fixture(scope="module")
def made(docker_client):
    need(os.geteuid() == 0, "labkit's containerd and pod cgroups need root")
    yield from made_by_a_lab("containerd")


@pytest.fixture
def lab(made):
    """The module's lab; what the test makes (beyond the chapter state) goes after it."""
    exercises.use(made.lab)
    keep = made.base | made.prepared
    yield made.lab
    made.undo(keep=keep | made.prepared)


@pytest.mark.parametrize("exercise_id", IDS)
def test_untouched_machine_fails_with_not_done_yet(exercise_id, made):
    made.drop()
    exercises.use(None)  # the checks find this process's sessions by themselves
    ex = exercises.get(exercise_id)
    result = ex.check(None if ex.kind == "do" else ex.spec.example)
    assert not result.passed
    assert ex.spec.untouched in result.sentence, result.sentence
    assert not result.counted  # nothing of the learner's yet: no try, no hint (do checks too)
    assert "\n" not in result.sentence and result.sentence.endswith(".")


@pytest.mark.parametrize("exercise_id", ["02.hostnet", "02.pause-pid", "04.pod-memory-limit"])
def test_without_a_containerd_in_this_kernel_the_check_says_so(exercise_id, made):
    machine = Machine()
    machine.prefixes = lambda: {""}  # another kernel: none of this process's sessions
    spec = REGISTRY[exercise_id]
    verdict = spec.check(machine, None if spec.kind == "do" else spec.form(spec.example))
    assert not verdict.passed and "(this kernel has not started one)" in verdict.sentence
    assert not verdict.counted


@pytest.mark.parametrize("exercise_id", READ)
def test_read_exercise_reference_and_wrong_answers(exercise_id, made, lab):
    ex = exercises.get(exercise_id)
    made.prepare(ex.spec.setup)
    result = ex.check(ex.spec.solution(lab))
    assert result.passed, result.sentence
    assert ex.progress["passed"] and ex.progress["tries"] == 1
    for wrong in ex.spec.wrong:
        result = ex.check(wrong.solve(lab))
        assert not result.passed and result.counted, result.sentence
        assert wrong.expect in result.sentence, result.sentence


@pytest.mark.parametrize("exercise_id", DO)
def test_do_reference_solution_passes(exercise_id, lab):
    ex = exercises.get(exercise_id)
    ex.spec.solution(lab)
    result = ex.check()
    assert result.passed, result.sentence
    assert ex.progress["passed"] and ex.progress["tries"] == 1


@pytest.mark.parametrize(("exercise_id", "which"), WRONG_DO)
def test_do_wrong_solution_fails_with_its_sentence(exercise_id, which, lab):
    ex = exercises.get(exercise_id)
    wrong = ex.spec.wrong[which]
    wrong.solve(lab)
    result = ex.check()
    assert not result.passed and result.counted
    assert wrong.expect in result.sentence, result.sentence
    assert ex.hints() == list(ex.spec.hints[:1])  # the failure unlocked the first hint


def test_a_cri_pod_of_another_name_or_the_emulated_twin_alone_does_not_count(lab):
    lab.cri_pod(name="hostnet2", containers={"app": SLEEPER}, host_network=True,
                quiet=True)
    assert "There is no pod named hostnet on" in exercises.get("02.hostnet").check().sentence
    lab.docker_pod(name="twin", containers={"app": {**SLEEPER, "memory": "96Mi"}},
                   quiet=True)
    result = exercises.get("04.twin-96mi").check()
    assert not result.passed and "There is no pod named twin on" in result.sentence


def test_sandbox_dies_is_judged_from_containerd_once_pause_is_gone(made, lab):
    made.drop()  # its own pods foo, which this test breaks
    ex = exercises.get("04.sandbox-dies")
    ch04.setup_chapter(lab)
    pod = CRI.seen_in_lab(lab, "foo")
    os.kill(pod.pause_pid, 9)
    deadline = time.monotonic() + 10
    while CRI.seen_in_lab(lab, "foo").ready and time.monotonic() < deadline:
        time.sleep(0.05)
    result = ex.check(ch04.KEEPS)
    assert result.passed, result.sentence
    assert "the CRI pod's sandbox is NotReady and containerd says its app runs" in \
        result.sentence
    assert not ex.check(ch04.KILLED).passed


@pytest.mark.parametrize(("exercise", "pod"), [("02.hostnet", "hostnet"), ("08.lean", "lean")])
def test_reset_deletes_the_exercises_cri_pod_whole(made, lab, exercise, pod):
    """Reset removes the lab's pod of the exercise's name: its sandbox and its pod cgroup."""
    ex = exercises.get(exercise)
    ex.spec.solution(lab)
    cgroup = lab.pods[-1].cgroup_parent
    assert ex.check().passed
    said = ex.reset()
    assert said == (f"Removed pod {pod} (on labkit's containerd); the recorded progress of "
                    f"{exercise} stays.")
    assert find_cri_pod(Machine(lab), pod)[0] is None
    assert not any(os.path.isdir(m.mountpoint + cgroup) for m in lab.node.layout.mounts)
    assert f"There is no pod named {pod}" in ex.check().sentence


# -- chapter 8: the Pod of today ----------------------------------------------------------

def test_chapter_8_has_a_predict_a_find_and_a_do():
    assert {REGISTRY[i].kind for i in IDS if i.startswith("08.")} >= {"predict", "find", "do"}


def test_the_prediction_counts_its_first_answer_only(made, lab):
    ex = exercises.get("08.pod-memory")
    made.prepare(ex.spec.setup)
    assert not ex.check("896 MiB").passed
    assert ex.check(ex.spec.solution(lab)).passed
    assert ex.progress["first_answer"] == "896 MiB" and not ex.progress["passed"]


def test_the_debugger_gone_is_not_judged(made, lab):
    """pid-one reads the debugger's namespace: while it does not run, no try."""
    made.prepare(REGISTRY["08.pid-one"].setup)
    pod = next(p for p in reversed(lab.pods) if p.name == "today")
    cri = lab.containerd.cri
    cri.call("StopContainer", cri.pb.StopContainerRequest(
        container_id=pod.containers["debugger"].id, timeout=0))
    try:
        result = exercises.get("08.pid-one").check(4242)
        assert not result.counted and "debugger" in result.sentence, result.sentence
    finally:
        made.drop()  # the chapter state is broken: made again by the next test that needs it


def test_lean_made_with_yaml_passes_too(lab):
    """The check reads the machine: a manifest with spec.resources is as good as keywords."""
    lab.cri_pod("""\
apiVersion: v1
kind: Pod
metadata: {name: lean}
spec:
  resources: {limits: {memory: 128Mi}}
  containers:
  - {name: web, image: busybox, command: [sleep, 3650d]}
  - {name: side, image: busybox, command: [sleep, 3650d]}
""", quiet=True)
    result = exercises.get("08.lean").check()
    assert result.passed, result.sentence
