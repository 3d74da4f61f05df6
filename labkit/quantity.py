"""Memory and CPU quantities as Docker and Kubernetes write them.

Docker (``--memory 512MB``, ``512m``, ``1g``) counts in binary units, and so
does Kubernetes with ``Ki``/``Mi``/``Gi``; Kubernetes' plain ``M``/``G`` are
decimal. CPUs are a fraction of a core (``0.5``) or Kubernetes millicores
(``500m``).

>>> parse_memory("512MB"), parse_memory("256Mi", style="kubernetes")
(536870912, 268435456)
>>> parse_cpus("500m")
0.5
"""

from __future__ import annotations

import re
from typing import Literal

from .errors import SpecError

Style = Literal["docker", "kubernetes"]

_BINARY = {"ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40, "pi": 2**50, "ei": 2**60}
_DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15, "e": 10**18}
_DOCKER = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}

_NUMBER = r"(?P<num>\d+(?:\.\d+)?|\.\d+)"
_DOCKER_RE = re.compile(_NUMBER + r"\s*(?P<unit>[bkmgt]?)b?", re.IGNORECASE)
_K8S_RE = re.compile(_NUMBER + r"(?:e(?P<exp>\d+)|(?P<unit>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E))?")
_BINARY_SUFFIX_RE = re.compile(_NUMBER + r"(?P<unit>Ki|Mi|Gi|Ti|Pi|Ei)")

_MEMORY_HINT = "write it as Docker does (512MB, 512m, 1g) or as Kubernetes does (256Mi, 1Gi)"


def parse_memory(value: str | int, *, style: Style = "docker") -> int:
    """Bytes for a memory quantity; ``style`` says whose units plain suffixes use."""
    if isinstance(value, bool):
        raise SpecError(f"The memory quantity {value!r} is not a size: {_MEMORY_HINT}.")
    if isinstance(value, int):
        if value <= 0:
            raise SpecError(f"The memory quantity {value} must be positive: {_MEMORY_HINT}.")
        return value
    text = str(value).strip()
    match = _BINARY_SUFFIX_RE.fullmatch(text)
    if match:
        number = float(match["num"]) * _BINARY[match["unit"].lower()]
    elif style == "docker":
        match = _DOCKER_RE.fullmatch(text)
        if not match:
            raise SpecError(f"The memory quantity {text!r} is not a size: {_MEMORY_HINT}.")
        number = float(match["num"]) * _DOCKER[match["unit"].lower()]
    else:
        match = _K8S_RE.fullmatch(text)
        if not match:
            raise SpecError(
                f"The memory quantity {text!r} is not a Kubernetes quantity: "
                "write it like 256Mi, 1Gi or 128974848."
            )
        if match["exp"]:
            number = float(match["num"]) * 10 ** int(match["exp"])
        elif match["unit"]:
            unit = match["unit"]
            number = float(match["num"]) * (_BINARY.get(unit.lower()) or _DECIMAL[unit.lower()])
        else:
            number = float(match["num"])
    size = int(number)
    if size < 4096:
        raise SpecError(
            f"The memory quantity {text!r} is only {size} bytes, too small for any container: "
            f"{_MEMORY_HINT}."
        )
    return size


def parse_cpus(value: str | float | int) -> float:
    """Cores for a CPU quantity: ``0.5``, ``"0.5"``, ``"500m"`` or ``2``."""
    if isinstance(value, bool):
        raise SpecError(f"The CPU quantity {value!r} is not a number of cores: write 0.5 or 500m.")
    if isinstance(value, (int, float)):
        cores = float(value)
    else:
        text = str(value).strip()
        millis = re.fullmatch(r"(\d+)m", text)
        if millis:
            cores = int(millis[1]) / 1000
        elif re.fullmatch(r"\d+(?:\.\d+)?|\.\d+", text):
            cores = float(text)
        else:
            raise SpecError(
                f"The CPU quantity {text!r} is not a number of cores: write 0.5 or 500m."
            )
    if not 0.001 <= cores <= 1024:
        raise SpecError(
            f"The CPU quantity {value!r} is out of range: give between 1m (0.001) and "
            "1024 cores, e.g. 0.5 or 500m."
        )
    return cores


def format_bytes(size: int | None) -> str:
    """A human size in binary units, ``"unlimited"`` for None."""
    if size is None:
        return "unlimited"
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} B"
