"""The learner node on Kubernetes, checked offline.

workshop/kubernetes/jupyterhub_config.py is loaded the way JupyterHub loads it, a real
KubeSpawner is built from it, and KubeSpawner's own code writes the learner's pod and
claim. The tests read those manifests as they would be sent to the API server. No
cluster is needed and none is contacted: building a manifest makes no request.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG = Path(__file__).resolve().parents[2] / "workshop" / "kubernetes" / "jupyterhub_config.py"
IMAGE = "registry.example.org/labkit/learner-node:2026-11"
GIB = 1024**3
WORKSHOP_CODE = "containers-2026"
ADMIN_CODE = "an-admin-code-of-at-least-32-characters"

# The hub's environment is ours in every test: none of these leak in from the shell.
LABKIT_ENV = (
    "LABKIT_NODE_IMAGE",
    "LABKIT_NODE_CPUS",
    "LABKIT_NODE_MEMORY",
    "LABKIT_STORAGE_CLASS",
    "LABKIT_WORKSHOP_CODE",
    "LABKIT_ADMIN_CODE",
    "LABKIT_IDLE_MINUTES",
)

# KubeSpawner's constructor loads a kube config and makes an API client even with
# _mock=True. This one names a host that cannot resolve, so a request, were one ever
# made, would fail instead of reaching a real cluster.
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "https://kubernetes.invalid"}}]
users: [{name: offline, user: {token: not-a-token}}]
contexts: [{name: offline, context: {cluster: offline, user: offline, namespace: labkit}}]
current-context: offline
"""

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class Learner:
    """The part of JupyterHub's User that KubeSpawner and Spawner.get_env read."""

    def __init__(self, name: str, user_id: int = 7) -> None:
        self.name = name
        self.id = user_id
        self.escaped_name = quote(name, safe="@~")
        self.url = f"/user/{self.escaped_name}/"


@pytest.fixture(autouse=True)
def hub_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from kubernetes_asyncio.client import Configuration
    from kubernetes_asyncio.config import kube_config
    from kubespawner.clients import load_config

    for name in LABKIT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LABKIT_NODE_IMAGE", IMAGE)

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    # Where a kube config is looked for was read from $KUBECONFIG at import: set it here.
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)  # no in-cluster config
    before = Configuration.get_default_copy()
    load_config.cache_clear()
    yield
    # KubeSpawner keeps the loaded config for the process: leave none of ours behind.
    load_config.cache_clear()
    Configuration.set_default(before)


def hub_config() -> Config:
    return PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()


def node(name: str = "ada") -> dict[str, Any]:
    """What KubeSpawner would create for learner `name`: pod, claim, and its own view."""
    from jupyterhub.objects import Hub
    from kubespawner import KubeSpawner

    config = hub_config()

    async def build() -> dict[str, Any]:
        # The API client KubeSpawner makes wants a running event loop, hence async.
        # _mock=True is how KubeSpawner's own tests build one; here it changes nothing
        # more, as the user and hub are given.
        spawner = KubeSpawner(config=config, user=Learner(name), hub=Hub(), _mock=True)
        as_sent = spawner.api.api_client.sanitize_for_serialization
        pod = as_sent(await spawner.get_pod_manifest())
        return {"spawner": spawner, "pod": pod, "pvc": as_sent(spawner.get_pvc_manifest())}

    return asyncio.run(build())


def container(pod: dict[str, Any]) -> dict[str, Any]:
    (notebook,) = pod["spec"]["containers"]
    return notebook


def env_of(pod: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container(pod)["env"]}


def test_the_node_runs_the_image_and_keeps_its_entrypoint():
    notebook = container(node()["pod"])
    assert notebook["image"] == IMAGE
    # `command` would replace the ENTRYPOINT that starts dockerd; `args` replaces CMD.
    assert "command" not in notebook
    assert notebook["args"] == ["jupyterhub-singleuser", "--allow-root"]


def test_the_node_is_privileged_and_root():
    assert container(node()["pod"])["securityContext"] == {
        "privileged": True,
        "runAsUser": 0,
        "allowPrivilegeEscalation": True,
    }


def test_default_limits_and_guarantees():
    resources = container(node()["pod"])["resources"]
    assert resources["limits"] == {"cpu": 1.0, "memory": 3 * GIB}
    assert resources["requests"] == {"cpu": 0.5, "memory": 2 * GIB}


@pytest.mark.parametrize(
    ("cpus", "memory", "limits", "requests"),
    [
        ("2", "4G", {"cpu": 2.0, "memory": 4 * GIB}, {"cpu": 0.5, "memory": 2 * GIB}),
        # Below the default guarantees: the guarantees come down to the limits.
        ("0.25", "1536M", {"cpu": 0.25, "memory": 1536 * 1024**2}, None),
    ],
)
def test_limits_from_the_environment(monkeypatch, cpus, memory, limits, requests):
    monkeypatch.setenv("LABKIT_NODE_CPUS", cpus)
    monkeypatch.setenv("LABKIT_NODE_MEMORY", memory)
    resources = container(node()["pod"])["resources"]
    assert resources["limits"] == limits
    assert resources["requests"] == (requests or limits)


def test_work_survives_the_node_and_docker_storage_does_not():
    built = node()
    pod, pvc = built["pod"], built["pvc"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container(pod)["volumeMounts"]}

    assert mounts == {
        "/root/work": "work",
        "/var/lib/docker": "docker",
        "/var/lib/containerd": "containerd",
        "/var/lib/containers": "containers",  # podman's
        "/var/lib/labkit": "labkit",  # the lab's containerd, podman store, scratch pods
    }
    assert volumes.pop("work") == {
        "name": "work",
        "persistentVolumeClaim": {"claimName": "labkit-work-ada"},
    }
    engines = ("docker", "containerd", "containers", "labkit")
    assert volumes == {name: {"name": name, "emptyDir": {}} for name in engines}

    # The claim KubeSpawner makes (storage_pvc_ensure) is the one the pod mounts.
    assert built["spawner"].storage_pvc_ensure is True
    assert pvc["metadata"]["name"] == "labkit-work-ada"
    assert pvc["spec"]["resources"]["requests"] == {"storage": "1Gi"}
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "labkit-workshop"
    assert "storageClassName" not in pvc["spec"]  # the cluster's default class


def test_storage_class_from_the_environment(monkeypatch):
    monkeypatch.setenv("LABKIT_STORAGE_CLASS", "local-path")
    assert node()["pvc"]["spec"]["storageClassName"] == "local-path"


def test_environment_and_working_directory():
    pod = node("ada")["pod"]
    env = env_of(pod)
    assert env["LABKIT_PROGRESS"] == "/root/work/.labkit/progress.json"
    assert env["LABKIT_LEARNER"] == "ada"
    assert env["LABKIT_OFFLINE"] == "1"
    assert env["LABKIT_WORKSHOP"] == "1"
    assert env["JUPYTERHUB_ROOT_DIR"] == "/root/work"  # the notebook_dir
    assert container(pod)["workingDir"] == "/root/work"


def test_a_name_kubernetes_would_refuse_is_kept_for_the_learner_only():
    name = "ada.lovelace@example.org"
    built = node(name)
    claim = built["pvc"]["metadata"]["name"]
    assert env_of(built["pod"])["LABKIT_LEARNER"] == name
    assert claim.startswith("labkit-work-ada")
    assert DNS_LABEL.fullmatch(claim) and len(claim) <= 63
    assert built["pod"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim


def test_label_and_no_service():
    built = node()
    spawner = built["spawner"]
    assert built["pod"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "labkit-workshop"
    # KubeSpawner makes a Service only for one of these two; without, the hub goes
    # straight to the pod's IP.
    assert spawner.services_enabled is False
    assert spawner.internal_ssl is False
    running = {**built["pod"], "status": {"podIP": "10.42.0.7"}}
    assert spawner._get_pod_url(running) == "http://10.42.0.7:8888"


def one_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and not re.search(r"[.!?;]\s", message)


def test_a_missing_image_stops_the_hub_with_one_sentence(monkeypatch):
    monkeypatch.delenv("LABKIT_NODE_IMAGE")
    with pytest.raises(SystemExit) as stopped:
        hub_config()
    message = str(stopped.value.code)
    assert one_sentence(message), message
    assert message.startswith("LABKIT_NODE_IMAGE is not set")
    assert "registry.example.org/labkit/learner-node:" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LABKIT_NODE_CPUS", "lots"),
        ("LABKIT_NODE_CPUS", "0"),
        ("LABKIT_NODE_MEMORY", "3GB"),
        ("LABKIT_IDLE_MINUTES", "an hour"),
    ],
)
def test_a_bad_setting_stops_the_hub_with_one_sentence(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        hub_config()
    message = str(stopped.value.code)
    assert one_sentence(message), message
    assert message.startswith(f"{name}={value!r} is not")


@pytest.mark.parametrize(("minutes", "seconds"), [(None, 3600), ("15", 900)])
def test_the_idle_culler_is_a_service_with_just_its_scopes(monkeypatch, minutes, seconds):
    from jupyterhub.scopes import scope_definitions

    if minutes:
        monkeypatch.setenv("LABKIT_IDLE_MINUTES", minutes)
    hub = hub_config().JupyterHub
    (culler,) = hub.services
    (role,) = hub.load_roles
    assert culler["command"][1:] == ["-m", "jupyterhub_idle_culler", f"--timeout={seconds}"]
    assert role["services"] == [culler["name"]]
    scopes = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
    assert role["scopes"] == scopes
    assert set(role["scopes"]) <= set(scope_definitions)


def test_learners_and_the_instructor_log_in_with_their_codes(monkeypatch):
    from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
    from traitlets.utils.importstring import import_item

    monkeypatch.setenv("LABKIT_WORKSHOP_CODE", WORKSHOP_CODE)
    monkeypatch.setenv("LABKIT_ADMIN_CODE", ADMIN_CODE)
    config = hub_config()
    assert config.JupyterHub.spawner_class == "kubespawner.KubeSpawner"
    assert import_item(config.JupyterHub.authenticator_class) is SharedPasswordAuthenticator
    authenticator = SharedPasswordAuthenticator(config=config)

    def log_in(name: str, code: str) -> dict[str, Any] | None:
        data = {"username": name, "password": code}
        return asyncio.run(authenticator.get_authenticated_user(None, data))

    assert log_in("ada", WORKSHOP_CODE)["name"] == "ada"
    assert log_in("grace", WORKSHOP_CODE)["admin"] is False
    assert log_in("instructor", ADMIN_CODE)["admin"] is True
    assert log_in("instructor", WORKSHOP_CODE) is None
    assert log_in("ada", "not-the-code") is None
