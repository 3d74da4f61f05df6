"""Chapter 7 exercises against the real engines and kernel: the new sandbox's IP (labkit's
containerd, host-local's files), the node's end of the Docker pod's eth0, a pod from
scratch plumbed by hand.

For every exercise: untouched, the check is not judged (no try, no hint) and says which
cell makes what is missing (and a kernel owning none of this process's sessions sees
nothing); each wrong solution fails with its sentence; the reference passes. Then the
*do* exercise done as a learner does it, line by line in a terminal, and reset; and the
prediction once foo's pause is killed, which judges nothing. One Lab serves the module; at
the end nothing of its session is left: no container, link, bridge or rule.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from labkit import exercises
from labkit.exercises.core import REGISTRY
from labkit.exercises.machine import Machine
from labkit.node import firewall
from labkit.node import network as reader
from tests.conftest import need
from tests.integration.exercise_lab import (  # noqa: F401
    Made,
    made_by_a_lab,
    own_progress,
    wrong_then_right,
)

exercises.exercises()  # load the registry
IDS = [i for i in REGISTRY if i.startswith("07.")]


def _network_traces(lab) -> list[str]:
    return reader.lab_links(lab.session.id) + firewall.session_rules(lab.session.id)


@pytest.fixture(scope="module")
def made(docker_client):
    need(os.geteuid() == 0, "chapter 7 enters network namespaces and makes links as root")
    yield from made_by_a_lab("containerd", traces=_network_traces)


def test_there_are_three(made):
    assert IDS == ["07.new-sandbox-ip", "07.docker-peer", "07.plumb-solo"]
    assert [REGISTRY[i].kind for i in IDS] == ["predict", "find", "do"]


@pytest.mark.parametrize("exercise_id", IDS)
def test_untouched_then_each_wrong_solution_then_the_reference(exercise_id, made):
    ex = exercises.get(exercise_id)
    made.drop()
    exercises.use(None)  # the checks find this process's sessions by themselves
    untouched = ex.check(None if ex.kind == "do" else ex.spec.example)
    assert not untouched.passed and not untouched.counted, untouched.sentence
    assert not ex.hints()  # no hint unlocked
    assert ex.spec.untouched in untouched.sentence, untouched.sentence
    exercises.use(made.lab)
    if ex.spec.setup is not None:
        made.prepare(ex.spec.setup)
    other_kernel = Machine(made.lab)
    other_kernel.prefixes = lambda: {""}  # a kernel that owns none of these sessions
    verdict = ex.spec.check(other_kernel, None if ex.kind == "do" else ex.spec.form(
        ex.spec.example))
    assert not verdict.passed and ex.spec.untouched in verdict.sentence, verdict.sentence
    wrong_then_right(ex, made, tries=untouched.counted)
    for said in (untouched.sentence, verdict.sentence):
        assert "\n" not in said and said.endswith("."), said


def test_solo_plumbed_line_by_line_in_a_terminal_then_reset(made):
    ex = exercises.get("07.plumb-solo")
    exercises.use(made.lab)
    made.prepare(ex.spec.setup)
    solo = made.lab.scratch_pod(name="solo", containers={"app": {"image": "busybox",
                                                                "command": "sleep 600"}},
                                quiet=True)
    first = ex.check()
    assert not first.passed and first.counted and "no eth0" in first.sentence
    for line in solo.network_commands():  # as pasted into a root terminal, one by one
        subprocess.run(["bash", "-c", line], check=True, timeout=30)
    result = ex.check()
    assert result.passed, result.sentence
    host_end = made.lab.network(solo).peers["eth0"].name
    said = ex.reset()
    assert "pod solo (from scratch)" in str(said) and solo.state == "deleted"
    assert host_end not in {link.name for link in reader.node_links()}
    assert not ex.check().passed
    made.drop()


def test_the_prediction_once_pause_is_killed_is_not_judged(made):
    """The chapter kills foo's pause right after the card: an answer then judges nothing
    (no try, no hint) and says to make foo again (the section's next cells do)."""
    exercises.use(made.lab)
    ex = exercises.get("07.new-sandbox-ip")
    made.prepare(ex.spec.setup)
    answer = ex.spec.solution(made.lab)
    foo = next(p for p in reversed(made.lab.pods) if p.name == "foo" and p.state != "deleted")
    foo.kill_sandbox()
    try:
        verdict = ex.check(answer)
        assert not verdict.passed and not verdict.counted, verdict.sentence
        assert not ex.hints()
        assert "NotReady" in verdict.sentence and "«When pause dies»" in verdict.sentence
    finally:
        made.drop()


def test_solo_without_web_is_not_judged(made):
    """web is the chapter's to make, not the learner's: without it solo's check counts no
    try and names the cells that make web."""
    exercises.use(made.lab)
    ex = exercises.get("07.plumb-solo")
    made.drop()
    made.lab.scratch_pod(name="solo", containers={"app": {"image": "busybox",
                                                         "command": "sleep 600"}}, quiet=True)
    try:
        verdict = ex.check()
        assert not verdict.passed and not verdict.counted, verdict.sentence
        assert "no pod from scratch named web" in verdict.sentence, verdict.sentence
    finally:
        made.drop()
