"""One place for every error labkit raises.

Each error is one sentence a learner can act on: it names what is wrong and
what to do about it. Notebooks show only that sentence, never a traceback
from labkit's insides (see :func:`install_notebook_handler`).
"""

from __future__ import annotations

import sys


class LabError(Exception):
    """Something the learner can fix; ``str(error)`` says what and how."""


class SpecError(LabError):
    """A manifest, a quantity or a keyword argument that cannot be run."""


class EngineUnavailable(LabError):
    """No container engine answers."""


class EnginePermissionError(LabError):
    """An engine answers, but this user may not talk to it."""


class ImageUnavailable(LabError):
    """An image is neither present, nor pullable, nor one labkit can stand in for."""


class EngineRefused(LabError):
    """The engine was asked for something and said no; carries the engine's own words."""

    def __init__(self, sentence: str, engine_said: str = "") -> None:
        super().__init__(sentence)
        self.engine_said = engine_said


class NodeReadError(LabError):
    """The kernel's files for a process or a cgroup cannot be read."""


def _show_one_sentence(shell, etype, value, tb, tb_offset=None):
    print(f"{etype.__name__}: {value}", file=sys.stderr)


def install_notebook_handler() -> bool:
    """Make IPython print a LabError as its one sentence instead of a traceback.

    Returns True when running inside IPython (and the handler is installed).
    """
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:
        return False
    shell = ipython_module.get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((LabError,), _show_one_sentence)
    return True
