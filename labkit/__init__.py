"""labkit: real containers and pods, observed from the kernel, in notebook cells.

Heavy modules (the Docker SDK, pandas, matplotlib) load on first use, so
``import labkit`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import LabError

__all__ = ["Lab", "LabError", "Observation", "Session", "chapter_lab", "exercises", "views"]
__version__ = "0.1.0"

_LAZY = {"Lab": ".lab", "Observation": ".model", "Session": ".session", "views": ".views",
         "exercises": ".exercises", "chapter_lab": ".chapter"}
_MODULES = {"views", "exercises"}

if TYPE_CHECKING:
    from . import exercises, views
    from .chapter import chapter_lab
    from .lab import Lab
    from .model import Observation
    from .session import Session


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        value = module if name in _MODULES else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")
