"""tests/file_order.py, the order in which ./lab test hands its workers files, run in a real
pytest (pytester) on a small suite of its own: by the guess on a first run, by the seconds
the run measured (pytest's cache) on the next, each file's tests in their own order."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest

@pytest.fixture
def docker_client():  # stands for the engine fixtures' root: the guess reads only the name
    return None
"""


def collected_files(pytester: pytest.Pytester, *args: str) -> list[str]:
    result = pytester.runpytest("-p", "tests.file_order", "--collect-only", "-q", *args)
    files: list[str] = []
    for line in result.outlines:
        if "::" in line and line.split("::")[0] not in files:
            files.append(line.split("::")[0])
    return files


def test_heavy_files_go_first_and_the_measured_seconds_win(pytester: pytest.Pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_many_light="\n".join(f"def test_{n}(): pass" for n in range(30)),
        test_engine="def test_one(docker_client): pass\ndef test_two(docker_client): pass",
        test_slow_without_engine="import time\ndef test_sleeps(): time.sleep(0.5)",
    )
    # a first run: two engine tests (2 s) before thirty plain ones (0.6 s), before one (0.02 s)
    assert collected_files(pytester) == ["test_engine.py", "test_many_light.py",
                                         "test_slow_without_engine.py"]
    pytester.runpytest("-p", "tests.file_order", "-q").assert_outcomes(passed=33)
    # measured: the half-second test first now, then the rest by their (tiny) seconds
    assert collected_files(pytester)[0] == "test_slow_without_engine.py"


def test_a_files_own_tests_keep_their_order(pytester: pytest.Pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_a="def test_z(): pass\ndef test_y(docker_client): pass\n"
                               "def test_x(): pass",
                        test_b="def test_b(docker_client): pass")
    result = pytester.runpytest("-p", "tests.file_order", "--collect-only", "-q",
                                "-p", "no:cacheprovider")
    ids = [line for line in result.outlines if "::" in line]
    assert ids == ["test_a.py::test_z", "test_a.py::test_y", "test_a.py::test_x",
                   "test_b.py::test_b"]
