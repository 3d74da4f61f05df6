"""The whole Node on recorded trees.

* ``v1-docker-cgroupfs.json`` was recorded on this machine (Debian 12, cgroup v1,
  Docker's cgroupfs driver) from a container run with 256Mi and 500m.
* ``v2-systemd-docker.json`` is a cgroup v2 host with systemd and Docker's
  systemd driver (``system.slice/docker-<id>.scope``), which cannot run here
  because this machine is cgroup v1.
"""

import pytest

from labkit.errors import NodeReadError
from labkit.model import Member, Observation
from labkit.views import sharing_labels


def _pid(node):
    return next(p for p in node.gatherer.pids())


def test_v1_recorded_container(recorded_tree):
    node = recorded_tree("v1-docker-cgroupfs.json")
    pid = _pid(node)
    obs = node.snapshot([Member("rec", pid)])
    member = obs.members[0]
    assert obs.cgroup_version == 1
    assert member.cgroups["memory"].startswith("/docker/")
    assert member.state.limits.memory_bytes == 256 * 2**20
    assert member.state.limits.cpus == 0.5
    assert sharing_labels(obs)["rec"] == {
        "cgroup": "host", "ipc": "own", "mnt": "own", "net": "own", "pid": "own",
        "time": "host", "user": "host", "uts": "own"}


def test_v2_systemd_scope(recorded_tree):
    node = recorded_tree("v2-systemd-docker.json")
    obs = node.snapshot([Member("foo", 4242)], trees=["/system.slice"])
    member = obs.members[0]
    assert obs.cgroup_version == 2
    assert member.state.path.startswith("/system.slice/docker-")
    assert member.state.path.endswith(".scope")
    assert member.state.limits.memory_bytes == 512 * 2**20
    assert member.state.limits.cpus == 0.5 and member.state.limits.cpu_weight == 100
    assert member.state.usage.oom_kills == 1 and member.state.usage.memory_max_events == 212
    assert member.state.usage.cpu_throttled_periods == 39
    labels = sharing_labels(obs)["foo"]
    assert labels["cgroup"] == "own"  # Docker makes a private cgroup namespace on v2
    assert labels["user"] == "host"
    tree = obs.trees[0]
    assert tree.state.limits.memory_bytes is None
    assert [c.name for c in tree.children] == [member.state.path.rsplit("/", 1)[1]]


def test_observation_json_round_trip(recorded_tree):
    node = recorded_tree("v2-systemd-docker.json")
    obs = node.snapshot([Member("foo", 4242)], trees=["/system.slice"])
    again = Observation.from_json(obs.to_json())
    assert again == obs


def test_missing_process_is_one_sentence(recorded_tree):
    node = recorded_tree("v2-systemd-docker.json")
    with pytest.raises(NodeReadError, match="no process 999999"):
        node.snapshot([Member("gone", 999999)])


def test_no_cgroup_file_system_is_one_sentence(tmp_path):
    from labkit.node import Node
    from labkit.node.gather import DirectGatherer
    from tests.fixtures.record_tree import build

    root = build({"/proc/self/mountinfo": "22 28 0:21 / /proc rw - proc proc rw\n"},
                 str(tmp_path))
    with pytest.raises(NodeReadError) as caught:
        Node(DirectGatherer(root))
    assert str(caught.value).startswith("No cgroup file system is mounted where labkit reads")

