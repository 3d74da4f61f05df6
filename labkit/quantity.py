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

import math
import re
from fractions import Fraction
from typing import Literal

from .errors import SpecError

Style = Literal["docker", "kubernetes"]

_BINARY = {"ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40, "pi": 2**50, "ei": 2**60}
_DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15, "e": 10**18}
_DOCKER = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}

_NUMBER = r"(?P<num>\d+(?:\.\d+)?|\.\d+)"
_DOCKER_RE = re.compile(_NUMBER + r"\s*(?P<unit>[bkmgt]?)b?", re.IGNORECASE)
_BINARY_SUFFIX_RE = re.compile(_NUMBER + r"(?P<unit>Ki|Mi|Gi|Ti|Pi|Ei)")

_MEMORY_HINT = "write it as Docker does (512MB, 512m, 1g) or as Kubernetes does (256Mi, 1Gi)"


# Kubernetes' quantity grammar (k8s.io/apimachinery resource.Quantity): a signed decimal,
# then a binary suffix (Ki..Ei), a decimal one (n, u, m, "", k, M..E) or an exponent (e3, E-2).
_QUANTITY_RE = re.compile(r"(?P<sign>[+-]?)(?P<num>\d+(?:\.\d*)?|\.\d+)"
                          r"(?:(?P<unit>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)"
                          r"|[eE](?P<exp>[+-]?\d{1,3}))?")
_SMALL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000)}
MAX_BYTES = 2**63 - 1  # a Quantity's int64 value
MAX_CORES = 1024


def parse_quantity(value: str | int | float) -> tuple[Fraction, str] | None:
    """The exact value of a Kubernetes quantity and its suffix, or None if it is not one.

    >>> parse_quantity("1.5Gi"), parse_quantity("129e6"), parse_quantity("12 parsecs")
    ((Fraction(1610612736, 1), 'Gi'), (Fraction(129000000, 1), 'e'), None)
    """
    if isinstance(value, bool):
        return None
    match = _QUANTITY_RE.fullmatch(str(value).strip())
    if not match:
        return None
    number = Fraction(match["num"] + ("0" if match["num"].endswith(".") else ""))
    if match["sign"] == "-":
        number = -number
    unit = match["unit"] or ""
    if match["exp"] is not None:
        return number * Fraction(10) ** int(match["exp"]), "e"
    if unit in _SMALL:
        return number * _SMALL[unit], unit
    factor = _BINARY.get(unit.lower()) if unit.endswith("i") else _DECIMAL.get(unit.lower(), 1)
    return number * factor, unit


def parse_memory(value: str | int, *, style: Style = "docker") -> int:
    """Bytes for a memory quantity; ``style`` says whose units plain suffixes use.

    Kubernetes rounds a fraction of a byte up, as ``Quantity.Value()`` does; a memory
    quantity in thousandths (``100m``, valid for the API server but 0.1 bytes) is refused.
    """
    if isinstance(value, bool):
        raise SpecError(f"The memory quantity {value!r} is not a size: {_MEMORY_HINT}.")
    if isinstance(value, int):
        if value <= 0:
            raise SpecError(f"The memory quantity {value} must be positive: {_MEMORY_HINT}.")
        size, text = value, str(value)
    else:
        text = str(value).strip()
        size = _docker_bytes(text) if style == "docker" else _kubernetes_bytes(text)
    if size < 4096:
        raise SpecError(
            f"The memory quantity {text!r} is only {size} bytes, too small for any container: "
            f"{_MEMORY_HINT}."
        )
    if size > MAX_BYTES:
        raise SpecError(f"The memory quantity {text!r} is larger than any machine's memory: "
                        "write it like 256Mi or 1Gi.")
    return size


def _docker_bytes(text: str) -> int:
    match = _BINARY_SUFFIX_RE.fullmatch(text)
    if match:
        return int(float(match["num"]) * _BINARY[match["unit"].lower()])
    match = _DOCKER_RE.fullmatch(text)
    if not match:
        raise SpecError(f"The memory quantity {text!r} is not a size: {_MEMORY_HINT}.")
    return int(float(match["num"]) * _DOCKER[match["unit"].lower()])


def _kubernetes_bytes(text: str) -> int:
    parsed = parse_quantity(text)
    if parsed is None:
        raise SpecError(f"The memory quantity {text!r} is not a Kubernetes quantity: "
                        "write it like 256Mi, 1Gi or 128974848.")
    number, unit = parsed
    if number < 0:
        raise SpecError(f"The memory quantity {text!r} is negative: give a size like 256Mi.")
    if unit in _SMALL:
        raise SpecError(f"The memory quantity {text!r} counts fractions of a byte ({unit} is "
                        f"{_SMALL[unit]} of a byte, not mega): write Mi or M, e.g. 128Mi.")
    return math.ceil(number)


def parse_cpus(value: str | float | int) -> float:
    """Cores for a CPU quantity: ``0.5``, ``"0.5"``, ``"500m"``, ``2`` or any Kubernetes
    quantity (``"1e0"``); finer than a millicore is rounded up to it, as the kubelet's
    ``MilliValue()`` does."""
    if isinstance(value, float):
        value = round(value, 9)  # 0.1 + 0.2 is 0.3 cores, not 0.301 after rounding up
    parsed = None if isinstance(value, bool) else parse_quantity(value)
    if parsed is None:
        raise SpecError(f"The CPU quantity {value!r} is not a number of cores: write 0.5 or "
                        "500m.")
    if parsed[0] < 0:
        raise SpecError(f"The CPU quantity {value!r} is negative: write 0.5 or 500m.")
    millis = math.ceil(parsed[0] * 1000)
    if not 1 <= millis <= MAX_CORES * 1000:
        raise SpecError(
            f"The CPU quantity {value!r} is out of range: give between 1m (0.001) and "
            f"{MAX_CORES} cores, e.g. 0.5 or 500m."
        )
    return millis / 1000


def format_bytes(size: int | None) -> str:
    """A human size in binary units, ``"unlimited"`` for None."""
    if size is None:
        return "unlimited"
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} B"
