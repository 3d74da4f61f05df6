"""Warm nodes on a real hub (`./lab workshop up --learners 3 --warm 1`): a node is started
before anyone logs in; the first login takes it (the same container, now the learner's,
their work volume mounted in it and their environment given to its server) and a cell
answers there sooner than after the same login to a workshop without a pool, measured in
the same run; the pool refills; two logins at the same moment get one the warm node, the
other a node started at login, each their own work; then, the seats full, no refill; a
stopped node's slot is released, its work kept; `down` leaves no node and no mount. Needs
the learner node image (CI builds it).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from labkit.workshop import hub, warm
from labkit.workshop.mounts import mounted
from labkit.workshop.settings import NODE_WORK, WORKSHOP_LABEL, Workshop
from tests.container.test_lab_container import _run_a_cell
from tests.workshop.test_workshop_class import (  # noqa: F401
    built,
    in_node,
    server,
    until,
    workshop_cmd,
)

pytestmark = pytest.mark.slow


def pool(docker_client, workshop: Workshop, name_part: str) -> list:
    return docker_client.containers.list(filters={
        "label": f"{WORKSHOP_LABEL}={workshop.id}", "name": workshop.prefix + name_part})


def login_to_a_cell(workshop: Workshop, learner: str) -> float:
    """As a login does it (the user exists, their server is asked for), to a cell answered
    in a kernel of their JupyterLab; seconds."""
    started = time.monotonic()
    hub.request(workshop, "POST", "/users", {"usernames": [learner]})
    hub.request(workshop, "POST", f"/users/{learner}/server")
    deadline = started + 300
    while not server(workshop, learner).get("ready"):
        assert time.monotonic() < deadline, f"{learner}'s node was not ready within 300 s"
        time.sleep(0.1)
    token = hub.request(workshop, "POST", f"/users/{learner}/tokens", {})["token"]
    printed = _run_a_cell(f"http://127.0.0.1:{workshop.port}/user/{learner}", token,
                          "import os; print(os.environ['LABKIT_LEARNER'])")
    assert printed.strip() == learner
    return time.monotonic() - started


def test_a_login_takes_a_warm_node(docker_client, built, tmp_path):  # noqa: F811
    # The same login without a pool first, for the comparison in the same run.
    cold_state = tmp_path / "cold"
    up = workshop_cmd(cold_state, "up", "--learners", "1", "--port",
                      str(hub.free_port("127.0.0.1")), "--code", "class-code")
    assert up.returncode == 0, up.stderr
    try:
        cold_seconds = login_to_a_cell(Workshop.load(cold_state), "ann")
    finally:
        down = workshop_cmd(cold_state, "down")
    assert down.returncode == 0, down.stderr

    state = tmp_path / "warm"
    up = workshop_cmd(state, "up", "--learners", "3", "--warm", "1", "--port",
                      str(hub.free_port("127.0.0.1")), "--code", "class-code")
    assert up.returncode == 0, up.stderr
    workshop = Workshop.load(state)
    try:
        ready = until(lambda: pool(docker_client, workshop, "-warm-"), 300, "a warm node")
        assert len(ready) == 1 and not pool(docker_client, workshop, "-boot-")
        status = workshop_cmd(state, "status")
        assert "warm nodes ready for logins: 1 of 1" in status.stdout, status.stdout

        # Ann's login takes it: the same container, now hers.
        warm_id = ready[0].id
        warm_seconds = login_to_a_cell(workshop, "ann")
        print(f"login to a cell answered: a warm node {warm_seconds:.1f} s, a node started "
              f"at login {cold_seconds:.1f} s, ratio {warm_seconds / cold_seconds:.2f}")
        ann = docker_client.containers.get(workshop.node_name("ann"))
        assert ann.id == warm_id
        assert "01-containers.ipynb" in in_node(ann.name, f"ls {NODE_WORK}").stdout
        assert in_node(ann.name, f"echo hers > {NODE_WORK}/mine.txt").returncode == 0
        volume = Path(docker_client.volumes.get(workshop.work_volume("ann")).attrs["Mountpoint"])
        assert (volume / "mine.txt").read_text() == "hers\n"  # her volume, not the slot
        assert warm_seconds < cold_seconds

        # The pool refills; Bob and Carol log in at the same moment: one of them gets the
        # warm node, the other a node started at login, each with their own work.
        refilled = until(lambda: pool(docker_client, workshop, "-warm-"), 300,
                         "the pool refilled")
        with ThreadPoolExecutor(2) as logins:
            list(logins.map(lambda learner: login_to_a_cell(workshop, learner), ("bob", "carol")))
        ids = {n: docker_client.containers.get(workshop.node_name(n)).id for n in ("bob", "carol")}
        assert sorted(i == refilled[0].id for i in ids.values()) == [False, True], ids
        for learner in ("bob", "carol"):  # what each writes lands on their own volume
            written = docker_client.containers.get(ids[learner]).exec_run(
                ["sh", "-c", f"echo {learner} > {NODE_WORK}/who.txt"])
            assert written.exit_code == 0, written.output
            theirs = docker_client.volumes.get(workshop.work_volume(learner)).attrs["Mountpoint"]
            assert (Path(theirs) / "who.txt").read_text() == f"{learner}\n"
        # The seats are full (3): the pool refills no further.
        time.sleep(3 * warm.KEEP_EVERY_S + 1)
        assert not pool(docker_client, workshop, "-")
        nodes = docker_client.containers.list(filters={"label": f"{WORKSHOP_LABEL}={workshop.id}"})
        assert len(nodes) == workshop.seats == 3

        # Ann's node stops: its slot is released, her work kept.
        slot = ann.labels[warm.SLOT_LABEL]
        hub.request(workshop, "DELETE", "/users/ann/server")
        until(lambda: not os.path.exists(slot), 120, "ann's slot released")
        assert not mounted(slot)
        assert (volume / "mine.txt").read_text() == "hers\n"
    finally:
        down = workshop_cmd(state, "down")
    assert down.returncode == 0, down.stderr
    assert not docker_client.containers.list(all=True, filters={
        "label": f"{WORKSHOP_LABEL}={workshop.id}"})
    assert not warm.slots(workshop).exists()
    assert str(warm.slots(workshop)) not in Path("/proc/self/mountinfo").read_text()
