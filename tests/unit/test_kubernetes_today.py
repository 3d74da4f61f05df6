"""The kubelet's rules for the Pods of today (chapter 8) against tables taken from Kubernetes'
own tests: init containers and sidecars, pod-level resources, their QoS class and OOM scores,
the pod cgroup's values, ephemeral containers' PID namespace, the order init containers start
in.

Each table names the upstream test or function it comes from: component-helpers'
``resource/helpers_test.go`` at tag ``kubernetes-1.36.0`` (the published staging repository
kubernetes/component-helpers), the kubelet's code in kubernetes/kubernetes. Where labkit adds
a row of its own, the comment says why.
"""

from __future__ import annotations

import pytest

from labkit import kubernetes as k8s
from labkit.kubernetes import PodResources, Resources

MI, GI = 2**20, 2**30


def cpu(milli: int) -> Resources:
    return Resources(cpu_request=milli)


def cpu_limit(milli: int) -> Resources:
    return Resources(cpu_limit=milli)


# component-helpers resource/helpers_test.go (kubernetes-1.36.0), TestPodResourceRequests:
# the rows without overhead and without resize status; CPU in millicores
@pytest.mark.parametrize(("init", "containers", "expected"), [
    pytest.param([(cpu(4000), False)], [cpu(1000)], 4000, id="nil options, larger init container"),
    pytest.param([(cpu(2000), False)], [cpu(2000), cpu(3000)], 5000,
                 id="nil options, larger containers"),
    pytest.param([(cpu(1000), True)], [cpu(1000)], 2000, id="restartable init container"),
    pytest.param([(cpu(5000), False), (cpu(1000), True), (cpu(2000), True), (cpu(3000), True)],
                 [cpu(1000)], 7000, id="multiple restartable init containers"),
    pytest.param([(cpu(5000), False), (cpu(1000), True), (cpu(2000), True), (cpu(5000), False),
                  (cpu(3000), True)], [cpu(1000)], 8000,
                 id="multiple restartable and regular init containers"),
    pytest.param([(cpu(10000), True), (cpu(200000), False)], [cpu(100000)], 210000,
                 id="restartable-init, init and regular"),
])
def test_pod_requests(init, containers, expected):
    pod = PodResources(tuple(containers), tuple(init))
    assert k8s.aggregate_requests(pod)[0] == expected
    assert k8s.pod_requests(pod).cpu_request == expected


# the same file, TestPodResourceLimits (the same shapes, for limits)
@pytest.mark.parametrize(("init", "containers", "expected"), [
    pytest.param([(cpu_limit(4000), False)], [cpu_limit(1000)], 4000,
                 id="nil options, larger init container"),
    pytest.param([(cpu_limit(2000), False)], [cpu_limit(2000), cpu_limit(3000)], 5000,
                 id="nil options, larger containers"),
    pytest.param([], [Resources(), Resources()], 0,
                 id="no limited containers should result in no limits for the pod"),
    pytest.param([], [Resources(2000, 2000, 2 * GI, 2 * GI), Resources()], 2000,
                 id="one limited and one unlimited container"),
    pytest.param([(cpu_limit(1000), True)], [cpu_limit(1000)], 2000,
                 id="restartable init container"),
    pytest.param([(cpu_limit(5000), False), (cpu_limit(1000), True), (cpu_limit(2000), True),
                  (cpu_limit(3000), True)], [cpu_limit(1000)], 7000,
                 id="multiple restartable init containers"),
    pytest.param([(cpu_limit(5000), False), (cpu_limit(1000), True), (cpu_limit(2000), True),
                  (cpu_limit(5000), False), (cpu_limit(3000), True)], [cpu_limit(1000)], 8000,
                 id="multiple restartable and regular init containers"),
    pytest.param([(cpu_limit(10000), True), (cpu_limit(200000), False)], [cpu_limit(100000)],
                 210000, id="restartable-init, init and regular"),
])
def test_pod_limits(init, containers, expected):
    pod = PodResources(tuple(containers), tuple(init))
    assert k8s.pod_limits(pod).cpu_limit == expected


# the same file, TestPodLevelResourceRequests (the cpu and memory rows); pod-level requests
# replace the aggregate per resource
@pytest.mark.parametrize(("level", "init", "containers", "expected"), [
    pytest.param(Resources(memory_request=2 * MI), [], [], (0, 2 * MI),
                 id="pod level memory resource"),
    pytest.param(Resources(memory_request=2 * MI), [], [cpu(2)], (2, 2 * MI),
                 id="pod level memory and container level cpu resources"),
    pytest.param(None, [], [Resources(2, None, 3 * MI)], (2, 3 * MI),
                 id="only container level resources set"),
    pytest.param(Resources(8, None, 6 * MI), [], [Resources(2, None, 3 * MI)], (8, 6 * MI),
                 id="both container-level and pod-level resources set"),
    pytest.param(None, [(Resources(4, None, 5 * MI), False)], [Resources(2, None, 3 * MI)],
                 (4, 5 * MI), id="container-level resources and init container set"),
    pytest.param(None, [(Resources(4, None, 5 * MI), True)], [Resources(2, None, 3 * MI)],
                 (6, 8 * MI), id="container-level resources and sidecar container set"),
    pytest.param(None, [(Resources(4, None, 5 * MI), True), (Resources(8, None, 6 * MI), False)],
                 [Resources(2, None, 3 * MI)], (12, 11 * MI),
                 id="container-level resources, init and sidecar container set"),
    pytest.param(Resources(18, None, 15 * MI),
                 [(Resources(4, None, 5 * MI), True), (Resources(8, None, 6 * MI), False)],
                 [Resources(2, None, 3 * MI)], (18, 15 * MI),
                 id="pod-level resources, container-level resources, init and sidecar"),
])
def test_pod_level_requests(level, init, containers, expected):
    got = k8s.pod_requests(PodResources(tuple(containers), tuple(init), level))
    assert (got.cpu_request, got.memory_request) == expected


# pkg/apis/core/v1/defaults.go, defaultPodRequests and defaultPodLimits (the cases KEP-2837's
# "Clarifying Tricky Cases" walks through: examples 1, 3, 6, 9; and a limit derived from
# containers that all have one, the 1.36 fix)
@pytest.mark.parametrize(("level", "containers", "expected"), [
    pytest.param(Resources(memory_limit=100 * GI), [Resources(), Resources()],
                 Resources(None, None, 100 * GI, 100 * GI),
                 id="example 1: no container requests, the pod request is the pod limit"),
    pytest.param(Resources(memory_limit=100 * GI),
                 [Resources(memory_request=50 * GI), Resources(memory_request=50 * GI)],
                 Resources(None, None, 100 * GI, 100 * GI),
                 id="example 3: the pod request is the containers' requests"),
    pytest.param(Resources(memory_limit=100 * GI),
                 [Resources(None, None, 50 * GI, 50 * GI), Resources()],
                 Resources(None, None, 50 * GI, 100 * GI),
                 id="example 6: one container's request is the pod's"),
    pytest.param(Resources(cpu_request=500),
                 [Resources(100, 200), Resources(100, 300)],
                 Resources(500, 500, None, None),
                 id="1.36: a pod limit from containers that all have one"),
    pytest.param(Resources(cpu_request=500), [Resources(100, 200), Resources(100)],
                 Resources(500, None, None, None),
                 id="1.36: no pod limit when a container has none"),
])
def test_pod_level_defaults(level, containers, expected):
    assert k8s.default_pod_resources(PodResources(tuple(containers), (), level)) == expected


# ComputePodQOS (pkg/apis/core/v1/helper/qos/qos.go) with pod-level resources, as KEP-2837's
# "QoS Changes" states it (labkit's rows): pod-level resources decide when set; a missing
# request or limit at pod level is not Guaranteed even if the containers are
@pytest.mark.parametrize(("level", "containers", "qos"), [
    pytest.param(Resources(500, 500, GI, GI), [Resources()], "Guaranteed",
                 id="pod-level requests equal limits"),
    pytest.param(Resources(250, 500, GI, GI), [Resources()], "Burstable",
                 id="pod-level cpu request below its limit"),
    pytest.param(Resources(None, None, GI, GI), [Resources(100, 100, MI, MI)], "Burstable",
                 id="pod-level memory only: cpu not given at pod level"),
    pytest.param(None, [Resources(100, 100, MI, MI)], "Guaranteed",
                 id="no pod-level resources: the containers decide"),
])
def test_qos_with_pod_level_resources(level, containers, qos):
    assert k8s.pod_qos_class(PodResources(tuple(containers), (), level)) == qos


def test_qos_counts_init_containers():
    """ComputePodQOS iterates init containers and containers alike (podutil.ContainerIter)."""
    guaranteed = Resources(100, 100, MI, MI)
    assert k8s.pod_qos_class(PodResources((guaranteed,), ((guaranteed, True),))) == "Guaranteed"
    assert k8s.pod_qos_class(PodResources((guaranteed,), ((Resources(), False),))) == "Burstable"


# ResourceConfigForPod (pkg/kubelet/cm/helpers_linux.go) with pod-level resources and init
# containers (labkit's rows, from the function): the pod-level limit decides the quota and the
# memory limit when set; init containers count, and one without a limit means no limit
@pytest.mark.parametrize(("pod", "shares", "quota", "memory"), [
    pytest.param(PodResources((Resources(),), pod=Resources(None, None, None, 200 * MI)),
                 2, 0, 200 * MI, id="pod-level memory limit only: Burstable, memory written"),
    pytest.param(PodResources((Resources(),), pod=Resources(500, 500, 256 * MI, 256 * MI)),
                 512, 50000, 256 * MI, id="pod-level Guaranteed"),
    pytest.param(PodResources((Resources(100, None, 100 * MI, 200 * MI),),
                              pod=Resources(None, 1000, None, None)),
                 102, 100000, 200 * MI, id="pod-level cpu limit: a quota, containers none"),
    pytest.param(PodResources((Resources(100, None, None, 128 * MI),),
                              ((Resources(None, None, 512 * MI, 512 * MI), False),)),
                 102, 0, 512 * MI, id="labkit: an init container's larger memory limit wins"),
    pytest.param(PodResources((Resources(100, None, None, 128 * MI),),
                              ((Resources(), False),)),
                 102, 0, None, id="labkit: an init container without a limit: no memory limit"),
])
def test_pod_cgroup_values(pod, shares, quota, memory):
    got = k8s.pod_resource_config(pod)
    assert (got.cpu_shares, got.cpu_quota, got.memory) == (shares, quota, memory)


def test_pod_cgroup_values_unchanged_for_pods_of_containers_only():
    """The old entry point (a list of containers) gives what PodResources gives."""
    both = [Resources(250, 500, 64 * MI, 64 * MI), Resources(None, None, 32 * MI, 32 * MI)]
    defaulted = tuple(k8s.default_requests(c) for c in both)
    assert k8s.pod_resource_config(both) == k8s.pod_resource_config(PodResources(defaulted))


# getCPULimit / getMemoryLimit (pkg/kubelet/kuberuntime/kuberuntime_container_linux.go): a
# container without its own limit gets the pod-level one in its cgroup (KEP-2837, rows 5-8 and
# 13-16 of its table); shares from that limit when it has no request at all
@pytest.mark.parametrize(("own", "level", "shares", "quota", "memory"), [
    (Resources(), Resources(500, 500, 256 * MI, 256 * MI), 512, 50000, 256 * MI),
    (Resources(100, None, None, 64 * MI), Resources(None, 500, None, 256 * MI), 102, 50000,
     64 * MI),
    (Resources(), Resources(250, None, 128 * MI, None), 2, 0, None),
    (Resources(), None, 2, 0, None),
])
def test_container_gets_the_pod_limit(own, level, shares, quota, memory):
    got = k8s.container_resources(own, level)
    assert (got.cpu_shares, got.cpu_quota, got.memory) == (shares, quota, memory)


# GetContainerOOMScoreAdjust (pkg/kubelet/qos/policy.go): the unclaimed pod-level request
# shared out over the containers (KEP-2837's two worked examples, "OOM Score Adjustment",
# node capacity 1000 Gi), and sidecars that match or fall below the regular containers' score
# (KEP-753; labkit's rows)
def test_oom_scores_kep_2837_examples():
    capacity = 1000 * GI
    level = Resources(None, None, 180 * GI, None)
    # example 1, pod 2: no container requests
    pod = PodResources((Resources(),) * 3, pod=level)
    assert k8s.oom_score_adjs(pod, "Burstable", capacity)[0] == (940, 940, 940)
    # example 2, pod 2: 50 Gi, 100 Gi, none
    pod = PodResources((Resources(memory_request=50 * GI), Resources(memory_request=100 * GI),
                        Resources()), pod=level)
    assert k8s.oom_score_adjs(pod, "Burstable", capacity)[0] == (940, 890, 990)


@pytest.mark.parametrize(("sidecar", "app", "expected_sidecar"), [
    pytest.param(64 * MI, 2 * GI, 750, id="a small sidecar takes the app's score"),
    pytest.param(4 * GI, 2 * GI, 500, id="a larger sidecar keeps its own, lower, score"),
    pytest.param(0, 0, 999, id="neither requests: 999, as for the app"),
])
def test_oom_scores_of_sidecars(sidecar, app, expected_sidecar):
    pod = PodResources((Resources(None, None, app or None, 8 * GI),),
                       ((Resources(None, None, sidecar or None, 8 * GI), True),))
    _, init, _ = k8s.oom_score_adjs(pod, "Burstable", 8 * GI)
    assert init == (expected_sidecar,)


def test_oom_scores_of_init_containers_and_ephemeral_ones():
    """A plain init container is scored by its own request; an ephemeral container has none,
    so 999 in a Burstable pod; Guaranteed and BestEffort pods give every one the same."""
    pod = PodResources((Resources(None, None, 2 * GI, 4 * GI),),
                       ((Resources(None, None, 4 * GI, 4 * GI), False),))
    assert k8s.oom_score_adjs(pod, "Burstable", 8 * GI) == ((750,), (500,), 999)
    assert k8s.oom_score_adjs(pod, "Guaranteed", 8 * GI) == ((-997,), (-997,), -997)
    assert k8s.oom_score_adjs(pod, "BestEffort", 8 * GI) == ((1000,), (1000,), 1000)


# generateLinuxContainerConfig (kuberuntime_container_linux.go): TARGET replaces CONTAINER only
@pytest.mark.parametrize(("flags", "target", "mode"), [
    ({}, "app", "target"), ({}, None, "container"),
    ({"share_process_namespace": True}, "app", "pod"), ({"host_pid": True}, "app", "node"),
])
def test_ephemeral_pid_mode(flags, target, mode):
    assert k8s.ephemeral_pid_mode(k8s.namespace_modes(**flags), target) == mode


# computeInitContainerActions (pkg/kubelet/kuberuntime/kuberuntime_container.go): one step
# from the runtime's states (labkit's rows, one per branch of the function)
@pytest.mark.parametrize(("sidecars", "states", "policy", "started", "expected"), [
    pytest.param([False, True], [None, None], "Always", False, k8s.InitActions((0,)),
                 id="nothing made: the first one"),
    pytest.param([False, True], [("Running", 0), None], "Always", False, k8s.InitActions(),
                 id="an init container runs: wait"),
    pytest.param([False, True], [("Exited", 0), None], "Always", False, k8s.InitActions((1,)),
                 id="it exited 0: the next"),
    pytest.param([False, True], [("Exited", 0), ("Running", 0)], "Always", False,
                 k8s.InitActions((), True), id="the last, a sidecar, runs: initialized"),
    pytest.param([True, False], [("Running", 0), None], "Always", False, k8s.InitActions((1,)),
                 id="a sidecar runs: the next starts beside it"),
    pytest.param([True, False], [("Exited", 1), ("Running", 0)], "Always", False,
                 k8s.InitActions((0,)), id="a sidecar that exited is started again"),
    pytest.param([False], [("Exited", 1)], "OnFailure", False, k8s.InitActions((0,)),
                 id="a failed init container is started again"),
    pytest.param([False], [("Exited", 1)], "Never", False, k8s.InitActions(kill_pod=True),
                 id="restartPolicy Never: the Pod is given up"),
    pytest.param([False, True], [None, None], "Always", True, k8s.InitActions((1,), True),
                 id="containers made already: only sidecars are started again"),
    pytest.param([], [], "Always", False, k8s.InitActions(initialized=True),
                 id="no init containers: initialized"),
])
def test_init_container_actions(sidecars, states, policy, started, expected):
    assert k8s.init_container_actions(sidecars, states, policy,
                                      containers_started=started) == expected
