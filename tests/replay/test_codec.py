"""The recording's JSON gives back exactly what labkit's objects returned."""

from __future__ import annotations

import dataclasses
import json

import pytest

from labkit.exercises.core import Sentence
from labkit.model import CgroupState, ExecResult, Limits
from labkit.replay import TAPES, Tape
from labkit.replay.codec import decode, encode, find_type
from labkit.replay.tape import GET, argument_text
from labkit.watch import Watch


def no_live(obj):
    raise AssertionError(f"{obj!r} was taken for a live object")


def test_values_keep_their_types():
    value = {"tuple": (1, "a", None), "set": frozenset({"net", "ipc"}), "ints": {4: "x"},
             "sentence": Sentence("Right."), "exec": ExecResult(0, "hi\n"),
             "state": CgroupState("/docker/x", Limits(memory_bytes=512, cpu_quota_us=50_000,
                                                   cpu_period_us=100_000))}
    data = json.loads(json.dumps(encode(value, no_live)))
    back = decode(data, lambda name: pytest.fail(name))
    assert back == value
    assert type(back["tuple"]) is tuple and type(back["set"]) is frozenset
    assert type(back["sentence"]) is Sentence and repr(back["sentence"]) == "Right."
    assert back["state"].limits.cpus == 0.5


def test_a_watch_keeps_how_it_ended():
    watch = Watch([], ended="until")
    back = decode(encode(watch, no_live), lambda name: None)
    assert isinstance(back, Watch) and back.ended == "until" and list(back) == []


def test_what_is_not_data_is_named_and_given_back_by_name():
    class Engine:  # anything that is not data: a container, a pod, the node reader
        pass

    engine = Engine()
    data = encode([engine, {"it": engine}], lambda obj: "lab.docker")
    assert data == [{"$live": "lab.docker"}, {"$dict": {"it": {"$live": "lab.docker"}}}]
    assert decode(data, lambda name: f"<{name}>") == ["<lab.docker>", {"it": "<lab.docker>"}]


def test_arguments_are_stable_text():
    def name_of(value):
        return "lab.run('foo')" if value == "PROXY" else None

    text = argument_text(("PROXY", lambda s: s, "x" * 100), {"seconds": 120}, name_of)
    first, function, digest, seconds = text.split(", ")
    assert first == "lab.run('foo')" and function == "<function>"
    assert digest.startswith("<str ") and seconds == "seconds=120"
    assert argument_text((test_arguments_are_stable_text,), {}, name_of) == \
        f"<function {__name__}.test_arguments_are_stable_text>"


def without_new_fields(again, recorded):
    """``again`` without the dataclass fields ``recorded`` lacks that hold their default."""
    if isinstance(again, list) and isinstance(recorded, list) and len(again) == len(recorded):
        return [without_new_fields(a, r) for a, r in zip(again, recorded, strict=True)]
    if not (isinstance(again, dict) and isinstance(recorded, dict)):
        return again
    if "$data" in again and "$data" in recorded:
        defaults = {f.name: f.default for f in dataclasses.fields(find_type(again["$data"]))}
        fields = {k: without_new_fields(v, recorded["v"].get(k)) for k, v in again["v"].items()
                  if k in recorded["v"] or v != defaults.get(k)}
        return {**again, "v": fields}
    return {k: without_new_fields(v, recorded.get(k)) for k, v in again.items()}


@pytest.mark.parametrize("chapter", sorted(p.stem for p in TAPES.glob("*.json")))
def test_every_recorded_answer_reads_back_and_writes_the_same(chapter):
    """Each answer of the shipped recordings decodes to labkit's own types and encodes to
    the same JSON: nothing in them is lost on the way. The one difference allowed is a
    field labkit's types gained since the recording, which reads back as its default."""
    tape = Tape.load(chapter)
    assert tape.host and tape.recorded
    count = 0
    names = {}
    for who, whats in tape.answers.items():
        for what, calls in whats.items():
            for args, answers in calls.items():
                for answer in answers:
                    if "v" not in answer:
                        assert answer["raise"] and isinstance(answer["args"], list)
                        continue
                    value = decode(answer["v"], lambda name: names.setdefault(name, object()))
                    again = encode(value, lambda obj: next(n for n, o in names.items()
                                                           if o is obj))
                    assert without_new_fields(again, answer["v"]) == answer["v"], (
                        who, what, args)
                    count += 1
            assert GET not in calls or len(calls) == 1, f"{who}.{what} is read and called"
    assert count > 10
