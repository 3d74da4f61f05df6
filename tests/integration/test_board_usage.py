"""The class board's node readings on the real engine and kernel: a container labelled as a
workshop's learner node, with a memory and a CPU limit, is read from its cgroup (its
limits as Docker set them, its memory in use, its CPU share between two readings while it
burns a CPU); containers of another workshop are not read; a node that writes a file is
not shown nearer its limit by the file's cache, which the kernel drops first. (When a
node counts as busy is tested in labkit/workshop/board.py's doctests: the CPU a loop gets
depends on the load.)"""

from __future__ import annotations

import time
import uuid

from labkit.runtimes.docker import DockerRuntime
from labkit.session import Session
from labkit.workshop.board import NodeUsage, busy
from labkit.workshop.settings import Workshop


def test_a_node_is_read_from_its_cgroup(docker_client):
    workshop, other = Workshop(id=uuid.uuid4().hex[:8]), Workshop(id=uuid.uuid4().hex[:8])
    image = DockerRuntime(Session()).toolbox()
    made = []
    try:
        made.append(docker_client.containers.run(
            image, ["sh", "-c", "while :; do :; done"], detach=True,
            name=workshop.node_name("ada"), labels=workshop.labels("learner-node"),
            mem_limit="64m", nano_cpus=500_000_000))
        made.append(docker_client.containers.run(
            image, ["sleep", "600"], detach=True, name=other.node_name("bo"),
            labels=other.labels("learner-node")))
        usage = NodeUsage()
        first = usage.read(docker_client, workshop)
        assert set(first) == {"ada"}  # the other workshop's node is not read
        ada = first["ada"]
        assert ada["memory_limit"] == 64 * 2**20 and ada["cpu_limit"] == 0.5
        assert 0 < ada["memory"] < ada["memory_limit"]
        assert ada["cpu"] is None  # one reading: no share yet
        time.sleep(2)
        ada = usage.read(docker_client, workshop)["ada"]
        # A loop held to half a CPU by its quota: it used some of it (less on a busy
        # machine), never more (the quota's own bound, with some slack for the readings).
        assert 0.1 <= ada["cpu"] <= 0.6, ada
        assert ada["busy"] == busy(ada["memory"], ada["memory_limit"], ada["cpu"], 0.5)

        # A node writing 48 MiB to a file: its cgroup counts the file's cache (and reclaims
        # it at the limit), the board shows its working set, without that cache.
        made[0].exec_run(["dd", "if=/dev/zero", "of=/tmp/written", "bs=1M", "count=48"])
        pid = made[0].attrs["State"]["Pid"] or docker_client.containers.get(
            made[0].id).attrs["State"]["Pid"]
        cgroup = usage.node.cgroup_state(usage.node.cgroups(pid)).usage
        assert cgroup.memory_bytes - cgroup.memory_working_set_bytes >= 40 * 2**20, cgroup
        assert usage.read(docker_client, workshop)["ada"]["memory"] < 16 * 2**20
    finally:
        for container in made:
            container.remove(force=True)
