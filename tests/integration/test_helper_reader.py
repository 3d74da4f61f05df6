"""The helper's long-lived reader: how labkit reads the node without root (a learner in the
docker group, Docker Desktop). One process in the helper container answers every reading;
killed, stopped or with its container stopped, the next reading still comes back, from a
reader started again, within the reader's time limit. Real helper, real kernel."""

import os
import signal
import statistics
import time

import pytest

import labkit
from labkit.node.procfs import processes_with_argument
from labkit.session import SESSION_LABEL


@pytest.fixture
def helper_lab(docker_client):
    with labkit.Lab(gather="helper") as lab:
        yield lab
    assert lab.docker.session_containers() == [], "the lab left containers behind"


def helper_id(lab) -> str:
    found = lab.docker.client.api.containers(filters={"label": [
        f"{SESSION_LABEL}={lab.session.id}", "io.labkit.role=node-reader"]})
    assert len(found) == 1
    return found[0]["Id"]


def readers(lab) -> list[int]:
    """The reader processes in this lab's helper (its cgroup names the container)."""
    container = helper_id(lab)
    found = []
    for pid in processes_with_argument("labkit-reader", "sh"):
        try:
            with open(f"/proc/{pid}/cgroup") as handle:
                if container in handle.read():
                    found.append(pid)
        except OSError:  # exited meanwhile
            continue
    return found


def same_reading(helped, direct) -> None:
    assert helped.gatherer == "helper" and direct.gatherer == "direct"
    assert helped.host_namespaces == direct.host_namespaces
    for ours, theirs in zip(helped.members, direct.members, strict=True):
        assert ours.namespaces == theirs.namespaces
        assert ours.cgroups == theirs.cgroups
        assert ours.state.limits == theirs.state.limits


def test_one_reader_answers_every_reading_fast(lab, helper_lab):
    box = lab.run("box", "busybox", "sleep 600", memory="64Mi", cpus=0.25, quiet=True)
    same_reading(helper_lab.observe(box), lab.observe(box))
    first = readers(helper_lab)
    assert len(first) == 1
    times = []
    for _ in range(15):
        start = time.perf_counter()
        helper_lab.observe(box)
        times.append(time.perf_counter() - start)
    assert readers(helper_lab) == first  # no process started per reading
    assert statistics.median(times) < 0.1  # an exec per reading took 0.1-0.4 s here
    assert os.getpid() in helper_lab.node.namespace_map()


def test_a_killed_reader_is_started_again(lab, helper_lab):
    box = lab.run("box", "busybox", "sleep 600", memory="64Mi", quiet=True)
    helper_lab.observe(box)
    (killed,) = readers(helper_lab)
    os.kill(killed, signal.SIGKILL)
    same_reading(helper_lab.observe(box), lab.observe(box))
    (again,) = readers(helper_lab)
    assert again != killed


def test_a_reader_that_stops_answering_is_replaced_within_its_time_limit(lab, helper_lab):
    box = lab.run("box", "busybox", "sleep 600", quiet=True)
    helper_lab.observe(box)
    gatherer = helper_lab.node.gatherer
    gatherer.timeout_s = 1.0
    (stuck,) = readers(helper_lab)
    os.kill(stuck, signal.SIGSTOP)
    try:
        start = time.perf_counter()
        same_reading(helper_lab.observe(box), lab.observe(box))
        assert time.perf_counter() - start < 5 * gatherer.timeout_s
        (again,) = readers(helper_lab)  # the stuck one was killed, not left behind
        assert again != stuck
    finally:
        if os.path.exists(f"/proc/{stuck}"):
            os.kill(stuck, signal.SIGCONT)


def test_a_stopped_helper_is_started_again(lab, helper_lab):
    box = lab.run("box", "busybox", "sleep 600", quiet=True)
    helper_lab.observe(box)
    helper_lab.docker.client.api.kill(helper_id(helper_lab))
    start = time.monotonic()
    same_reading(helper_lab.observe(box), lab.observe(box))
    # Its socket stayed open without a word; the reader's death is found by asking Docker
    # (every 0.5 s of silence), long before the reader's time limit.
    assert time.monotonic() - start < helper_lab.node.gatherer.timeout_s / 2
    assert len(readers(helper_lab)) == 1


def test_the_helper_keeps_least_privilege(helper_lab):
    helper_lab.node.namespace_map()
    host = helper_lab.docker.client.api.inspect_container(helper_id(helper_lab))["HostConfig"]
    assert host["CapAdd"] == ["SYS_PTRACE"] and not host["Privileged"]
    assert host["Binds"] == ["/sys/fs/cgroup:/sys/fs/cgroup:ro"]
    assert host["PidMode"] == "host" and host["NetworkMode"] == "none"


def test_the_helper_reads_sysctls_and_command_lines_as_the_host_does(lab, helper_lab):
    """A sysctl answers its first read only (a shell's byte-wise read got "4" of "40"), and
    a command line holds NULs: both read whole, the same as labkit reads them directly."""
    box = lab.run("box", "busybox", "sleep 600", quiet=True)
    paths = ["/proc/sys/kernel/pid_max", "/proc/sys/vm/overcommit_ratio",
             "/proc/sys/net/core/somaxconn", f"/proc/{box.pid}/cmdline",
             f"/proc/{box.pid}/status"]
    helped = helper_lab.node.gatherer.read(paths).texts
    direct = lab.node.gatherer.read(paths).texts
    status = f"/proc/{box.pid}/status"
    # what the status says of the process itself; SigQ counts the whole user's queued
    # signals, and the counters move, between two reads
    assert _steady(helped.pop(status)) == _steady(direct.pop(status))
    assert helped == direct
    with open("/proc/sys/kernel/pid_max") as handle:
        assert helped["/proc/sys/kernel/pid_max"] == handle.read()
    assert helped[f"/proc/{box.pid}/cmdline"] == "sleep\0" + "600\0"


def _steady(status: str) -> list[str]:
    """The lines of a /proc/<pid>/status that do not change while a sleeping process sleeps:
    its names, IDs, namespaces' PIDs, capabilities and signal masks."""
    moving = ("SigQ:", "voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:", "Vm", "Rss",
              "Hugetlb", "Threads:")
    return [line for line in status.splitlines() if not line.startswith(moving)]
