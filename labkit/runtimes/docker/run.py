"""One ``docker run``: the command line a learner types and the Engine API request labkit
sends, both made from the same fields, so what is shown is what is done.

>>> run = DockerRun("lk-0badcafe-app", "busybox", ("sleep", "600"), memory=64 * 2**20,
...                 cpus=0.5, network="container:lk-0badcafe-sandbox")
>>> for flag, value in zip(run.argv()[3:-3:2], run.argv()[4:-3:2]):
...     print(flag, value)
--name lk-0badcafe-app
--network container:lk-0badcafe-sandbox
--memory 67108864
--cpus 0.5
>>> run.argv()[-3:]
('busybox', 'sleep', '600')
>>> run.host_config()["nano_cpus"], run.host_config()["network_mode"]
(500000000, 'container:lk-0badcafe-sandbox')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DockerRun:
    """``docker run -d`` with the flags labkit uses, in the CLI's terms."""

    name: str
    image: str
    command: tuple[str, ...] | None = None  # None: the image's own CMD
    entrypoint: str | None = None  # --entrypoint: replaces the image's, and its CMD
    labels: tuple[tuple[str, str], ...] = ()
    hostname: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    cgroup_parent: str | None = None
    network: str | None = None  # --network: "host", "none", "container:<name>"
    ipc: str | None = None  # --ipc: "shareable", "host", "container:<name>"
    pid: str | None = None  # --pid: "host", "container:<name>"
    uts: str | None = None  # --uts: "host" (Docker takes nothing else)
    memory: int | None = None  # bytes
    memory_swap: int | None = None  # --memory-swap: memory and swap together, bytes
    memory_reservation: int | None = None  # bytes
    cpus: float | None = None
    cpu_shares: int | None = None
    restart: str | None = None  # --restart: "always", "on-failure"
    stop_timeout: int | None = None  # seconds
    publish: tuple[tuple[int, int], ...] = ()  # (host port on 127.0.0.1, container port)

    def argv(self) -> tuple[str, ...]:
        """The command line, flags in a fixed order."""
        words = ["docker", "run", "-d", "--name", self.name]
        for key, value in self.labels:
            words += ["--label", f"{key}={value}"]
        for flag, value in (("--entrypoint", self.entrypoint),
                            ("--hostname", self.hostname), ("--cgroup-parent", self.cgroup_parent),
                            ("--network", self.network), ("--ipc", self.ipc),
                            ("--pid", self.pid), ("--uts", self.uts),
                            ("--memory", self.memory), ("--memory-swap", self.memory_swap),
                            ("--memory-reservation", self.memory_reservation),
                            ("--cpus", None if self.cpus is None else f"{self.cpus:g}"),
                            ("--cpu-shares", self.cpu_shares), ("--restart", self.restart),
                            ("--stop-timeout", self.stop_timeout)):
            if value is not None:
                words += [flag, str(value)]
        for key, value in self.env:
            words += ["-e", f"{key}={value}"]
        for host, container in self.publish:
            words += ["-p", f"127.0.0.1:{host}:{container}"]
        return (*words, self.image, *(self.command or ()))

    def host_config(self) -> dict[str, Any]:
        """The Engine API's HostConfig fields, for ``APIClient.create_host_config``."""
        options: dict[str, Any] = {
            "mem_limit": self.memory, "memswap_limit": self.memory_swap,
            "mem_reservation": self.memory_reservation,
            "nano_cpus": None if self.cpus is None else round(self.cpus * 1e9),
            "cpu_shares": self.cpu_shares, "cgroup_parent": self.cgroup_parent,
            "network_mode": self.network, "ipc_mode": self.ipc, "pid_mode": self.pid,
            "uts_mode": self.uts,
            "restart_policy": {"Name": self.restart} if self.restart else None,
            "port_bindings": {c: ("127.0.0.1", h) for h, c in self.publish} or None,
        }
        return {"init": False, **{k: v for k, v in options.items() if v is not None}}

    def create(self) -> dict[str, Any]:
        """The rest of the create request, for ``APIClient.create_container`` (with the
        host config made from :meth:`host_config`)."""
        return {"image": self.image, "command": list(self.command) if self.command else None,
                "entrypoint": [self.entrypoint] if self.entrypoint else None,
                "name": self.name, "labels": dict(self.labels), "hostname": self.hostname,
                "environment": [f"{k}={v}" for k, v in self.env] or None,
                "stop_timeout": self.stop_timeout,
                "ports": [c for _h, c in self.publish] or None}
