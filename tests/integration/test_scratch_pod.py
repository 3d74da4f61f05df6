"""Chapter 6's pod from scratch on the real kernel: processes made with unshare and nsenter,
cgroups written under /sys/fs/cgroup (v1 here; the v2 guest checks v2), no engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import labkit
from labkit.cleanup import clean_session, lab_cgroup_dirs
from labkit.errors import LabError, SpecError
from labkit.runtimes.scratch import cgroups, rootfs
from labkit.views import sharing_labels
from tests.manifests import BROKEN, FOO

from .helpers import run_as_learner

SLEEPER = {"image": "busybox", "command": "sleep 600"}
BOX = {"app": SLEEPER}


@pytest.fixture(scope="module")
def lab():
    if os.geteuid() != 0:
        pytest.skip("a pod from scratch needs root")
    with labkit.Lab(watch_owner=False) as lab:
        yield lab


def _traces(lab, name: str) -> list[str]:
    """Everything a pod from scratch named ``name`` could leave: its directory, its cgroup
    in any hierarchy, processes in it."""
    found = []
    directory = os.path.join(rootfs.BASE, lab.session.name(name))
    if os.path.exists(directory):
        found.append(directory)
    path = cgroups.pod_path(lab.session.prefix, name)
    layout = lab.node.layout
    found += [m.directory(path) for m in layout.mounts
              if m.directory(path) and os.path.exists(m.directory(path))]
    found += [f"pid {p}" for p in cgroups.tree_pids(layout, path)]
    return found


def _read(directory: str, name: str) -> str:
    with open(os.path.join(directory, name)) as handle:
        return handle.read().strip()


def test_the_namespaces_are_shared_as_a_pod_shares_them(lab):
    with lab.scratch_pod(FOO, quiet=True) as pod:
        obs = lab.observe(pod)
        assert [m.name for m in obs.members] == ["pause", "app", "sidecar"]
        labels = sharing_labels(obs)
        for member in ("app", "sidecar"):
            assert {ns: labels[member][ns] for ns in ("net", "ipc", "uts")} == \
                dict.fromkeys(("net", "ipc", "uts"), "shared with pause")
            assert labels[member]["mnt"] == labels[member]["pid"] == "own"
        assert {ns for ns, label in labels["pause"].items() if label == "own"} == \
            {"net", "ipc", "uts", "pid", "mnt"}
        # the same matrix as the CRI pod of the same manifest, row for row
        cri = lab.cri_pod(FOO.replace("name: foo", "name: twin"), quiet=True)
        try:
            theirs = sharing_labels(lab.observe(cri))
        finally:
            cri.delete()
        assert labels["app"] == theirs["app"] and labels["sidecar"] == theirs["sidecar"]
        assert labels["pause"] == theirs["pause"]
        assert pod.exec("app", "cat /proc/1/comm").output.strip() == "httpd"
        assert pod.exec("sidecar", "hostname").output.strip() == "foo"


def test_the_limits_are_in_the_kernels_files(lab):
    containers = {"app": {**SLEEPER, "memory": "64Mi", "cpus": 0.5},
                  "sidecar": {**SLEEPER, "memory": "32Mi", "cpus": 0.25}}
    with lab.scratch_pod(name="limits", containers=containers, quiet=True) as pod:
        layout = lab.node.layout
        memory = layout.for_controller("memory").directory(pod.cgroup_parent)
        cpu = layout.for_controller("cpu").directory(pod.cgroup_parent)
        assert int(_read(memory, "memory.limit_in_bytes")) == 96 * 2**20
        assert _read(cpu, "cpu.cfs_quota_us") == "75000"
        assert int(_read(f"{memory}/app", "memory.limit_in_bytes")) == 64 * 2**20
        assert _read(f"{cpu}/sidecar", "cpu.cfs_quota_us") == "25000"
        assert _read(f"{cpu}/app", "cpu.shares") == "512"
        for member in pod.members():
            assert lab.node.cgroups(member.pid)["memory"] == f"{pod.cgroup_parent}/{member.name}"
        obs = lab.observe(pod)
        assert obs.trees[0].path == pod.cgroup_parent
        assert obs.member("app").state.limits.memory_bytes == 64 * 2**20
        # exec runs in the member's cgroup, as docker exec does
        line = pod.exec("app", "cat /proc/self/cgroup").output
        assert f"memory:{pod.cgroup_parent}/app" in line


def test_localhost_and_shm_join_the_containers(lab):
    with lab.scratch_pod(FOO, quiet=True) as pod:
        page = ""
        for _ in range(50):  # httpd binds its port just after it starts
            page = pod.exec("sidecar", "curl -s http://localhost:80/").output
            if "<html" in page:
                break
            time.sleep(0.1)
        assert "labkit stand-in web server" in page
        assert pod.exec("app", "echo from-app > /dev/shm/note").exit_code == 0
        assert pod.exec("sidecar", "cat /dev/shm/note").output.strip() == "from-app"
        # loopback only: the pod's network has no other interface
        links = pod.exec("sidecar", "ls /sys/class/net").output.split()
        assert "lo" in pod.exec("app", "ip -o link").output and links


def test_when_pause_dies_the_containers_live_on_and_no_one_can_join(lab):
    with lab.scratch_pod(FOO, quiet=True) as pod:
        pause = pod.sandbox.pid
        pod.kill_sandbox()
        assert pod.state == "sandbox gone"
        assert [m.name for m in pod.members()] == ["app", "sidecar"]
        labels = sharing_labels(lab.observe(pod))
        assert labels["sidecar"]["net"] == "shared with app"
        assert not os.path.exists(f"/proc/{pause}/ns/net")
        joined = subprocess.run(["nsenter", "--target", str(pause), "--net", "true"],
                                capture_output=True, text=True)
        assert joined.returncode != 0


@pytest.mark.parametrize("host_users", [True, False], ids=["host-users", "own-user-namespace"])
def test_delete_leaves_nothing(lab, host_users):
    pod = lab.scratch_pod(FOO, quiet=True, host_users=host_users)
    holder = pod._holder.pid if pod._holder else None
    # a process that joins the pod by hand goes with it too
    extra = subprocess.Popen(["sh", "-c", f"echo $$ > {pod['app'].procs_files[0]}; "
                              "exec sleep 600"])
    time.sleep(0.2)
    assert extra.pid in cgroups.tree_pids(lab.node.layout, pod.cgroup_parent)
    pids = [m.pid for m in pod.members()]
    pod.delete()
    assert extra.wait(timeout=5) == -signal.SIGKILL
    assert _traces(lab, "foo") == []
    # Each member's PID 1 outlives its parent (unshare, killed with it) for the moment the
    # machine's init takes to reap it: a busy CI machine once still listed one.
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{pid}") for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in pids)
    assert holder is None or not os.path.exists(f"/proc/{holder}")
    assert pod.state == "deleted"
    pod.delete()  # again: nothing


def test_in_a_user_namespace_with_a_shared_process_namespace(lab):
    """hostUsers: false with shareProcessNamespace: the app joins pause's PID namespace and
    its user namespace, root there and the pod's first ID on the host."""
    with lab.scratch_pod(name="shared-users", containers=BOX, share_process_namespace=True,
                         host_users=False, quiet=True) as pod:
        labels = sharing_labels(lab.observe(pod))
        assert labels["app"]["pid"] == labels["app"]["user"] == "shared with pause"
        assert labels["pause"]["user"] == "own"
        assert pod.exec("app", "cat /proc/1/comm; id -u").output.split() == ["pause", "0"]
        assert os.stat(f"/proc/{pod['app'].pid}").st_uid == pod.user_range


def test_a_map_the_kernel_refuses_is_one_sentence_and_leaves_nothing(lab, monkeypatch):
    """A range that reaches 2**32 (the one above labkit's last): the kernel refuses the map;
    labkit says the line that failed and why, and removes what it made, the holder
    included."""
    from labkit.runtimes.scratch import pod as scratch

    monkeypatch.setattr(scratch, "free_range", lambda: 2**32 - 65536)
    before = set(os.listdir("/proc"))
    with pytest.raises(LabError) as refused:
        lab.scratch_pod(name="unmapped", containers=BOX, host_users=False, quiet=True)
    said = str(refused.value)
    assert said.startswith("`echo '0 4294901760 65536' > /proc/") and "\n" not in said, said
    assert "Invalid argument" in said, said
    assert _traces(lab, "unmapped") == []
    time.sleep(0.2)
    new = {p for p in set(os.listdir("/proc")) - before if p.isdigit()}
    assert not [p for p in new if _cmdline(p) == "sleep infinity"]  # the holder is gone


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as handle:
            return handle.read().replace("\0", " ").strip()
    except OSError:
        return ""


def test_a_foreign_cgroup_and_process_are_untouched(lab):
    mount = lab.node.layout.for_controller("memory")
    foreign = os.path.join(mount.mountpoint, f"labkit-test-foreign-{os.getpid()}")
    os.mkdir(foreign)
    sleeper = subprocess.Popen(["sh", "-c", f"echo $$ > {foreign}/cgroup.procs; "
                                "exec sleep 600"])
    try:
        time.sleep(0.2)
        with lab.scratch_pod(FOO, quiet=True):
            pass
        assert sleeper.poll() is None and os.path.isdir(foreign)
        clean_session(lab.session.id)
        assert sleeper.poll() is None and os.path.isdir(foreign)
    finally:
        sleeper.kill()
        sleeper.wait()
        for _ in range(50):
            try:
                os.rmdir(foreign)
                break
            except OSError:
                time.sleep(0.05)


CRASHING = """
import json, sys, time, labkit
lab = labkit.Lab(watch_owner=False)
pod = lab.scratch_pod(sys.argv[1], quiet=True)
print(json.dumps({"session": lab.session.id,
                  "pids": [m.pid for m in pod.members()]}), flush=True)
time.sleep(600)
"""


def test_a_crashed_sessions_pod_is_removed_by_cleanup_and_a_live_one_kept(lab):
    live = lab.scratch_pod(name="live", containers=BOX, quiet=True)
    owner = subprocess.Popen([sys.executable, "-c", CRASHING, FOO], stdout=subprocess.PIPE,
                             text=True, cwd=os.path.dirname(os.path.dirname(__file__)) + "/..")
    try:
        told = json.loads(owner.stdout.readline())
    finally:
        owner.kill()  # SIGKILL: no cleanup runs in it
        owner.wait()
    sid = told["session"]
    assert all(os.path.exists(f"/proc/{pid}") for pid in told["pids"])
    left = clean_session(sid)
    assert left == [] or all("containers" in f for f in left)
    for _ in range(50):
        if not any(os.path.exists(f"/proc/{pid}") for pid in told["pids"]):
            break
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in told["pids"])
    assert lab_cgroup_dirs(lab.node.layout, sid) == []
    assert not [d for d in os.listdir(rootfs.BASE) if d.startswith(f"lk-{sid}-")]
    assert live.state == "running" and _traces(lab, "live")  # another session's: kept
    live.delete()


@pytest.mark.parametrize("broken", BROKEN, ids=["field", "duplicate", "quantity", "yaml"])
def test_a_bad_manifest_is_one_sentence_and_makes_nothing(lab, broken):
    with pytest.raises(SpecError) as caught:
        lab.scratch_pod(broken)
    assert "\n" not in str(caught.value) and str(caught.value).endswith((".", "?"))
    assert _traces(lab, "foo") == []


def test_an_image_without_a_busybox_stand_in_is_refused_before_anything_exists(lab):
    with pytest.raises(SpecError, match=r"no image store.*lab\.cri_pod"):
        lab.scratch_pod(name="redis", containers={"app": {"image": "redis:7"}})
    with pytest.raises(SpecError, match="cannot be called pause"):
        lab.scratch_pod(name="named", containers={"pause": SLEEPER})
    assert _traces(lab, "redis") == [] and _traces(lab, "named") == []


def test_a_duplicate_name_is_refused_and_the_first_pod_kept(lab):
    with lab.scratch_pod(name="twice", containers=BOX, quiet=True) as first:
        with pytest.raises(SpecError, match="already has a pod from scratch named twice"):
            lab.scratch_pod(name="twice", containers=BOX, quiet=True)
        assert first.state == "running"
    assert _traces(lab, "twice") == []


def test_a_missing_tool_is_one_sentence(lab, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LabError, match=r"runs unshare.*apt-get install util-linux"):
        lab.scratch_pod(name="notools", containers=BOX, quiet=True)
    monkeypatch.undo()
    assert _traces(lab, "notools") == []


def test_not_root_is_one_sentence():
    result = run_as_learner(
        "import json\n"
        "from labkit.manifest import pod_from_kwargs\n"
        "from labkit.runtimes.scratch import ScratchPod\n"
        "from labkit.session import Session\n"
        "spec = pod_from_kwargs('foo', {'app': {'image': 'busybox'}})\n"
        "try:\n"
        "    ScratchPod(Session(), spec).start()\n"
        "    print(json.dumps({'error': None}))\n"
        "except Exception as e:\n"
        "    print(json.dumps({'type': type(e).__name__, 'error': str(e)}))\n",
        docker_group=False)
    assert result["type"] == "LabError"
    assert "needs root" in result["error"] and "sudo ./lab up" in result["error"]


def test_host_network_keeps_the_hosts_name_and_network(lab):
    hostname = os.uname().nodename
    with lab.scratch_pod(name="hostnet", containers=BOX, host_network=True,
                         quiet=True) as pod:
        labels = sharing_labels(lab.observe(pod))
        assert labels["app"]["net"] == labels["app"]["uts"] == "host"
        assert labels["app"]["ipc"] == "shared with pause"
        assert pod.exec("app", "hostname").output.strip() == hostname
    assert os.uname().nodename == hostname


def test_share_process_namespace_puts_pause_as_pid_1(lab):
    with lab.scratch_pod(name="shared", containers=BOX, share_process_namespace=True,
                         quiet=True) as pod:
        assert sharing_labels(lab.observe(pod))["app"]["pid"] == "shared with pause"
        assert pod.exec("app", "cat /proc/1/comm").output.strip() == "pause"


def test_the_root_file_system_unpacks_on_debian_12s_python(tmp_path, monkeypatch):
    """Debian 12's Python (3.11.2) has no tarfile filters; the v2 guest runs it."""
    import tarfile

    from labkit.runtimes.scratch import rootfs

    monkeypatch.delattr(tarfile, "tar_filter", raising=False)  # absent there already
    rootfs.unpack(str(tmp_path))
    assert os.access(tmp_path / "bin" / "busybox", os.X_OK)
    assert (tmp_path / "etc" / "hosts").read_text().startswith("127.0.0.1\tlocalhost")
