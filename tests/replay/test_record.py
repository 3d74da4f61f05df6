"""Recording and replaying any object's answers: the proxies, on a small real class.

The recorder is generic (it records whatever the real object answers); these tests drive
it with a plain Python class so that the bookkeeping itself is checked: paths, order,
errors and prints. The real engines' answers are recorded by ./lab record and replayed in
tests/replay/test_replay.py and tests/notebooks/test_replay_nbval.py."""

from __future__ import annotations

import json

import pytest

from labkit.errors import LabError
from labkit.model import ExecResult
from labkit.replay.play import NotRecorded, Player, ReplayProxy
from labkit.replay.record import Recorder
from labkit.replay.tape import Tape


class Box:
    """Stands for a container: it has a name, a status that changes, and runs commands."""

    def __init__(self, name: str) -> None:
        self.name, self.status = name, "running"

    def exec(self, command: str) -> ExecResult:
        print(f"running {command} in {self.name}")
        return ExecResult(0, f"{self.name}: {command}\n")

    def stop(self) -> None:
        self.status = "exited"


class Maker:
    """Stands for a lab: hands out boxes, refuses bad names."""

    def run(self, name: str) -> Box:
        if not name.isalnum():
            raise LabError(f"{name!r} is not a name: use letters and digits.")
        return Box(name)


def record_then_replay(play):
    tape = Tape("99")
    lab = Recorder(tape).proxy(Maker(), "lab")
    recorded = play(lab)
    tape = Tape(**json.loads(json.dumps(tape.__dict__)))  # through JSON, as shipped
    return recorded, play(ReplayProxy(Player(tape), "lab"))


def test_the_same_call_twice_hands_out_two_objects_and_each_answers_for_itself(capsys):
    def play(lab):
        first, second = lab.run("foo"), lab.run("foo")
        second.stop()
        return [first.status, second.status, first.exec("hostname").output]

    recorded, replayed = record_then_replay(play)
    assert recorded == replayed == ["running", "exited", "foo: hostname\n"]
    assert capsys.readouterr().out == "running hostname in foo\n" * 2  # printed again


def test_a_value_that_changed_changes_again_in_order():
    def play(lab):
        box = lab.run("foo")
        seen = [box.status]
        box.stop()
        return [*seen, box.status, box.status]

    recorded, replayed = record_then_replay(play)
    assert recorded == replayed == ["running", "exited", "exited"]


def test_an_error_is_raised_again_with_its_words():
    def play(lab):
        with pytest.raises(LabError) as raised:
            lab.run("no such!")
        return str(raised.value)

    recorded, replayed = record_then_replay(play)
    assert recorded == replayed == "'no such!' is not a name: use letters and digits."


def test_what_was_never_asked_is_not_recorded():
    tape = Tape("99")
    assert Recorder(tape).proxy(Maker(), "lab").run("foo").status == "running"
    lab = ReplayProxy(Player(tape), "lab")
    assert lab.run("foo").status == "running"
    with pytest.raises(NotRecorded, match=r"lab\.run\('bar'\) was not part of it"):
        lab.run("bar")
    with pytest.raises(NotRecorded, match=r"never used lab\.run\('foo'\)\.name"):
        lab.run("foo").name  # noqa: B018
