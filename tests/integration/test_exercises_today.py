"""Chapter 8 exercises against labkit's containerd, real Docker and the kernel.

For every exercise: untouched, the check is not judged and says what is missing; the
reference solution passes; each wrong solution fails with its sentence. One Lab (and one
containerd) serves the module; each test removes what it made, and the chapter state a
*find* or *predict* exercise reads (pod today, its debugger) is made once and kept.
"""

from __future__ import annotations

import os

import pytest

import labkit.exercises.ch08  # noqa: F401 - registers chapter 8 (before it is in the catalog)
from labkit import exercises
from labkit.exercises.core import REGISTRY
from labkit.exercises.machine import Machine
from labkit.exercises.pods import find_cri_pod
from tests.conftest import need
from tests.integration.exercise_lab import made_by_a_lab, own_progress  # noqa: F401 - autouse

IDS = [i for i in REGISTRY if i.split(".")[0] in ("08",)]
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


def test_chapter_8_has_a_predict_a_find_and_a_do():
    assert {REGISTRY[i].kind for i in IDS} >= {"predict", "find", "do"}


@pytest.mark.parametrize("exercise_id", IDS)
def test_untouched_machine_is_not_judged(exercise_id, made):
    made.drop()
    exercises.use(None)  # the checks find this process's sessions by themselves
    ex = exercises.get(exercise_id)
    result = ex.check(None if ex.kind == "do" else ex.spec.example)
    assert not result.passed
    assert ex.spec.untouched in result.sentence, result.sentence
    assert not result.counted  # nothing of the learner's yet: no try, no hint
    assert "\n" not in result.sentence and result.sentence.endswith(".")


@pytest.mark.parametrize("exercise_id", READ)
def test_read_exercise_reference_and_wrong_answers(exercise_id, made, lab):
    ex = exercises.get(exercise_id)
    made.prepare(ex.spec.setup)
    result = ex.check(ex.spec.solution(lab))
    assert result.passed, result.sentence
    assert ex.progress["tries"] == 1
    for wrong in ex.spec.wrong:
        result = ex.check(wrong.solve(lab))
        assert not result.passed and result.counted, result.sentence
        assert wrong.expect in result.sentence, result.sentence


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
    assert not result.passed and result.counted, result.sentence
    assert wrong.expect in result.sentence, result.sentence
    assert ex.hints() == list(ex.spec.hints[:1])  # the failure unlocked the first hint


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


def test_reset_deletes_lean_whole(made, lab):
    ex = exercises.get("08.lean")
    ex.spec.solution(lab)
    cgroup = lab.pods[-1].cgroup_parent
    assert ex.check().passed
    said = ex.reset()
    assert said == "Removed pod lean (on labkit's containerd); the recorded progress of " \
                   "08.lean stays."
    assert find_cri_pod(Machine(lab), "lean")[0] is None
    assert not any(os.path.isdir(m.mountpoint + cgroup) for m in lab.node.layout.mounts)
