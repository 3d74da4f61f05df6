"""A Pod emulated with plain Docker, the way the article builds one.

1. a parent cgroup for the pod (``cgcreate -g cpu,memory:/NAME`` on cgroup v1),
   holding the pod-level limits;
2. a sandbox container that owns the network namespace and a *shareable* IPC
   namespace (``--ipc shareable``);
3. the Pod's containers joining the sandbox's network and IPC (and PID, with
   ``shareProcessNamespace``), each with its own limits, under the parent cgroup.

Docker cannot share a UTS namespace, so every member keeps its own; Docker copies
the sandbox's hostname into the joiners, so the *names* still match.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

from ..errors import LabError
from ..manifest import PodSpec
from ..model import Member, Observation
from ..node import Node, systemd_units
from ..node.cgroup_writer import make_cgroup, remove_cgroup
from ..spec import ContainerSpec
from .docker import Container, DockerRuntime, check_docker_can_run

SANDBOX_COMMAND = ("sleep", "2147483647")


@dataclass(frozen=True)
class ParentCgroup:
    """The pod's parent cgroup: where it is, what Docker is told, how a learner makes it."""

    path: str  # in the cgroup tree: "/lk-<session>-foo", or "/lk_<session>_foo.slice"
    docker_parent: str  # --cgroup-parent: "/lk-<session>-foo", or "lk_<session>_foo.slice"
    directories: tuple[str, ...]  # made by labkit (cgroupfs); systemd makes slices itself
    command: str  # what a learner would type to make it
    slice: str = ""  # the systemd slice, when systemd owns the tree


class DockerPod:
    """A running emulated pod: its sandbox and containers, in manifest order."""

    kind = "emulated with Docker"

    def __init__(self, runtime: DockerRuntime, node: Node, spec: PodSpec) -> None:
        self.runtime = runtime
        self.node = node
        self.spec = spec
        self.name = spec.name
        self.parent: ParentCgroup | None = None
        self.sandbox: Container | None = None
        self.containers: dict[str, Container] = {}
        self.deleted = False
        self._cleanup_key = runtime.session.name(f"pod-{spec.name}")

    # -- creation ----------------------------------------------------------------
    def start(self, quiet: bool = True) -> DockerPod:
        for member in self.spec.containers:  # before the parent cgroup exists
            check_docker_can_run(member.spec)
        session = self.runtime.session
        session.on_cleanup(self._cleanup_key, self.delete)
        try:
            self.parent = self._make_parent()
            self.sandbox = self.runtime.run_spec(
                _sandbox_spec(self.spec), role="sandbox", quiet=True, name="sandbox",
                **self._sandbox_modes())
            for member in self.spec.containers:
                # Engine names are pod-scoped (lk-<session>-foo-app); the lesson says "app".
                scoped = replace(member.spec, name=f"{self.spec.name}-{member.name}")
                self.containers[member.name] = self.runtime.run_spec(
                    scoped, role=member.name, quiet=quiet, name=member.name,
                    environment=dict(member.env) or None, **self._joiner_modes(),
                    **self._member_options(member))
        except BaseException:
            # Keep the first sentence; what delete cannot remove now stays in the session's
            # cleanup (and delete may be called again) if the engine went away meanwhile.
            with contextlib.suppress(LabError):
                self.delete()
            raise
        return self

    def _sandbox_modes(self) -> dict:
        modes = {"cgroup_parent": self.parent.docker_parent if self.parent else None}
        if self.spec.host_network:
            modes["network_mode"] = "host"
        else:
            modes["hostname"] = self.spec.name
        modes["ipc_mode"] = "host" if self.spec.host_ipc else "shareable"
        if self.spec.host_pid:
            modes["pid_mode"] = "host"
        return modes

    def _joiner_modes(self) -> dict:
        sandbox = f"container:{self.sandbox.id}"
        modes = {"cgroup_parent": self.parent.docker_parent if self.parent else None,
                 "network_mode": sandbox,
                 "ipc_mode": "host" if self.spec.host_ipc else sandbox}
        if self.spec.host_pid:
            modes["pid_mode"] = "host"
        elif self.spec.share_process_namespace:
            modes["pid_mode"] = sandbox
        return modes

    def _member_options(self, member) -> dict:
        """What else of the Pod Docker can do for each container: requests as cpu shares and
        a memory reservation, the restart policy, the grace period."""
        options = {
            "restart_policy": {"Always": {"Name": "always"},
                               "OnFailure": {"Name": "on-failure"},
                               "Never": None}[self.spec.restart_policy],
            "stop_timeout": self.spec.grace_period_s,
        }
        if member.requests_cpus:
            options["cpu_shares"] = max(2, round(member.requests_cpus * 1024))
        if member.requests_memory:
            options["mem_reservation"] = member.requests_memory
        return options

    def _make_parent(self) -> ParentCgroup:
        session = self.runtime.session
        limits = (self.spec.memory_limit, self.spec.cpu_limit)
        if self.runtime.cgroup_driver == "systemd":
            # Docker's systemd driver wants a slice; a dash in its name would mean nesting.
            name = f"lk_{session.id}_{self.spec.name.replace('-', '_')}.slice"
            systemd_units.start_slice(name, *limits)
            return ParentCgroup(systemd_units.slice_path(name), name, (),
                                systemd_units.set_command(name, *limits), slice=name)
        if self.node.gatherer.kind != "direct":
            raise LabError(
                "Making the pod's parent cgroup means writing to /sys/fs/cgroup, which needs "
                "root: open the lab as root (sudo ./lab up) for this chapter."
            )
        path = f"/{session.name(self.spec.name)}"
        made = make_cgroup(self.node.layout, path, memory_bytes=limits[0], cpus=limits[1])
        return ParentCgroup(path, path, tuple(made), f"cgcreate -g cpu,memory:{path}")

    # -- looking -------------------------------------------------------------------
    def members(self) -> list[Member]:
        found = [self.sandbox.member()] if self.sandbox else []
        return found + [c.member() for c in self.containers.values()]

    def observe(self) -> Observation:
        trees = (self.parent.path,) if self.parent else ()
        return self.node.snapshot(self.members(), trees=trees)

    def names(self) -> dict[str, str]:
        """runtime id -> member name, for labelling cgroup trees."""
        every = [self.sandbox] if self.sandbox else []
        return {c.id: c.name for c in [*every, *self.containers.values()]}

    def __getitem__(self, name: str) -> Container:
        if name == "sandbox" and self.sandbox:
            return self.sandbox
        return self.containers[name]

    def commands(self) -> list[str]:
        """The shell commands a learner would type to build this pod by hand."""
        lines = [self.parent.command] if self.parent else []
        for container in [self.sandbox, *self.containers.values()]:
            if container is None:
                continue
            host = container.inspect()["HostConfig"]
            flags = [f"--name {container.engine_name}"]
            if host.get("CgroupParent"):
                flags.append(f"--cgroup-parent {host['CgroupParent']}")
            for flag, key in (("--network", "NetworkMode"), ("--ipc", "IpcMode"),
                              ("--pid", "PidMode")):
                value = host.get(key) or ""
                if value and value not in ("default", "private", "bridge"):
                    value = value.replace(self.sandbox.id, self.sandbox.engine_name) \
                        if self.sandbox else value
                    flags.append(f"{flag} {value}")
            if host.get("Memory"):
                flags.append(f"--memory {host['Memory']}")
            if host.get("NanoCpus"):
                flags.append(f"--cpus {host['NanoCpus'] / 1e9:g}")
            if container.role == "sandbox":
                image, command = "labkit/toolbox", " ".join(container.spec.command or ())
            else:  # what the manifest says, whichever image stands in for it here
                asked = next(c.spec for c in self.spec.containers if c.name == container.name)
                image, command = asked.image, " ".join(asked.command or ())
            lines.append(f"docker run -d {' '.join(flags)} {image} {command}".rstrip())
        return lines

    def remove_sandbox(self) -> None:
        """Remove only the sandbox, as if the pause container died."""
        if self.sandbox is not None:
            self.runtime.remove(self.sandbox)
            self.sandbox = None

    # -- deletion --------------------------------------------------------------------
    def delete(self) -> None:
        """Remove the containers (joiners first), then the parent cgroup in every hierarchy."""
        for container in reversed(list(self.containers.values())):
            self.runtime.remove(container)
        self.containers = {}
        if self.sandbox is not None:
            self.runtime.remove(self.sandbox)
            self.sandbox = None
        if self.parent is not None:
            if self.parent.slice:
                systemd_units.stop_slice(self.parent.slice)
            else:
                remove_cgroup(self.node.layout, self.parent.path)
            self.parent = None
        self.runtime.session.forget(self._cleanup_key)
        self.deleted = True

    def __enter__(self) -> DockerPod:
        return self

    def __exit__(self, *exc) -> None:
        self.delete()


def _sandbox_spec(spec: PodSpec) -> ContainerSpec:
    return ContainerSpec(name=f"{spec.name}-sandbox", image="labkit/toolbox",
                         command=SANDBOX_COMMAND)
