"""Which OCI runtime this machine has, and so how it turns cpu.shares into cgroup v2's
cpu.weight: runc changed its formula in 1.3.2, crun in 1.23 (:mod:`labkit.kubernetes`).

>>> weight_formula("runc version 1.1.5+ds1\\ncommit: v1.1.5\\n").__name__
'cpu_weight'
>>> [weight_formula(f"{v}\\n").__name__ for v in ("runc version 1.3.2", "crun version 1.23")]
['cpu_weight_quadratic', 'cpu_weight_quadratic']
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Callable

from ..kubernetes import cpu_weight, cpu_weight_quadratic

# The first release of each runtime that writes the second formula.
QUADRATIC_SINCE = {"runc": (1, 3, 2), "crun": (1, 23)}


def weight_formula(version_text: str) -> Callable[[int | None], int | None]:
    """The shares -> weight conversion of the runtime whose ``--version`` printed this."""
    match = re.search(r"\b(runc|crun) version (\d+(?:\.\d+)*)", version_text)
    if not match:
        return cpu_weight
    name, numbers = match[1], tuple(int(n) for n in match[2].split("."))
    return cpu_weight_quadratic if numbers >= QUADRATIC_SINCE[name] else cpu_weight


@functools.lru_cache(maxsize=1)
def runc_version() -> str:
    """What ``runc --version`` prints here (its first line), or "" without runc."""
    runc = shutil.which("runc")
    if runc is None:
        return ""
    done = subprocess.run([runc, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


@functools.lru_cache(maxsize=8)
def program_version(program: str) -> str:
    """The version a program on this machine says it is (``containerd --version``,
    ``runc --version``, ``podman --version``), as ``1.6.20``; "" where it is missing."""
    path = shutil.which(program)
    if path is None:
        return ""
    done = subprocess.run([path, "--version"], capture_output=True, text=True, check=False,
                          timeout=30)
    match = re.search(r"(?:version\s+|\bv)?(\d+\.\d+(?:\.\d+)?)", done.stdout)
    return match[1] if match else ""


def runc_weight() -> Callable[[int | None], int | None]:
    """How this machine's runc converts shares to cpu.weight (the first formula without
    runc: what a container cgroup written by hand is compared with)."""
    return weight_formula(runc_version())
