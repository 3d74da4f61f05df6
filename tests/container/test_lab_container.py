"""The lab in one container, for a user who is not root but can talk to Docker.

A real user of this machine in the docker group, with no sudo, on a fresh clone: the
README's two commands. `./lab up` opens JupyterLab from the lab's container on 127.0.0.1
with a token (a cell runs there: the time to it is printed), the work written there is
still there after the lab is stopped (Ctrl-C) and started again, and stopping leaves no
container of it; `./lab test` runs the tests inside such a container and they pass (every
chapter among them, strict nbval). Bad
input gets one sentence each. Needs the lab's image (`sudo ./lab image`; CI builds it).
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import need

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
LEARNER = "lklearner"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def learner(docker_client, tmp_path_factory):
    """A user in the docker group, without sudo; a fresh clone of this checkout of theirs
    (the tracked files as they are now); the lab's image of that code, as root makes it
    (`./lab workshop build`: the base is built once, the code layer in seconds)."""
    need(os.geteuid() == 0, "making a learner's account needs root")
    need(bool(docker_client.images.list(filters={"label": "org.labkit.image=learner-base"})),
         "the learner node's base image (./lab workshop build)")
    made_user = False
    try:
        pwd.getpwnam(LEARNER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--groups", "docker", LEARNER], check=True)
        made_user = True
    account = pwd.getpwnam(LEARNER)
    home = Path(account.pw_dir)
    clone = home / f"lab-{uuid.uuid4().hex[:6]}"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    # The checkout's own state, changes not committed yet included.
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                             check=True).stdout.split(b"\0")
    for name in filter(None, tracked):
        source = REPO / name.decode()
        if source.is_file():
            shutil.copy2(source, clone / name.decode())
    built = subprocess.run(["bash", "workshop/build-node.sh"], cwd=clone, capture_output=True,
                           text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    subprocess.run(["chown", "-R", f"{account.pw_uid}:{account.pw_gid}", str(clone)],
                   check=True)
    yield account, clone
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["docker", "volume", "rm", "-f", f"labkit-work-{LEARNER}"],
                   capture_output=True)
    if made_user:  # the account goes with the test that made it
        subprocess.run(["userdel", "--remove", LEARNER], capture_output=True)


def as_learner(account, clone: Path, *args: str, env: dict | None = None, **options):
    """A command as the learner: their uid, their groups (docker, not sudo), their home."""
    groups = ",".join(str(g.gr_gid) for g in grp.getgrall() if LEARNER in g.gr_mem)
    argv = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
            f"--groups={groups}", "--", *args]
    environment = {"HOME": account.pw_dir, "USER": LEARNER, "LOGNAME": LEARNER,
                   "PATH": "/usr/local/bin:/usr/bin:/bin", "LABKIT_OFFLINE": "1",
                   **(env or {})}
    return subprocess.Popen(argv, cwd=clone, env=environment, **options)


def _up(account, clone, port: int, env: dict | None = None, seconds: float = 1200):
    """`./lab up` as the learner; (the process, the URL it printed). Killed, and the test
    failed, if no URL comes within ``seconds`` (a first build of the image included)."""
    process = as_learner(account, clone, "./lab", "up", "--port", str(port), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    watchdog = threading.Timer(seconds, os.killpg, (process.pid, signal.SIGKILL))
    watchdog.start()
    seen = []
    try:
        for line in process.stdout:
            seen.append(line)
            if f"http://127.0.0.1:{port}/lab?token=" in line:
                # JupyterLab's log goes on being read, so its pipe never fills.
                threading.Thread(target=process.stdout.read, daemon=True).start()
                return process, line.strip()
    finally:
        watchdog.cancel()
    process.kill()
    raise AssertionError("./lab up printed no URL:\n" + "".join(seen[-30:]))


def _api(url: str, path: str, token: str, method: str = "GET", body=None):
    request = urllib.request.Request(
        f"{url}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def _until_answers(base: str, token: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            _api(base, "/api/status", token)
            return
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _run_a_cell(base: str, token: str, code: str) -> str:
    """Start a kernel in a JupyterLab (the lab's, or a learner node's behind the hub) and
    run one cell there; what it printed."""
    from tornado.httpclient import HTTPRequest
    from tornado.ioloop import IOLoop
    from tornado.websocket import websocket_connect

    kernel = _api(base, "/api/kernels", token, "POST", {"name": "python3"})

    async def run() -> str:
        ws_url = base.replace("http", "ws") + f"/api/kernels/{kernel['id']}/channels"
        connection = await websocket_connect(HTTPRequest(
            ws_url, headers={"Authorization": f"token {token}"}))
        msg_id = uuid.uuid4().hex
        await connection.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": uuid.uuid4().hex, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False}}))
        printed = ""
        while True:
            message = json.loads(await connection.read_message())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "stream":
                printed += message["content"]["text"]
            if message["msg_type"] == "status" and \
                    message["content"]["execution_state"] == "idle":
                connection.close()
                return printed

    return IOLoop.current().run_sync(run, timeout=120)


def _stop(process) -> None:
    """Ctrl-C, as a learner stops it."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)  # JupyterLab asks once; the second is a yes
        process.wait(60)


def _lab_containers(docker_client) -> list:
    return docker_client.containers.list(all=True,
                                         filters={"label": "org.labkit.lab-container"})


def test_up_opens_the_lab_and_keeps_the_work(learner, docker_client):
    account, clone = learner
    port = _free_port()
    started = time.monotonic()
    process, url = _up(account, clone, port)
    base, token = url.split("/lab?token=")[0], url.split("token=")[1]
    try:
        with pytest.raises(urllib.error.HTTPError):  # no token, no lab
            _until_answers(base, "wrong", seconds=60)
        _until_answers(base, token)
        printed = _run_a_cell(base, token, "import labkit\nprint(labkit.Lab().versions())")
        print(f"./lab up to a running cell: {time.monotonic() - started:.1f} s")
        assert "Docker" in printed and "containerd" in printed, printed
        _api(base, "/api/contents/mine.txt", token, "PUT",
             {"type": "file", "format": "text", "content": "my work"})
    finally:
        _stop(process)
    assert _lab_containers(docker_client) == []  # stopping leaves no container of it
    process, url = _up(account, clone, port)  # again: the same work
    token = url.split("token=")[1]
    try:
        _until_answers(base, token)
        assert _api(base, "/api/contents/mine.txt?content=1", token)["content"] == "my work"
        chapters = _api(base, "/api/contents/", token)["content"]
        assert {"01-containers.ipynb", "manifests"} <= {c["name"] for c in chapters}
    finally:
        _stop(process)
    assert _lab_containers(docker_client) == []


@pytest.fixture
def debian12(docker_client):
    """Debian 12's image with no registry: the lab's own debootstrap of it (tools/debian12.sh,
    cached by the v2 guest and the node image), imported under a name of the lab's own (a
    local `debian:12` would stand in for Docker Hub's for everyone on this host)."""
    cache = Path(os.environ.get("LABKIT_V2_CACHE", "/var/cache/labkit-v2"))
    pristine = sorted(cache.glob("debootstrap-*.tar"), key=lambda p: p.stat().st_mtime)
    need(bool(pristine), f"the lab's Debian 12 debootstrap in {cache} (./lab workshop build)")
    name = f"labkit/debian12-test:{uuid.uuid4().hex[:6]}"
    subprocess.run(["docker", "import", "--change", "LABEL org.labkit.image=debian12-test",
                    str(pristine[-1]), name], check=True, capture_output=True)
    yield name
    docker_client.images.remove(name, force=True)


def test_without_root_the_image_is_built_with_docker_from_debian(learner, debian12,
                                                                docker_client):
    """Where nobody root built the image, `./lab up` builds it from tools/lab.Dockerfile:
    FROM Debian 12, the lab's own `./lab setup --no-engine` (apt, PyPI), then JupyterLab."""
    account, clone = learner
    built = f"labkit/lab-build-test-{uuid.uuid4().hex[:6]}"
    env = {"LABKIT_LAB_IMAGE": built, "LABKIT_LAB_BASE": debian12}
    port = _free_port()
    try:
        started = time.monotonic()
        process, url = _up(account, clone, port, env=env)
        print(f"./lab up, building the image with Docker: {time.monotonic() - started:.1f} s")
        base, token = url.split("/lab?token=")[0], url.split("token=")[1]
        try:
            _until_answers(base, token)
            assert "Kubernetes rules" in _run_a_cell(
                base, token, "import labkit\nprint(labkit.Lab().versions())")
        finally:
            _stop(process)
        image = docker_client.images.list(name=built)[0]
        assert image.labels["org.labkit.image"] == "learner-node"
        files = docker_client.containers.run(image.id, ["ls", "-a", "/opt/lab", "/usr/sbin"],
                                             remove=True, entrypoint=[]).decode().split()
        assert ".host-ca.crt" not in files  # lent to the set-up step, not kept
        assert "policy-rc.d" not in files  # the build's own, gone with it
    finally:
        for image in docker_client.images.list(name=built):
            docker_client.images.remove(image.id, force=True)


def test_the_tests_pass_in_the_lab_container(learner):
    """The unit tests, the pods' own tests and every chapter, strict nbval: the container
    prints what a root host prints (the outputs stored in the notebooks)."""
    account, clone = learner
    started = time.monotonic()
    done = as_learner(account, clone, "./lab", "test", "tests/unit", "tests/integration/"
                      "test_cri_pod.py", "tests/integration/test_scratch_pod.py",
                      "notebooks/", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                      text=True)
    output, _ = done.communicate(timeout=1800)
    print(f"./lab test in the lab's container: {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, output[-3000:]
    assert " passed" in output and " failed" not in output, output[-3000:]


@pytest.mark.parametrize(("env", "args", "said"), [
    ({"DOCKER_HOST": "unix:///nonexistent.sock"}, ("up",), "Docker does not answer for"),
    ({"LABKIT_LAB_IMAGE": "labkit/lab-never-built", "LABKIT_LAB_BASE": "labkit/no-base:1"},
     ("up",), "is not built here, and Docker has no labkit/no-base:1"),
])
def test_bad_input_is_one_sentence(learner, env, args, said):
    account, clone = learner
    done = as_learner(account, clone, "./lab", *args, env=env, stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT, text=True)
    output, _ = done.communicate(timeout=120)
    assert done.returncode != 0 and said in output, output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1, output


def test_a_taken_port_is_one_sentence(learner):
    account, clone = learner
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = as_learner(account, clone, "./lab", "up", "--port", str(port),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output, _ = done.communicate(timeout=120)
    assert done.returncode != 0 and f"port {port} on 127.0.0.1 is taken" in output, output
