"""The hub's spawner for learner nodes: DockerSpawner, which first takes a warm node from
the workshop's pool when one is ready (:mod:`labkit.workshop.warm`), and otherwise starts
a node as usual. The node's slot, where the learner's work volume is mounted, is kept in
the hub's state and released when the node stops."""

from __future__ import annotations

import asyncio
import os

import docker
from dockerspawner import DockerSpawner
from traitlets import Unicode

from . import warm
from .settings import Workshop


class NodeSpawner(DockerSpawner):
    slot = Unicode("", help="The warm node's slot on this host, where the work is mounted.")

    def _workshop(self) -> Workshop | None:
        return Workshop.load(os.path.dirname(os.environ["LABKIT_WORKSHOP_SETTINGS"]))

    async def start(self):
        workshop = self._workshop()
        if workshop is not None and workshop.warm:
            command, environment = await self.get_command(), self.get_env()
            try:
                taken = await asyncio.to_thread(self._claim, workshop, environment, command)
            except Exception:  # whatever went wrong, a node started at login is the way out
                self.log.exception("No warm node for %s: starting one", self.user.name)
                taken = None
            if taken is not None:
                self.object_id, self.slot = taken
                self.log.info("Gave %s the warm node %s", self.user.name, self.object_id[:7])
                return await self.get_ip_and_port()
        return await super().start()

    def _claim(self, workshop: Workshop, environment: dict, command: list[str]):
        client = docker.from_env()
        try:
            return warm.claim(client, workshop, self.user.name, self.object_name,
                              environment, command)
        finally:
            client.close()

    async def stop(self, now: bool = False):
        slot = self.slot  # (DockerSpawner's stop clears the state, the slot with it)
        await super().stop(now=now)
        if slot:
            await asyncio.to_thread(warm.release, slot)

    def get_state(self):
        state = super().get_state()
        if self.slot:
            state["slot"] = self.slot
        return state

    def load_state(self, state):
        super().load_state(state)
        self.slot = state.get("slot", "")

    def clear_state(self):
        super().clear_state()
        self.slot = ""
