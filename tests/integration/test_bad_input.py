"""Each mistake gets one sentence naming the fix, and leaves nothing behind."""

from __future__ import annotations

import pytest

import labkit
from labkit.errors import (
    EnginePermissionError,
    EngineUnavailable,
    ImageUnavailable,
    NodeReadError,
    SpecError,
)

from .helpers import run_as_learner


def _one_sentence(error: Exception) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text
    assert text.endswith(".") and ": " in text  # the problem, then the fix
    return text


def test_malformed_quantity_creates_nothing(lab):
    with pytest.raises(SpecError) as caught:
        lab.run("bad", "busybox", "sleep 1", memory="12 parsecs")
    assert "512MB" in _one_sentence(caught.value)
    assert lab.docker.session_containers() == []


def test_bad_name_creates_nothing(lab):
    with pytest.raises(SpecError) as caught:
        lab.run("Not_OK", "busybox", "sleep 1")
    assert "lower-case" in _one_sentence(caught.value)
    assert lab.docker.session_containers() == []


def test_unknown_image_creates_nothing(lab):
    with pytest.raises(ImageUnavailable) as caught:
        lab.run("ghost", "example.invalid/no-such-image:1", "sleep 1")
    assert "docker load" in _one_sentence(caught.value)
    assert lab.docker.session_containers() == []


def test_no_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(EngineUnavailable) as caught:
        labkit.Lab().docker  # noqa: B018
    assert "start it" in _one_sentence(caught.value)


def test_no_permission_on_the_docker_socket(docker_client):
    result = run_as_learner(
        "import json, labkit\n"
        "try:\n"
        "    labkit.Lab().docker\n"
        "    print(json.dumps({'error': None}))\n"
        "except labkit.LabError as e:\n"
        "    print(json.dumps({'type': type(e).__name__, 'error': str(e)}))\n",
        docker_group=False)
    assert result["type"] == EnginePermissionError.__name__
    assert "docker group" in result["error"] and "\n" not in result["error"]


def test_unreadable_kernel_files(lab):
    box = lab.run("box", "busybox", "sleep 600", quiet=True)
    result = run_as_learner(
        "import json\n"
        "from labkit.node import Node\n"
        "from labkit.model import Member\n"
        "try:\n"
        f"    Node().snapshot([Member('box', {box.pid})])\n"
        "    print(json.dumps({'error': None}))\n"
        "except Exception as e:\n"
        "    print(json.dumps({'type': type(e).__name__, 'error': str(e)}))\n",
        docker_group=True)
    assert result["type"] == NodeReadError.__name__
    assert "No permission to read" in result["error"] and "helper" in result["error"]


def test_a_lab_error_in_a_notebook_prints_one_line():
    """The IPython handler labkit installs shows the sentence, not labkit's traceback."""
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    from labkit.errors import install_notebook_handler

    assert install_notebook_handler()
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        shell.run_cell("from labkit.quantity import parse_memory; parse_memory('lots')")
    assert captured.stderr.strip().startswith("SpecError: The memory quantity 'lots'")
    assert "Traceback" not in captured.stdout + captured.stderr


def test_unreadable_cgroup_files(tmp_path):
    """A cgroup file the reader may not open (mode 000 in a recorded v2 tree, read as a
    non-root user) is one sentence, not a silent gap in the table."""
    import json
    import os
    import tempfile

    from tests.conftest import FIXTURES
    from tests.fixtures.record_tree import build

    root = tempfile.mkdtemp(prefix="labkit-tree-")
    os.chmod(root, 0o755)
    try:
        build(json.loads((FIXTURES / "v2-systemd-docker.json").read_text()), root)
        scope = next(p for p in os.listdir(f"{root}/sys/fs/cgroup/system.slice")
                     if p.endswith(".scope"))
        os.chmod(f"{root}/sys/fs/cgroup/system.slice/{scope}/memory.max", 0o000)
        result = run_as_learner(
            "import json\n"
            "from labkit.node import Node\n"
            "from labkit.node.gather import DirectGatherer\n"
            "from labkit.model import Member\n"
            "try:\n"
            f"    Node(DirectGatherer({root!r})).snapshot([Member('foo', 4242)])\n"
            "    print(json.dumps({'error': None}))\n"
            "except Exception as e:\n"
            "    print(json.dumps({'type': type(e).__name__, 'error': str(e)}))\n",
            docker_group=False)
    finally:
        import shutil

        shutil.rmtree(root)
    assert result["type"] == NodeReadError.__name__
    assert result["error"].startswith("No permission to read /sys/fs/cgroup/system.slice/")
    assert "memory.max" in result["error"] and "\n" not in result["error"]
