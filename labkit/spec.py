"""What to run: a container spec, validated into exact numbers before anything starts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import SpecError
from .model import Limits
from .quantity import Style, parse_cpus, parse_memory

_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
CFS_PERIOD_US = 100_000  # the period Docker and the kubelet use


@dataclass(frozen=True)
class ContainerSpec:
    """One container: image, command, and its limits in bytes and cores."""

    name: str
    image: str
    command: tuple[str, ...] | None = None
    memory_bytes: int | None = None
    cpus: float | None = None
    ports: dict[int, int] = field(default_factory=dict)  # container port -> host port

    @classmethod
    def build(cls, name: str, image: str, command=None, *, memory=None, cpus=None,
              ports=None, style: Style = "docker") -> ContainerSpec:
        """Validate learner input (``memory="512MB"``, ``cpus=0.5``) into a spec."""
        check_name(name)
        if not image or not isinstance(image, str):
            raise SpecError(f"Container {name!r} has no image: give one, e.g. image='nginx'.")
        if isinstance(command, str):
            command = ("sh", "-c", command)
        return cls(
            name=name,
            image=image,
            command=tuple(str(c) for c in command) if command else None,
            memory_bytes=parse_memory(memory, style=style) if memory is not None else None,
            cpus=parse_cpus(cpus) if cpus is not None else None,
            ports=check_published_ports(ports),
        )

    @property
    def asked(self) -> Limits:
        """The limits as the kernel should show them."""
        quota = round(self.cpus * CFS_PERIOD_US) if self.cpus else None
        return Limits(memory_bytes=self.memory_bytes, cpu_quota_us=quota,
                      cpu_period_us=CFS_PERIOD_US if quota else None)


def check_name(name: str, what: str = "The name") -> str:
    """A DNS-1123 label of at most 40 characters: stricter than Kubernetes (a label of 63 for
    containers, a subdomain of 253 with dots for a Pod), since labkit builds engine, cgroup
    and hostname strings (``lk-<session>-<pod>-<container>``) from it."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or len(name) > 40:
        raise SpecError(
            f"{what} {name!r} cannot be used: use lower-case letters, digits and '-' "
            "(at most 40), starting and ending with a letter or digit."
        )
    return name


def check_published_ports(ports) -> dict[int, int]:
    """``{container port: host port}`` for ``docker run -p 127.0.0.1:HOST:PORT``; host port 0
    lets Docker choose one."""
    if ports is None:
        return {}
    if not isinstance(ports, dict):
        raise SpecError(f"ports={ports!r} is not a mapping: give container port -> host port, "
                        "e.g. ports={80: 8080}.")
    for port, host in ports.items():
        for number, low in ((port, 1), (host, 0)):
            if isinstance(number, bool) or not isinstance(number, int) \
                    or not low <= number <= 65535:
                raise SpecError(f"ports={{{port!r}: {host!r}}} is not a port mapping: give "
                                f"numbers between {low} and 65535, e.g. ports={{80: 8080}}.")
    return dict(ports)
