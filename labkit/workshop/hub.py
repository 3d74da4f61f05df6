"""Bringing a workshop up and down on this host, and what the instructor asks of it.

``up`` checks what could stop the class before anything is created (Docker, the node
image, the port, the room on this host), then makes the workshop's network and starts
JupyterHub in the background; ``down`` stops the hub and removes what carries the
workshop's label. The hub is spoken to through its REST API, with the token of labkit's
own service account, on this host only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import docker

from ..errors import LabError
from ..quantity import parse_cpus
from ..runtimes.docker import connect
from . import guard, lti_people, lti_scores, work_disks
from . import warm as warm_pool
from .capacity import check_room
from .settings import ROLE_LABEL, WORKSHOP_LABEL, Workshop, check_learner_name

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "workshop" / "jupyterhub_config.py"
NODE_IMAGE_LABEL = "org.labkit.image=learner-node"
HUB_START = 90.0
"""Seconds the hub may take to answer (it starts the proxy and the idle culler first)."""
RESET_WAIT_S = 60.0  # for the hub to stop a learner's server before `reset` removes the node


def node_image(client: docker.DockerClient) -> str:
    """The newest learner node image on this host, or one sentence saying how to build it."""
    images = client.images.list(filters={"label": NODE_IMAGE_LABEL})
    if not images:
        raise LabError("The learner node image is not built yet: run sudo ./lab workshop build "
                       "(a few minutes; only its first Debian download needs the network).")
    newest = max(images, key=lambda image: image.attrs["Created"])
    return newest.tags[0] if newest.tags else newest.id


def code_key(repo: Path = REPO) -> str | None:
    """What ``workshop/build-node.sh`` tags a node image with for this checkout: the first
    12 hex digits of the SHA-256 of ``sha256sum``'s lines for every tracked file. None
    where the lab is not a git checkout (a node's own copy, an unpacked archive) or git is
    missing."""
    try:
        listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"],
                                capture_output=True, check=False)
    except FileNotFoundError:  # no git here (the lab's container): nothing to compare
        return None
    if listed.returncode != 0 or not listed.stdout:
        return None
    lines = []
    for name in listed.stdout.decode().split("\0"):
        if not name:
            continue
        try:
            digest = hashlib.sha256((repo / name).read_bytes()).hexdigest()
        except OSError:  # tracked but deleted here: sha256sum skips it too
            continue
        lines.append(f"{digest}  {name}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()[:12]


def stale_image_warning(image: str, checkout: str | None) -> str | None:
    """One sentence when the node image was built from other code than this checkout (its
    tag is the code key it was built from), or None.

    >>> stale_image_warning("labkit/learner-node:0123456789ab", "ba9876543210")[:40]
    'Warning: the learner node image labkit/l'
    >>> stale_image_warning("labkit/learner-node:0123456789ab", "0123456789ab") is None
    True
    """
    tag = image.rpartition(":")[2]
    if checkout is None or tag == checkout:
        return None
    return (f"Warning: the learner node image {image} was built from other code than this "
            f"checkout ({checkout}): learners get the chapters and labkit it holds. Run sudo "
            "./lab workshop build, then ./lab workshop down and up again, to give them this "
            "checkout's.")


def check_port(ip: str, port: int) -> None:
    with socket.socket() as probe:
        # As a server binds: connections of an earlier hub in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ip, port))
        except PermissionError:
            raise LabError(f"Port {port} needs root here: run it with sudo, or choose a port "
                           "above 1023 with --port.") from None
        except OSError as error:
            if error.errno == 98:  # EADDRINUSE
                raise LabError(f"Port {port} on {ip} is already taken by another program: "
                               "choose another with --port (e.g. --port 8100).") from None
            raise LabError(f"The hub cannot listen on {ip}:{port} ({error.strerror}): give "
                           "--ip an address of this machine.") from None


def free_port(ip: str) -> int:
    with socket.socket() as probe:
        probe.bind((ip, 0))
        return probe.getsockname()[1]


def hub_running(workshop: Workshop) -> bool:
    pid = _hub_pid(workshop)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _hub_pid(workshop: Workshop) -> int | None:
    """The hub's PID, if that process is still this workshop's hub (after a reboot the
    number may belong to another program, which is never signalled)."""
    try:
        pid = int((Path(workshop.state) / "hub.pid").read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if str(CONFIG).encode() in command else None


def up(learners: int | None = None, names: list[str] | None = None, ip: str = "127.0.0.1",
       port: int = 8000, cpus: float | str = 1.0, memory: str = "2G", idle_minutes: int = 60,
       code: str | None = None, proxy: str = "configurable-http-proxy",
       warm: int = 0, lti: dict[str, str] | None = None, work_size: str = "1G") -> Workshop:
    """Start a workshop for ``learners`` (or the ``names`` given), or say in one sentence
    why not; nothing is left behind when it cannot start."""
    existing = Workshop.load()
    if existing is not None and hub_running(existing):
        raise LabError(f"A workshop is already up on this host ({existing.url}): run "
                       "./lab workshop down first.")
    names = [check_learner_name(n) for n in names or []]
    if lti and (names or code):
        raise LabError(f"--{'names' if names else 'code'} and --lti do not go together: with "
                       "--lti the course's platform decides who enters; give --learners for "
                       "the seats.")
    if code is not None and len(code) < 8:
        raise LabError(f"The workshop code {code!r} is too short: JupyterHub asks for at "
                       "least 8 characters.")
    if idle_minutes < 1:
        raise LabError(f"--idle-minutes {idle_minutes} is not a time to wait: give whole "
                       "minutes, 1 or more (e.g. 60).")
    work_disks.parse_work_size(work_size)
    seats = max(learners or 0, len(names)) or 1
    if not 0 <= warm <= seats:
        raise LabError(f"--warm {warm} is not a number of warm nodes for {seats} seat(s): "
                       f"give 0 to {seats} (warm nodes count against the seats; --learners "
                       "makes more).")
    client = connect()
    try:
        image = node_image(client)
        warning = stale_image_warning(image, code_key())
        if warning:
            print(warning)
        check_room(seats, memory, cpus)
        check_port(ip, port)
        workshop = Workshop(image=image, ip=ip, port=port, learners=names, seats=seats,
                            cpus=parse_cpus(cpus), memory=memory,
                            idle_minutes=idle_minutes, proxy=proxy, warm=warm,
                            lti=dict(lti or {}), work_size=work_size)
        work_disks.check_disk_room(workshop.state, seats, work_size)
        if code:
            workshop.code = code
        if existing is not None:  # a hub that died: what it left goes first
            remove_everything(client, existing)
            warm_pool.unshare_slots(existing)
            _forget(existing, keep_log=True)  # its database and who launched, too
        network = client.networks.create(
            workshop.network, driver="bridge", labels=workshop.labels("network"),
            # Nodes on this network reach the hub (its gateway) and nothing of each other;
            # the guard (guard.py) lets them reach nothing else of this host.
            options={"com.docker.network.bridge.enable_icc": "false",
                     "com.docker.network.bridge.name": guard.bridge(workshop.id)})
        try:
            network.reload()
            workshop.hub_ip = network.attrs["IPAM"]["Config"][0]["Gateway"]
            workshop.hub_port = free_port(workshop.hub_ip)
            workshop.proxy_api_port = free_port("127.0.0.1")
            workshop.board_port = free_port("127.0.0.1")
            guard.install(workshop)
            workshop.save()
            if workshop.lti:
                lti_scores.make_tool_key(workshop)
            _start_hub(workshop)
        except BaseException:
            pid = _hub_pid(workshop)
            if pid is not None:
                _stop_process(pid)
            remove_everything(client, workshop)
            warm_pool.unshare_slots(workshop)
            _forget(workshop, keep_log=True)  # the log is what the sentence points at
            raise
        return workshop
    finally:
        client.close()


def _start_hub(workshop: Workshop) -> None:
    state = Path(workshop.state)
    log = open(state / "hub.log", "ab")  # noqa: SIM115 (the hub keeps writing to it)
    env = {**os.environ, "LABKIT_WORKSHOP_SETTINGS": str(workshop.file),
           "PYTHONPATH": str(REPO)}
    hub = subprocess.Popen(
        [str(Path(sys.executable).with_name("jupyterhub")), "-f", str(CONFIG)],
        cwd=state, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        start_new_session=True)
    log.close()
    (state / "hub.pid").write_text(str(hub.pid))
    deadline = time.monotonic() + HUB_START
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise LabError(f"JupyterHub stopped as it started: {_last_error(state / 'hub.log')}")
        try:
            request(workshop, "GET", "/")
            return
        except (OSError, LabError):
            time.sleep(0.5)
    _stop_process(hub.pid)
    raise LabError(f"JupyterHub did not answer within {HUB_START:.0f} s; its log is "
                   f"{state / 'hub.log'}.")


def _last_error(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()
             if line.strip()]
    errors = [line for line in lines if " E " in line or "Error" in line]
    return (errors or lines or ["(it printed nothing)"])[-1][-300:]


def request(workshop: Workshop, method: str, path: str, body: dict | None = None) -> object:
    """One call to the hub's REST API as labkit's service account; JSON in and out."""
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(workshop.api + path, data=data, method=method, headers={
        "Authorization": f"token {workshop.api_token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(call, timeout=30) as answer:
            text = answer.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:300]
        raise LabError(f"The hub refused {method} {path}: {error.code} {detail}") from None
    return json.loads(text) if text else None


def _proxy_pid(workshop: Workshop) -> int | None:
    """The hub's proxy's PID (its pid file), if that process is still the proxy."""
    try:
        pid = int((Path(workshop.state) / "proxy.pid").read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if Path(workshop.proxy).name.encode() in command else None


def _ended_within(pid: int, seconds: float) -> bool:
    """Whether a process ends (and is reaped) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _until_gone(pid: int, grace: float = 10.0) -> None:
    """Wait for a process to end (SIGKILL after ``grace`` seconds), reaped included."""
    if not _ended_within(pid, grace):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _stop_process(pid: int, grace: float = 20.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not _ended_within(pid, grace):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def down() -> str:
    """Stop the hub and remove every node, volume and network of the workshop; nothing
    else. Returns what was removed, as a line to print."""
    workshop = Workshop.load()
    if workshop is None:
        return "No workshop is up on this host."
    pid, proxy = _hub_pid(workshop), _proxy_pid(workshop)
    if pid is not None:
        _stop_process(pid)  # the hub stops the nodes and its proxy as it ends
    if proxy is not None:  # which may end a moment after the hub: its port is free after
        _until_gone(proxy)
    client = connect()
    try:
        removed = remove_everything(client, workshop)
    finally:
        client.close()
    warm_pool.unshare_slots(workshop)
    _forget(workshop)
    return (f"Workshop {workshop.id} is down: removed {removed['containers']} node(s), "
            f"{removed['volumes']} volume(s) and {removed['networks']} network(s).")


def _forget(workshop: Workshop, keep_log: bool = False) -> None:
    """Remove the workshop's files from its state directory (the hub's database, secrets)."""
    names = ["workshop.json", "hub.pid", "proxy.pid", "jupyterhub.sqlite", "cookie_secret",
             lti_scores.key_file(workshop).name, lti_people.people_file(workshop).name]
    for name in names + ([] if keep_log else ["hub.log"]):
        (Path(workshop.state) / name).unlink(missing_ok=True)


def remove_everything(client: docker.DockerClient, workshop: Workshop) -> dict[str, int]:
    """Remove what carries this workshop's label, nodes first. Nothing else is touched."""
    mark = {"label": f"{WORKSHOP_LABEL}={workshop.id}"}
    removed = {"containers": 0, "volumes": 0, "networks": 0}
    for container in client.containers.list(all=True, filters=mark):
        container.remove(force=True, v=True)
        removed["containers"] += 1
    work_disks.detach(workshop, [v.attrs["Mountpoint"] for v in client.volumes.list(
        filters={"label": [f"{WORKSHOP_LABEL}={workshop.id}", f"{ROLE_LABEL}=learner-work"]})])
    for volume in client.volumes.list(filters=mark):
        volume.remove(force=True)
        removed["volumes"] += 1
    guard.remove(workshop)
    for network in client.networks.list(filters=mark):
        network.remove()
        removed["networks"] += 1
    return removed


def reset(learner: str) -> str:
    """Give one learner a fresh node: their server is stopped and their node removed; their
    work volume (notebooks, progress) stays. They start a new node from the hub page."""
    workshop = current()
    learner = check_learner_name(learner)
    users = {user["name"] for user in request(workshop, "GET", "/users")}  # type: ignore[union-attr]
    if learner not in users:
        raise LabError(f"No learner called {learner!r} has logged in to this workshop: "
                       "`./lab workshop status` lists who has.")
    with contextlib.suppress(LabError):  # no server running: the node may already be gone
        request(workshop, "DELETE", f"/users/{learner}/server")
    # The hub stops the server in the background (its spawner removes the node); wait for
    # that, so that the hub and the engine agree, then remove whatever node is left.
    deadline = time.monotonic() + RESET_WAIT_S
    while time.monotonic() < deadline and _has_server(workshop, learner):
        time.sleep(0.5)
    client = connect()
    try:
        # The low-level listing: the high-level one inspects each container it lists, and
        # the spawner may remove this one between the two.
        for container in client.api.containers(all=True, filters={
                "label": f"{WORKSHOP_LABEL}={workshop.id}", "name": workshop.node_name(learner)}):
            if f"/{workshop.node_name(learner)}" in container.get("Names", []):
                try:
                    client.api.remove_container(container["Id"], force=True, v=True)
                except docker.errors.APIError as error:
                    # 404 gone or 409 going: the spawner's removal, meanwhile
                    if error.status_code not in (404, 409):
                        raise LabError(f"Docker would not remove {learner}'s node: "
                                       f"{error.explanation}.") from None
    finally:
        client.close()
    return (f"{learner}'s node is reset: their next start from the hub page gives a fresh "
            "node, with their notebooks and progress kept.")


def _has_server(workshop: Workshop, learner: str) -> bool:
    user = request(workshop, "GET", f"/users/{learner}")
    return bool((user or {}).get("servers"))  # type: ignore[union-attr]


def status() -> str:
    """Where the class logs in, and each learner's node."""
    workshop = current()
    users = request(workshop, "GET", "/users")
    entry = (f"entered from {workshop.lti['issuer']} (LTI 1.3)" if workshop.lti
             else f"code {workshop.code}")
    lines = [f"Workshop {workshop.id} at {workshop.url} · {entry} · "
             f"{workshop.seats} seat(s), {workshop.cpus:g} CPU and {workshop.memory} a node"]
    if workshop.warm:
        client = connect()
        try:
            ready = len(client.containers.list(filters={
                "label": f"{WORKSHOP_LABEL}={workshop.id}",
                "name": warm_pool.ready_name(workshop, "")}))
        finally:
            client.close()
        lines.append(f"  warm nodes ready for logins: {ready} of {workshop.warm}")
    for user in sorted(users, key=lambda u: u["name"]):  # type: ignore[union-attr]
        server = (user.get("servers") or {}).get("", {})
        state = ("ready" if server.get("ready") else
                 "starting" if server.get("pending") == "spawn" else
                 "stopping" if server.get("pending") == "stop" else "no node")
        lines.append(f"  {user['name']:<20} {'admin' if user.get('admin') else 'learner':<8} "
                     f"{state}")
    return "\n".join(lines)


def current() -> Workshop:
    workshop = Workshop.load()
    if workshop is None or not hub_running(workshop):
        raise LabError("No workshop is up on this host: start one with sudo ./lab workshop up.")
    return workshop
