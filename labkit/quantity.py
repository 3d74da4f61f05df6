"""Memory and CPU quantities as Docker and Kubernetes write them.

Docker (``--memory 512MB``, ``512m``, ``1g``) counts in binary units, and so
does Kubernetes with ``Ki``/``Mi``/``Gi``; Kubernetes' plain ``M``/``G`` are
decimal. CPUs are a fraction of a core (``0.5``) or Kubernetes millicores
(``500m``).

>>> parse_memory("512MB"), parse_memory("256Mi", style="kubernetes")
(536870912, 268435456)
>>> parse_cpus("500m")
0.5

A Pod's quantities are read as the API server reads them (:func:`kubernetes_memory`,
:func:`kubernetes_cpus`): zero and fractions of a byte are accepted there, as Kubernetes
accepts them, where Docker's forms (:func:`parse_memory`, :func:`parse_cpus`) refuse them.
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
MAX_CORES = 1024  # Docker's --cpus, for parse_cpus
# The kernel refuses a CFS quota above 2**44 - 1 µs (max_cfs_runtime, kernel/sched/core.c);
# the kubelet asks limit * 100 µs per 100 ms period (MilliCPUToQuota), so this many
# millicores is the largest CPU quantity a Pod's cgroup can be given.
MAX_MILLI_CPU = (2**44 - 1) // 100


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
    """Bytes for a memory quantity as labkit's Docker containers take it (at least 4096);
    ``style`` says whose units plain suffixes use.

    Kubernetes rounds a fraction of a byte up, as ``Quantity.Value()`` does; a memory
    quantity in thousandths (``100m``, valid for the API server but 0.1 bytes) is refused
    here. A Pod's quantities are read as the API server reads them, by
    :func:`kubernetes_memory`.
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
    number, unit = _memory_quantity(text)
    if unit in _SMALL:
        raise SpecError(f"The memory quantity {text!r} counts fractions of a byte ({unit} is "
                        f"{_SMALL[unit]} of a byte, not mega): write Mi or M, e.g. 128Mi.")
    return math.ceil(number)


def _memory_quantity(value: str | int | float) -> tuple[Fraction, str]:
    """A memory quantity's exact value and suffix: a Kubernetes quantity, not negative
    (``ValidateResourceQuantityValue``, pkg/apis/core/validation/validation.go), and no
    larger than a Quantity's int64."""
    parsed = None if isinstance(value, bool) else parse_quantity(value)
    if parsed is None:
        raise SpecError(f"The memory quantity {str(value)!r} is not a Kubernetes quantity: "
                        "write it like 256Mi, 1Gi or 128974848.")
    if parsed[0] < 0:
        raise SpecError(f"The memory quantity {str(value)!r} is negative: give a size like "
                        "256Mi.")
    if math.ceil(parsed[0]) > MAX_BYTES:
        raise SpecError(f"The memory quantity {str(value)!r} is larger than any machine's "
                        "memory: write it like 256Mi or 1Gi.")
    return parsed


def kubernetes_memory(value: str | int | float) -> tuple[int, str | None]:
    """Bytes for a Pod's memory quantity as the API server takes it, rounded up to a whole
    byte as the kubelet reads it (``Quantity.Value()``), with the quantity as the API server
    writes it back (``Quantity.String()``) when it is a fraction of a byte, which it only
    warns about (``warningsForPodSpecAndMeta``, pkg/api/pod/warnings.go); else None.

    >>> kubernetes_memory("64Mi"), kubernetes_memory(0), kubernetes_memory("100m")
    ((67108864, None), (0, None), (1, '100m'))
    >>> kubernetes_memory("1000000.5"), kubernetes_memory("1e-1")
    ((1000001, '1000000500m'), (1, '100e-3'))
    """
    number, unit = _memory_quantity(value)
    return math.ceil(number), None if number.denominator == 1 else _fraction_text(number, unit)


def _fraction_text(number: Fraction, unit: str) -> str:
    """A quantity that is not a whole number as ``Quantity.String()`` writes it
    (staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go, ``CanonicalizeBytes``): in
    thousandths, millionths or billionths (rounded up to one), with a suffix, or with an
    exponent when it was written with one."""
    power, suffix = next(((p, s) for p, s in ((3, "m"), (6, "u"))
                          if (number * 10**p).denominator == 1), (9, "n"))
    mantissa = math.ceil(number * 10**power)
    return f"{mantissa}e-{power}" if unit == "e" else f"{mantissa}{suffix}"


def _millicores(value: str | float | int) -> int:
    """Millicores for a CPU quantity, finer than a millicore rounded up to it, as the
    kubelet's ``MilliValue()`` does; refused if it is not a quantity or negative."""
    if isinstance(value, float):
        value = round(value, 9)  # 0.1 + 0.2 is 0.3 cores, not 0.301 after rounding up
    parsed = None if isinstance(value, bool) else parse_quantity(value)
    if parsed is None:
        raise SpecError(f"The CPU quantity {value!r} is not a number of cores: write 0.5 or "
                        "500m.")
    if parsed[0] < 0:
        raise SpecError(f"The CPU quantity {value!r} is negative: write 0.5 or 500m.")
    return math.ceil(parsed[0] * 1000)


def parse_cpus(value: str | float | int) -> float:
    """Cores for a CPU quantity as Docker's ``--cpus`` takes it: ``0.5``, ``"0.5"``,
    ``"500m"``, ``2`` or any Kubernetes quantity (``"1e0"``), from 1m to 1024 cores; finer
    than a millicore is rounded up to it, as the kubelet's ``MilliValue()`` does."""
    millis = _millicores(value)
    if not 1 <= millis <= MAX_CORES * 1000:
        raise SpecError(
            f"The CPU quantity {value!r} is out of range: give between 1m (0.001) and "
            f"{MAX_CORES} cores, e.g. 0.5 or 500m."
        )
    return millis / 1000


def kubernetes_cpus(value: str | float | int) -> float:
    """Cores for a Pod's CPU quantity as the API server takes it: any quantity that is not
    negative (``ValidateResourceQuantityValue``), 0 included (Kubernetes counts it as not
    given) and above 1024 cores (the kubelet's shares stop at 262144); only above
    :data:`MAX_MILLI_CPU`, a quota no kernel takes, is it refused.

    >>> kubernetes_cpus("250m"), kubernetes_cpus(0), kubernetes_cpus("2000")
    (0.25, 0.0, 2000.0)
    """
    millis = _millicores(value)
    if millis > MAX_MILLI_CPU:
        raise SpecError(
            f"The CPU quantity {value!r} is more than the {MAX_MILLI_CPU // 1000} cores a "
            "Linux kernel can give one cgroup (its largest CFS quota): the API server would "
            "accept it, but no node can run it, so write e.g. 0.5 or 500m.")
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
