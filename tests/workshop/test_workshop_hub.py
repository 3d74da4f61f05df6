"""The hub's housekeeping on a real hub (`./lab workshop up --idle-minutes 1`, one seat):
the instructor's login lands on the class board and takes no seat, and a learner cannot
open the board; a learner's node left alone is stopped by jupyterhub-idle-culler within a
bounded time (its timeout, a check every half timeout, the hub's own bookkeeping), the
learner's work volume kept, and their next start gives them a node again. Needs the learner
node image (`sudo ./lab workshop build`; CI builds it).
"""

from __future__ import annotations

import http.cookiejar
import json
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from labkit.errors import LabError
from labkit.workshop import hub
from labkit.workshop.settings import ADMIN, WORKSHOP_LABEL, Workshop
from tests.workshop.test_workshop_class import built, server, state, until, workshop_cmd  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def class_hub(tmp_path_factory, docker_client, built):  # noqa: F811
    state = tmp_path_factory.mktemp("hub") / "workshop"  # noqa: F811
    port = hub.free_port("127.0.0.1")
    try:
        up = workshop_cmd(state, "up", "--learners", "1", "--port", str(port),
                          "--idle-minutes", "1", "--code", "class-code")
        assert up.returncode == 0, up.stderr
        workshop = Workshop.load(state)
        assert workshop.idle_minutes == 1
        yield workshop
    finally:
        down = workshop_cmd(state, "down")
    assert down.returncode == 0, down.stderr
    assert not docker_client.containers.list(all=True, filters={"label": WORKSHOP_LABEL})
    assert not docker_client.volumes.list(filters={"label": WORKSHOP_LABEL})


def _login(workshop: Workshop, name: str, code: str, follow: bool = True):
    """A browser's session on the hub (its cookies), logged in as ``name``; where the login
    landed (None when redirects are not followed: a learner's node is not started)."""
    jar = http.cookiejar.CookieJar()
    handlers = [urllib.request.HTTPCookieProcessor(jar)]
    if not follow:
        handlers.append(_NoRedirect())
    browser = urllib.request.build_opener(*handlers)
    base = f"http://127.0.0.1:{workshop.port}"
    browser.open(f"{base}/hub/login", timeout=30).read()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    form = urllib.parse.urlencode({"username": name, "password": code,
                                   "_xsrf": xsrf}).encode()
    try:
        with browser.open(f"{base}/hub/login", form, timeout=60) as landed:
            return browser, landed.url, landed.read().decode()
    except urllib.error.HTTPError as redirect:  # not followed: logged in, nothing started
        assert redirect.code == 302, redirect
        return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), None, ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_the_instructors_login_opens_the_board_and_takes_no_seat(class_hub, docker_client):
    workshop = class_hub
    browser, landed, page = _login(workshop, ADMIN, workshop.admin_code)
    assert urllib.parse.urlparse(landed).path == "/services/board/", landed
    assert "Class board" in page
    base = f"http://127.0.0.1:{workshop.port}"
    with browser.open(f"{base}/services/board/api/state", timeout=60) as answer:
        state = json.loads(answer.read())
    assert state["exercises"] and "learners" in state and state["predictions"]
    with pytest.raises(LabError) as refused:  # asked for a node anyway: the hub says no
        hub.request(workshop, "POST", f"/users/{ADMIN}/server")
    assert "has no learner node" in str(refused.value)
    assert not server(workshop, ADMIN)
    assert not docker_client.containers.list(all=True, filters={
        "name": workshop.node_name(ADMIN)})


def test_a_learner_cannot_open_the_board(class_hub):
    workshop = class_hub
    browser, _, _ = _login(workshop, "lee", workshop.code, follow=False)
    base = f"http://127.0.0.1:{workshop.port}"
    for path in ("/services/board/", "/services/board/api/state"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            browser.open(f"{base}{path}", timeout=60).read()
        assert refused.value.code == 403, (path, refused.value)
    hub.request(workshop, "DELETE", "/users/lee")  # logged in only: no node, no seat


def test_an_idle_node_is_stopped_and_its_work_kept(class_hub, docker_client):
    workshop = class_hub
    hub.request(workshop, "POST", "/users", {"usernames": ["dan"]})
    hub.request(workshop, "POST", "/users/dan/server")
    until(lambda: server(workshop, "dan").get("ready"), 300, "dan's node")
    node = docker_client.containers.get(workshop.node_name("dan"))
    volume = workshop.work_volume("dan")
    assert docker_client.volumes.get(volume)
    started = time.monotonic()
    # Nothing touches the node now. The culler asks every 30 s (half its timeout) and
    # stops a server idle for more than 60 s; the single-user server and the proxy report
    # activity every few minutes at most, and the node's start counts as one.
    until(lambda: not server(workshop, "dan"), 420, "the culler stopping dan's idle node")
    culled_after = time.monotonic() - started
    print(f"dan's idle node stopped {culled_after:.0f} s after it was ready")
    assert culled_after >= 55  # not before the minute of idleness it was given
    until(lambda: not docker_client.containers.list(all=True, filters={"id": node.id}),
          60, "dan's node container removed")
    assert docker_client.volumes.get(volume)  # the learner's work stays
    hub.request(workshop, "POST", "/users/dan/server")
    until(lambda: server(workshop, "dan").get("ready"), 300, "dan's node again")
