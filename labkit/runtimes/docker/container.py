"""A container this session created, as a learner holds it: ``web.exec(...)``, ``web.pid``.

>>> web = lab.run("web", "nginx", memory="512MB")    # doctest: +SKIP
>>> web.exec("hostname").output.strip()              # doctest: +SKIP
'3f2a9c1b7e44'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import requests.exceptions

from ...errors import LabError
from ...model import ExecResult, Member
from ...plan import shell_line
from ...spec import ContainerSpec

if TYPE_CHECKING:
    from ... import images
    from .run import DockerRun


class Engine(Protocol):
    """What a container asks of the runtime that made it (:class:`DockerRuntime`): its SDK
    client, its one place where engine errors become sentences, and removal."""

    client: Any

    def _call(self, action: Callable[[], Any], what: str) -> Any: ...

    def remove(self, container: Container) -> None: ...


class Container:
    """A running (or stopped) container this session created."""

    def __init__(self, runtime: Engine, spec: ContainerSpec, container_id: str,
                 engine_name: str, role: str, image: images.ResolvedImage,
                 name: str | None = None, run: DockerRun | None = None) -> None:
        self.runtime = runtime
        self.run = run  # the docker run that made it
        self.spec = spec
        self.role = role
        self.image = image
        self._id = container_id
        self._engine_name = engine_name
        self._name = name or spec.name

    @property
    def name(self) -> str:
        """The name the lesson uses (``app``); ``engine_name`` is Docker's."""
        return self._name

    @property
    def id(self) -> str:
        return self._id

    @property
    def engine_name(self) -> str:
        return self._engine_name

    def command(self) -> str:
        """The ``docker run`` that made it, as a learner would type it."""
        if self.run is None:
            raise LabError(f"{self.name} was not made by this lab: `docker inspect` says how "
                           "it runs.")
        return shell_line(self.run.argv())

    def inspect(self) -> dict[str, Any]:
        return self.runtime._call(lambda: self.runtime.client.api.inspect_container(self.id),
                                  f"inspect {self.name}")

    @property
    def state(self) -> dict[str, Any]:
        return self.inspect()["State"]

    @property
    def status(self) -> str:
        return self.state["Status"]

    @property
    def pid(self) -> int:
        state = self.state
        if not state.get("Running"):
            raise LabError(
                f"Container {self.name} is {state.get('Status')}, so it has no process: "
                "start it again, or look at its state with .state."
            )
        return int(state["Pid"])

    where = None  # on this machine
    cgroup_parent = ""  # none of its own to walk (a pod's member is walked with the pod)

    def members(self) -> list[Member]:
        """Itself, as ``lab.observe`` takes pods and containers alike."""
        return [self.member()]

    def member(self) -> Member:
        return Member(name=self.name, pid=self.pid, runtime_id=self.id, role=self.role,
                      asked=self.spec.asked)

    def exec(self, command: str | Sequence[str]) -> ExecResult:
        """Run a command inside and wait for it; a string runs through ``sh -c``."""
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        api = self.runtime.client.api

        def run() -> ExecResult:
            exec_id = api.exec_create(self.id, argv)["Id"]
            output = api.exec_start(exec_id).decode(errors="replace")
            return ExecResult(int(api.exec_inspect(exec_id)["ExitCode"]), output)

        return self.runtime._call(run, f"run {argv[0]} in {self.name}")

    def logs(self) -> str:
        return self.runtime._call(
            lambda: self.runtime.client.api.logs(self.id).decode(errors="replace"),
            f"read the logs of {self.name}")

    def wait(self, timeout: float = 30) -> int:
        def wait() -> dict:
            try:
                return self.runtime.client.api.wait(self.id, timeout=timeout)
            except requests.exceptions.ReadTimeout:
                raise LabError(f"Container {self.name} did not exit within {timeout:g} s: "
                               "stop it with .stop(), or wait longer.") from None

        return int(self.runtime._call(wait, f"wait for {self.name}")["StatusCode"])

    def start(self) -> None:
        self.runtime._call(lambda: self.runtime.client.api.start(self.id), f"start {self.name}")

    def kill(self) -> None:
        """``docker kill``: SIGKILL its main process, and wait until Docker has seen it."""
        self.runtime._call(lambda: self.runtime.client.api.kill(self.id), f"kill {self.name}")
        self.wait()

    def stop(self, timeout: int = 2) -> None:
        self.runtime._call(lambda: self.runtime.client.api.stop(self.id, timeout=timeout),
                           f"stop {self.name}")

    def remove(self) -> None:
        self.runtime.remove(self)

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<Container {self.name} ({self.image.ref})>"
