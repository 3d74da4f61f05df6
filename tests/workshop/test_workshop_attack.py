"""One learner attacks the class from his node while two others work: ann and carol run
chapter 1 under strict nbval in their nodes, first alone, then while bob's node burns
every CPU it can, floods the hub with connections, fills his work and his engines'
storage, hogs memory and runs a fork bomb. Each attack stops at bob's node's own limits
and the workshop's guard; ann and carol both pass, in at most 1.5 times their time without
him; the hub answers throughout; the instructor resets bob's node and his work is there.
All traffic stays on the workshop's own network on this host; the attack is bounded in
time (its node is reset) and count (the guard's rate). Needs the learner node image."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from labkit.node.reader import Node
from labkit.workshop import guard, hub
from labkit.workshop.board import NodeUsage
from labkit.workshop.settings import NODE_PIDS, Workshop
from tests.workshop.test_workshop_class import (  # noqa: F401 (fixtures)
    built,
    in_node,
    server,
    state,
    until,
    workshop_cmd,
)

pytestmark = pytest.mark.slow
CHAPTER_1 = ("cd /opt/lab && python -m pytest -q -p no:cacheprovider --nbval "
             "notebooks/01-containers.ipynb 2>&1")
WORKERS = ("ann", "carol")
SLOWER_AT_MOST = 1.5

FLOOD = """
import socket, sys, threading, time
hub, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + seconds
def hammer():
    while time.monotonic() < end:
        try:
            with socket.create_connection((hub, port), timeout=1) as s:
                s.sendall(b"GET /hub/api/ HTTP/1.0\\r\\n\\r\\n")
                s.recv(64)
        except OSError:
            pass
for _ in range(64):
    threading.Thread(target=hammer).start()
"""
ATTACK = """
for i in 1 2 3 4; do (while :; do :; done) & done
python3 /tmp/flood.py {hub} {port} {seconds} &
dd if=/dev/zero of=/root/work/fill bs=1M count=1200 2>/dev/null
python3 -c 'x = b"1" * (3 * 2**30)'
dd if=/dev/zero of=/var/lib/docker/fill bs=1M count=1500 2>/dev/null
f() {{ f | f & }}; f
"""


def chapter_one_at_once(nodes: dict[str, str]) -> dict[str, float]:
    """Chapter 1 in each node at the same moment; each one's seconds (all must pass)."""
    def run(node: str) -> float:
        started = time.monotonic()
        done = in_node(node, CHAPTER_1, timeout=900)
        assert done.returncode == 0, f"{node}:\n{done.stdout[-3000:]}"
        return time.monotonic() - started

    with ThreadPoolExecutor(len(nodes)) as pool:
        return dict(zip(nodes, pool.map(run, nodes.values()), strict=True))


def guard_counts(workshop: Workshop) -> dict[str, int]:
    """Packets the guard let through to the hub (new connections) and dropped, as the
    kernel counts them."""
    listing = guard._iptables("-L", guard.chain(workshop.id), "-v", "-x", "-n").stdout
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    return {"admitted": next(int(r[0]) for r in rows if "limit:" in " ".join(r)),
            "dropped": next(int(r[0]) for r in rows if r[2] == "DROP")}


def test_one_learner_attacks_while_two_work(docker_client, built, state):  # noqa: F811
    port = hub.free_port("127.0.0.1")
    up = workshop_cmd(state, "up", "--learners", "3", "--port", str(port), "--code",
                      "class-code")
    assert up.returncode == 0, up.stderr
    try:
        workshop = Workshop.load(state)
        assert guard.installed(workshop.id)
        ipv6 = f"/proc/sys/net/ipv6/conf/{guard.bridge(workshop.id)}/disable_ipv6"
        assert Path(ipv6).read_text().strip() == "1"  # no address of the host's there either
        hub.request(workshop, "POST", "/users", {"usernames": ["ann", "bob", "carol"]})
        for name in ("ann", "bob", "carol"):
            hub.request(workshop, "POST", f"/users/{name}/server")
        for name in ("ann", "bob", "carol"):
            until(lambda name=name: server(workshop, name).get("ready"), 300, f"{name}'s node")
        nodes = {name: workshop.node_name(name) for name in WORKERS}
        bob = workshop.node_name("bob")
        assert in_node(bob, "echo 'before the attack' > /root/work/keep.txt").returncode == 0

        # Nothing of this host but the hub answers a node: a service listening on every
        # address here is out of bob's reach, and in reach of the host itself.
        with socket.socket() as service:
            service.bind(("0.0.0.0", 0))
            service.listen()
            knock = ("python3 -c \"import socket; socket.create_connection(('{}', {}), 3)\"")
            assert in_node(bob, knock.format(workshop.hub_ip, service.getsockname()[1])
                           ).returncode != 0
            socket.create_connection((workshop.hub_ip, service.getsockname()[1]), 3).close()

        alone = chapter_one_at_once(nodes)
        print("chapter 1 in two nodes at once, alone: "
              + ", ".join(f"{n} {s:.0f} s" for n, s in alone.items()))

        # Bob attacks, for longer than chapter 1 takes; the hub is asked every half second.
        window = 3 * max(alone.values())
        assert in_node(bob, f"cat > /tmp/flood.py <<'EOF'\n{FLOOD}\nEOF").returncode == 0
        before, counted = guard_counts(workshop), time.monotonic()
        docker_client.containers.get(bob).exec_run(
            ["sh", "-c", ATTACK.format(hub=workshop.hub_ip, port=workshop.hub_port,
                                       seconds=window)], detach=True)
        answers: list[float] = []
        failures: list[str] = []
        bobs_tasks: list[int] = []
        stop = threading.Event()
        kernel = Node()
        bobs_cgroups = kernel.cgroups(docker_client.containers.get(bob).attrs["State"]["Pid"])
        ooms_before = kernel.cgroup_state(bobs_cgroups).usage.oom_kills or 0

        def ask_the_hub() -> None:
            while not stop.is_set():
                asked = time.monotonic()
                try:
                    hub.request(workshop, "GET", "/users")
                    answers.append(time.monotonic() - asked)
                except Exception as error:  # each is a failure to report
                    failures.append(repr(error))
                bobs_tasks.append(kernel.cgroup_state(bobs_cgroups).usage.pids_current or 0)
                stop.wait(0.5)

        asking = threading.Thread(target=ask_the_hub)
        asking.start()
        usage = NodeUsage()
        try:
            time.sleep(5)  # the attack under way
            usage.read(docker_client, workshop)
            attacked = chapter_one_at_once(nodes)
            bobs = usage.read(docker_client, workshop)["bob"]
        finally:
            stop.set()
            asking.join()
        after, seconds = guard_counts(workshop), time.monotonic() - counted
        ooms = (kernel.cgroup_state(bobs_cgroups).usage.oom_kills or 0) - ooms_before
        print(f"during chapter 1, bob's node: up to {max(bobs_tasks)} tasks, {ooms} OOM kills")
        print("chapter 1 in two nodes at once, bob attacking: "
              + ", ".join(f"{n} {s:.0f} s ({s / alone[n]:.2f}x)" for n, s in attacked.items()))
        print(f"the hub answered {len(answers)} times, slowest {max(answers):.2f} s; the guard "
              f"admitted {after['admitted'] - before['admitted']} new connections, dropped "
              f"{after['dropped'] - before['dropped']} packets; bob's node on the board: "
              f"{json.dumps(bobs)}")
        # The attack happened, as the kernel counts it: his fork bomb at his node's process
        # limit, his memory hog (and engines' storage) killed by his node's OOM killer.
        assert max(bobs_tasks) >= NODE_PIDS - 16 and ooms >= 1, (max(bobs_tasks), ooms)
        for name in WORKERS:
            assert attacked[name] <= SLOWER_AT_MOST * alone[name], (attacked, alone)
        assert not failures and max(answers) < 3, (failures, max(answers))
        assert after["dropped"] > before["dropped"]  # the flood met the guard
        # what the guard let through: bob's rate and burst, and the other nodes' few
        assert after["admitted"] - before["admitted"] <= (
            guard.HUB_BURST + guard.HUB_NEW_PER_S * seconds + 200)
        assert bobs["cpu"] is not None and bobs["cpu"] >= 0.5  # the board sees him burning

        # The instructor resets bob's node: the attack goes with it, his work stays.
        reset = workshop_cmd(state, "reset", "bob")
        assert reset.returncode == 0, reset.stderr
        hub.request(workshop, "POST", "/users/bob/server")
        until(lambda: server(workshop, "bob").get("ready"), 300, "bob's fresh node")
        assert in_node(bob, "cat /root/work/keep.txt").stdout == "before the attack\n"
        # A fresh node: nothing of the attack runs or stays but the file in his work.
        assert in_node(bob, "test ! -e /tmp/flood.py && test ! -e /var/lib/docker/fill && "
                            "rm /root/work/fill").returncode == 0
    finally:
        down = workshop_cmd(state, "down")
    assert down.returncode == 0, down.stderr
    assert not guard.installed(workshop.id)
