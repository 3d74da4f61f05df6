"""The exercise modules as docs/exercises.md ("Adding an exercise") describes them, with no
engine: each chapter module only declarations, importing no other; every exercise complete
and shown in its chapter; the pods' decorator; the readings' names on the recordings."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import labkit.exercises as exercises
from labkit.exercises import pods
from labkit.exercises.core import REGISTRY, Verdict, passed
from labkit.replay import ReplayLab, Tape
from labkit.replay.tape import argument_text

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "labkit" / "exercises"
CHAPTER_MODULES = sorted(PACKAGE.glob("ch*.py"))
CHAPTER = re.compile(r"ch\d+")

exercises.exercises()  # load the registry


def imported_modules(tree: ast.Module) -> list[str]:
    """Every module a module imports, anywhere in it (in functions too), as dotted text:
    ``from .ch03 import X`` is ``.ch03``, ``from . import ch03`` is ``.ch03`` too."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.append(base)
            if not node.module:  # from . import ch03
                found += [base + alias.name for alias in node.names]
    return found


def chapters_among(modules: list[str]) -> list[str]:
    """Those of ``modules`` (as :func:`imported_modules` gives them) that are chapter
    modules of labkit.exercises: ``.ch03``, ``labkit.exercises.ch03``."""
    found = []
    for module in modules:
        if module.startswith("labkit.exercises."):
            local = module.removeprefix("labkit.exercises.")
        elif module.startswith(".") and not module.startswith(".."):
            local = module[1:]
        else:
            continue
        if CHAPTER.fullmatch(local.split(".")[0]):
            found.append(module)
    return found


def test_every_chapter_module_registers_exercises_and_only_its_own():
    assert {p.stem[2:] for p in CHAPTER_MODULES} == {s.chapter for s in REGISTRY.values()}
    for spec in REGISTRY.values():
        assert spec.check.__module__ == f"labkit.exercises.ch{spec.chapter}", spec.id


@pytest.mark.parametrize("path", CHAPTER_MODULES, ids=lambda p: p.stem)
def test_no_chapter_module_imports_another(path):
    imports = chapters_among(imported_modules(ast.parse(path.read_text(), str(path))))
    assert imports == [], (f"{path.name} imports {imports}: what chapters share goes to "
                           "core.py, machine.py or pods.py")


def test_every_spelling_of_a_chapter_import_is_seen():
    tree = ast.parse("from .ch03 import FOO\nfrom . import ch02, core\n"
                     "import labkit.exercises.ch05\nfrom labkit.exercises.ch06 import X\n"
                     "def f():\n    from .ch01 import y\n"
                     "from ..runtimes import ch\nfrom .pods import CRI\nimport os\n")
    assert sorted(chapters_among(imported_modules(tree))) == [
        ".ch01", ".ch02", ".ch03", "labkit.exercises.ch05", "labkit.exercises.ch06"]


# -- "Adding an exercise": what every exercise has, and the cell that shows it --------------

def chapter_script(chapter: str) -> str:
    scripts = sorted((ROOT / "notebook-scripts").glob(f"{chapter}-*.py"))
    assert len(scripts) == 1, f"chapter {chapter} has no one script in notebook-scripts/"
    return scripts[0].read_text()


@pytest.mark.parametrize("exercise_id", list(REGISTRY))
def test_every_exercise_has_hints_a_wrong_solution_and_a_cell_that_shows_it(exercise_id):
    spec = REGISTRY[exercise_id]
    assert len(spec.hints) >= 2 and len(spec.wrong) >= 1
    script = chapter_script(spec.chapter)
    assert f'exercises.get("{exercise_id}")' in script, \
        f"no cell of chapter {spec.chapter} shows {exercise_id}"
    if spec.kind == "do":
        assert f'exercises.get("{exercise_id}").check()' in script


def test_every_chapter_of_the_registry_is_run_by_the_integration_tests():
    """A new chapter adds its number to ``IDS`` of one of tests/integration/test_exercises*.py;
    those run each of its exercises untouched, solved wrongly, solved."""
    covered = set()
    for path in (ROOT / "tests" / "integration").glob("test_exercises*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "IDS" for t in node.targets):
                covered |= {c.value.rstrip(".") for c in ast.walk(node.value)
                            if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    assert {spec.chapter for spec in REGISTRY.values()} <= covered


def test_the_docs_name_files_that_exist():
    text = (ROOT / "docs" / "exercises.md").read_text()
    section = text[text.index("## Adding an exercise"):text.index("## Tests and cost")]
    named = set(re.findall(r"`((?:labkit|tests|notebook-scripts)/[\w./*-]+)`", section))
    assert "labkit/exercises/pods.py" in named
    for name in named:
        assert list(ROOT.glob(name.replace("NN", "*"))), f"{name} does not exist"


# -- on_pod: the one decorator of the checks of a pod --------------------------------------

class Engine(pods.Pods):
    """An engine made up: pod ``there`` exists, its sandbox runs unless ``stopped``."""

    engine = "a made-up engine"

    def __init__(self, pod=None, started=True, elsewhere=None, unfit=None, stopped=False):
        self.pod, self.started, self._elsewhere = pod, started, elsewhere
        self._unfit, self.stopped, self.asked = unfit, stopped, []

    def find(self, machine, name):
        self.asked.append(name)
        return self.pod, self.started

    def absent(self, name, started, make):
        return f"There is no pod {name} {'' if started else '(not started) '}: {make}."

    def elsewhere(self, machine, name):
        return self._elsewhere

    def unfit(self, name, pod):
        return self._unfit

    def not_running(self, machine, name, pod, members, again):
        return f"{name}'s {', '.join(('sandbox', *members))} stopped: {again}." \
            if self.stopped else None


def checked(engine, **options):
    @pods.on_pod(engine, "foo", make="make it", **options)
    def check(machine, pod, answer) -> Verdict:
        return passed(f"judged {pod} with {answer}")

    return check


def test_on_pod_gives_the_check_the_pod_or_does_not_judge():
    engine = Engine(pod="POD")
    assert checked(engine)("machine", 42) == passed("judged POD with 42")
    assert engine.asked == ["foo"]
    missing = checked(Engine(started=False))("machine", 42)
    assert missing == Verdict(False, "There is no pod foo (not started) : make it.", False)
    stopped = checked(Engine(pod="POD", stopped=True), running=("app",))("machine", 42)
    assert stopped == Verdict(False, "foo's sandbox, app stopped: delete the pod and make it "
                                     "again (make it).", False)
    again = checked(Engine(pod="POD", stopped=True), again="run it again")("machine", 1)
    assert again.sentence == "foo's sandbox stopped: run it again."


def test_on_pod_fails_a_do_check_naming_what_was_made_instead():
    assert checked(Engine(pod="POD", stopped=True), do=True)("m", None).passed  # not asked
    absent = checked(Engine(), do=True)("machine", None)  # nothing made yet: not a try
    assert absent == Verdict(False, "There is no pod foo : make it.", False)
    elsewhere = checked(Engine(elsewhere="foo-sandbox is Docker's."), do=True)("m", None)
    assert elsewhere == Verdict(False, "foo-sandbox is Docker's.", True)
    unfit = checked(Engine(pod="POD", unfit="No infra."), do=True)("m", None)
    assert unfit == Verdict(False, "No infra.", True)
    with pytest.raises(ValueError, match="do check"):
        checked(Engine(), do=True, running=("app",))


def test_the_engines_say_what_the_chapters_said():
    seen = pods.PodmanPodSeen("lk-0badcafe-foo", "1", "running", ("ipc", "net", "uts"), "/p",
                              pods.PodmanMemberSeen("foo-infra", "exited", None, 7, 137),
                              {"app": pods.PodmanMemberSeen("foo-app", "running", 42, 8)})
    assert pods.PODMAN.not_running(None, "foo", seen, ("app",), "again") == (
        "Pod foo's infra container and app are not both running on labkit's podman (infra "
        "is exited (exit code 137), app is running): again.")
    cri = pods.CriPodSeen("foo", "1", "u", True, 40, {"app": (None, "exited")})
    assert pods.CRI.not_running(None, "foo", cri, ("app",), "again") == (
        "Pod foo's app is not running on labkit's containerd: again.")
    cri.ready = False
    assert "sandbox is NotReady on labkit's containerd" in \
        pods.CRI.not_running(None, "foo", cri, (), "again")
    assert pods.SCRATCH.absent("trio", True, "x") == \
        "There is no pod from scratch named trio yet: make it with x."


# -- the readings keep the names the shipped recordings file them under ---------------------

@pytest.mark.parametrize(("reading", "recorded"), [
    (pods.find_cri_pod, "labkit.exercises.ch02.find_pod"),
    (pods.find_podman_pod, "labkit.exercises.ch05.find_pod"),
])
def test_a_reading_is_filed_under_its_recorded_name(reading, recorded):
    class Asks:
        def reading(self, read, *args):
            self.key = argument_text((read, *args), {}, lambda value: None)
            return None, False

    machine = Asks()
    reading(machine, "foo")
    assert machine.key == f"<function {recorded}>, 'foo'"


@pytest.mark.parametrize(("chapter", "reading", "kind"), [
    ("02", pods.find_cri_pod, pods.CriPodSeen),
    ("04", pods.find_cri_pod, pods.CriPodSeen),
    ("05", pods.find_podman_pod, pods.PodmanPodSeen),
])
def test_the_recordings_still_answer_the_readings(chapter, reading, kind):
    machine = ReplayLab(Tape.load(chapter)).checks_through(None)
    pod, started = reading(machine, "foo")
    assert isinstance(pod, kind) and started


def test_the_docs_list_every_exercise_with_what_its_check_reads():
    """docs/exercises.md has a row per exercise, its kind, and the card's own "reads"."""
    text = (ROOT / "docs" / "exercises.md").read_text()
    rows = {m[0]: (m[1], m[2]) for m in re.findall(
        r"^\| `(\d\d\.[\w-]+)` \| ([^|]+?) \| (?:[^|`]|`[^`]*`)+? \| ((?:[^|`]|`[^`]*`)+) \|$",
        text, flags=re.M)}
    assert set(rows) == set(REGISTRY)
    for exercise_id, (kind, reads) in rows.items():
        spec = REGISTRY[exercise_id]
        assert kind.split()[0] == spec.kind, exercise_id
        assert reads == spec.reads, exercise_id


def test_chapter_8s_exercises_make_the_pod_the_chapter_shows():
    """The checks of chapter 8 set up pod today from their own copy of the manifest the
    chapter prints in its first cell under «Init containers and sidecars»: the same text."""
    from labkit.exercises.ch08 import TODAY_POD

    script = (ROOT / "notebook-scripts" / "08-pods-today.py").read_text()
    shown = re.search(r'^manifest = """\\\n(.*?)"""', script, flags=re.M | re.S)
    assert shown is not None and shown[1] == TODAY_POD
