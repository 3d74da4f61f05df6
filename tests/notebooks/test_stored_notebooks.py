"""The committed notebooks are what nbval checks: executed, paired, and with a kernel it finds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SCRIPTS = REPO / "notebook-scripts"  # their py:percent twins (jupytext.toml pairs them)


def test_there_are_notebooks():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["00-preflight", "01-containers", "02-pods", "03-docker-pod",
                     "04-comparison", "05-podman-pods", "06-pod-from-scratch",
                     "07-pod-network", "08-pods-today"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_is_stored_executed(path):
    cells = json.loads(path.read_text())["cells"]
    unrun = [i for i, c in enumerate(cells)
             if c["cell_type"] == "code" and c.get("execution_count") is None]
    assert unrun == [], f"{path.name}: code cells {unrun} stored unexecuted (nbval skips them)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stored_errors_and_python3_kernel(path):
    notebook = json.loads(path.read_text())
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    errors = [o for c in notebook["cells"] for o in c.get("outputs", [])
              if o["output_type"] == "error"]
    assert errors == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_paired_script_has_the_same_code(path):
    import jupytext

    script = SCRIPTS / path.with_suffix(".py").name
    assert script.exists(), f"{path.name} has no paired py:percent script"
    from_script = jupytext.read(script)
    stored = jupytext.read(path)
    code = [c.source for c in stored.cells if c.cell_type == "code"]
    assert code == [c.source for c in from_script.cells if c.cell_type == "code"]


def test_the_learners_folder_holds_only_what_a_learner_opens():
    """JupyterLab opens on notebooks/: the chapters and the manifests they read, no more."""
    names = sorted(p.name for p in (REPO / "notebooks").iterdir()
                   if not p.name.startswith("."))
    assert names == [p.name for p in NOTEBOOKS] + ["manifests"]


def _predictions(path: Path) -> list[tuple[int, str]]:
    """(cell index, exercise id) of every prediction card the notebook shows."""
    import re

    from labkit.exercises import catalog

    kinds = {i: spec.kind for i, spec in catalog.specs().items()}
    cells = json.loads(path.read_text())["cells"]
    found = []
    for index, cell in enumerate(cells):
        match = re.fullmatch(r'exercises\.get\("([^"]+)"\)', "".join(cell["source"]).strip())
        if cell["cell_type"] == "code" and match and kinds.get(match[1]) == "predict":
            found.append((index, match[1]))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_predictions_answer_is_not_on_screen_before_it_is_asked(path):
    """The cells that reveal a prediction's answer are tagged ``reveal`` and open with their
    outputs folded in the learner's copy (``jupyter.outputs_hidden``, which JupyterLab
    honours); nbval still compares those outputs, as it compares every cell's."""
    cells = json.loads(path.read_text())["cells"]
    reveals = [i for i, c in enumerate(cells) if "reveal" in c["metadata"].get("tags", [])]
    for index in reveals:
        metadata = cells[index]["metadata"]
        assert metadata.get("jupyter", {}).get("outputs_hidden") is True, \
            f"{path.name}: reveal cell {index} shows its outputs on opening"
        assert not {"nbval-ignore-output", "nbval-skip"} & set(metadata.get("tags", [])), \
            f"{path.name}: reveal cell {index} is not compared by nbval"
    for index, exercise in _predictions(path):
        assert any(i > index for i in reveals), \
            f"{path.name}: prediction {exercise} has no reveal cell after it"


def _answer_literals(source: str, options: set[str]) -> list[list[str]]:
    """Tuple, list and set literals in a cell's code that hold two or more of a prediction's
    options, but not all of them: an expected answer written out (all the options at once
    is the list of choices, not an answer)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell magic, not Python: it writes no answer out
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            named = {e.value for e in node.elts
                     if isinstance(e, ast.Constant) and isinstance(e.value, str)} & options
            if 2 <= len(named) < len(options):
                found.append(sorted(named))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_visible_code_after_a_prediction_writes_its_answer_out(path):
    """Folding a reveal cell's output is not enough when its code holds the expected answer
    (``five = ("mnt", "uts", "ipc", "pid", "net")``): a learner scrolling to the card reads it.
    Such a cell, after the card and up to its reveal cells (within the card's section),
    opens with its code folded too (``jupyter.source_hidden``), or computes the answer in
    labkit instead."""
    from labkit.exercises import catalog

    specs = catalog.specs()
    cells = json.loads(path.read_text())["cells"]
    shown = []
    for index, exercise in _predictions(path):
        options = set(specs[exercise].options or ())
        revealed = False
        for later, cell in enumerate(cells[index + 1:], index + 1):
            source = "".join(cell["source"])
            if cell["cell_type"] == "markdown" and source.lstrip().startswith("## "):
                break
            is_reveal = "reveal" in cell["metadata"].get("tags", [])
            if revealed and cell["cell_type"] == "code" and not is_reveal:
                break  # past the reveal cells: the learner has opened the answer already
            revealed = revealed or is_reveal
            if cell["cell_type"] != "code" or \
                    cell["metadata"].get("jupyter", {}).get("source_hidden") is True:
                continue
            shown += [f"cell {later} writes {', '.join(named)} ({exercise})"
                      for named in _answer_literals(source, options)]
    assert shown == [], f"{path.name}: visible code writes a prediction's answer out: {shown}"
