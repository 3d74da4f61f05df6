"""Chapter 6 exercises against the real kernel: pods from scratch, checked from their
cgroups and namespace links alone (there is no engine to ask).

For every exercise: untouched, the check fails with its "not done yet" sentence (and a
kernel owning none of this process's sessions sees nothing); each wrong solution fails with
its sentence; the reference passes. Then the third container started from a terminal, as
a learner pastes pod.join_commands(...), and reset; and the find exercise once pause is
killed, which judges nothing. One Lab serves the module; at the end
nothing of its session is left: no pod directory, cgroup or process.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

import labkit
from labkit import exercises
from labkit.cleanup import lab_cgroup_dirs
from labkit.exercises.core import REGISTRY
from labkit.exercises.machine import Machine
from labkit.runtimes.scratch import rootfs
from tests.integration.exercise_lab import Made, own_progress, wrong_then_right  # noqa: F401

exercises.exercises()  # load the registry
IDS = [i for i in REGISTRY if i.startswith("06.")]


@pytest.fixture(scope="module")
def made():
    if os.geteuid() != 0:
        pytest.skip("a pod from scratch needs root")
    lab = labkit.Lab(gather="direct", watch_owner=False)
    try:
        yield Made(lab)
    finally:
        lab.close()
    assert lab_cgroup_dirs(lab.node.layout, lab.session.id) == []
    assert not [d for d in os.listdir(rootfs.BASE) if d.startswith(lab.session.prefix)]


def test_there_are_three(made):
    assert IDS == ["06.joined-namespaces", "06.pause-pid", "06.third-container"]


@pytest.mark.parametrize("exercise_id", IDS)
def test_untouched_then_each_wrong_solution_then_the_reference(exercise_id, made):
    ex = exercises.get(exercise_id)
    made.drop()
    exercises.use(None)  # the checks find this process's sessions by themselves
    untouched = ex.check(None if ex.kind == "do" else ex.spec.example)
    assert not untouched.passed and not untouched.counted  # nothing there yet: no try
    assert not ex.hints()  # and no hint unlocked
    assert ex.spec.untouched in untouched.sentence, untouched.sentence
    exercises.use(made.lab)
    if ex.spec.setup is not None:
        made.prepare(ex.spec.setup)
    other_kernel = Machine(made.lab)
    other_kernel.prefixes = lambda: {""}  # a kernel that owns none of these sessions
    verdict = ex.spec.check(other_kernel, None if ex.kind == "do" else ex.spec.form(
        ex.spec.example))
    assert not verdict.passed and ex.spec.untouched in verdict.sentence
    wrong_then_right(ex, made, tries=untouched.counted)
    for said in (untouched.sentence, verdict.sentence):
        assert "\n" not in said and said.endswith("."), said


def test_the_third_container_from_a_terminal_then_reset(made):
    made.drop()
    exercises.use(made.lab)
    ex = exercises.get("06.third-container")
    pod = made.lab.scratch_pod(name="trio", containers={"app": {"image": "busybox",
                                                               "command": "sleep 600"}},
                               quiet=True)
    lines = pod.join_commands("debug", "sleep 600")
    subprocess.run(["bash", "-c", "\n".join(lines)], check=True, timeout=30)
    deadline = time.monotonic() + 15  # the lines start debug in the background, as typed
    while not ex.judge().passed and time.monotonic() < deadline:
        time.sleep(0.2)
    result = ex.check()
    assert result.passed, result.sentence
    memory = made.lab.node.layout.for_controller("memory").directory(pod.cgroup_parent)
    with open(f"{memory}/debug/cgroup.procs") as handle:
        debug = handle.read().split()
    assert debug
    # the pasted lines make debug's cgroup as the others': in every hierarchy the app is in
    # (on cgroup v1 the cpuset one too, its cpus and mems copied), none left behind
    app = made.lab.node.cgroups(pod["app"].pid)
    seen = made.lab.node.cgroups(debug[0])
    assert {h for h, path in seen.items() if path == f"{pod.cgroup_parent}/debug"} == \
        {h for h, path in app.items() if path == f"{pod.cgroup_parent}/app"}
    said = ex.reset()
    assert "pod trio (from scratch)" in str(said)
    assert pod.state == "deleted"
    assert not any(os.path.exists(f"/proc/{pid}") for pid in debug)
    assert not ex.check().passed


def test_the_pause_pid_once_pause_is_killed_is_not_judged(made):
    """The chapter kills pause after the card: an answer then judges nothing (no try, no
    hint) and says how to make foo again."""
    exercises.use(made.lab)
    ex = exercises.get("06.pause-pid")
    made.prepare(ex.spec.setup)
    pause = ex.spec.solution(made.lab)
    foo = next(p for p in reversed(made.lab.pods) if p.name == "foo" and p.state != "deleted")
    foo.kill_sandbox()
    try:
        verdict = ex.check(pause)
        assert not verdict.passed and not verdict.counted, verdict.sentence
        assert not ex.hints()
        assert "When pause dies" in verdict.sentence and "pod.delete()" in verdict.sentence
    finally:
        ex.reset()
        made.drop()
