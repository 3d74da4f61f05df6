"""Pod manifests: the article's Pod parses, and so does kubectl's; each kind of mistake is one
sentence; what the API server only warns about is kept in PodSpec.warnings."""

import copy

import pytest
import yaml

from labkit.errors import SpecError
from labkit.manifest import parse_pod, pod_from_kwargs
from labkit.spec import FullPodSpec, PodSpec, Port
from tests.manifests import FOO, KUBECTL_RUN


def test_the_articles_pod():
    pod = parse_pod(FOO)
    assert pod.name == "foo"
    assert [c.name for c in pod.containers] == ["app", "sidecar"]
    assert [c.spec.memory_bytes for c in pod.containers] == [256 * 2**20, 128 * 2**20]
    assert pod.containers[1].command == ("/bin/sleep", "3650d")
    assert [c.args for c in pod.containers] == [None, None]
    assert [c.spec.command for c in pod.containers] == [None, None]  # docker run's, not a Pod's
    assert pod.resource_config.memory == 384 * 2**20 and not pod.resource_config.cpu_quota
    assert pod.qos_class == "Burstable"
    assert not (pod.host_network or pod.host_ipc or pod.host_pid or pod.share_process_namespace)
    assert (pod.restart_policy, pod.grace_period_s) == ("Always", 30)  # Kubernetes' defaults
    assert pod.containers[0].ports == (Port(80),)  # declared, kept; nothing published
    assert pod.containers[0].spec.ports == {} and pod.namespace == "default"
    assert pod.warnings == ()


def test_what_kubectl_run_prints_parses():
    """``kubectl run foo --image=nginx --dry-run=client -o yaml``: status, a null
    creationTimestamp and the default dnsPolicy are accepted, as the API server accepts them."""
    pod = parse_pod(KUBECTL_RUN)
    (foo,) = pod.containers
    assert (pod.name, pod.labels, pod.restart_policy) == ("foo", (("run", "foo"),), "Always")
    assert (foo.name, foo.spec.image, foo.image_pull_policy) == ("foo", "nginx", "Always")
    assert (foo.command, foo.args, pod.qos_class, pod.warnings) == (None, None, "BestEffort", ())


def _doc(**changes) -> dict:
    """kubectl's Pod, with ``metadata``/``spec``/``container`` fields changed (None deletes)."""
    doc = yaml.safe_load(KUBECTL_RUN)
    for where, fields in changes.items():
        node = {"top": doc, "metadata": doc["metadata"], "spec": doc["spec"],
                "container": doc["spec"]["containers"][0]}[where]
        for key, value in fields.items():
            if value is None:
                node.pop(key, None)
            else:
                node[key] = copy.deepcopy(value)
    return doc


def _parse(**changes):
    return parse_pod(yaml.safe_dump(_doc(**changes), sort_keys=False))


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
     "container app.volumeMounts is real Kubernetes but not supported by this lab"),
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


NOT_RUN = [("spec", "os", {"name": "linux"}), ("spec", "activeDeadlineSeconds", 60),
           ("spec", "automountServiceAccountToken", False),
           ("spec", "imagePullSecrets", [{"name": "r"}]), ("spec", "priority", 0),
           ("spec", "preemptionPolicy", "Never"), ("spec", "schedulingGates", [{"name": "g"}]),
           ("spec", "setHostnameAsFQDN", True), ("spec", "resourceClaims", []),
           ("spec", "volumes", []), ("container", "resizePolicy", []),
           ("container", "restartPolicy", "Always"), ("container", "volumeMounts", []),
           ("metadata", "managedFields", [])]


@pytest.mark.parametrize(("where", "key", "value"), NOT_RUN,
                         ids=[f"{where}.{key}" for where, key, _ in NOT_RUN])
def test_real_fields_labkit_cannot_run_are_named_as_real(where, key, value):
    with pytest.raises(SpecError) as caught:
        _parse(**{where: {key: value}})
    message = str(caught.value)
    assert f".{key} is real Kubernetes but not supported by this lab: remove it" in message
    assert "Unknown" not in message


@pytest.mark.parametrize(("resource", "real"), [
    ("ephemeral-storage", True), ("hugepages-2Mi", True), ("nvidia.com/gpu", True),
    ("memroy", False)])
def test_resource_names(resource, real):
    """validateContainerResourceName: the standard names and extended ones are real."""
    with pytest.raises(SpecError) as caught:
        _parse(container={"resources": {"limits": {resource: "1"}}})
    said = "is real Kubernetes but not supported" if real else "did you mean 'memory'?"
    assert said in str(caught.value)


@pytest.mark.parametrize(("where", "typo", "closest"), [
    ("top", "stauts", "status"), ("metadata", "lables", "labels"),
    ("spec", "restartPolcy", "restartPolicy"), ("container", "volumeMount", "volumeMounts"),
    ("container", "comand", "command")])
def test_a_typo_is_an_unknown_field_with_the_closest_name(where, typo, closest):
    with pytest.raises(SpecError, match=f"Unknown field '{typo}' in .*: did you mean "
                                        f"'{closest}'\\?"):
        _parse(**{where: {typo: "x"}})


def test_dns_policies():
    """validateDNSPolicy: ClusterFirst (the default) runs; the three others are real but not
    run here; anything else is not a policy."""
    assert _parse(spec={"dnsPolicy": "ClusterFirst"}).name == "foo"
    for policy in ("Default", "ClusterFirstWithHostNet", "None"):
        with pytest.raises(SpecError, match="not supported by this lab"):
            _parse(spec={"dnsPolicy": policy})
    with pytest.raises(SpecError, match="'Cluster' is not one Kubernetes knows"):
        _parse(spec={"dnsPolicy": "Cluster"})


def test_what_the_api_server_sets_itself():
    """FillObjectMetaSystemFields: uid and creationTimestamp are the server's; a given uid is
    not used, and said so."""
    pod = _parse(metadata={"uid": "9c1e7a5e-3f0b-4d7e-8a51-2b6f0d3c4e1a",
                           "creationTimestamp": "2026-01-01T00:00:00Z"})
    assert pod.uid != "9c1e7a5e-3f0b-4d7e-8a51-2b6f0d3c4e1a"
    assert pod.warnings == ("metadata.uid: the API server sets the uid of a Pod it creates, so "
                            "'9c1e7a5e-3f0b-4d7e-8a51-2b6f0d3c4e1a' is ignored and this Pod gets "
                            "a new one",)
    with pytest.raises(SpecError, match="creationTimestamp 'yesterday' is not a time"):
        _parse(metadata={"creationTimestamp": "yesterday"})


def test_resource_version_is_refused_as_the_storage_refuses_it():
    with pytest.raises(SpecError, match="resourceVersion should not be set on objects to be "
                                        "created"):
        _parse(metadata={"resourceVersion": "4711"})
    assert _parse(metadata={"resourceVersion": "0"}).warnings == ()  # 0 is "not set"


def test_generate_name_needs_a_name_here():
    with pytest.raises(SpecError, match=r"labkit does not do: give metadata\.name instead"):
        _parse(metadata={"name": None, "generateName": "foo-"})
    assert _parse(metadata={"generateName": "foo-"}).name == "foo"  # the name wins
    with pytest.raises(SpecError, match="'Foo-' is not a name prefix"):
        _parse(metadata={"generateName": "Foo-"})


def test_owner_references_and_finalizers_are_checked_then_ignored():
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "u-1",
             "controller": True}
    pod = _parse(metadata={"ownerReferences": [owner], "finalizers": ["example.com/keep"]})
    assert [w.split(":")[0] for w in pod.warnings] == ["metadata.ownerReferences",
                                                       "metadata.finalizers"]
    with pytest.raises(SpecError, match="an owner has no uid"):
        _parse(metadata={"ownerReferences": [{**owner, "uid": ""}]})
    with pytest.raises(SpecError, match="only one owner can have controller: true"):
        _parse(metadata={"ownerReferences": [owner, {**owner, "name": "other"}]})
    with pytest.raises(SpecError, match="'bad key!' is not a valid name"):
        _parse(metadata={"finalizers": ["bad key!"]})


def test_annotation_keys_are_checked_in_lower_case_and_label_keys_are_not():
    """ValidateAnnotations lower-cases a key first; ValidateLabels does not."""
    pod = _parse(metadata={"annotations": {"Example.COM/Note": "x"}})
    assert pod.annotations == (("Example.COM/Note", "x"),)
    with pytest.raises(SpecError, match=r"labels key 'Example\.COM/Note' is not a valid key"):
        _parse(metadata={"labels": {"Example.COM/Note": "x"}})


def test_a_key_prefix_is_a_subdomain_of_253_with_long_parts():
    prefix = "a" * 70 + ".example.com"
    assert _parse(metadata={"labels": {f"{prefix}/app": "x"}}).labels[0][0] == f"{prefix}/app"


@pytest.mark.parametrize("name", ["1ST", "MY VAR", "a:b", "."])
def test_env_names_follow_the_relaxed_rule(name):
    env = [{"name": name, "value": "1"}]
    assert _parse(container={"env": env}).containers[0].env == ((name, "1"),)


@pytest.mark.parametrize(("resources", "limits", "requests", "qos"), [
    ({"limits": {"cpu": "0", "memory": "0"}}, (0, 0.0), (None, None), "BestEffort"),
    ({"requests": {"cpu": 0, "memory": 0}}, (None, None), (0, 0.0), "BestEffort"),
    ({"limits": {"memory": "64Mi"}, "requests": {"memory": 0}}, (64 * 2**20, None),
     (0, None), "Burstable"),
    ({"limits": {"cpu": "2000"}}, (None, 2000.0), (None, None), "Burstable"),
])
def test_zero_and_big_quantities_are_accepted(resources, limits, requests, qos):
    """A zero request or limit is valid and counts as not given (labkit.kubernetes reads a
    falsy value so); more than 1024 cores is valid too (the shares stop at 262144)."""
    pod = _parse(container={"resources": resources})
    (foo,) = pod.containers
    assert (foo.spec.memory_bytes, foo.spec.cpus) == limits
    assert (foo.requests_memory, foo.requests_cpus) == requests
    assert pod.qos_class == qos


def test_a_memory_limit_under_a_page_is_refused_saying_why():
    with pytest.raises(SpecError) as caught:
        _parse(container={"resources": {"limits": {"memory": "1Ki"}}})
    assert str(caught.value) == (
        "container foo: resources.limits: memory '1Ki' is only 1024 bytes, which the API server "
        "accepts, but labkit does not run a memory limit under 4096 bytes, since no container "
        "can start in that: write e.g. 64Mi.")
    with pytest.raises(SpecError, match="'100m' is a fraction of a byte \\(m is a thousandth, "
                                        "not mega\\), which the API server rounds up to 1 byte"):
        _parse(container={"resources": {"limits": {"memory": "100m"}}})


WARNED = {  # what warningsForPodSpecAndMeta (pkg/api/pod/warnings.go) says, and labkit keeps
    "port twice in a container": (
        {"container": {"ports": [{"containerPort": 80}, {"containerPort": 80}]}},
        "spec.containers[0].ports[1]: duplicate port definition with spec.containers[0].ports[0]"),
    "negative grace": (
        {"spec": {"terminationGracePeriodSeconds": -5}},
        "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will "
        "be treated as 1"),
    "fractional memory request": (
        {"container": {"resources": {"requests": {"memory": "100m"}}}},
        'spec.containers[0].resources.requests[memory]: fractional byte value "100m" is '
        "invalid, must be an integer"),
    "env repeated": (
        {"container": {"env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]}},
        'spec.containers[0].env[1]: hides previous definition of "A", which may be dropped when '
        "using apply"),
}


@pytest.mark.parametrize("case", WARNED)
def test_what_the_api_server_only_warns_about_is_kept_as_a_warning(case):
    changes, warning = WARNED[case]
    assert _parse(**changes).warnings == (warning,)


def test_warned_values_are_used_as_kubernetes_uses_them():
    pod = _parse(spec={"terminationGracePeriodSeconds": -5},
                 container={"resources": {"limits": {"memory": "64Mi"},
                                          "requests": {"memory": "100m"}}})
    assert (pod.grace_period_s, pod.containers[0].requests_memory) == (1, 1)


def test_a_port_in_two_containers_is_warned_about_with_both_paths():
    pod = parse_pod(FOO.replace('command: ["/bin/sleep", "3650d"]',
                                'command: ["/bin/sleep", "3650d"]\n    ports:\n'
                                '    - containerPort: 80'))
    assert pod.warnings == ("spec.containers[1].ports[0]: duplicate port definition with "
                            "spec.containers[0].ports[0]",)


@pytest.mark.parametrize(("values", "warned"), [
    (["1", "$(A)-2"], False),  # the later value uses the earlier one
    (["1", "$(A)"], True),  # ... but is only that
    (["1", "2", "$(A)3"], True),  # the second hides the first
])
def test_a_repeated_env_name_that_uses_the_earlier_value(values, warned):
    env = [{"name": "A", "value": v} for v in values]
    assert bool(_parse(container={"env": env}).warnings) is warned


def test_command_and_args_are_kept_apart_and_not_expanded():
    pod = _parse(container={"command": ["sh", "-c"], "args": ["echo $(GREETING)"]})
    (foo,) = pod.containers
    assert (foo.command, foo.args, foo.spec.command) == (("sh", "-c"), ("echo $(GREETING)",),
                                                         None)
    (only_args,) = _parse(container={"args": ["--port", "8080"]}).containers
    assert (only_args.command, only_args.args) == (None, ("--port", "8080"))


@pytest.mark.parametrize(("resources", "qos"), [
    ({"limits": {"memory": "128Mi", "cpu": "500m"}}, "Guaranteed"),
    ({"limits": {"memory": "128Mi", "cpu": "500m"},
      "requests": {"memory": "64Mi", "cpu": "100m"}}, "Burstable"),
    ({}, "BestEffort"),
])
def test_qos_class(resources, qos):
    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "q"},
           "spec": {"containers": [{"name": "a", "image": "busybox", "resources": resources}]}}
    assert parse_pod(yaml.safe_dump(doc)).qos_class == qos


def test_pod_from_keyword_arguments():
    pod = pod_from_kwargs("bar", {"app": {"image": "busybox", "command": "sleep 1",
                                          "memory": "64Mi", "cpus": "250m"}}, host_ipc=True)
    (app,) = pod.containers
    assert (app.command, app.args, app.spec.command) == (("sh", "-c", "sleep 1"), None, None)
    assert app.spec.memory_bytes == 64 * 2**20 and app.spec.cpus == 0.25 and pod.host_ipc
    with pytest.raises(SpecError, match="no image"):
        pod_from_kwargs("bar", {"app": {}})


def test_keyword_command_and_args():
    (app,) = pod_from_kwargs("bar", {"app": {"image": "busybox", "command": ("sleep",),
                                             "args": ["1"]}}).containers
    assert (app.command, app.args) == (("sleep",), ("1",))
    with pytest.raises(SpecError, match="args item 1 is not a string: quote it"):
        pod_from_kwargs("bar", {"app": {"image": "busybox", "args": [1]}})


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


def test_keyword_pods_get_the_same_warnings():
    pod = pod_from_kwargs("bar", {"a": {"image": "busybox", "ports": [80],
                                        "requests_memory": "0.5"},
                                  "b": {"image": "busybox", "ports": [80]}})
    assert pod.warnings == (
        'spec.containers[0].resources.requests[memory]: fractional byte value "500m" is '
        "invalid, must be an integer",
        "spec.containers[1].ports[0]: duplicate port definition with "
        "spec.containers[0].ports[0]")


def test_the_same_pod_twice_from_yaml_and_keywords():
    """Both creation paths give the same PodSpec for the same Pod."""
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


@pytest.mark.parametrize(("value", "own"), [(False, True), (True, False), (None, False)])
def test_host_users_is_read_as_the_api_server_reads_it(value, own):
    """hostUsers: false asks for a user namespace of the Pod's own; true and null (the
    field's nil) leave the Pod in the node's, a plain PodSpec as before the field existed."""
    pod = _parse(spec={"hostUsers": value})
    assert pod.host_users is not own
    assert isinstance(pod, FullPodSpec) is own


def test_host_users_false_as_a_keyword_is_the_manifests():
    kwargs = pod_from_kwargs("apart", {"app": {"image": "busybox"}}, host_users=False)
    assert kwargs.host_users is False and isinstance(kwargs, FullPodSpec)
    assert type(pod_from_kwargs("near", {"app": {"image": "busybox"}}, host_users=True)) \
        is PodSpec
