"""What stops a workshop before it starts: each one sentence, and nothing created.

These run on the real Docker engine of this host and need no node image: each fault is
found before the hub would start.
"""

from __future__ import annotations

import re
import socket

import pytest

from labkit.errors import LabError
from labkit.workshop import capacity, hub, settings
from labkit.workshop.settings import WORKSHOP_LABEL


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "STATE_DIR", tmp_path / "workshop")
    return tmp_path / "workshop"


@pytest.fixture
def an_image(monkeypatch):
    """Faults found after the image check: the image's name stands in for a built one."""
    monkeypatch.setattr(hub, "node_image", lambda client: "labkit/learner-node:stand-in")


def workshop_objects(client) -> list[str]:
    mark = {"label": WORKSHOP_LABEL}
    return ([c.name for c in client.containers.list(all=True, filters=mark)]
            + [v.name for v in client.volumes.list(filters=mark)]
            + [n.name for n in client.networks.list(filters=mark)])


def one_sentence(error: LabError) -> str:
    text = str(error)
    assert "\n" not in text and text.endswith(".") and "Traceback" not in text
    return text


def test_no_node_image_yet(docker_client, monkeypatch, state_dir):
    monkeypatch.setattr(hub, "NODE_IMAGE_LABEL", "org.labkit.image=no-such-node-image")
    before = workshop_objects(docker_client)
    with pytest.raises(LabError) as error:
        hub.up(learners=2)
    assert "not built yet: run sudo ./lab workshop build" in one_sentence(error.value)
    assert workshop_objects(docker_client) == before and not state_dir.exists()


def test_the_port_is_taken(docker_client, an_image, state_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = workshop_objects(docker_client)
        with pytest.raises(LabError) as error:
            hub.up(learners=2, port=port)
    assert one_sentence(error.value) == (
        f"Port {port} on 127.0.0.1 is already taken by another program: choose another "
        "with --port (e.g. --port 8100).")
    assert workshop_objects(docker_client) == before and not state_dir.exists()


def test_more_learners_than_the_host_holds(docker_client, an_image, state_dir):
    # The host's available memory moves while other tests run: the seats are read twice.
    room = capacity.seats_for(capacity.available_bytes(), 2 * 2**30)
    with pytest.raises(LabError) as error:
        hub.up(learners=room + 10)
    text = one_sentence(error.value)
    said = re.match(r"This host holds (\d+) learner\(s\), not (\d+): it has [\d.]+ GiB "
                    r"available and a node needs up to 512 MiB", text)
    assert said, text
    assert abs(int(said[1]) - room) <= 2 and int(said[2]) == room + 10
    assert "measured running chapter 3" in text and not state_dir.exists()


@pytest.mark.parametrize(("options", "words"), [
    ({"memory": "2 bananas"}, "The memory quantity '2 bananas' is not a size"),
    ({"memory": "256m"}, "--memory 256m is below what a node needs at its peak"),
    ({"cpus": "0"}, "The CPU quantity '0' is out of range"),
    ({"names": ["Ann Smith"]}, "'Ann Smith' cannot be a learner's name"),
    ({"names": ["instructor"]}, "'instructor' is the instructor's account"),
    ({"code": "short"}, "The workshop code 'short' is too short"),
    ({"idle_minutes": 0}, "--idle-minutes 0 is not a time to wait"),
    ({"warm": 2}, "--warm 2 is not a number of warm nodes for 1 seat(s)"),
    ({"warm": -1}, "--warm -1 is not a number of warm nodes for 1 seat(s)"),
    ({"work_size": "lots"}, "--work-size lots is not a size for a learner's work: give 64M"),
    ({"work_size": "1M"}, "--work-size 1M is not a size for a learner's work: give 64M"),
    ({"work_size": "900T"},
     "The work of 1 learner(s) at --work-size 900T may take 921600 GiB, and "),
])
def test_bad_input(docker_client, an_image, state_dir, options, words):
    before = workshop_objects(docker_client)
    with pytest.raises(LabError) as error:
        hub.up(learners=1, **options)
    assert one_sentence(error.value).startswith(words)
    assert workshop_objects(docker_client) == before and not state_dir.exists()


def test_docker_not_answering(monkeypatch, state_dir):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(LabError) as error:
        hub.up(learners=1)
    assert one_sentence(error.value).startswith(
        "No Docker engine answers at unix:///nonexistent/docker.sock: start it")


def test_commands_with_no_workshop_up(state_dir):
    assert hub.down() == "No workshop is up on this host."
    for command in (hub.status, lambda: hub.reset("ann")):
        with pytest.raises(LabError) as error:
            command()
        assert one_sentence(error.value) == (
            "No workshop is up on this host: start one with sudo ./lab workshop up.")


@pytest.mark.slow  # a real JupyterHub starts (about 9 s): with the workshop's other hubs
def test_a_hub_that_cannot_start_leaves_its_log_and_nothing_else(docker_client, an_image,
                                                                  state_dir):
    # The hub really starts here, and stops at once: its proxy program is not there.
    before = workshop_objects(docker_client)
    with pytest.raises(LabError) as error:
        hub.up(learners=1, port=hub.free_port("127.0.0.1"),
               proxy="/nonexistent/configurable-http-proxy")
    assert str(error.value).startswith("JupyterHub stopped as it started: ")
    assert workshop_objects(docker_client) == before
    assert sorted(p.name for p in state_dir.iterdir()) == ["hub.log"]
    assert settings.Workshop.load() is None
