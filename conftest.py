"""Doctests are the examples in labkit's docstrings that run without an engine. An example
that needs one is written for the reader and marked ``# doctest: +SKIP``; a docstring made
only of those has nothing to run, so it is not collected (rather than reported as a skip,
which CI counts as a failure: see tests/conftest.py)."""

from __future__ import annotations

import doctest


def pytest_collection_modifyitems(config, items):
    from _pytest.doctest import DoctestItem

    idle = [item for item in items if isinstance(item, DoctestItem)
            and all(example.options.get(doctest.SKIP) for example in item.dtest.examples)]
    if idle:
        config.hook.pytest_deselected(items=idle)
        items[:] = [item for item in items if item not in idle]
