"""A chapter replayed where no engine answers: its calls answered from its recording.

These run with DOCKER_HOST at a socket that does not exist, as on Binder, and read the
recordings that ship with labkit (refreshed by ``./lab record``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import labkit
from labkit import exercises, views
from labkit.errors import LabError
from labkit.model import Observation
from labkit.replay import TAPES_V2, ReplayLab, Tape, banner, choose_tape, fingerprint
from labkit.replay.play import NotRecorded

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb")
                  if 'chapter_lab(' in p.read_text())


@pytest.fixture
def no_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    monkeypatch.delenv("LABKIT_REPLAY", raising=False)
    monkeypatch.delenv("LABKIT_RECORD", raising=False)
    monkeypatch.setenv("LABKIT_PROGRESS", str(tmp_path / "progress.json"))
    yield
    exercises._state.update(lab=None, machine=None)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_has_a_recording_of_its_current_code(notebook):
    chapter = notebook.name[:2]
    tape = Tape.load(chapter)
    assert tape is not None, f"{notebook.name} has no recording: run ./lab record {notebook}"
    assert tape.cells == fingerprint(notebook), (
        f"{notebook.name}'s code changed since it was recorded: run ./lab record "
        f"notebooks/{notebook.name}")


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_has_a_cgroup_v2_recording_of_its_current_code(notebook):
    """Binder replays cgroup v2 first: every chapter recorded in the lab's v2 guest."""
    chapter = notebook.name[:2]
    tape = Tape.load(chapter, TAPES_V2)
    assert tape is not None, (f"{notebook.name} has no cgroup v2 recording: run "
                              f"./lab record --v2 notebooks/{notebook.name}")
    assert "cgroup v2" in tape.host, tape.host
    assert tape.cells == fingerprint(notebook), (
        f"{notebook.name}'s code changed since it was recorded on cgroup v2: run "
        f"./lab record --v2 notebooks/{notebook.name}")


def container_chapters() -> list[str]:
    """The chapters `./lab test-v2 --container` runs (tests/v2/run.sh)."""
    text = (ROOT / "tests/v2/run.sh").read_text()
    return re.search(r'^container_chapters="([^"]*)"', text, re.M).group(1).split()


@pytest.mark.parametrize("chapter", container_chapters())
def test_each_container_chapter_has_a_recording_of_its_current_code(chapter):
    """`./lab test-v2 --container` compares against these: a stale one would fail there."""
    notebook = next(ROOT.glob(f"notebooks/{chapter}-*.ipynb"))
    tape = Tape.load(chapter, ROOT / "tests/v2/container-tapes")
    assert tape is not None and "cgroup v2" in tape.host, (
        f"no recording of {notebook.name} in the lab's container: run ./lab record --v2 "
        f"--container notebooks/{notebook.name}")
    assert tape.cells == fingerprint(notebook), (
        f"{notebook.name}'s code changed since it was recorded in the lab's container: run "
        f"./lab record --v2 --container notebooks/{notebook.name}")


def test_the_v2_recording_is_replayed_first_while_it_is_current(tmp_path, monkeypatch):
    v1_dir, v2_dir = tmp_path / "v1", tmp_path / "v1" / "v2"
    Tape("42", host="Debian, cgroup v1", cells="abc").save(v1_dir)
    Tape("42", host="Debian, cgroup v2", cells="abc").save(v2_dir)
    Tape("43", host="Debian, cgroup v1", cells="new").save(v1_dir)
    Tape("43", host="Debian, cgroup v2", cells="old").save(v2_dir)  # stale: code changed
    monkeypatch.delenv("LABKIT_REPLAY_CGROUP", raising=False)
    monkeypatch.delenv("LABKIT_REPLAY_TAPES", raising=False)
    assert "cgroup v2" in choose_tape("42", v1_dir).host
    assert "cgroup v1" in choose_tape("43", v1_dir).host  # the stale one is not replayed
    monkeypatch.setenv("LABKIT_REPLAY_CGROUP", "v1")
    assert "cgroup v1" in choose_tape("42", v1_dir).host
    v2 = Tape.load("42", v2_dir)
    assert "LABKIT_REPLAY_CGROUP=v1" in banner(v2)
    assert "LABKIT_REPLAY_CGROUP" not in banner(choose_tape("42", v1_dir))


def test_another_directory_of_v2_recordings_is_replayed_when_named(tmp_path, monkeypatch):
    """`./lab test-v2 --container` replays what the lab's container recorded in the guest."""
    v1_dir, container_dir = tmp_path / "v1", tmp_path / "container-tapes"
    Tape("42", host="Debian, cgroup v1", cells="abc").save(v1_dir)
    Tape("42", host="Debian, cgroup v2", cells="abc").save(v1_dir / "v2")
    Tape("42", host="the lab's container, cgroup v2", cells="abc").save(container_dir)
    monkeypatch.delenv("LABKIT_REPLAY_CGROUP", raising=False)
    monkeypatch.setenv("LABKIT_REPLAY_TAPES", str(container_dir))
    assert choose_tape("42", v1_dir).host == "the lab's container, cgroup v2"
    monkeypatch.setenv("LABKIT_REPLAY_CGROUP", "v1")
    assert "cgroup v1" in choose_tape("42", v1_dir).host


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_every_find_and_predict_exercise_was_rehearsed(notebook):
    """Their checks' readings are on the recording, so a replay judges them."""
    chapter = notebook.name[:2]
    asked = [e.id for e in exercises.exercises(chapter) if e.kind != "do"]
    assert sorted(Tape.load(chapter).rehearsed) == sorted(asked)


def test_a_chapter_replays_and_says_so_once(no_engine, capsys):
    lab = labkit.chapter_lab("01")
    assert isinstance(lab, ReplayLab)
    said = capsys.readouterr().out
    assert said == banner(lab.tape) + "\n"
    assert lab.tape.host in said and "Docker" in lab.tape.host
    foo = lab.run("foo", "nginx", memory="512MB", cpus=0.5)
    assert foo.name == "foo" and foo.status == "running" and foo.pid > 1
    obs = lab.observe(foo)
    assert isinstance(obs, Observation)
    labels = views.sharing_labels(obs)["foo"]
    assert {labels[ns] for ns in ("mnt", "uts", "ipc", "pid", "net")} == {"own"}
    assert views.limits_table(obs)["match"].all()  # the table is drawn here, from the data


def test_what_the_chapter_never_did_is_one_sentence(no_engine):
    lab = labkit.chapter_lab("01")
    with pytest.raises(NotRecorded) as raised:
        lab.run("mine", "busybox")
    sentence = str(raised.value)
    assert isinstance(raised.value, LabError) and "\n" not in sentence
    assert "lab.run('mine', 'busybox')" in sentence and "./lab up" in sentence
    with pytest.raises(AttributeError):  # hasattr() and getattr(..., default) still work
        lab.containerd_never_used  # noqa: B018
    assert getattr(lab, "nothing_like_this", None) is None


def test_find_and_predict_exercises_are_judged_on_the_recording(no_engine, monkeypatch):
    monkeypatch.setenv("LABKIT_REPLAY_CGROUP", "v1")  # the machine the notebooks store
    lab = labkit.chapter_lab("01")
    exercises.use(lab)
    foo = lab.run("foo", "nginx", memory="512MB", cpus=0.5)
    host_pid = exercises.get("01.host-pid")
    assert host_pid.check(foo.pid).passed
    wrong = host_pid.check(1)
    assert not wrong.passed and "its own PID namespace" in wrong.sentence
    unknown = host_pid.check(4242)
    assert not unknown.passed and not unknown.counted and "recording" in unknown.sentence
    own = exercises.get("01.own-namespaces")
    assert own.check(["mnt", "uts", "ipc", "pid", "net"]).passed
    assert not own.check(["mnt", "uts"]).passed
    memory = exercises.get("01.memory-cgroup")
    line = "memory:" + lab.observe(foo).member("foo").cgroups["memory"]
    assert memory.check(line).passed
    assert not memory.check("memory:/docker/not-foo").passed


def test_a_cgroup_v2_replay_judges_by_what_the_v2_kernel_said(no_engine):
    """Binder's default: on cgroup v2 Docker gives foo a cgroup namespace of its own too."""
    lab = labkit.chapter_lab("01")
    assert "cgroup v2" in lab.tape.host
    exercises.use(lab)
    lab.run("foo", "nginx", memory="512MB", cpus=0.5)
    own = exercises.get("01.own-namespaces")
    five = ["mnt", "uts", "ipc", "pid", "net"]
    assert own.check([*five, "cgroup"]).passed
    assert not own.check(five).passed


def test_no_recording_is_one_sentence(no_engine, monkeypatch):
    monkeypatch.setenv("LABKIT_REPLAY", "1")
    with pytest.raises(LabError, match=r"chapter 99 has none: run \./lab record"):
        labkit.chapter_lab("99")
