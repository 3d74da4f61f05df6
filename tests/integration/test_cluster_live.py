"""The Pod on a live cluster. Selected only where one is reachable:

    sudo LABKIT_KUBE_CONTEXT=minikube ./lab test -m cluster

The CI machine has no cluster (minikube needs a VM driver and a registry), so
there these tests are deselected, not skipped; the same code paths are tested on
recorded outputs in tests/unit/test_cluster.py.
"""

import os

import pytest

import labkit
from labkit.views import sharing_labels
from tests.manifests import FOO

pytestmark = pytest.mark.cluster


def test_pod_on_the_cluster_node():
    context = os.environ["LABKIT_KUBE_CONTEXT"]
    with labkit.Lab() as lab:
        pod = lab.cluster_pod(FOO, context=context)
        labels = sharing_labels(lab.observe(pod))
        pod.delete()
    for member in ("app", "sidecar"):
        assert {ns for ns, label in labels[member].items() if label == "shared with pause"} == \
            {"net", "ipc", "uts"}
