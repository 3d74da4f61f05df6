"""The Docker engine, through the Python ``docker`` SDK: images, containers, the helper.

>>> docker = DockerRuntime(Session())             # doctest: +SKIP
>>> web = docker.run("web", "nginx", memory="512MB", cpus=0.5)  # doctest: +SKIP
>>> web.pid                                       # doctest: +SKIP
4242
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import replace
from typing import Any

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from ... import images
from ...errors import (
    EnginePermissionError,
    EngineRefused,
    EngineUnavailable,
    ImageUnavailable,
    LabError,
    SpecError,
    gone,
    not_found,
    refused,
)
from ...quantity import parse_memory
from ...session import SESSION_LABEL, Session
from ...spec import ContainerSpec
from .container import Container
from .run import DockerRun

PULL_TIMEOUT_S = 20


def connect(base_url: str | None = None) -> docker.DockerClient:
    """A client for the engine at DOCKER_HOST (or the default socket), or one clear error."""
    where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.DockerClient(base_url=where, version="auto", timeout=60)
        client.ping()
        return client
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        text = str(error)
        if "Permission denied" in text or "PermissionError" in text:
            raise EnginePermissionError(
                f"You may not use the Docker socket at {where}: add yourself to the docker group "
                "(`sudo usermod -aG docker $USER`, then log in again) or run the lab as root."
            ) from None
        raise EngineUnavailable(
            f"No Docker engine answers at {where}: start it (`sudo ./lab up` does, or "
            "`sudo systemctl start docker`), or open the lab where Docker runs."
        ) from None


class DockerRuntime:
    """Runs containers for a session; everything it creates carries the session's marks."""

    engine_process = "dockerd"  # its namespaces stand for "the host" when read through the helper

    def __init__(self, session: Session, base_url: str | None = None) -> None:
        self.session = session
        self.base_url = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        self.client = connect(self.base_url)
        self._version = self._call(self.client.version, "say which version it is")
        self._info: dict[str, Any] | None = None
        self._toolbox: str | None = None
        self._toolbox_lock = threading.Lock()
        self._pull_failed: set[str] = set()

    @property
    def info(self) -> dict[str, Any]:
        """``docker info``, asked once (and again after the engine came back)."""
        if self._info is None:
            self._info = self._call(self.client.info, "say how it runs containers")
        return self._info

    @property
    def cgroup_driver(self) -> str:
        """``cgroupfs`` or ``systemd``: where Docker puts containers' cgroups."""
        return str(self.info.get("CgroupDriver", "cgroupfs"))

    @property
    def description(self) -> str:
        return f"Docker {self._version.get('Version', '?')}"

    # -- images --------------------------------------------------------------
    def toolbox(self) -> str:
        """The lab's busybox image, imported into this engine if it is not there yet."""
        with self._toolbox_lock:
            if self._toolbox is None:
                busybox = images.find_busybox()
                tag = images.toolbox_tag(busybox)
                ref = f"{images.TOOLBOX}:{tag}"
                if not self._present(ref):
                    self._call(lambda: self.client.api.import_image_from_data(
                        images.toolbox_tar(busybox), repository=images.TOOLBOX, tag=tag,
                        # No LABEL here: containers inherit image labels, and a
                        # learner's own container from this image is not the lab's.
                        changes=["ENV PATH=/bin", 'CMD ["sh"]']),
                        "import the lab's toolbox image")
                self._call(lambda: self.client.api.tag(ref, images.TOOLBOX, "latest"),
                           "tag the lab's toolbox image")
                self._toolbox = ref
            return self._toolbox

    def resolve_image(self, name: str, *, pull: bool | None = None) -> images.ResolvedImage:
        """The image that will really run: the one asked for if present or pullable,
        else the lab's stand-in (with a sentence saying so)."""
        if name.split(":")[0] in (images.TOOLBOX, "toolbox"):
            return images.ResolvedImage(name, self.toolbox())
        if self._present(name):
            return images.ResolvedImage(name, name)
        if pull is None:
            pull = os.environ.get("LABKIT_OFFLINE", "") in ("", "0")
        reason = "labkit does not pull in offline mode (LABKIT_OFFLINE=1)"
        if pull and name not in self._pull_failed:
            try:
                repository, _, tag = name.partition(":")
                puller = docker.APIClient(base_url=self.base_url, version="auto",
                                          timeout=PULL_TIMEOUT_S)
                puller.pull(repository, tag=tag or "latest")
                return images.ResolvedImage(name, name)
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                self._pull_failed.add(name)
        if pull:
            reason = "no registry answered"
        stand_in = images.stand_in_for(name)
        if stand_in is None:
            raise ImageUnavailable(
                f"The image {name!r} is not on this machine and {reason}: load it with "
                f"`docker load -i FILE`, or use one the lab brings ({images.BROUGHT})."
            )
        note = (f"{name} is not on this machine and {reason}: running labkit's stand-in "
                f"({stand_in.what}) instead.")
        return images.ResolvedImage(name, self.toolbox(), stand_in.command, note)

    def _present(self, name: str) -> bool:
        def look() -> bool:
            try:
                self.client.api.inspect_image(name)
                return True
            except docker.errors.ImageNotFound:
                return False

        return self._call(look, f"look for the image {name}")

    # -- containers ----------------------------------------------------------
    def run(self, name: str, image: str, command=None, *, memory=None, cpus=None,
            ports: dict[int, int] | None = None, role: str = "container",
            quiet: bool = False, **modes: Any) -> Container:
        """Start a container like ``docker run -d --memory ... --cpus ...``.

        ``modes`` are passed on to Docker as namespace and cgroup options
        (``network_mode``, ``ipc_mode``, ``pid_mode``, ``uts_mode``, ``cgroup_parent``,
        ``hostname``, ``cpu_shares``, ``memory_swap`` (``--memory-swap``, memory and swap
        together: equal to ``memory`` for no swap at all)); the Docker-pod module uses them.
        """
        spec = ContainerSpec.build(name, image, command, memory=memory, cpus=cpus, ports=ports)
        return self.run_spec(spec, role=role, quiet=quiet, **modes)

    def run_spec(self, spec: ContainerSpec, *, role: str = "container", quiet: bool = False,
                 name: str | None = None, **modes: Any) -> Container:
        container = self.create_spec(spec, role=role, name=name, **modes)
        self.start_created(container)
        if not quiet:
            self.session.say_once(container.image.note)
        return container

    def start_created(self, container: Container) -> None:
        """Start a container made by ``create_spec``; one that cannot start is removed."""
        try:
            container.start()
        except LabError:
            self.remove(container)
            raise
        _until_its_program_runs(container)

    def create_spec(self, spec: ContainerSpec, *, role: str = "container",
                    name: str | None = None, **modes: Any) -> Container:
        """Create (not start) a container like ``docker create``: ``run_spec``'s first half.
        ``modes`` are the SDK's names of Docker's options (``network_mode``, ``ipc_mode``,
        ``pid_mode``, ``uts_mode``, ``cgroup_parent``, ``hostname``, ``environment``,
        ``cpu_shares``, ``mem_reservation``, ``restart_policy``, ``stop_timeout``)."""
        return self.create(self.docker_run(spec, **modes), spec=spec, role=role, name=name)

    def docker_run(self, spec: ContainerSpec, **modes: Any) -> DockerRun:
        """The ``docker run`` of a spec (nothing made yet): the session's name and labels,
        the image that really runs here, and the options given in the SDK's names."""
        check_docker_can_run(spec)
        cores = int(self.info.get("NCPU") or 0)
        if spec.cpus and cores and spec.cpus > cores:
            raise SpecError(f"Container {spec.name}'s CPU limit ({spec.cpus:g}) is more than the "
                            f"{cores} CPUs this Docker engine has, which Docker refuses (the "
                            f"kubelet would allow it): give it at most {cores}.")
        resolved = self.resolve_image(spec.image)
        command = spec.command or (None if modes.get("entrypoint") else
                                   resolved.default_command)
        if command is None and resolved.is_stand_in and not modes.get("entrypoint"):
            raise LabError(
                f"Container {spec.name} needs a command: the stand-in for {spec.image} has "
                "no default one (give e.g. command=['sleep', '3650d'])."
            )
        unknown = set(modes) - set(_MODES)
        if unknown:
            raise LabError(f"{', '.join(sorted(unknown))} is not an option labkit passes to "
                           f"Docker: use {', '.join(_MODES)}.")
        fields = {_MODES[k]: v for k, v in modes.items() if v is not None}
        if "memory_swap" in fields:  # Docker's own units (64m is 64 MiB), as --memory-swap
            fields["memory_swap"] = parse_memory(fields["memory_swap"])
        if "restart" in fields:
            fields["restart"] = fields["restart"]["Name"]
        if "env" in fields:
            fields["env"] = tuple(dict(fields["env"]).items())
        return DockerRun(
            self.session.name(spec.name), resolved.ref, tuple(command) if command else None,
            labels=tuple(self.session.labels.items()), memory=spec.memory_bytes or None,
            cpus=spec.cpus or None, publish=tuple((h, p) for p, h in spec.ports.items()), **fields)

    def create(self, run: DockerRun, *, spec: ContainerSpec, role: str = "container",
               name: str | None = None) -> Container:
        """Send ``run``'s create request (the container is made, not started)."""
        resolved = self.resolve_image(spec.image)
        if run.command is not None:
            spec = replace(spec, command=run.command)
        host_config = self._call(lambda: self.client.api.create_host_config(
            **run.host_config()), f"create {spec.name} that way")
        created = self._call(lambda: self.client.api.create_container(
            host_config=host_config, **run.create()), f"create {spec.name}")
        self.session.on_cleanup(run.name, lambda: self._force_remove(created["Id"]))
        return Container(self, spec, created["Id"], run.name, role, resolved, name=name,
                         run=run)

    def remove(self, container: Container) -> None:
        self._force_remove(container.id)
        self.session.forget(container.engine_name)

    def _force_remove(self, container_id: str) -> None:
        def remove() -> None:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.api.remove_container(container_id, force=True, v=True)

        self._call(remove, f"remove the container {container_id[:12]}")

    def session_containers(self) -> list[str]:
        found = self._call(lambda: self.client.api.containers(
            all=True, filters={"label": f"{SESSION_LABEL}={self.session.id}"}),
            "list the lab's containers")
        return [c["Names"][0].lstrip("/") for c in found]

    # -- helper for reading the node without root ------------------------------
    def start_helper(self) -> HelperExec:
        """Start the node-reader helper container (host PID and cgroup namespaces, the cgroup
        tree read-only); returns ``run(argv) -> stdout`` in it (with ``attach``, for the
        node reader's long-lived process), for the node reader."""
        engine_name = self.session.name("node-reader")
        host_config = self._call(lambda: self.client.api.create_host_config(
            pid_mode="host", cgroupns="host", network_mode="none",
            cap_add=["SYS_PTRACE"], security_opt=["apparmor=unconfined"],
            binds={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "ro"}},
        ), "start the node-reader helper")
        labels = {**self.session.labels, "io.labkit.role": "node-reader"}
        created = self._call(lambda: self.client.api.create_container(
            self.toolbox(), ["sleep", "2147483647"], name=engine_name, labels=labels,
            host_config=host_config), "start the node-reader helper")
        self.session.on_cleanup(engine_name, lambda: self._force_remove(created["Id"]))
        self._call(lambda: self.client.api.start(created["Id"]), "start the node-reader helper")
        return HelperExec(self, created["Id"])

    # -- one place where engine errors become sentences -------------------------
    def _call(self, action, what: str):
        """Run one request (or a few) to the engine; every failure becomes one sentence.

        The SDK's HTTP session opens a new connection when the old one is dead, so the
        first call after the engine is back works; what labkit remembers about the
        engine (its info, the toolbox image) is asked again then, as it may have changed.
        """
        try:
            result = action()
        except docker.errors.NotFound as error:
            raise not_found("Docker", what, _explanation(error)) from None
        except docker.errors.APIError as error:
            raise refused("Docker", what, _explanation(error)) from None
        except (docker.errors.DockerException, ValueError) as error:
            # The SDK checks some options itself before the engine sees them.
            raise refused("Docker", what, str(error)) from None
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError,
                ConnectionError):
            # Gone, going, or not back yet (refused, reset, or the socket missing).
            self._info = self._toolbox = None
            raise gone("Docker", self.base_url, what, "start it again (`sudo ./lab up` does, "
                       "or `sudo systemctl start docker`), then re-run the cell") from None
        return result


class HelperExec:
    """Runs commands in the node-reader helper: ``helper(argv) -> stdout``, one exec per
    call; ``helper.attach(argv)`` starts a long-lived process there, stdin and stdout
    attached (the node reader keeps one, so a reading costs no exec)."""

    def __init__(self, runtime: DockerRuntime, container_id: str) -> None:
        self.runtime = runtime
        self.container_id = container_id

    def __call__(self, argv: list[str]) -> str:
        api = self.runtime.client.api

        def read() -> str:
            exec_id = api.exec_create(self.container_id, argv)["Id"]
            return api.exec_start(exec_id).decode(errors="replace")

        return self._again_if_stopped(read, "read the node through the helper")

    def attach(self, argv: list[str]) -> AttachedExec:
        return self._again_if_stopped(
            lambda: AttachedExec(self.runtime.client.api, self.container_id, argv),
            "start the node reader in the helper")

    def _again_if_stopped(self, action, what: str):
        call = self.runtime._call
        try:
            return call(action, what)
        except EngineRefused:
            # A restarted engine does not start the helper again; labkit does, once.
            call(lambda: self.runtime.client.api.start(self.container_id),
                 "start the node-reader helper again")
            return call(action, what)


class AttachedExec:
    """A process started in a container with its stdin and stdout on one socket: Docker's
    stream of frames (8 bytes: stream, 3 zeros, big-endian size; then the bytes)."""

    def __init__(self, api: docker.APIClient, container_id: str, argv: list[str]) -> None:
        self._api = api
        self.container_id = container_id
        self.exec_id = api.exec_create(container_id, argv, stdin=True, stdout=True,
                                       stderr=False)["Id"]
        raw = api.exec_start(self.exec_id, socket=True)
        self._socket = getattr(raw, "_sock", raw)
        self._pending = b""

    @property
    def pid(self) -> int:
        """Its host PID (the helper shares the host's PID namespace)."""
        return int(self._api.exec_inspect(self.exec_id)["Pid"])

    def send(self, data: bytes) -> None:
        self._socket.settimeout(SEND_TIMEOUT_S)
        self._socket.sendall(data)

    def receive(self, timeout: float) -> bytes:
        """The next bytes it wrote; ``b""`` once it has ended. ``TimeoutError`` after
        ``timeout`` s of silence while it still runs. A killed helper's socket may stay
        open without a word, so every :data:`LIVENESS_S` of silence asks Docker whether the
        process still runs, instead of waiting out the whole timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self._pending) >= 8:
                end = 8 + int.from_bytes(self._pending[4:8], "big")
                if len(self._pending) >= end:
                    stream, payload = self._pending[0], self._pending[8:end]
                    self._pending = self._pending[end:]
                    if stream == 1 and payload:
                        return payload
                    continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer within {timeout:g} s")
            self._socket.settimeout(min(remaining, LIVENESS_S))
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                if not self._running():
                    return b""
                continue
            if not data:
                return b""
            self._pending += data

    def _running(self) -> bool:
        try:
            return bool(self._api.exec_inspect(self.exec_id).get("Running"))
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return False

    def close(self) -> None:
        """Close its stdin (a reader then ends); kill it if it still runs, e.g. stuck."""
        with contextlib.suppress(OSError):
            self._socket.close()
        with contextlib.suppress(docker.errors.DockerException,
                                 requests.exceptions.RequestException):
            state = self._api.exec_inspect(self.exec_id)
            if state.get("Running") and state.get("Pid"):
                kill = self._api.exec_create(self.container_id,
                                             ["kill", "-9", str(state["Pid"])])["Id"]
                self._api.exec_start(kill)


# lab.run's keywords (the SDK's names) -> DockerRun's fields (the CLI's flags)
_MODES = {"network_mode": "network", "ipc_mode": "ipc", "pid_mode": "pid", "uts_mode": "uts",
          "cgroup_parent": "cgroup_parent", "hostname": "hostname", "environment": "env",
          "cpu_shares": "cpu_shares", "mem_reservation": "memory_reservation",
          "restart_policy": "restart", "stop_timeout": "stop_timeout", "entrypoint": "entrypoint",
          "memory_swap": "memory_swap"}
SEND_TIMEOUT_S = 5.0
LIVENESS_S = 0.5
DOCKER_MIN_MEMORY = 6 * 2**20  # Docker refuses a smaller --memory
DOCKER_MIN_CPUS = 0.01  # and a smaller --cpus


def check_docker_can_run(spec: ContainerSpec) -> None:
    """Docker's own floors, checked before anything is created (Kubernetes allows less; a
    limit of 0 is no limit, for both)."""
    if spec.memory_bytes and spec.memory_bytes < DOCKER_MIN_MEMORY:
        raise SpecError(f"Container {spec.name}'s memory limit ({spec.memory_bytes} bytes) is "
                        "below the 6Mi Docker accepts: give it at least 6Mi.")
    if spec.cpus and spec.cpus < DOCKER_MIN_CPUS:
        raise SpecError(f"Container {spec.name}'s CPU limit ({spec.cpus:g}) is below the 10m "
                        "Docker accepts: give it at least 10m (0.01).")


def _explanation(error: docker.errors.APIError) -> str:
    text = getattr(error, "explanation", None) or str(error)
    return str(text).strip().rstrip(".")


INIT_COMM = "runc:[2:INIT]"
"""What /proc/<pid>/comm says of a container's main process until it has exec'd its program."""


def _until_its_program_runs(container: Container, seconds: float = 5.0) -> None:
    """Docker's start returns once runc has told the container's init to exec the program,
    not once it has: for that moment its main process is still ``runc:[2:INIT]`` (a cell
    that reads /proc/<pid> right after ``lab.run`` saw it on a busy machine). Wait until the
    program runs, or the container has ended; where this machine's /proc is not the
    engine's (Docker Desktop's VM), there is nothing here to read and nothing to wait on."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = container.state
        if not state.get("Running") or not state.get("Pid"):
            return
        try:
            with open(f"/proc/{state['Pid']}/comm") as handle:
                if handle.read().strip() != INIT_COMM:
                    return
        except OSError:
            return
        time.sleep(0.02)
