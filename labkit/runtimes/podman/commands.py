"""The podman command lines a learner types, and the libpod API requests labkit sends for
them, each made from the same fields (so what is shown is what is done).

``labkit podman`` is podman run with the lab's own store and configuration (its
containers.conf names the lab's pause as the infra image), so a line runs as typed in the
lab's terminal.

>>> pod = PodCreate("lk-0badcafe-foo", share=("ipc", "net", "uts"), hostname="foo",
...                 infra_image="localhost/labkit/pause:1")
>>> print(" ".join(pod.argv()[:6]))
labkit podman pod create --name lk-0badcafe-foo
>>> print(" ".join(pod.argv()[6:]))
--infra-image localhost/labkit/pause:1 --share ipc,net,uts --network none --hostname foo
>>> pod.body()["netns"], pod.body()["shared_namespaces"]
({'nsmode': 'none'}, ['ipc', 'net', 'uts'])

With ``hostUsers: false``, the pod's user namespace maps a range of the host's IDs:

>>> apart = PodCreate("lk-0badcafe-bar", share=("ipc", "net", "uts"),
...                   infra_image="localhost/labkit/pause:1", user_range=65536)
>>> print(" ".join(apart.argv()[-4:]))
--uidmap 0:65536:65536 --gidmap 0:65536:65536
>>> apart.body()["userns"], apart.body()["idmappings"]["UIDMap"]
({'nsmode': 'private'}, [{'container_id': 0, 'host_id': 65536, 'size': 65536}])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...kubernetes import ResourceConfig
from ...node.user_ranges import IDS_PER_POD

PODMAN = ("labkit", "podman")


@dataclass(frozen=True)
class PodCreate:
    """``podman pod create``: the infra container and the namespaces it lends."""

    name: str
    share: tuple[str, ...]
    infra_image: str
    hostname: str | None = None  # None with the host's network
    host_network: bool = False
    labels: tuple[tuple[str, str], ...] = ()
    memory: int | None = None
    cpus: float | None = None
    user_range: int | None = None  # hostUsers: false: the first host ID of its 65536
    network: str | None = None  # a CNI network's name: the pod's eth0 on it; else lo only

    def argv(self) -> tuple[str, ...]:
        words = [*PODMAN, "pod", "create", "--name", self.name]
        for key, value in self.labels:
            words += ["--label", f"{key}={value}"]
        words += ["--infra-image", self.infra_image, "--share", ",".join(self.share),
                  "--network", self._network_mode()]
        if self.hostname:
            words += ["--hostname", self.hostname]
        if self.memory:
            words += ["--memory", str(self.memory)]
        if self.cpus:
            words += ["--cpus", f"{self.cpus:g}"]
        if self.user_range is not None:  # container ID 0 is host ID user_range, and so on
            mapping = f"0:{self.user_range}:{IDS_PER_POD}"
            words += ["--uidmap", mapping, "--gidmap", mapping]
        return tuple(words)

    def _network_mode(self) -> str:
        return "host" if self.host_network else self.network or "none"

    def body(self) -> dict[str, Any]:
        """The ``POST /libpod/pods/create`` request."""
        body: dict[str, Any] = {"name": self.name, "labels": dict(self.labels),
                                "infra_image": self.infra_image,
                                "shared_namespaces": list(self.share)}
        if self.network and not self.host_network:
            body["netns"], body["Networks"] = {"nsmode": "bridge"}, {self.network: {}}
        else:
            body["netns"] = {"nsmode": self._network_mode()}
        if self.hostname:
            body["hostname"] = self.hostname
        limits = _resource_limits(ResourceConfig(
            memory=self.memory, cpu_quota=round(self.cpus * 100_000) if self.cpus else None))
        if limits:
            body["resource_limits"] = limits
        if self.user_range is not None:
            ids = [{"container_id": 0, "host_id": self.user_range, "size": IDS_PER_POD}]
            body["userns"] = {"nsmode": "private"}
            body["idmappings"] = {"HostUIDMapping": False, "HostGIDMapping": False,
                                  "UIDMap": ids, "GIDMap": ids}
        return body


@dataclass(frozen=True)
class Create:
    """``podman create --pod``: one container of the pod (started with the pod)."""

    pod: str
    name: str
    image: str
    command: tuple[str, ...] = ()  # the image's CMD replaced (Kubernetes' args)
    entrypoint: tuple[str, ...] = ()  # the image's ENTRYPOINT replaced (Kubernetes' command)
    labels: tuple[tuple[str, str], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    values: ResourceConfig | None = None  # the kubelet's values for its cgroup

    def argv(self) -> tuple[str, ...]:
        words = [*PODMAN, "create", "--pod", self.pod, "--name", self.name]
        for key, value in self.labels:
            words += ["--label", f"{key}={value}"]
        values = self.values
        if values and values.memory:
            words += ["--memory", str(values.memory)]
        if values and values.cpu_quota:
            words += ["--cpu-quota", str(values.cpu_quota), "--cpu-period",
                      str(values.cpu_period)]
        if values and values.cpu_shares:
            words += ["--cpu-shares", str(values.cpu_shares)]
        if self.entrypoint:  # a JSON array, as podman takes a whole command line there
            words += ["--entrypoint", _json_array(self.entrypoint)]
        for key, value in self.env:
            words += ["-e", f"{key}={value}"]
        return (*words, self.image, *self.command)

    def body(self, pod_id: str) -> dict[str, Any]:
        """The ``POST /libpod/containers/create`` request, for the pod of that id."""
        body: dict[str, Any] = {"name": self.name, "image": self.image, "pod": pod_id,
                                "labels": dict(self.labels)}
        if self.command:
            body["command"] = list(self.command)
        if self.entrypoint:
            body["entrypoint"] = list(self.entrypoint)
        if self.env:
            body["env"] = dict(self.env)
        limits = _resource_limits(self.values) if self.values else {}
        if limits:
            body["resource_limits"] = limits
        return body


def _resource_limits(values: ResourceConfig) -> dict[str, Any]:
    """A cgroup's values as the OCI ``LinuxResources`` libpod takes."""
    limits: dict[str, Any] = {}
    if values.memory:
        limits["memory"] = {"limit": values.memory}
    cpu: dict[str, int] = {}
    if values.cpu_quota:
        cpu.update(quota=values.cpu_quota, period=values.cpu_period)
    if values.cpu_shares:
        cpu["shares"] = values.cpu_shares
    if cpu:
        limits["cpu"] = cpu
    return limits


def _json_array(words: tuple[str, ...]) -> str:
    import json

    return json.dumps(list(words))
