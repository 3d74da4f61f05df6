"""One base for every kind of pod: what notebooks, exercises and ``Lab.observe`` use.

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
from typing import Any, TypeVar

from ..errors import LabError
from ..model import ExecResult, Member
from ..plan import Plan
from ..spec import PodSpec

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


class PodBase(DeletedOnExit):
    """What every pod kind shares; a kind gives its members' handles, and the verbs.

    A kind sets ``kind`` and ``sandbox_name`` (what it calls the holder of the pod's
    namespaces: ``pause``, ``infra``, ``sandbox``) and implements :meth:`_handles`,
    :meth:`members`, :meth:`exec`, :attr:`state`, :meth:`states`, :meth:`kill_sandbox`
    and :meth:`delete`; names, item access and printed commands come from here.
    ``tests/unit/test_pod_shape.py`` holds every kind to this contract.
    """

    name: str
    kind: str
    spec: PodSpec
    sandbox_name = "sandbox"
    where: object = None  # the node the members live on: None for this machine
    plan: Plan | None = None  # what made it, where labkit made it step by step

    # -- what a kind provides -------------------------------------------------------------
    def _handles(self) -> dict[str, Any]:
        """Member name -> the runtime's handle of it, the sandbox first (its runtime id is
        the handle's ``id``, or the handle itself when it is an id)."""
        raise NotImplementedError

    def members(self) -> list[Member]:
        raise NotImplementedError

    def exec(self, container: str, command: str | Sequence[str]) -> ExecResult:
        raise NotImplementedError

    @property
    def state(self) -> str:
        raise NotImplementedError

    def states(self) -> dict[str, str]:
        """Each member's state, in the runtime's own words."""
        raise NotImplementedError

    def kill_sandbox(self) -> None:
        """SIGKILL the sandbox's process, as if the pod's pause crashed."""
        raise NotImplementedError

    # -- what every pod has -------------------------------------------------------------
    def names(self) -> dict[str, str]:
        """Runtime id -> member name, for labelling cgroup trees."""
        return {getattr(handle, "id", handle): name for name, handle in self._handles().items()}

    def __getitem__(self, name: str) -> Any:
        handles = self._handles()
        if name not in handles:
            raise LabError(f"Pod {self.name} has no member {name!r}: it has "
                           f"{', '.join(handles) or 'none left'}.")
        return handles[name]

    def commands(self) -> list[str]:
        """The commands a learner would type to make this pod by hand: the plan labkit
        executed, as typed."""
        if self.plan is None:
            raise LabError(f"A pod {self.kind} is not made by commands a learner types; "
                           "pod.requests() shows what labkit asked for instead.")
        return self.plan.lines()


CONTRACT = ("_handles", "members", "exec", "state", "states", "kill_sandbox", "delete")
"""What each pod kind must implement itself (the rest comes from :class:`PodBase`)."""

Pod = PodBase  # the type of any pod, in the lab's signatures
