"""One shape for every kind of pod: what notebooks, exercises and ``Lab.observe`` use.

A pod starts and stops its containers and reports them as ``Member``s (name, host
PID, runtime id, asked limits) with the path of its cgroup; it never reads the node
itself: ``lab.observe(pod)`` joins its members with the node's snapshot.

>>> pod = lab.cri_pod(name="foo", containers={"app": {"image": "nginx"}})  # doctest: +SKIP
>>> pod.exec("app", "hostname").output.strip(), pod.state                  # doctest: +SKIP
('foo', 'running')
>>> lab.observe(pod).trees[0].path == pod.cgroup_parent                     # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from ..model import ExecResult, Member
from ..spec import PodSpec


class Pod(Protocol):
    """What every pod kind offers (``DockerPod``, ``CriPod``, ``ClusterPod``, ...)."""

    name: str  # as the runtime knows it
    kind: str  # how it runs, to end a sentence: "pod foo (emulated with Docker)"
    spec: PodSpec  # what was asked

    @property
    def cgroup_parent(self) -> str:
        """The pod's cgroup path, whose subtree ``Lab.observe`` walks; "" if it has none."""
        ...

    @property
    def state(self) -> str:
        """A short word on the whole pod: "running", "sandbox gone", "deleted", ..."""
        ...

    def members(self) -> list[Member]:
        """The sandbox first, then the containers in manifest order, with host PIDs."""
        ...

    def names(self) -> dict[str, str]:
        """runtime id -> member name, for labelling cgroup trees."""
        ...

    def exec(self, container: str, command: str | Sequence[str]) -> ExecResult:
        """Run a command in one container and wait; a string runs through ``sh -c``."""
        ...

    def delete(self) -> None:
        """Remove the pod, its containers and its cgroups; a second call does nothing."""
        ...

    def __getitem__(self, name: str) -> Any:
        """The runtime's handle of one member, by the name the manifest gives it."""
        ...

    def __enter__(self) -> Pod: ...

    def __exit__(self, *exc: object) -> None: ...


_P = TypeVar("_P", bound="DeletedOnExit")


class DeletedOnExit:
    """The context manager every pod kind is: ``with lab.cri_pod(...) as pod:`` deletes it
    when the block ends, however it ends."""

    def delete(self) -> None:
        raise NotImplementedError

    def __enter__(self: _P) -> _P:
        return self

    def __exit__(self, *exc: object) -> None:
        self.delete()
