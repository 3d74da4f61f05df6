"""A learner's first minutes in a workshop, in a real browser: the hub's login page on
127.0.0.1, the workshop code, the learner's own node starting, JupyterLab opening in it,
and chapter 1 run from the menu there, with its widgets and figures rendered; meanwhile
the instructor's class board shows her node and, within 5 seconds, her checks.
Needs the learner node image and Debian's Chromium (CI has both)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from labkit.workshop import hub
from tests.browser.test_jupyterlab import CHROMIUM, FLAGS
from tests.conftest import need

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def browser_and_node_image(docker_client):
    """Playwright's API, once Chromium and the learner node image are known to be here."""
    sync_api = pytest.importorskip("playwright.sync_api")
    need(os.path.exists(CHROMIUM), "Debian's chromium is needed for the browser test")
    need(bool(docker_client.images.list(filters={"label": hub.NODE_IMAGE_LABEL})),
         "the learner node image (sudo ./lab workshop build)")
    return sync_api


def test_a_learner_logs_in_and_runs_chapter_one(docker_client, tmp_path):
    sync_api = browser_and_node_image(docker_client)
    port = hub.free_port("127.0.0.1")
    env = {**os.environ, "LABKIT_WORKSHOP_STATE": str(tmp_path / "workshop")}
    up = subprocess.run([str(REPO / "lab"), "workshop", "up", "--learners", "1", "--port",
                         str(port), "--code", "class-code"], env=env, text=True,
                        capture_output=True, timeout=300)
    assert up.returncode == 0, up.stderr
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/hub/login")
            page.fill("input[name=username]", "dana")
            page.fill("input[name=password]", "class-code")
            page.click("input[type=submit], button[type=submit]")
            # The hub starts dana's node and sends her to her own JupyterLab.
            try:
                page.wait_for_url("**/user/dana/lab**", timeout=300_000)
            finally:
                page.screenshot(path=str(tmp_path / "after-login.png"))
            page.goto(f"http://127.0.0.1:{port}/user/dana/lab/tree/01-containers.ipynb")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_selector("text=Python 3 (ipykernel) | Idle", timeout=120_000)
            # Her copy of the chapter holds its stored outputs: clear them, then run it all.
            page.click(".lm-MenuBar-itemLabel:text-is('Edit')", timeout=10_000)
            page.click(".lm-Menu-itemLabel:text-is('Clear Outputs of All Cells')",
                       timeout=10_000)
            page.click(".lm-MenuBar-itemLabel:text-is('Run')", timeout=10_000)
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')", timeout=10_000)
            try:
                # The chapter's last cell: the button that removes what it made.
                page.wait_for_function(
                    "document.body.innerText.includes('Clean up this chapter')",
                    timeout=300_000)
            finally:
                page.screenshot(path=str(tmp_path / "chapter1-in-a-node.png"))
            figures = page.locator(".jp-OutputArea img[src^='data:image/png']")
            assert figures.count() >= 3  # tree figure, memory plot, CPU plot
            tree = page.locator(".jp-CodeCell", has_text="views.cgroup_tree_widget")
            assert tree.locator(".jp-OutputArea .lm-AccordionPanel, "
                                ".jp-OutputArea .jupyter-widget-Accordion").count() >= 1
            errors = page.locator(".jp-OutputArea-output[data-mime-type="
                                  "'application/vnd.jupyter.stderr']", has_text="Traceback")
            assert errors.count() == 0
            status = subprocess.run([str(REPO / "lab"), "workshop", "status"], env=env,
                                    text=True, capture_output=True, timeout=60)
            assert "dana" in status.stdout and "ready" in status.stdout
            progress = subprocess.run([str(REPO / "lab"), "workshop", "progress", "--json"],
                                      env=env, text=True, capture_output=True, timeout=60)
            rows = json.loads(progress.stdout)
            # Run All spends nothing: no check of an untouched exercise counts a try.
            assert [r["learner"] for r in rows] == ["dana"] and rows[0]["tried"] == 0
            the_instructor_watches_the_board(browser, port, env, tmp_path, docker_client)
            browser.close()
    finally:
        down = subprocess.run([str(REPO / "lab"), "workshop", "down"], env=env, text=True,
                              capture_output=True, timeout=300)
        assert down.returncode == 0, down.stderr


def the_instructor_watches_the_board(browser, port: int, env: dict, tmp_path: Path,
                                     docker_client) -> None:
    """The instructor logs in beside dana and lands on the class board: dana's row with
    her node's memory and CPU; then checks recorded in dana's node (the progress code a
    check runs, with the node's own settings) show on the board within 5 seconds: a
    prediction's first answer in its histogram, and dana flagged stuck after failed checks."""
    from labkit.exercises import exercises
    from labkit.workshop.board import STUCK_FAILED_TRIES
    from labkit.workshop.settings import ADMIN, Workshop

    workshop = Workshop.load(Path(env["LABKIT_WORKSHOP_STATE"]))
    board = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    board.goto(f"http://127.0.0.1:{port}/hub/login")
    board.fill("input[name=username]", ADMIN)
    board.fill("input[name=password]", workshop.admin_code)
    board.click("input[type=submit], button[type=submit]")
    board.wait_for_url("**/services/board/", timeout=60_000)
    dana = board.locator("tr[data-learner=dana]")
    dana.wait_for(timeout=30_000)
    board.wait_for_function(
        "document.querySelector('tr[data-learner=dana] td.cpu').textContent.includes('%')",
        timeout=30_000)  # two readings of her node's cgroup make a CPU share
    assert "MiB of" in dana.locator("td.memory").inner_text()
    do = next(e for e in exercises("01") if e.kind == "do")
    predict = next(e for e in exercises("01") if e.kind == "predict")
    tries = "; ".join(  # her prediction, then the exercise she gets stuck on
        [f"progress.record_try({predict.id!r}, False, 2, first_answer='mnt, net')"]
        + [f"progress.record_try({do.id!r}, False, {len(do.spec.hints)}, sentence='not yet')"]
        * STUCK_FAILED_TRIES)
    node = docker_client.containers.get(workshop.node_name("dana"))
    checked = time.monotonic()
    done = node.exec_run(["/opt/lab/.venv/bin/python", "-c",
                          f"from labkit.exercises import progress; {tries}"])
    assert done.exit_code == 0, done.output
    board.wait_for_selector("tr[data-learner=dana].stuck", timeout=5_000)
    board.wait_for_selector(f"table[data-exercise='{predict.id}'] >> text=mnt, net",
                            timeout=5_000)
    shown_after = time.monotonic() - checked
    cell = dana.locator(f"td[data-exercise='{do.id}']")
    assert cell.inner_text().startswith(f"✗ {STUCK_FAILED_TRIES}")
    assert "failed checks" in dana.locator("td.learner").inner_text()
    board.screenshot(path=str(tmp_path / "class-board.png"), full_page=True)
    print(f"the board showed dana's checks {shown_after:.1f} s after they were recorded")
