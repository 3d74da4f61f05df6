"""Pod manifests: the article's Pod parses; each kind of mistake is one sentence."""


import pytest

from labkit.errors import SpecError
from labkit.manifest import default_pull_policy, parse_pod, pod_from_kwargs
from labkit.spec import Port
from tests.manifests import FOO


def test_the_articles_pod():
    pod = parse_pod(FOO)
    assert pod.name == "foo"
    assert [c.name for c in pod.containers] == ["app", "sidecar"]
    assert [c.spec.memory_bytes for c in pod.containers] == [256 * 2**20, 128 * 2**20]
    assert pod.containers[1].spec.command == ("/bin/sleep", "3650d")
    assert pod.memory_limit == 384 * 2**20 and pod.cpu_limit is None
    assert pod.qos_class == "Burstable"
    assert not (pod.host_network or pod.host_ipc or pod.host_pid or pod.share_process_namespace)
    assert (pod.restart_policy, pod.grace_period_s) == ("Always", 30)  # Kubernetes' defaults
    assert pod.containers[0].ports == (Port(80),)  # declared, kept; nothing published
    assert pod.containers[0].spec.ports == {} and pod.namespace == "default"


@pytest.mark.parametrize(("broken", "expected"), [
    (FOO.replace("    image: curlimages/curl", "   image: curlimages/curl"),
     "not valid YAML at line 16"),
    (FOO.replace("containers:", "contaners:"), "Unknown field 'contaners' in spec: did you mean "
                                               "'containers'?"),
    (FOO.replace("- name: app", "- nmae: app"), "has no name"),
    (FOO.split("  containers:")[0] + "  containers: []\n", "no containers"),
    (FOO.replace("name: sidecar", "name: app"), "Two containers are named 'app'"),
    (FOO.replace('"128Mi"', '"128 MB"'), "container sidecar: resources.limits: The memory "
                                         "quantity '128 MB'"),
    (FOO.replace("    ports:", "    volumeMounts: []\n    ports:"),
     "container app.volumeMounts is a real Pod field that labkit's runtimes cannot run"),
    (FOO.replace("kind: Pod", "kind: Deployment"), "not a Pod"),
    (FOO.replace("spec:\n", "spec:\n  hostNetwork: yes please\n"), "hostNetwork must be true"),
    (FOO.replace("spec:\n", "spec:\n  restartPolicy: Sometimes\n"), "Always, OnFailure or Never"),
    (FOO.replace("spec:\n", "spec:\n  terminationGracePeriodSeconds: soon\n"),
     "not a number of seconds"),
    ("", "The manifest is empty"),
])
def test_bad_manifests_are_one_sentence(broken, expected):
    with pytest.raises(SpecError) as caught:
        parse_pod(broken)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(("resources", "qos"), [
    ({"limits": {"memory": "128Mi", "cpu": "500m"}}, "Guaranteed"),
    ({"limits": {"memory": "128Mi", "cpu": "500m"},
      "requests": {"memory": "64Mi", "cpu": "100m"}}, "Burstable"),
    ({}, "BestEffort"),
])
def test_qos_class(resources, qos):
    import yaml

    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "q"},
           "spec": {"containers": [{"name": "a", "image": "busybox", "resources": resources}]}}
    assert parse_pod(yaml.safe_dump(doc)).qos_class == qos


def test_pod_from_keyword_arguments():
    pod = pod_from_kwargs("bar", {"app": {"image": "busybox", "command": "sleep 1",
                                          "memory": "64Mi", "cpus": "250m"}}, host_ipc=True)
    (app,) = pod.containers
    assert app.spec.command == ("sh", "-c", "sleep 1")
    assert app.spec.memory_bytes == 64 * 2**20 and app.spec.cpus == 0.25 and pod.host_ipc
    with pytest.raises(SpecError, match="no image"):
        pod_from_kwargs("bar", {"app": {}})


def test_pod_from_keyword_arguments_keeps_what_a_manifest_keeps():
    pod = pod_from_kwargs("bar", {"app": {
        "image": "busybox:1.36", "command": ["sleep", "1"], "memory": "64Mi", "cpus": "0.5",
        "requests_memory": "32Mi", "requests_cpus": "100m", "env": {"A": "1"},
        "ports": [80, {"containerPort": 53, "protocol": "UDP", "name": "dns"}]}})
    (app,) = pod.containers
    assert (app.requests_memory, app.requests_cpus) == (32 * 2**20, 0.1)
    assert app.env == (("A", "1"),) and app.image_pull_policy == "IfNotPresent"
    assert app.ports == (Port(80), Port(53, "UDP", "dns")) and app.spec.ports == {}
    assert pod.qos_class == "Burstable"


@pytest.mark.parametrize(("image", "policy"), [
    ("busybox", "Always"), ("busybox:latest", "Always"), ("busybox:1.36", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:v1", "IfNotPresent"),
    ("busybox@sha256:" + "0" * 64, "IfNotPresent"),
])
def test_default_pull_policy_is_the_api_servers(image, policy):
    assert default_pull_policy(image) == policy


def test_the_same_pod_twice_from_yaml_and_keywords():
    """Both creation paths give the same PodSpec for the same Pod."""
    import yaml

    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "same"},
           "spec": {"containers": [{"name": "a", "image": "busybox", "command": ["sleep", "1"],
                                    "ports": [{"containerPort": 80}],
                                    "env": [{"name": "X", "value": "y"}],
                                    "resources": {"limits": {"memory": "64Mi", "cpu": "1"}}}]}}
    from_yaml = parse_pod(yaml.safe_dump(doc))
    from_kwargs = pod_from_kwargs("same", {"a": {"image": "busybox", "command": ["sleep", "1"],
                                                 "memory": "64Mi", "cpus": 1, "ports": [80],
                                                 "env": {"X": "y"}}})
    assert from_yaml.containers == from_kwargs.containers
