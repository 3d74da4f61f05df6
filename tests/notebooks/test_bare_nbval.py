"""`pytest --nbval notebooks/`, bare, passes on any machine the lab is set up on.

Three machines, run for real: offline (LABKIT_OFFLINE=1, the machine's engine); online
where no registry answers (a private dockerd whose registry traffic goes to a closed port
on 127.0.0.1, so a pull is tried and refused here); and one where the article's images
are present (the same private engine with images named nginx, httpbin, curl and busybox,
so labkit runs them and no stand-in). What differs between them (which image runs, why)
is shown in the cells that describe the machine, which nbval does not compare.

The private engine has a bridge of its own (not docker0: ``tests/private_dockerd.py``), so
the cells of chapter 7 that read Docker's bridge network are left out of its two runs; they
are compared in the first, on the machine's engine as ``./lab setup`` configures it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import need
from ..private_dockerd import PrivateDockerd

# The notebooks on three machines: a slow suite (./lab test-slow).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

# What the article's images do, built offline from the lab's busybox layer.
ARTICLE_IMAGES = {
    "nginx": ["httpd", "-f", "-p", "80", "-h", "/www"],
    "kennethreitz/httpbin": ["httpd", "-f", "-p", "80", "-h", "/www"],
    "curlimages/curl": ["curl"],
    "busybox": ["sh"],
}


def _bare_nbval(env: dict[str, str], *, private: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in env.items() if k != "MPLBACKEND"}
    left_out = [f"--deselect={cell}" for cell in _docker_bridge_cells()] if private else []
    return subprocess.run([sys.executable, "-m", "pytest", "--nbval", "notebooks/",
                           "-p", "no:cacheprovider", "-q", *left_out],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
                          check=False)


def _docker_bridge_cells() -> list[str]:
    """nbval's ids of chapter 7's cells that read the Docker pod's network (its bridge,
    addresses and exec root are the engine's configuration)."""
    chapter = "notebooks/07-pod-network.ipynb"
    cells = [c for c in json.loads((REPO / chapter).read_text())["cells"]
             if c["cell_type"] == "code"]
    found = [f"{chapter}::Cell {i}" for i, c in enumerate(cells)
             if "lab.network(docker)" in "".join(c["source"])]
    assert found, "chapter 7 reads the Docker pod's network somewhere"
    return found


def _load_article_images(url: str) -> None:
    import docker

    from labkit import images

    client = docker.DockerClient(base_url=url, version="auto")
    layer = images.toolbox_tar(images.find_busybox())
    for name, command in ARTICLE_IMAGES.items():
        client.api.import_image_from_data(
            layer, repository=name, tag="latest",
            changes=["ENV PATH=/bin", f"CMD {command!r}".replace("'", '"')])
    client.close()


def _watch_creations(engine: PrivateDockerd) -> subprocess.Popen:
    """`docker events` for container creations, followed while the chapters run: an engine
    keeps only its most recent events (256, moby's daemon/events), fewer than the chapters
    make, so asking afterwards would miss the first chapters' containers."""
    return subprocess.Popen(["docker", "-H", engine.url, "events", "--filter", "event=create",
                             "--format", "{{.From}}"], stdout=subprocess.PIPE, text=True)


def _images_run(watch: subprocess.Popen) -> set[str]:
    time.sleep(1)  # the last creations on their way
    watch.terminate()
    said, _ = watch.communicate(timeout=10)
    return {name.removeprefix("docker.io/").removesuffix(":latest") for name in said.split()}


@pytest.fixture
def engine(docker_client, request):
    need(os.geteuid() == 0, "the chapters run as root")
    private = PrivateDockerd(registry=request.param).start()
    try:
        yield private
    finally:
        private.remove()


def test_offline_on_this_machine(docker_client):
    env = {**os.environ, "LABKIT_OFFLINE": "1"}
    done = _bare_nbval(env)
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.parametrize("engine", ["refused"], indirect=True)
def test_online_where_no_registry_answers(engine):
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_OFFLINE"}
    env["DOCKER_HOST"] = engine.url
    done = _bare_nbval(env, private=True)
    assert done.returncode == 0, done.stdout[-3000:]
    # The pulls were tried, and refused on this machine.
    assert "127.0.0.1:9" in (engine.base / "dockerd.log").read_text()


@pytest.mark.parametrize("engine", ["refused"], indirect=True)
def test_where_the_article_images_are_present(engine):
    _load_article_images(engine.url)
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_OFFLINE"}
    env["DOCKER_HOST"] = engine.url
    watch = _watch_creations(engine)
    try:
        done = _bare_nbval(env, private=True)
    finally:
        ran = _images_run(watch)
    assert done.returncode == 0, done.stdout[-3000:]
    assert {"nginx", "kennethreitz/httpbin", "curlimages/curl", "busybox"} <= ran, ran
