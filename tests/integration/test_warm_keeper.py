"""The warm pool's keeper when warm nodes cannot boot, on the real engine: a "node image"
whose first process ends at once (the lab's busybox image, its shell with no input), so
every warm node stops before it is ready and Docker removes it. The keeper counts each,
says so in a sentence for the hub's log, and waits twice as long before each next start
instead of starting one a second. Its clock is the test's, so the waits are exact."""

from __future__ import annotations

import time
import uuid

from labkit.runtimes.docker import DockerRuntime
from labkit.session import Session
from labkit.workshop import warm
from labkit.workshop.settings import WORKSHOP_LABEL, Workshop


def test_a_pool_whose_nodes_cannot_boot_backs_off(docker_client, tmp_path):
    workshop = Workshop(id=uuid.uuid4().hex[:8], image=DockerRuntime(Session()).toolbox(),
                        seats=3, warm=2, memory="64m", cpus=0.5, state=str(tmp_path))
    network = docker_client.networks.create(workshop.network, labels=workshop.labels("network"))
    warm.share_slots(workshop)
    now = [100.0]
    keeper = warm.Keeper(docker_client, workshop, clock=lambda: now[0])
    mine = {"label": f"{WORKSHOP_LABEL}={workshop.id}"}

    def gone() -> None:  # the node it started stopped, and Docker removed it
        deadline = time.monotonic() + 30
        while docker_client.containers.list(all=True, filters=mine):
            assert time.monotonic() < deadline, "the warm node did not stop"
            time.sleep(0.2)

    def at(seconds: float) -> list[str]:
        now[0] = 100.0 + seconds
        return keeper.round()

    try:
        assert at(0) == [] and len(keeper.booting) == 2  # the first two warm nodes start
        gone()
        said = at(0.5)  # they stopped before they were ready: a round's failure, wait 2 s
        assert len(said) == 1 and said[0].startswith(
            "2 warm node(s) stopped before ready (1 time(s) in a row): the next starts in 2 s")
        assert not keeper.booting
        assert at(2.4) == [] and not keeper.booting  # still waiting
        assert at(2.6) == [] and len(keeper.booting) == 1  # then one node tries first
        gone()
        assert "(2 time(s) in a row): the next starts in 4 s" in at(3)[0]
        assert at(6.9) == [] and not keeper.booting
        assert at(7.1) == [] and len(keeper.booting) == 1
        gone()
        assert "(3 time(s) in a row): the next starts in 8 s" in at(8)[0]
        keeper.failures = 20
        keeper.booting["never-started"] = now[0]
        assert "the next starts in 300 s" in at(9)[0]  # waits are capped
        assert not list(warm.slots(workshop).iterdir())  # every slot released
    finally:
        for container in docker_client.containers.list(all=True, filters=mine):
            container.remove(force=True)
        network.remove()
        warm.unshare_slots(workshop)


def test_a_node_docker_refuses_to_start_counts_too(docker_client, tmp_path):
    """Docker refusing the node (here its network is gone) is a failed round as well, and
    leaves no container or slot behind."""
    workshop = Workshop(id=uuid.uuid4().hex[:8], image=DockerRuntime(Session()).toolbox(),
                        seats=1, warm=1, memory="64m", cpus=0.5, state=str(tmp_path))
    warm.share_slots(workshop)
    now = [0.0]
    keeper = warm.Keeper(docker_client, workshop, clock=lambda: now[0])
    try:
        said = keeper.round()
        assert len(said) == 1 and said[0].startswith("a warm node could not start (") and \
            "(1 time(s) in a row): the next starts in 2 s" in said[0]
        now[0] = 1.0
        assert keeper.round() == []  # waiting
        now[0] = 2.5
        assert "(2 time(s) in a row): the next starts in 4 s" in keeper.round()[0]
        assert not docker_client.containers.list(
            all=True, filters={"label": f"{WORKSHOP_LABEL}={workshop.id}"})
        assert not list(warm.slots(workshop).iterdir())
    finally:
        warm.unshare_slots(workshop)
