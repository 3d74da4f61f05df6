"""The exercise machinery without an engine: forms, hints, progress, instructor mode, cards.

Checks read a duck-typed fake machine here; tests/integration/test_exercises.py runs
them against the real engine and kernel.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

import labkit.exercises as exercises
from labkit.errors import LabError
from labkit.exercises import catalog, core, progress
from labkit.exercises.core import REGISTRY, CgroupAnswer, FormError
from labkit.model import NAMESPACE_TYPES, CgroupState, Limits, Usage

HOST = {t: 4026531830 + i for i, t in enumerate(NAMESPACE_TYPES)}
FOO_NS = {**HOST, "ipc": 4026532201, "mnt": 4026532202, "net": 4026532203,
          "pid": 4026532204, "uts": 4026532205}
FOO_ID = "c34e728ccfb7be4efbd376c0b7c7483b0831d5760194f8162b7201eafdf46216"


class FakeMachine:
    """What a check reads, made up: containers by name, namespaces and cgroups by PID."""

    memory_hierarchy = "memory"
    memory_limit_file = "memory.limit_in_bytes"
    cpu_files = "cpu.cfs_quota_us / cpu.cfs_period_us"

    def __init__(self, containers=None, namespaces=None, cgroups=None, states=None):
        self.containers = containers or {}
        self.ns = namespaces or {}
        self.cg = cgroups or {}
        self.states = states or {}
        self.host_namespaces = HOST
        self.removed: list[str] = []

    def named(self, names):
        return [{"Id": d["Id"], "engine_name": n, "short": n}
                for n, d in self.containers.items() if n in names]

    def group(self, names):
        return {n: d for n, d in self.containers.items() if n in names}

    def container(self, name):
        return self.containers.get(name)

    def prefixes(self):  # names typed by hand only: no lab session of this process
        return {""}

    def namespaces(self, pid):
        return self.ns[pid]

    def cgroups(self, pid):
        return self.cg[pid]

    def process_cgroups(self, pid):
        return self.cg.get(pid)

    def command_name(self, pid):
        return "sh"

    def state(self, cgroups):
        return self.states.get(cgroups["memory"], CgroupState("/"))

    def memory_directory(self, path):
        return "/sys/fs/cgroup/memory" + path

    def remove(self, container_id):
        self.removed.append(container_id)


def running(pid, container_id=FOO_ID, **host_config):
    return {"Id": container_id, "State": {"Running": True, "Pid": pid, "Status": "running"},
            "HostConfig": host_config}


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch):
    """A progress file of the test's own, learner mode, and the fake machine by default."""
    monkeypatch.setenv("LABKIT_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.setenv("LABKIT_LEARNER", "ada")
    monkeypatch.delenv("LABKIT_INSTRUCTOR", raising=False)
    catalog._mode["instructor"] = None
    fake = FakeMachine()
    monkeypatch.setitem(exercises._state, "machine", fake)
    yield fake
    catalog._mode["instructor"] = None


def test_every_chapter_has_enough_exercises_each_complete():
    chapters: dict[str, set[str]] = {}
    for spec in (e.spec for e in exercises.exercises()):
        chapters.setdefault(spec.chapter, set()).add(spec.kind)
        assert len(spec.hints) >= 2 and spec.wrong and spec.untouched and spec.reads
        assert callable(spec.solution) and all(callable(w.solve) and w.expect for w in spec.wrong)
        assert bool(spec.names) == (spec.kind == "do")
        if spec.kind != "do":
            spec.form(spec.example)  # the placeholder is itself a well-formed answer
    assert {"01", "03", "05"} <= set(chapters)
    assert all(len(exercises.exercises(c)) >= 3 for c in ("01", "03", "05"))
    assert chapters["01"] == chapters["03"] == chapters["05"] == {"do", "find", "predict"}


def test_importing_exercises_loads_neither_the_sdk_nor_widgets():
    code = ("import sys, labkit, labkit.exercises as e; e.exercises(); "
            "print('labkit.exercises' in sys.modules, "
            "any(m in sys.modules for m in ('docker', 'ipywidgets', 'pandas')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["True", "False"]


def test_unknown_exercise_is_one_sentence():
    with pytest.raises(LabError, match=r"^There is no exercise '01.nope': the exercises are "
                                        r"01\.own-namespaces, .*\.$"):
        exercises.get("01.nope")


@pytest.mark.parametrize(("exercise_id", "answer", "expected"), [
    ("01.host-pid", "four", "'four' is not a PID: type a whole number, e.g. 4242."),
    ("01.host-pid", -3, "-3 is not a PID: type a whole number, e.g. 4242."),
    ("01.host-pid", True, "True is not a PID: type a whole number, e.g. 4242."),
    ("01.host-pid", None, "Type an answer first, e.g. 4242, then check."),
    ("01.memory-cgroup", "/docker/abc", "'/docker/abc' is a cgroup path without its hierarchy"),
    ("01.memory-cgroup", "docker abc", "'docker abc' is not a cgroup: write it as"),
    ("03.net-inode", "net", "'net' is not a namespace inode: type the number"),
    ("01.own-namespaces", ["net", "network"], "'network' is not a namespace type: pick one"),
    ("01.own-namespaces", [], "Nothing is picked: pick one or more of cgroup, ipc"),
    ("03.sandbox-dies", "maybe", "'maybe' is not one of the choices: answer 'it keeps"),
    ("03.sandbox-dies", None,
     "Pick an answer first, e.g. 'it is killed with the sandbox', then check."),
    ("01.oom-64mi", "done", "01.oom-64mi is checked from the machine itself: call check() "),
])
def test_wrong_form_says_the_form_and_is_no_try(exercise_id, answer, expected, tmp_path):
    result = exercises.get(exercise_id).check(answer)
    assert not result.passed and not result.counted
    assert repr(result).startswith(expected)
    assert "\n" not in repr(result) and repr(result).endswith(".")
    assert not (tmp_path / "progress.json").exists()  # nothing recorded


def test_forms_accept_every_documented_spelling():
    pid = core.whole_number("a PID", 4242)
    assert pid(" 4242 ") == pid(4242) == 4242
    inode = core.namespace_inode(4026532201)
    assert inode("net:[4026532201]") == inode("4026532201") == inode(4026532201) == 4026532201
    assert core.cgroup_path("memory:/docker/ab") == CgroupAnswer("memory", "/docker/ab")
    assert core.cgroup_path("9:memory:/docker/ab/") == CgroupAnswer("memory", "/docker/ab")
    assert core.cgroup_path("0::/system.slice/x.scope") == CgroupAnswer("unified",
                                                                        "/system.slice/x.scope")
    assert core.cgroup_path("/sys/fs/cgroup/memory/docker/ab/").directory == \
        "/sys/fs/cgroup/memory/docker/ab"
    assert core.namespace_types("net, ipc") == core.namespace_types(("ipc", "net"))
    with pytest.raises(FormError):
        core.cgroup_path(42)


def test_checks_judge_what_the_machine_says(fresh):
    fresh.containers["foo"] = running(4242)
    fresh.ns[4242] = FOO_NS
    fresh.cg[4242] = {"memory": f"/docker/{FOO_ID}", "cpu,cpuacct": f"/docker/{FOO_ID}"}
    fresh.cg[99] = {"memory": "/system.slice/containerd.service"}
    own = exercises.get("01.own-namespaces")
    assert own.check(["ipc", "mnt", "net", "pid", "uts"]).passed
    assert repr(own.check(["ipc", "mnt", "net", "pid"])) == (
        "foo's uts namespace (4026532205) is not the host's (4026531837): it is one of its "
        "own too.")
    pid = exercises.get("01.host-pid")
    assert pid.check("4242").passed
    assert "in its own PID namespace" not in repr(pid.check(99))
    assert repr(pid.check(99)) == ("Process 99 (sh) is not one of foo's processes (its memory "
                                   "cgroup is /system.slice/containerd.service).")
    assert repr(pid.check(7)) == "There is no process 7 on this host now: look the PID up again."
    cgroup = exercises.get("01.memory-cgroup")
    assert cgroup.check(f"memory:/docker/{FOO_ID}").passed
    assert cgroup.check(f"/sys/fs/cgroup/memory/docker/{FOO_ID}").passed
    assert "ancestor" in repr(cgroup.check("memory:/docker"))
    assert "cut short" in repr(cgroup.check(f"memory:/docker/{FOO_ID[:12]}"))
    assert "not the memory hierarchy" in repr(cgroup.check(f"cpu,cpuacct:/docker/{FOO_ID}"))
    assert progress.entry("01.memory-cgroup")["tries"] == 5


def test_do_checks_read_engine_state_and_cgroup_files(fresh):
    oom = exercises.get("01.oom-64mi")
    fresh.containers["oom64"] = {"Id": "1", "HostConfig": {"Memory": 64 * 2**20},
                                 "State": {"OOMKilled": True, "ExitCode": 137}}
    assert oom.check().passed
    fresh.containers["oom64"] = running(11, "1", Memory=64 * 2**20)
    fresh.cg[11] = {"memory": "/docker/1"}
    fresh.states["/docker/1"] = CgroupState("/docker/1", usage=Usage(oom_kills=2))
    assert repr(oom.check()).startswith("The kernel has OOM-killed 2 process(es) in oom64")
    quarter = exercises.get("01.cpu-quarter")
    fresh.containers["quarter"] = running(12, "2")
    fresh.cg[12] = {"memory": "/docker/2"}
    fresh.states["/docker/2"] = CgroupState("/docker/2", Limits(cpu_quota_us=25000,
                                                                cpu_period_us=100000))
    result = quarter.check()
    assert result.passed and quarter.progress["last_sentence"] == result.sentence


def test_untouched_machine_never_passes(fresh):
    for ex in exercises.exercises():
        result = ex.judge(None if ex.kind == "do" else ex.spec.example)
        assert not result.passed and ex.spec.untouched in repr(result), ex.id
        assert not result.counted, ex.id  # nothing of the learner's yet: no try, any kind


def test_hints_unlock_one_at_a_time_on_request_and_after_a_failure(fresh):
    ex = exercises.get("01.oom-64mi")
    assert ex.hints() == []
    assert ex.hint() == f"Hint 1 of 3: {ex.spec.hints[0]}"
    assert ex.hints() == [ex.spec.hints[0]]
    fresh.containers["oom64"] = {"Id": "1", "HostConfig": {"Memory": 128 * 2**20},
                                 "State": {"OOMKilled": True, "ExitCode": 137}}
    result = ex.check()  # oom64 at 128 MiB: a failed try unlocks the next one
    assert result.counted and not result.passed
    assert ex.progress["last_sentence"] == result.sentence  # kept for the workshop's grades
    assert ex.hints() == list(ex.spec.hints[:2])
    ex.hint()
    assert ex.hint() == f"Hint 3 of 3: {ex.spec.hints[2]}"  # the last, again
    assert ex.progress["hints"] == 3 and ex.progress["tries"] == 1


def test_progress_round_trip_and_format(tmp_path):
    progress.record_try("01.oom-64mi", False, 3)
    progress.record_try("01.oom-64mi", True, 3)
    progress.record_try("01.oom-64mi", False, 3)  # a pass is kept
    data = json.loads((tmp_path / "progress.json").read_text())
    assert data["format"] == 1
    entry = data["learners"]["ada"]["exercises"]["01.oom-64mi"]
    assert entry["tries"] == 3 and entry["passed"] and entry["hints"] == 2
    assert entry["first_pass"].endswith("Z") and entry["last_try"] >= entry["first_pass"]
    assert progress.entries("ada")["01.oom-64mi"] == entry
    assert progress.entries("grace") == {}


def test_progress_write_is_atomic(tmp_path, monkeypatch):
    progress.record_try("01.oom-64mi", True, 3)
    before = (tmp_path / "progress.json").read_text()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(progress.json, "dump", broken)
    with pytest.raises(OSError):
        progress.record_try("01.cpu-quarter", True, 3)
    assert (tmp_path / "progress.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".progress.json.lock",
                                                         "progress.json"]


def test_progress_updates_from_threads_are_not_lost():
    threads = [threading.Thread(target=progress.record_try, args=("01.oom-64mi", False, 3))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert progress.entry("01.oom-64mi")["tries"] == 8


def test_a_broken_progress_file_is_kept_aside(tmp_path):
    (tmp_path / "progress.json").write_text("{not json")
    progress.record_try("01.oom-64mi", False, 3)
    assert progress.entry("01.oom-64mi")["tries"] == 1
    assert any(p.name.startswith("progress.json.broken-") for p in tmp_path.iterdir())


def test_progress_location_defaults_to_the_data_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("LABKIT_PROGRESS")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert progress.path() == tmp_path / "data" / "labkit" / "progress.json"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert progress.path() == tmp_path / ".local/share/labkit/progress.json"


def test_instructor_mode_hides_and_shows_solutions(monkeypatch):
    ex = exercises.get("03.shared-pid")
    with pytest.raises(LabError, match="instructor mode only"):
        ex.solution()
    with pytest.raises(LabError, match="instructor mode only"):
        ex.solve()
    assert ex.widget().solve_button is None
    monkeypatch.setenv("LABKIT_INSTRUCTOR", "1")
    assert exercises.instructor()
    assert "share_process_namespace=True" in ex.solution()
    assert exercises.instructor(False) is False  # the call wins over the environment
    exercises.instructor(True)
    card = ex.widget()
    assert card.solve_button is not None
    assert "def shared_pid_solution(lab):" in card.children[-1].children[0].value
    assert "# what the chapter's cells" in exercises.get("01.host-pid").solution()


def test_reset_removes_exactly_the_exercise_names(fresh):
    fresh.containers["quarter"] = running(12, "q1")
    fresh.containers["quarter-other"] = running(13, "q2")
    assert exercises.get("01.cpu-quarter").reset() == (
        "Removed quarter; the recorded progress of 01.cpu-quarter stays.")
    assert fresh.removed == ["q1"]
    assert "nothing of it to remove" in exercises.get("01.host-pid").reset()
    fresh.containers.clear()
    assert exercises.get("03.shared-pid").reset() == (
        "No container named shared-sandbox, shared-app or shared-sidecar was there: "
        "nothing removed.")


def test_cards_have_the_right_inputs_and_wired_buttons(fresh):
    import ipywidgets as widgets

    kinds = {"01.oom-64mi": type(None), "01.host-pid": widgets.Text,
             "01.own-namespaces": widgets.HBox, "03.sandbox-dies": widgets.Dropdown}
    for exercise_id, kind in kinds.items():
        card = exercises.get(exercise_id).widget()
        assert isinstance(card, widgets.VBox) and isinstance(card.answer, kind)
        assert card.check_button.description == "Check"

    card = exercises.get("01.host-pid").widget()
    card.answer.value = "abc"
    card.check_button.click()
    assert "is not a PID" in card.result.value and progress.entry("01.host-pid")["tries"] == 0
    fresh.containers["foo"] = running(4242)
    card.answer.value = "4242"
    card.check_button.click()
    assert "✔" in card.result.value and progress.entry("01.host-pid")["passed"]

    card = exercises.get("01.own-namespaces").widget()
    for button in card.answer.children:  # a learner clicks net and user
        button.value = button.description in ("net", "user")
    assert card.answer.value == ("net", "user")
    fresh.ns[4242] = FOO_NS
    card.check_button.click()
    assert "shares its user namespace with the host" in card.result.value
    assert len(card.hints.children) == 1 and card.hint_button.description == "Hint (2 left)"
    card.hint_button.click()
    assert len(card.hints.children) == 2 and card.hints.selected_index == 1


def test_progress_widget_follows_checks(fresh):
    view = exercises.progress_widget("01")
    assert view.bar.value == 0 and view.bar.max == len(exercises.exercises("01"))
    assert "<b>ada</b>: 0 of 5" in view.table.value
    fresh.containers["quarter"] = running(12, "2")
    fresh.cg[12] = {"memory": "/docker/2"}
    fresh.states["/docker/2"] = CgroupState("/docker/2", Limits(cpu_quota_us=25000,
                                                                cpu_period_us=100000))
    assert exercises.get("01.cpu-quarter").check().passed
    assert view.bar.value == 1 and "✔ passed" in view.table.value


def test_an_exercise_displays_as_a_widget_with_a_text_fallback():
    bundle = exercises.get("01.oom-64mi")._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("01.oom-64mi (do) · An OOM kill at 64 MiB:")


def test_cli_prints_one_learner(capsys):
    from labkit.cli import main

    progress.record_try("03.shared-pid", True, 3)
    assert main(["progress", "--chapter", "03"]) == 0
    out = capsys.readouterr().out
    assert "03.shared-pid" in out and "passed" in out and "ada: 1 of 5 passed" in out
    assert main(["progress", "--json", "--learner", "ada"]) == 0
    assert json.loads(capsys.readouterr().out)["exercises"]["03.shared-pid"]["passed"]


def test_registry_refuses_an_incomplete_exercise():
    with pytest.raises(ValueError, match="two hints"):
        core.exercise("99.x", kind="do", title="t", task="t", hints=("one",), solution=print,
                      wrong=(), untouched="u")
    assert "99.x" not in REGISTRY


def test_one_card_per_exercise_and_progress_views_kept(fresh):
    """Showing an exercise twice shows one card (its views share the state), and every
    progress view stays registered for refreshes."""
    import gc
    import weakref

    card = weakref.ref(exercises.get("01.host-pid").widget())
    view = weakref.ref(exercises.progress_widget("01"))
    gc.collect()
    assert card() is exercises.get("01.host-pid").widget()
    assert view() is not None
