"""A learner's first minutes in a workshop, in a real browser: the hub's login page on
127.0.0.1, the workshop code, the learner's own node starting, JupyterLab opening in it,
and chapter 1 run from the menu there, with its widgets and figures rendered.
Needs the learner node image and Debian's Chromium (CI has both)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from labkit.workshop import hub
from tests.browser.test_jupyterlab import CHROMIUM, FLAGS
from tests.conftest import need

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def test_a_learner_logs_in_and_runs_chapter_one(docker_client, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    need(os.path.exists(CHROMIUM), "Debian's chromium is needed for the browser test")
    need(bool(docker_client.images.list(filters={"label": hub.NODE_IMAGE_LABEL})),
         "the learner node image (sudo ./lab workshop build)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
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
            browser.close()
        status = subprocess.run([str(REPO / "lab"), "workshop", "status"], env=env,
                                text=True, capture_output=True, timeout=60)
        assert "dana" in status.stdout and "ready" in status.stdout
        progress = subprocess.run([str(REPO / "lab"), "workshop", "progress", "--json"],
                                  env=env, text=True, capture_output=True, timeout=60)
        rows = json.loads(progress.stdout)
        # Run All spends nothing: no check of an untouched exercise counts a try.
        assert [r["learner"] for r in rows] == ["dana"] and rows[0]["tried"] == 0
    finally:
        down = subprocess.run([str(REPO / "lab"), "workshop", "down"], env=env, text=True,
                              capture_output=True, timeout=300)
        assert down.returncode == 0, down.stderr
