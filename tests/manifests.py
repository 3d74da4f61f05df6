"""The article's Pod manifest, and broken versions of it, shared by the tests."""

from pathlib import Path

FOO = (Path(__file__).resolve().parents[1] / "notebooks/manifests/foo-pod.yaml").read_text()

# One of each kind of mistake a learner makes in a manifest.
BROKEN = [
    FOO.replace("containers:", "contaners:"),  # unknown field
    FOO.replace("name: sidecar", "name: app"),  # duplicate container names
    FOO.replace('"256Mi"', '"256 bananas"'),  # malformed quantity
    FOO.replace("  - name: sidecar", "  -name sidecar"),  # YAML that does not parse as a Pod
]

# What `kubectl run foo --image=nginx --dry-run=client -o yaml` prints (older kubectl
# also prints `creationTimestamp: null`): the first manifest many learners write.
KUBECTL_RUN = """\
apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: null
  labels:
    run: foo
  name: foo
spec:
  containers:
  - image: nginx
    name: foo
    resources: {}
  dnsPolicy: ClusterFirst
  restartPolicy: Always
status: {}
"""
