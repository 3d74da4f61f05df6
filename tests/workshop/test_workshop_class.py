"""A class of three on this host, end to end, with the commands an instructor types.

`./lab workshop up` starts the hub; three learners get nodes through the hub's REST API
(tokens, on 127.0.0.1) and one logs in through the login page with the workshop code;
every node runs chapters 1 and 3 at once, each on its own engine, and one node every other
chapter (all strictly compared, as on a host); the progress table and the grades show one
learner's check; a node that dies gives
its learner a fresh one with their progress kept; `./lab workshop down` leaves nothing of
the workshop and everything else (a foreign container and volume survive).
Needs the learner node image (`sudo ./lab workshop build`; CI builds it).
"""

from __future__ import annotations

import contextlib
import csv
import http.cookiejar
import io
import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import pytest

from labkit.node.reader import Node
from labkit.workshop import guard, hub, work_disks
from labkit.workshop.privileges import node_privileges
from labkit.workshop.settings import NODE_PIDS, NODE_PROGRESS, WORKSHOP_LABEL, Workshop
from tests.conftest import need
from tests.workshop.attack import one_learner_attacks_while_two_work
from tests.workshop.nodes import in_node

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
LEARNERS = ("ann", "bob", "carol")


@pytest.fixture(scope="module")
def built(docker_client):
    images = docker_client.images.list(filters={"label": hub.NODE_IMAGE_LABEL})
    need(bool(images), "the learner node image (sudo ./lab workshop build)")


@pytest.fixture
def state(tmp_path):
    return tmp_path / "workshop"


def workshop_cmd(state: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABKIT_WORKSHOP_STATE": str(state)}
    return subprocess.run([str(REPO / "lab"), "workshop", *args], env=env, text=True,
                          capture_output=True, timeout=timeout)


def until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"not within {seconds:.0f} s: {what}")


def server(workshop: Workshop, name: str) -> dict:
    return (hub.request(workshop, "GET", f"/users/{name}").get("servers") or {}).get("", {})


def log_in(port: int, name: str, code: str) -> bool:
    """The login page, as a browser uses it: its form, its _xsrf cookie, a redirect."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"http://127.0.0.1:{port}/hub/login", timeout=30).read()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    form = urllib.parse.urlencode({"username": name, "password": code, "_xsrf": xsrf}).encode()
    try:
        opener.open(f"http://127.0.0.1:{port}/hub/login?next=/hub/api/user", form, timeout=30)
    except urllib.error.HTTPError as error:
        assert error.code == 403, error.code  # the hub's answer to a wrong code
        return False
    return any(c.name.startswith("jupyterhub-session-id") for c in jar) and any(
        c.name == "jupyterhub-hub-login" for c in jar)




def test_a_class_of_three(docker_client, built, state):
    mark = f"foreign-{secrets.token_hex(3)}"
    image = docker_client.images.list(filters={"label": hub.NODE_IMAGE_LABEL})[0].id
    foreign = docker_client.containers.run(image, "sleep 900", entrypoint=[], detach=True,
                                           name=mark, labels={"test.owner": mark})
    foreign_volume = docker_client.volumes.create(mark, labels={"test.owner": mark})
    port = hub.free_port("127.0.0.1")
    try:
        up = workshop_cmd(state, "up", "--learners", "3", "--port", str(port), "--code",
                          "class-code")
        assert up.returncode == 0, up.stderr
        assert f"The workshop is up at http://127.0.0.1:{port}" in up.stdout
        workshop = Workshop.load(state)

        # Logging in: the code lets a learner in, a wrong one does not; the instructor's
        # account needs the instructor's code.
        assert log_in(port, "ann", "class-code")
        assert not log_in(port, "ann", "wrong-code")
        assert not log_in(port, "instructor", "class-code")
        assert log_in(port, "instructor", workshop.admin_code)

        # Three learners start their nodes through the REST API, at once.
        hub.request(workshop, "POST", "/users", {"usernames": ["bob", "carol"]})
        started = time.monotonic()
        for name in LEARNERS:
            hub.request(workshop, "POST", f"/users/{name}/server")
        for name in LEARNERS:
            until(lambda name=name: server(workshop, name).get("ready"), 300, f"{name}'s node")
        print(f"three nodes ready {time.monotonic() - started:.0f} s after the request")
        nodes = {name: docker_client.containers.get(workshop.node_name(name))
                 for name in LEARNERS}

        # Each learner's JupyterLab answers through the hub's proxy to their own token only.
        tokens = {name: hub.request(workshop, "POST", f"/users/{name}/tokens",
                                    {"note": "test"})["token"] for name in LEARNERS}

        def jupyter_status(owner: str, token: str) -> int:
            call = urllib.request.Request(f"http://127.0.0.1:{port}/user/{owner}/api/status",
                                          headers={"Authorization": f"token {token}"})
            try:
                with urllib.request.urlopen(call, timeout=30) as answer:
                    return answer.status
            except urllib.error.HTTPError as error:
                return error.code

        assert [jupyter_status(n, tokens[n]) for n in LEARNERS] == [200, 200, 200]
        assert jupyter_status("bob", tokens["ann"]) == 403

        # Privileged (or, where root here cannot grant that, every capability root has),
        # a cgroup namespace of its own, and capped: each node is a cgroup of its own.
        privileges = node_privileges()
        for node in nodes.values():
            config = node.attrs["HostConfig"]
            if privileges.get("privileged"):
                assert config["Privileged"]
            else:
                assert config["CapAdd"] == ["ALL"] and config["CapDrop"] == privileges["cap_drop"]
            assert config["CgroupnsMode"] == "private"
            assert config["Memory"] == 2 * 2**30
            assert config["CpuQuota"] == config["CpuPeriod"] == 100_000  # one CPU
            assert config["PidsLimit"] == NODE_PIDS

        # Every node runs chapters 1 and 3 at once, strictly compared, on its own engine.
        chapters = ("cd /opt/lab && python -m pytest -q -p no:cacheprovider --nbval "
                    "notebooks/01-containers.ipynb notebooks/03-docker-pod.ipynb 2>&1")
        started = time.monotonic()
        with ThreadPoolExecutor(len(nodes)) as pool:
            runs = dict(zip(nodes, pool.map(lambda n: in_node(n.name, chapters),
                                            nodes.values()), strict=True))
        print(f"chapters 1 and 3 in three nodes at once: {time.monotonic() - started:.0f} s")
        for name, run in runs.items():
            assert run.returncode == 0, f"{name}'s node:\n{run.stdout[-3000:]}"
        # And the other chapters, in one node: every chapter passes there as on a host.
        rest = in_node(nodes["ann"].name, chapters.replace(
            "notebooks/01-containers.ipynb notebooks/03-docker-pod.ipynb",
            "notebooks/00-preflight.ipynb notebooks/02-pods.ipynb notebooks/04-comparison.ipynb "
            "notebooks/05-podman-pods.ipynb notebooks/06-pod-from-scratch.ipynb"))
        assert rest.returncode == 0, rest.stdout[-3000:]

        # Each learner's containers exist in their own node only; nodes do not reach each
        # other (the network keeps them apart) but do reach the hub.
        for name, node in nodes.items():
            assert in_node(node.name, f"docker run -d --name mine-{name} "
                                      "$(docker image ls -q | head -1) sleep 300").returncode == 0
        for name, node in nodes.items():
            names = in_node(node.name, "docker ps --format '{{.Names}}'").stdout.split()
            assert [n for n in names if n.startswith("mine-")] == [f"mine-{name}"]
        assert not [c for c in docker_client.containers.list() if c.name.startswith("mine-")]
        ip_of = {n: node.attrs["NetworkSettings"]["Networks"][workshop.network]["IPAddress"]
                 for n, node in ((n, docker_client.containers.get(c.id))
                                 for n, c in nodes.items())}
        reach = "python3 -c \"import socket; socket.create_connection(('{}', {}), 3)\""
        assert in_node(nodes["ann"].name, reach.format(ip_of["bob"], 8888)).returncode != 0
        assert in_node(nodes["ann"].name,
                       reach.format(workshop.hub_ip, workshop.hub_port)).returncode == 0

        # Bob does chapter 1's quarter-CPU exercise by hand, in a terminal of his node, and
        # checks it: the check reads his node's kernel and records his progress.
        assert in_node(nodes["bob"].name, "docker run -d --name quarter --cpus 0.25 "
                                          "labkit/toolbox sleep 3600").returncode == 0
        check = in_node(nodes["bob"].name, "python -c \"from labkit import exercises; "
                                           "r = exercises.get('01.cpu-quarter').check(); "
                                           "print(r.passed, r)\"")
        assert check.returncode == 0 and check.stdout.startswith("True "), check.stdout

        # The instructor's table: every learner, what they passed and tried.
        table = workshop_cmd(state, "progress")
        assert table.returncode == 0, table.stderr
        lines = table.stdout.splitlines()
        assert lines[0].startswith("learner") and len(lines) == 4
        rows = {json_row["learner"]: json_row for json_row in
                json.loads(workshop_cmd(state, "progress", "--json").stdout)}
        assert sorted(rows) == sorted(LEARNERS)
        assert rows["bob"]["chapters"]["01"][0] == 1 and rows["bob"]["passed"] == 1
        # Running the chapters spends no try (untouched checks are not judged): only Bob's
        # own check counts.
        assert {n: rows[n]["tried"] for n in LEARNERS} == {
            n: (1 if n == "bob" else 0) for n in LEARNERS}
        # The grades: a CSV row per learner and exercise, Bob's check with its sentence.
        grades = workshop_cmd(state, "grades")
        assert grades.returncode == 0, grades.stderr
        graded = list(csv.DictReader(io.StringIO(grades.stdout, newline="")))
        assert sorted({g["learner"] for g in graded}) == sorted(LEARNERS)
        bob = next(g for g in graded if (g["learner"], g["exercise"]) == ("bob", "01.cpu-quarter"))
        assert (bob["passed"], bob["tries"]) == ("true", "1") and bob["first_pass"], bob
        assert bob["last_check"] == check.stdout.strip().removeprefix("True "), bob
        assert sum(int(g["tries"]) for g in graded) == 1

        # Bob's node misbehaves, in turn: each time it stops at his node's own limit.
        kernel = Node()
        bobs = kernel.cgroups(docker_client.containers.get(nodes["bob"].id).attrs["State"]["Pid"])
        # A memory hog: killed inside his node (its memory cgroup's OOM killer), his node
        # still answering.
        hog = in_node(nodes["bob"].name, "python3 -c 'x = b\"1\" * (3 * 2**30)'",
                      timeout=120)
        assert hog.returncode == 137, hog.stdout  # SIGKILL, from the OOM killer
        assert kernel.cgroup_state(bobs).usage.oom_kills >= 1
        assert in_node(nodes["bob"].name, "echo alive").stdout.strip() == "alive"
        # Filling his work: it stops at his work's own size (--work-size, 1G by default),
        # not at the host's disk or anyone else's work; what he deletes comes back. (The
        # host's disk his work takes is its disk file's blocks.)
        disk = work_disks.disks(workshop) / "bob.ext4"

        def on_the_host() -> int:
            return disk.stat().st_blocks * 512

        fill = in_node(nodes["bob"].name, "dd if=/dev/zero of=/root/work/fill bs=1M "
                                          "count=1200 2>&1", timeout=180)
        assert fill.returncode != 0 and "No space left on device" in fill.stdout, fill.stdout
        size = in_node(nodes["bob"].name, "df -B1 --output=size /root/work | tail -1").stdout
        assert 0.9 * 2**30 < int(size) <= 2**30
        print(f"bob filling his work took {on_the_host() / 2**30:.2f} GiB of the host's disk")
        assert 0.9 * 2**30 < on_the_host() <= 1.01 * 2**30  # (the host fs's own blocks)
        assert in_node(nodes["ann"].name, "echo mine > /root/work/ann.txt && "
                                          "cat /root/work/ann.txt").stdout.strip() == "mine"
        assert in_node(nodes["bob"].name, "rm /root/work/fill").returncode == 0
        until(lambda: on_the_host() < 0.2 * 2**30, 60,
              "the host's disk getting back what bob deleted")
        # Bob attacks the class from his node while ann and carol run chapter 1
        # (tests/workshop/attack.py): every attack stops at his node's limits or the guard.
        one_learner_attacks_while_two_work(docker_client, workshop)

        # Bob's node dies mid-class (if the attack's last act has not ended it already): he
        # gets a fresh one, his progress and work kept, nothing of the attack, the others
        # untouched.
        others = {n: nodes[n].id for n in ("ann", "carol")}
        with contextlib.suppress(docker.errors.APIError):
            nodes["bob"].kill()
        until(lambda: not server(workshop, "bob"), 120, "the hub noticing bob's node died")
        hub.request(workshop, "POST", "/users/bob/server")
        until(lambda: server(workshop, "bob").get("ready"), 300, "bob's fresh node")
        fresh = docker_client.containers.get(workshop.node_name("bob"))
        assert fresh.id != nodes["bob"].id
        assert in_node(fresh.name, "docker ps -aq").stdout.strip() == ""  # a fresh engine
        kept = json.loads(in_node(fresh.name, f"cat {NODE_PROGRESS}").stdout)
        assert kept["learners"]["bob"]["exercises"]["01.cpu-quarter"]["passed"]
        assert in_node(fresh.name, "cat /root/work/keep.txt").stdout == "before the attack\n"
        assert in_node(fresh.name, "test ! -e /tmp/flood.py && test ! -e /var/lib/docker/fill "
                                   "&& rm /root/work/fill").returncode == 0
        assert {n: docker_client.containers.get(workshop.node_name(n)).id
                for n in others} == others

        # The instructor resets carol: her node goes, her work stays.
        reset = workshop_cmd(state, "reset", "carol")
        assert reset.returncode == 0 and "carol's node is reset" in reset.stdout
        assert not docker_client.containers.list(all=True, filters={
            "name": workshop.node_name("carol")})
        assert docker_client.volumes.get(workshop.work_volume("carol"))

        status = workshop_cmd(state, "status")
        assert "ann" in status.stdout and "ready" in status.stdout
    finally:
        down = workshop_cmd(state, "down")
        leftovers = [c.name for c in docker_client.containers.list(
            all=True, filters={"label": WORKSHOP_LABEL})] + [
            v.name for v in docker_client.volumes.list(filters={"label": WORKSHOP_LABEL})] + [
            n.name for n in docker_client.networks.list(filters={"label": WORKSHOP_LABEL})]
        survivors = (docker_client.containers.get(foreign.id).status,
                     docker_client.volumes.get(foreign_volume.name).name)
        foreign.remove(force=True)
        foreign_volume.remove()
    assert down.returncode == 0 and "is down: removed" in down.stdout, down.stderr
    assert leftovers == []
    assert survivors == ("running", mark)
    assert not guard.installed(workshop.id)
    # The learners' work disks: unmounted, their loop devices gone, their files removed.
    until(lambda: str(state) not in subprocess.run(
        ["losetup", "--list", "--noheadings", "--output", "BACK-FILE"],
        capture_output=True, text=True, check=True).stdout, 30,
        "the work disks' loop devices going (after a lazy unmount)")
    assert not (state / "work-disks").exists()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
        probe.bind(("127.0.0.1", port))  # the hub's proxy is gone with it
