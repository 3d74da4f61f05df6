"""The lab as a learner sees it: JupyterLab in a real browser (Debian's Chromium, driven
by Playwright), chapter 1 run from the menu (Run All spends no try and opens no hint, and a
prediction's answer opens folded), widgets and figures rendered, and an exercise done as a
learner does it: Check on an untouched machine counts nothing, a hint opens when asked, a
wrong try fails and opens the next, code typed in a cell solves it, and Check passes.
Chapter 4 run the same way shows the pictures of who shares what (one image per kind of
pod), the coloured matrix (cells in the categories' colours) and the picture's widget
answering a click.

nbval compares text; this checks what text cannot: that the server `./lab up` starts
answers on 127.0.0.1 with its token, that the notebook runs in JupyterLab, and that the
ipywidgets tree and the matplotlib figures render in the page.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import need

# JupyterLab in Chromium: a slow suite (./lab test-slow).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-quic"]


DONE = "Clean up this chapter"  # every chapter's last cell: the button that removes it all


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path, docker_client):
    need(os.path.exists(CHROMIUM), "Debian's chromium is needed for the browser test")
    notebooks = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", notebooks)
    # A learner's first run: no stored outputs to mistake for fresh ones.
    import nbformat

    for path in notebooks.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        notebook.metadata.pop("widgets", None)
        nbformat.write(notebook, path)
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["LABKIT_OFFLINE"] = "1"
    env["LABKIT_PROGRESS"] = str(tmp_path / "progress.json")  # a learner's first visit
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--ip=127.0.0.1", f"--port={port}",
         "--no-browser", "--allow-root", f"--ServerApp.root_dir={notebooks}",
         f"--IdentityProvider.token={token}",
         # A learner's first visit: no tabs restored from another session's workspace.
         f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("JupyterLab did not start") from None
                time.sleep(0.3)
        yield base, token, tmp_path
    finally:
        server.terminate()
        server.wait(20)


def _run_all(page, base: str, token: str, notebook: str, done: str, shot: Path) -> None:
    """Open a chapter, run all its cells from the menu, and wait for its last line."""
    page.goto(f"{base}/lab/tree/{notebook}?token={token}")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=60_000)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')", timeout=10_000)
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')", timeout=10_000)
    try:
        page.wait_for_function(f"document.body.innerText.includes({json.dumps(done)})",
                               timeout=240_000)
    finally:
        page.screenshot(path=str(shot), full_page=False)


def _no_tracebacks(page) -> None:
    errors = page.locator(".jp-OutputArea-output[data-mime-type="
                          "'application/vnd.jupyter.stderr']", has_text="Traceback")
    assert errors.count() == 0


def test_chapter_one_runs_in_jupyterlab_with_widgets_and_figures(jupyterlab):
    sync_api = pytest.importorskip("playwright.sync_api")
    base, token, tmp_path = jupyterlab
    with urllib.request.urlopen(f"{base}/lab?token=wrong", timeout=5) as answer:
        assert "/login" in answer.url  # no token, no lab
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # A prediction's answer opens folded, code and output, until the learner unfolds it
        # (JupyterLab shows a cell's new output once the cell runs: after Run All, a
        # reveal cell's output is on screen).
        page.goto(f"{base}/lab/tree/01-containers.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        reveal = page.locator(".jp-CodeCell:has(.jp-InputPlaceholder)")
        reveal.first.scroll_into_view_if_needed()
        assert reveal.first.locator(".jp-OutputPlaceholder").count() == 1
        assert "ns ->" not in reveal.first.inner_text()  # the namespace links: the answer
        _run_all(page, base, token, "01-containers.ipynb", DONE, tmp_path / "chapter1.png")
        # Run All spent nothing: no try, no hint, for any exercise.
        progress = tmp_path / "progress.json"
        spent = json.loads(progress.read_text())["learners"] if progress.exists() else {}
        assert all(e["tries"] == 0 and e["hints"] == 0 for who in spent.values()
                   for e in who["exercises"].values()), spent
        tree_cell = page.locator(".jp-CodeCell", has_text="views.cgroup_tree_widget")
        accordions = tree_cell.locator(".jp-OutputArea .lm-AccordionPanel, "
                                       ".jp-OutputArea .jupyter-widget-Accordion")
        assert accordions.count() >= 1  # the cgroup tree widget rendered
        accordions.first.scroll_into_view_if_needed()
        accordions.first.screenshot(path=str(tmp_path / "tree-widget.png"))
        figures = page.locator(".jp-OutputArea img[src^='data:image/png']")
        assert figures.count() >= 3  # tree figure, memory plot, CPU plot
        _no_tracebacks(page)
        # The chapter's last cell: its button shows its whole label.
        button = page.locator(".jp-OutputArea button", has_text=DONE)
        button.scroll_into_view_if_needed()
        assert button.evaluate("b => b.scrollWidth <= b.clientWidth"), "label cut short"
        # ./lab setup keeps JupyterLab from asking about (and fetching) news from the web.
        assert page.locator("text=get notified about official Jupyter news").count() == 0
        _do_an_exercise(page, tmp_path)
        browser.close()


def _do_an_exercise(page, tmp_path: Path) -> None:
    """Exercise 4 of chapter 1 (a container held to a quarter of a CPU), as a learner does
    it: Check before anything is made counts nothing, a hint opens when asked, a wrong try
    counts and opens the next hint, the right code passes."""
    card = page.locator(".widget-vbox", has=page.locator("small", has_text="01.cpu-quarter"))
    card = card.last  # the innermost box that holds the card's title
    card.scroll_into_view_if_needed()
    card.locator("button", has_text="Check").click()  # nothing made yet: not a try
    card.locator("text=There is no container named quarter").wait_for(timeout=30_000)
    assert card.locator("text=Hint 1 of").count() == 0
    card.locator("button", has_text="Hint").click()  # the learner asks: one hint
    card.locator("text=Hint 1 of").wait_for(timeout=10_000)
    assert card.locator("text=Hint 2 of").count() == 0
    # The learner's cell: the empty one right below the card's ("# your code ... here").
    mine = page.locator(".jp-Cell", has=card).locator(
        "xpath=following-sibling::div[contains(@class, 'jp-CodeCell')][1]")
    assert "your code for exercise 4 here" in mine.inner_text()
    _type_in(page, mine, 'lab.run("quarter", "busybox", "sleep 600", cpus=0.5, quiet=True)')
    card.scroll_into_view_if_needed()
    card.locator("button", has_text="Check").click()  # a wrong try: counted, the next hint
    card.locator("text=Hint 2 of").wait_for(timeout=30_000)
    _type_in(page, mine, 'exercises.get("01.cpu-quarter").reset()\n'
                         'lab.run("quarter", "busybox", "sleep 600", cpus=0.25, quiet=True)')
    card.scroll_into_view_if_needed()
    card.locator("button", has_text="Check").click()
    try:
        card.locator("text=✔").wait_for(timeout=30_000)
    finally:
        card.screenshot(path=str(tmp_path / "exercise.png"))
    progress = json.loads((tmp_path / "progress.json").read_text())
    entry = next(iter(progress["learners"].values()))["exercises"]["01.cpu-quarter"]
    assert entry["passed"] and entry["tries"] == 2 and entry["hints"] == 2


def _type_in(page, cell, code: str) -> None:
    """Replace the code of ``cell`` as a learner types it, and run it."""
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    for number, line in enumerate(code.split("\n")):
        if number:
            page.keyboard.press("Enter")
        page.keyboard.type(line)
    page.keyboard.press("Shift+Enter")
    page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=60_000)


def _rgb(hex_colour: str) -> str:
    """A #RRGGBB colour as the browser's computed style writes it."""
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_chapter_four_shows_the_pictures_and_the_coloured_matrix(jupyterlab):
    sync_api = pytest.importorskip("playwright.sync_api")
    from labkit.views.namespace_figures import FILLS

    base, token, tmp_path = jupyterlab
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _run_all(page, base, token, "04-comparison.ipynb", DONE, tmp_path / "chapter4.png")
        # The pictures: one figure, rendered as an image in the cell that draws it.
        pictures = page.locator(".jp-CodeCell", has_text="views.namespace_boxes_by_kind")
        image = pictures.locator(".jp-OutputArea img[src^='data:image/png']")
        assert image.count() == 1
        image.scroll_into_view_if_needed()
        box = image.bounding_box()
        assert box["width"] > 300 and box["height"] > box["width"]  # four pictures, stacked
        image.screenshot(path=str(tmp_path / "pictures.png"))
        # The coloured matrix: the app's row per kind, each cell in its category's colour.
        matrix = page.locator(".jp-CodeCell", has_text="views.comparison_colours")
        cells = matrix.locator(".jp-OutputArea table.lk-sharing td.lk-ns")
        assert cells.count() == 4 * 5  # four ways of running app, five namespace types
        seen = {}
        for category in ("own", "pod"):
            found = matrix.locator(f"table.lk-sharing td.lk-ns-{category}")
            seen[category] = found.count()
            for i in range(found.count()):
                colour = found.nth(i).evaluate("cell => getComputedStyle(cell).backgroundColor")
                assert colour == _rgb(FILLS[category])
        assert seen["own"] >= 5 and seen["pod"] >= 6  # the plain container; net, ipc of 3
        plain = matrix.locator("table.lk-sharing tr", has_text="plain container")
        assert plain.locator("td.lk-ns-own").count() == 5
        matrix.locator("table.lk-sharing").screenshot(path=str(tmp_path / "matrix.png"))
        # The widget: its picture renders, and a click on a process lists its namespaces.
        widget = page.locator(".jp-CodeCell", has_text="views.namespace_boxes_widget")
        widget.locator(".jp-OutputArea img").first.wait_for(timeout=30_000)
        widget.scroll_into_view_if_needed()
        widget.get_by_role("button", name="app", exact=True).click()
        widget.locator("li", has_text="app's own net alone").wait_for(timeout=30_000)
        assert widget.locator("text=app is in:").count() == 1
        widget.get_by_role("button", name="Podman pod", exact=True).click()
        widget.locator("li", has_text="infra's net, shared").wait_for(timeout=30_000)
        widget.screenshot(path=str(tmp_path / "widget.png"))
        _no_tracebacks(page)
        browser.close()
