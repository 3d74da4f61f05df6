"""The cluster runtime's translation and parsing, on recorded outputs.

minikube cannot run on the CI machine (no VM driver, no registry), so these
outputs are written in the shape kubectl and crictl print on minikube with
containerd (tests/fixtures/minikube/ABOUT). The live run is
tests/integration/test_cluster_live.py, selected with LABKIT_KUBE_CONTEXT.
"""

from pathlib import Path

import yaml

from labkit.manifest import parse_pod
from labkit.runtimes.cluster import (
    ClusterPod,
    cluster_manifest,
    minikube_start_command,
    parse_crictl_inspect,
    parse_pod_status,
    start_minikube,
)
from labkit.session import Session
from tests.manifests import FOO

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures/minikube"


def test_pod_status():
    status = parse_pod_status((FIXTURES / "pod.json").read_text())
    assert status.phase == "Running" and status.ready and status.node == "minikube"
    assert status.qos_class == "Burstable"
    assert status.uid == "9c1e7a5e-3f0b-4d7e-8a51-2b6f0d3c4e1a"
    assert status.containers["app"].startswith("3b6f1f0a") and "://" not in status.containers["app"]


def test_pod_status_while_pending():
    status = parse_pod_status('{"metadata": {"uid": "u"}, "status": {"phase": "Pending"}}')
    assert not status.ready and status.containers == {}


def test_crictl_inspect_gives_pid_and_sandbox():
    pid, sandbox = parse_crictl_inspect((FIXTURES / "crictl-inspect-app.json").read_text())
    assert pid == 5001 and sandbox.startswith("f1e2d3c4")
    pause_pid, same = parse_crictl_inspect((FIXTURES / "crictl-inspectp.json").read_text())
    assert pause_pid == 4980 and same == sandbox


def test_manifest_applied_to_the_cluster_is_the_learners_with_the_sessions_marks():
    session = Session("0badcafe")
    applied = cluster_manifest(parse_pod(FOO), session)
    session.close()
    assert applied["metadata"]["name"] == "lk-0badcafe-foo"
    assert applied["metadata"]["labels"]["io.labkit.session"] == "0badcafe"
    again = parse_pod(yaml.safe_dump({**applied, "metadata": {"name": "foo"}}))
    original = parse_pod(FOO)
    assert [c.spec for c in again.containers] == [c.spec for c in original.containers]
    flags = parse_pod(FOO.replace("spec:\n", "spec:\n  shareProcessNamespace: true\n"))
    assert cluster_manifest(flags, Session("0badcafe"))["spec"]["shareProcessNamespace"] is True


class _Recorded:
    """Stands for kubectl and the node shell with the recorded outputs above."""

    def __init__(self):
        self.session = Session("0badcafe")

    def kubectl(self, *args, data=None):
        assert args[:3] == ("get", "pod", "lk-0badcafe-foo")
        return (FIXTURES / "pod.json").read_text()

    def node_shell(self, argv):
        name = {"inspectp": "crictl-inspectp.json"}.get(argv[1])
        if name is None:
            name = ("crictl-inspect-app.json" if argv[2].startswith("3b6f")
                    else "crictl-inspect-sidecar.json")
        return (FIXTURES / name).read_text()


def test_members_come_from_kubectl_and_crictl():
    pod = ClusterPod(_Recorded(), parse_pod(FOO), "lk-0badcafe-foo")
    members = pod.members()
    assert [(m.name, m.pid) for m in members] == [("pause", 4980), ("app", 5001),
                                                  ("sidecar", 5035)]
    assert members[1].asked.memory_bytes == 256 * 2**20


def test_minikube_is_started_as_the_article_starts_it():
    assert minikube_start_command() == ["minikube", "start", "-p", "minikube",
                                        "--container-runtime=containerd"]


def test_no_minikube_here_is_one_sentence(monkeypatch, tmp_path):
    import pytest

    from labkit.errors import EngineUnavailable

    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without minikube, like CI
    with pytest.raises(EngineUnavailable, match="minikube is not installed"):
        start_minikube()


def test_the_cluster_gets_every_field_the_learner_wrote():
    spec = parse_pod("""
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: lab
  labels: {tier: front}
  annotations: {note: kept}
spec:
  containers:
  - name: app
    image: nginx:1.25
    ports: [{containerPort: 80, name: http}]
""")
    manifest = cluster_manifest(spec, Session("0badcafe"))
    assert manifest["metadata"]["namespace"] == "lab"
    assert manifest["metadata"]["labels"] == {"tier": "front", "io.labkit.owner": "labkit",
                                              "io.labkit.session": "0badcafe"}
    assert manifest["metadata"]["annotations"] == {"note": "kept"}
    app = manifest["spec"]["containers"][0]
    assert app["ports"] == [{"containerPort": 80, "protocol": "TCP", "name": "http"}]
    assert app["imagePullPolicy"] == "IfNotPresent"
