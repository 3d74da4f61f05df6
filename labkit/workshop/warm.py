"""A pool of warm learner nodes (``./lab workshop up --warm N``): nodes started before
anyone logs in, their engine running and the lab's images loaded, so that a login only
hands one over.

A warm node is made as every node is (:mod:`labkit.workshop.nodes`), but for nobody yet:
its entrypoint starts the node's engine, then waits. Its ``/root/work`` is an empty *slot*
on this host, a directory of a bind mount shared with the node (``rslave``). A login takes
a ready node (:func:`claim`): renames it to the learner's node, bind-mounts the learner's
work volume onto its slot (the mount reaches into the node), and hands it the learner's
environment and the single-user server's command in a file; a Python in the node, the
server's modules imported ahead and waiting for that file, runs the server
(:mod:`labkit.workshop.warm_server`). Warm nodes count against the workshop's seats: the keeper
(this module run as a hub service) starts one only while learners' and warm nodes together
are fewer than the seats.

Names: a warm node is ``lk-ws-<id>--boot-<token>`` while its engine starts and
``lk-ws-<id>--warm-<token>`` once ready; no learner's node can be named so (a learner's
name starts with a letter).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import threading
import time
from pathlib import Path

import docker

from .mounts import mounted
from .nodes import CPU_PERIOD_US, ENVIRONMENT, HOSTNAME, NODE_PORT, cpu_quota, host_config
from .settings import NODE_WORK, ROLE_LABEL, WORKSHOP_LABEL, Workshop
from .warm_server import CLAIM, CLAIMED, READY

ROLE = "warm-node"
SLOT_LABEL = "io.labkit.slot"
KEEP_EVERY_S = 1.0
BACKOFF_MAX_S = 300.0
BOOT_TIMEOUT_S = 300.0
"""A warm node not ready this long after its start is taken for one that cannot boot (a
node started at login gets as long: the hub's start_timeout)."""
PREPARE_WORK = ["/opt/lab/workshop/node-entrypoint.sh", "--prepare-work"]


def booting_name(workshop: Workshop, token: str) -> str:
    return f"{workshop.prefix}-boot-{token}"


def ready_name(workshop: Workshop, token: str) -> str:
    return f"{workshop.prefix}-warm-{token}"


def slots(workshop: Workshop) -> Path:
    """Where this workshop's slots are (its id in the path: a keeper left by a hub that died
    never touches the next workshop's)."""
    return Path(workshop.state) / "slots" / workshop.id


def share_slots(workshop: Workshop) -> None:
    """Make the slots' directory a mount of its own, shared, so that a mount made on a slot
    later reaches the node that has it as ``/root/work`` (``rslave``)."""
    where = slots(workshop)
    where.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    where.mkdir(exist_ok=True, mode=0o700)
    if not mounted(where):
        subprocess.run(["mount", "--bind", str(where), str(where)], check=True)
        subprocess.run(["mount", "--make-rshared", str(where)], check=True)


def unshare_slots(workshop: Workshop) -> None:
    """Undo :func:`share_slots` and every slot's mount (``down``)."""
    where = slots(workshop)
    if where.exists():
        subprocess.run(["umount", "--recursive", "--lazy", str(where)], capture_output=True)
        for slot in where.iterdir():
            with contextlib.suppress(OSError):
                slot.rmdir()
        for empty in (where, where.parent):
            with contextlib.suppress(OSError):
                empty.rmdir()


def _labels(workshop: Workshop) -> list[str]:
    return [f"{WORKSHOP_LABEL}={workshop.id}", f"{ROLE_LABEL}={ROLE}"]


def start_warm_node(client: docker.DockerClient, workshop: Workshop) -> str:
    """Start one warm node for nobody yet; its name."""
    token = secrets.token_hex(4)
    slot = slots(workshop) / token
    slot.mkdir(mode=0o755)
    name = booting_name(workshop, token)
    try:
        client.containers.run(
            workshop.image, detach=True, name=name, hostname=HOSTNAME,
            labels={**workshop.labels(ROLE), SLOT_LABEL: str(slot)},
            environment={**ENVIRONMENT, "LABKIT_WARM": "1"},
            volumes={str(slot): {"bind": NODE_WORK, "mode": "rw,rslave"}},
            mem_limit=workshop.memory, cpu_period=CPU_PERIOD_US,
            cpu_quota=cpu_quota(workshop.cpus), ports={f"{NODE_PORT}/tcp": ("127.0.0.1", None)},
            network=workshop.network, auto_remove=True, **host_config())
    except docker.errors.APIError:
        with contextlib.suppress(docker.errors.APIError):  # created, then refused to start
            client.containers.get(name).remove(force=True)
        release(str(slot))
        raise
    return name


class Keeper:
    """The pool's keeper, a round at a time: warm nodes whose engine is up are marked
    ready, the pool is topped up within the seats, and the slots of nodes that are gone are
    released. A round in which warm nodes stop before they are ready, or cannot start (an
    image that cannot boot, a host out of room), makes the keeper wait before the next: 2 s,
    then twice as long after each further such round, up to ``BACKOFF_MAX_S``, and then one
    node tries first; one that comes up ready ends the waiting."""

    def __init__(self, client: docker.DockerClient, workshop: Workshop,
                 clock=time.monotonic) -> None:
        self.client, self.workshop, self.clock = client, workshop, clock
        self.booting: dict[str, float] = {}  # the names it started, not ready yet: when
        self.failures = 0
        self.next_start = 0.0

    def round(self) -> list[str]:
        """One round; what it has to say (for the hub's log)."""
        workshop, said = self.workshop, []
        nodes = self.client.containers.list(all=True, ignore_removed=True,
                                            filters={"label": f"{WORKSHOP_LABEL}={workshop.id}"})
        pool = [node for node in nodes if node.name.startswith(workshop.prefix + "-")]
        # Logins that found no warm node ready started nodes of their own meanwhile: warm
        # nodes beyond the seats go, those still booting first.
        surplus = len(nodes) - workshop.seats
        for node in sorted(pool, key=lambda n: not n.name.startswith(booting_name(workshop, "")))[
                :max(0, surplus)]:
            self.booting.pop(node.name, None)
            with contextlib.suppress(docker.errors.APIError):
                node.remove(force=True)
            nodes.remove(node)
            pool.remove(node)
        now = self.clock()
        for node in pool:
            if node.name.startswith(booting_name(workshop, "")) and node.status == "running":
                with contextlib.suppress(docker.errors.APIError):
                    if node.exec_run(["test", "-e", str(READY)]).exit_code == 0:
                        node.rename(ready_name(workshop, node.name.rpartition("-")[2]))
                        self.booting.pop(node.name, None)
                        self.failures = 0
                        continue
            if self.booting.get(node.name, now) < now - BOOT_TIMEOUT_S:
                with contextlib.suppress(docker.errors.APIError):
                    node.remove(force=True)  # booting too long: counted as stopped below
        present = {node.name for node in pool if node.status in ("created", "running")}
        stopped = [name for name in self.booting if name not in present]
        for name in stopped:
            del self.booting[name]
        if stopped:  # a round's failures count once: --warm 3 failing waits 2 s, not 8
            said.append(self._failed(f"{len(stopped)} warm node(s) stopped before ready", now))
        in_use = {node.labels.get(SLOT_LABEL) for node in nodes}
        for slot in slots(workshop).iterdir():
            if str(slot) not in in_use:
                release(str(slot))
        missing = min(workshop.warm - len(pool), workshop.seats - len(nodes))
        if missing > 0 and now >= self.next_start:
            # after a failure, one node tries first; the rest follow once one is ready
            for _ in range(1 if self.failures else missing):
                try:
                    self.booting[start_warm_node(self.client, workshop)] = now
                except docker.errors.APIError as error:
                    said.append(self._failed(
                        f"a warm node could not start ({error.explanation})", now))
                    break
        return said

    def _failed(self, what: str, now: float) -> str:
        """Count a round whose warm nodes failed; when the next may start, as a line for
        the log."""
        self.failures += 1
        wait = min(BACKOFF_MAX_S, 2.0 ** self.failures)
        self.next_start = now + wait
        return (f"{what} ({self.failures} time(s) in a row): the next starts in {wait:.0f} s; "
                "the node image may not boot here (sudo ./lab workshop build) or the host "
                "may be out of room.")


def release(slot: str) -> None:
    """A slot whose node is gone: its learner's volume unmounted, the directory removed."""
    while mounted(slot):  # (mounted twice, if ever: each goes)
        if subprocess.run(["umount", "--lazy", slot], capture_output=True).returncode != 0:
            break
    with contextlib.suppress(OSError):
        os.rmdir(slot)


def claim_json(environment: dict[str, str], command: list[str]) -> str:
    """What the spawner hands a warm node (:mod:`labkit.workshop.warm_server` reads it): the
    learner's environment and the single-user server's command.

    >>> claim_json({"JUPYTERHUB_USER": "ann"}, ["jupyterhub-singleuser"])
    '{"environment": {"JUPYTERHUB_USER": "ann"}, "command": ["jupyterhub-singleuser"]}'
    """
    return json.dumps({"environment": environment, "command": command})


_claiming = threading.Lock()


def claim(client: docker.DockerClient, workshop: Workshop, learner: str, name: str,
          environment: dict[str, str], command: list[str]) -> tuple[str, str] | None:
    """Hand a ready warm node to ``learner`` as their node ``name``: (its id, its slot), or
    None when no warm node is ready (the spawner then starts a node as usual)."""
    with _claiming:  # the hub's logins, one at a time here (a rename takes milliseconds)
        node = _take(client, workshop, name)
    if node is None:
        return None
    slot = node.labels[SLOT_LABEL]
    try:
        volume = client.volumes.get(workshop.work_volume(learner))
        subprocess.run(["mount", "--bind", volume.attrs["Mountpoint"], slot], check=True,
                       capture_output=True)
        # The learner's chapters copied to their work the first time, then the claim,
        # through the node's own shell: its /run is a tmpfs, where Docker's copy API
        # does not reach. The learner's API token is theirs, in their own node.
        handed = node.exec_run(
            ["sh", "-c", f'"$@" && printf %s "$CLAIM" >{CLAIM} && : >{CLAIMED}', "sh",
             *PREPARE_WORK],
            environment={"CLAIM": claim_json(environment, command)})
        if handed.exit_code != 0:
            raise subprocess.CalledProcessError(handed.exit_code, "claim", handed.output)
    except (docker.errors.APIError, subprocess.CalledProcessError):
        with contextlib.suppress(docker.errors.APIError):
            node.remove(force=True)  # half handed over: nobody's; the keeper makes another
        release(slot)
        return None
    return node.id, slot


def _take(client: docker.DockerClient, workshop: Workshop, name: str):
    """A ready warm node, renamed to ``name``, or None. By its old name: a node another
    login renamed meanwhile is not found under it."""
    ready = client.containers.list(ignore_removed=True, filters={
        "label": _labels(workshop), "name": ready_name(workshop, "")})
    for node in ready:
        try:
            client.api.rename(node.name, name)
        except docker.errors.APIError:
            continue
        return node
    return None


def main() -> None:  # the hub's warm-pool service
    workshop = Workshop.load(os.path.dirname(os.environ["LABKIT_WORKSHOP_SETTINGS"]))
    if workshop is None:
        raise SystemExit("warm-pool: the workshop's settings are gone")
    share_slots(workshop)
    keeper = Keeper(docker.from_env(), workshop)
    hub = os.getppid()
    while os.getppid() == hub:  # a keeper whose hub died goes with it
        try:
            for line in keeper.round():
                print(f"warm-pool: {line}", flush=True)  # in the hub's log
        except (docker.errors.DockerException, OSError, subprocess.SubprocessError) as error:
            print(f"warm-pool: {error}", flush=True)  # in the hub's log; the next round retries
        time.sleep(KEEP_EVERY_S)


if __name__ == "__main__":
    main()
