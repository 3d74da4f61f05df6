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


class FormError(LabError):
    """An exercise's answer in the wrong form: one sentence saying which form is expected;
    not a try."""


class NotRecorded(LabError, AttributeError):
    """A replayed chapter's recording has no answer to this question (an AttributeError too,
    so a replayed object answers ``hasattr`` as the real one would)."""


class NodeReadError(LabError):
    """The kernel's files for a process or a cgroup cannot be read."""


# -- the sentences of engine errors, for every engine ------------------------------------------

def refused(engine: str, what: str, said: str) -> EngineRefused:
    """The engine said no, in its own words.

    >>> str(refused("containerd", "start container app", "exec: no such file."))
    'containerd refused to start container app: exec: no such file.'
    >>> refused("Docker", "start app", "conflict").engine_said
    'conflict'
    """
    said = said.strip()
    return EngineRefused(f"{engine} refused to {what}: {said.rstrip('.')}.", said)


def not_found(engine: str, what: str, said: str) -> EngineRefused:
    """The engine no longer has what it was asked about.

    >>> str(not_found("Docker", "start web", "No such container: 3f2a"))  # doctest: +ELLIPSIS
    'Docker could not start web: No such container: 3f2a (it may have been removed; ...).'
    """
    said = said.strip().rstrip(".")
    return EngineRefused(f"{engine} could not {what}: {said} (it may have been removed; run the "
                         "cell that creates it again).", said)


def gone(engine: str, where: str, what: str, fix: str) -> EngineUnavailable:
    """The engine stopped answering between two calls.

    >>> print(gone("Docker", "unix:///run/docker.sock", "start web", "start it again"))
    No Docker engine answers at unix:///run/docker.sock any more, so labkit could not start web: start it again.
    """  # noqa: E501
    return EngineUnavailable(f"No {engine} engine answers at {where} any more, so labkit could "
                             f"not {what}: {fix}.")


def not_answering(engine: str, where: str, fix: str) -> EngineUnavailable:
    """The engine does not answer a call (down, or not back yet).

    >>> print(not_answering("labkit's containerd", "/run/c.sock", "re-run the cell"))
    labkit's containerd does not answer on /run/c.sock: re-run the cell.
    """
    return EngineUnavailable(f"{engine} does not answer on {where}: {fix}.")


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


def unchecked(engine: str, what: str, said: str) -> LabError:
    """An exercise's check could not ask the engine: nothing is judged.

    >>> print(unchecked("Docker", "list containers", "connection refused"))
    Docker could not list containers for the check (connection refused): make sure the engine runs, then check again.
    """  # noqa: E501
    return LabError(f"{engine} could not {what} for the check ({said}): make sure the engine "
                    "runs, then check again.")
