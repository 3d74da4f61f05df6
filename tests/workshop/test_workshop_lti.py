"""A class entering the workshop from its course (LTI 1.3), in a real browser, on a real
hub and learner node: the course (tests/workshop/lti_platform.py, a platform with a
signing key of its own, on another site than the hub) launches a learner, who lands in
JupyterLab in her own node; she launches again, her name in the course changed and no
client ID in the login, and gets the same name, node and work; the course's instructor
lands on the class board and takes no seat; launches from another course or deployment,
or signed with a key the platform does not publish, are refused in a sentence and make
nobody; the hub opened directly says where to enter from; her score goes back to the
course's grade column.
Needs the learner node image and Debian's Chromium (CI has both)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from labkit.exercises import exercises
from labkit.workshop import hub
from labkit.workshop.lti import learner_name, tool_urls
from labkit.workshop.settings import ADMIN, Workshop
from tests.browser.test_jupyterlab import CHROMIUM, FLAGS
from tests.workshop.lti_platform import Platform
from tests.workshop.test_workshop_browser import browser_and_node_image

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def test_a_class_enters_from_its_course(docker_client, tmp_path):
    sync_api = browser_and_node_image(docker_client)
    port = hub.free_port("127.0.0.1")
    hub_url = f"http://127.0.0.1:{port}"
    course = Platform(hub_url).start()
    course.enrol("ada", "Ada Lovelace", "ada@example.edu")
    course.enrol("grace", "Grace Hopper", "grace@example.edu", role="Instructor")
    course.enrol("eve", "Eve Mallory", "eve@example.edu")
    course.enrol("olga", "Olga Other", "olga@example.edu", course="course-2")
    course.enrol("tom", "Tom Teacher", "tom@example.edu", role="Instructor",
                 deployment="deployment-2")
    platform_file = tmp_path / "platform.yaml"
    platform_file.write_text(yaml.safe_dump(course.settings()))
    env = {**os.environ, "LABKIT_WORKSHOP_STATE": str(tmp_path / "workshop")}
    up = subprocess.run([str(REPO / "lab"), "workshop", "up", "--learners", "2", "--port",
                         str(port), "--lti", str(platform_file)], env=env, text=True,
                        capture_output=True, timeout=300)
    assert up.returncode == 0, up.stderr
    try:
        # What `up` tells the instructor to register is where the course sends launches.
        for what, url in tool_urls(hub_url).items():
            assert f"{what}: {url}" in up.stdout
        workshop = Workshop.load(Path(env["LABKIT_WORKSHOP_STATE"]))
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)

            # Ada follows the course's link and lands in JupyterLab, in her own node.
            ada = browser.new_context().new_page()
            responses = []
            ada.on("response", lambda r: responses.append(r))
            ada.goto(course.launch_url("ada"))
            name = learner_name(course.launches[-1])
            assert name.startswith("ada-")
            ada.wait_for_url(f"**/user/{name}/lab**", timeout=300_000)
            ada.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
            # Its state and nonce cookies reach the hub on the course's cross-site POST.
            handshake = [r.header_value("set-cookie") or "" for r in responses
                         if "/hub/lti13/oauth_login" in r.url]
            assert handshake and all("SameSite=None" in c and "Secure" in c
                                     for c in handshake), handshake
            node = docker_client.containers.get(workshop.node_name(name))
            assert any(m["Name"] == workshop.work_volume(name)
                       for m in node.attrs["Mounts"] if m["Type"] == "volume")
            marker = "written before the second launch"
            assert node.exec_run(["sh", "-c", f"echo '{marker}' > /root/work/mine.txt"]
                                 ).exit_code == 0

            # Her next launch, from another browser, her name in the course changed and the
            # login without its optional client ID, is the same learner in the same node.
            course.people["ada"]["given_name"] = "Augusta"
            again = browser.new_context().new_page()
            again.goto(course.launch_url("ada", client_id=False))
            again.wait_for_url(f"**/user/{name}/lab**", timeout=120_000)
            assert learner_name(course.launches[-1]) != name  # what a new learner would get
            assert node.exec_run(["cat", "/root/work/mine.txt"]).output.decode().strip() \
                == marker

            # The course's instructor lands on the class board, with Ada's row on it.
            grace = browser.new_context().new_page()
            grace.goto(course.launch_url("grace"))
            grace.wait_for_url("**/services/board/", timeout=60_000)
            grace.locator(f"tr[data-learner='{name}']").wait_for(timeout=30_000)
            grace.screenshot(path=str(tmp_path / "board-after-launches.png"))

            # Launches from another course, or from another deployment of the tool (another
            # teacher adding it elsewhere), are refused in a sentence.
            for person, words in (("olga", "another course than the workshop's"),
                                  ("tom", "another deployment of the tool")):
                other = browser.new_context().new_page()
                other.goto(course.launch_url(person))
                other.wait_for_function(f"document.body.innerText.includes({words!r})",
                                        timeout=30_000)

            # An impostor's launch (a key the course does not publish) is refused.
            course.forge = True
            eve = browser.new_context().new_page()
            answer = []
            eve.on("response", lambda r: answer.append(r.status)
                   if "/hub/lti13/oauth_callback" in r.url else None)
            eve.goto(course.launch_url("eve"))
            eve.wait_for_load_state()
            eve.wait_for_function("document.body.innerText.includes('Signature')",
                                  timeout=30_000)
            eve.screenshot(path=str(tmp_path / "forged-launch.png"))
            assert answer == [400]
            eve_name = learner_name(course.launches[-1])

            # The hub opened directly sends the learner to the course.
            direct = browser.new_context().new_page()
            direct.goto(f"{hub_url}/hub/")
            direct.screenshot(path=str(tmp_path / "hub-opened-directly.png"))
            assert "open it from the course's page" in direct.inner_text("body")
            browser.close()

        users = {u["name"]: u for u in hub.request(workshop, "GET", "/users")}
        assert set(users) == {name, ADMIN} and eve_name not in users
        assert users[ADMIN]["admin"] and not users[ADMIN]["servers"]  # no seat taken
        nodes = docker_client.containers.list(filters={"label": "io.labkit.role=learner-node"})
        assert [c.name for c in nodes if c.name.startswith(workshop.prefix)] == [
            workshop.node_name(name)]
        status = subprocess.run([str(REPO / "lab"), "workshop", "status"], env=env,
                                text=True, capture_output=True, timeout=60)
        assert f"entered from {course.url} (LTI 1.3)" in status.stdout
        assert name in status.stdout

        # Her exercises passed go back to the course's grade column for the link.
        passed = next(e for e in exercises("01") if e.kind == "do")
        done = node.exec_run(["/opt/lab/.venv/bin/python", "-c",
                              "from labkit.exercises import progress; "
                              f"progress.record_try({passed.id!r}, True, 0)"])
        assert done.exit_code == 0, done.output
        sent = subprocess.run([str(REPO / "lab"), "workshop", "grades", "--to-course"],
                              env=env, text=True, capture_output=True, timeout=120)
        assert sent.returncode == 0, sent.stderr
        total = len(exercises())
        assert sent.stdout == f"Sent 1 score(s) to the course:\n  {name}: 1 of {total}\n"
        [score] = course.scores
        assert (score["userId"], score["scoreGiven"], score["scoreMaximum"]) == (
            course.people["ada"]["sub"], 1, total)
        assert score["activityProgress"] == "InProgress"
        assert score["gradingProgress"] == "FullyGraded"
        # A platform that does not take the tool's key: one sentence, nothing sent.
        course.tokens.clear()
        course.client_id = "another-tool"
        refused = subprocess.run([str(REPO / "lab"), "workshop", "grades", "--to-course"],
                                 env=env, text=True, capture_output=True, timeout=120)
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr.startswith("labkit: The course's platform refused an access "
                                         "token (HTTP 400") and refused.stderr.count("\n") == 1
        assert len(course.scores) == 1
    finally:
        down = subprocess.run([str(REPO / "lab"), "workshop", "down"], env=env, text=True,
                              capture_output=True, timeout=300)
        course.stop()
        assert down.returncode == 0, down.stderr
