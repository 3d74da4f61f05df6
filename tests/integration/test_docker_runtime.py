"""Chapter 1's runtime against the real Docker engine and the real kernel."""

from __future__ import annotations

import json

import pytest

import labkit
from labkit.errors import LabError
from labkit.model import NAMESPACE_TYPES

from .helpers import run_as_learner


@pytest.mark.parametrize(("memory", "cpus"), [("512MB", 0.5), ("256Mi", "500m"), ("1g", 1)])
def test_limits_reach_the_kernel_in_docker_and_kubernetes_forms(lab, memory, cpus):
    from labkit.quantity import parse_cpus, parse_memory

    box = lab.run("box", "busybox", "sleep 600", memory=memory, cpus=cpus, quiet=True)
    obs = lab.observe(box)
    limits = obs.member("box").state.limits
    assert limits.memory_bytes == parse_memory(memory)
    assert limits.cpu_quota_us == round(parse_cpus(cpus) * 100_000)
    assert limits.cpu_period_us == 100_000
    assert obs.member("box").state.path.endswith(box.id)


def test_a_container_gets_five_namespaces_of_its_own(lab):
    foo = lab.run("foo", "nginx", memory="512MB", cpus=0.5, quiet=True)
    labels = labkit.views.sharing_labels(lab.observe(foo))["foo"]
    assert {ns for ns, label in labels.items() if label == "own"} == \
        {"mnt", "uts", "ipc", "pid", "net"}
    assert labels["user"] == "host" and labels["cgroup"] == "host"  # cgroup v1 host


def test_exec_logs_stop_remove_and_pid(lab):
    box = lab.run("box", "busybox", "echo started; sleep 600", quiet=True)
    assert box.pid > 1
    assert box.exec("echo hi; exit 3").exit_code == 3
    assert box.exec(["cat", "/proc/1/comm"]).output.strip() == "sleep"
    assert "started" in box.logs()
    box.stop(timeout=1)
    assert box.status == "exited"
    with pytest.raises(LabError, match="has no process"):
        _ = box.pid
    box.remove()
    assert lab.docker.session_containers() == []


def test_stand_in_is_announced_and_serves_http(lab, capsys):
    web = lab.run("web", "nginx")
    note = capsys.readouterr().out
    if web.image.is_stand_in:
        assert "nginx" in note and "stand-in" in note
    assert "<html" in web.exec("wget -q -O - http://localhost/").output


def test_helper_container_reads_what_direct_reading_reads(lab):
    box = lab.run("box", "busybox", "sleep 600", memory="64Mi", cpus=0.25, quiet=True)
    direct = lab.observe(box)
    with labkit.Lab(gather="helper") as helper_lab:
        helped = helper_lab.observe(box)
        tree = helper_lab.node.tree(direct.member("box").state.path, ancestors=True)
    assert helped.gatherer == "helper" and direct.gatherer == "direct"
    assert helped.host_namespaces == direct.host_namespaces
    assert helped.members[0].namespaces == direct.members[0].namespaces
    assert helped.members[0].cgroups == direct.members[0].cgroups
    assert helped.members[0].state.limits == direct.members[0].state.limits
    assert [n.name for n in tree.walk()] == ["/", "docker", box.id]


LEARNER = """
import json, labkit
from labkit.lab import choose_gatherer
lab = labkit.Lab()
box = lab.run("box", "busybox", "sleep 600", memory="64Mi", quiet=True)
obs = lab.observe(box)
print(json.dumps({"choice": choose_gatherer(), "gatherer": obs.gatherer, "pid": box.pid,
                  "ns": obs.members[0].namespaces,
                  "memory": obs.members[0].state.limits.memory_bytes}))
lab.close()
"""


def test_a_learner_in_the_docker_group_without_root_reads_through_the_helper(docker_client):
    result = run_as_learner(LEARNER, docker_group=True)
    assert result["choice"] == "helper" and result["gatherer"] == "helper"
    assert result["memory"] == 64 * 2**20
    assert set(result["ns"]) == set(NAMESPACE_TYPES)


def test_observation_is_json(lab):
    box = lab.run("box", "busybox", "sleep 600", quiet=True)
    obs = lab.observe(box)
    assert labkit.Observation.from_json(obs.to_json()) == obs
    assert json.loads(obs.to_json())["members"][0]["member"]["name"] == "box"


def test_versions_name_this_machine_as_its_own_files_and_programs_do(lab):
    """What the chapters' first cells print: each version read from the machine itself."""
    import platform
    import subprocess

    versions = lab.versions()
    with open("/proc/mounts") as mounts:
        kinds = {line.split()[2] for line in mounts}
    expected = "v1" if "cgroup" in kinds else "v2"
    if expected == "v1" and "cgroup2" in kinds:
        expected = "v1 (hybrid)"
    assert versions["cgroup"] == expected
    assert versions["kernel"] == platform.release()
    server = json.loads(subprocess.run(["docker", "version", "--format", "{{json .Server}}"],
                                       capture_output=True, text=True, check=True).stdout)
    assert versions["Docker"] == server["Version"]
    runc = subprocess.run(["runc", "--version"], capture_output=True, text=True).stdout
    assert versions["runc"] == runc.split()[2].split("+")[0]  # Debian's +ds1 dropped
    assert f"cgroup {expected}" in str(versions)
