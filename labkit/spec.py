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
            ports=dict(ports or {}),
        )

    @property
    def asked(self) -> Limits:
        """The limits as the kernel should show them."""
        quota = round(self.cpus * CFS_PERIOD_US) if self.cpus else None
        return Limits(memory_bytes=self.memory_bytes, cpu_quota_us=quota,
                      cpu_period_us=CFS_PERIOD_US if quota else None)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or len(name) > 40:
        raise SpecError(
            f"The name {name!r} cannot be used: use lower-case letters, digits and '-' "
            "(at most 40), starting and ending with a letter or digit."
        )
    return name
