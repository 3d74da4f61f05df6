"""What applies to every test path (tests/, notebooks/, labkit/).

Doctests are the examples in labkit's docstrings that run without an engine. An example
that needs one is written for the reader and marked ``# doctest: +SKIP``; a docstring made
only of those has nothing to run, so it is not collected (rather than reported as a skip,
which CI counts as a failure: see tests/conftest.py).

``./lab test`` runs tests in parallel workers (pytest-xdist, ``--dist loadfile``), as
learners share a machine: each session's containers, pods and cgroups are its own. What is
every session's (containers made by hand with an exercise's plain name, a global
``labkit clean``) is in the tests marked ``slow``, which ``./lab test-slow`` runs one at a
time. The notebooks run one after the other, in one worker: two kernels started at once
may pick the same TCP port, and nbval then waits for a kernel that died.
"""

from __future__ import annotations

import doctest

import pytest


def pytest_collection_modifyitems(config, items):
    from _pytest.doctest import DoctestItem

    idle = [item for item in items if isinstance(item, DoctestItem)
            and all(example.options.get(doctest.SKIP) for example in item.dtest.examples)]
    if idle:
        config.hook.pytest_deselected(items=idle)
        items[:] = [item for item in items if item not in idle]


NOTEBOOKS = "notebooks"  # the one xdist scope of every notebook's cells


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, when it is installed
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, except that every notebook is in one scope (see above). (xdist's
    ``loadgroup`` marks are not seen under this pytest, so the scope is chosen here.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return NOTEBOOKS if path.endswith(".ipynb") else path

    return ByFile(config, log)
