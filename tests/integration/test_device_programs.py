"""Podman 4.3's pods on cgroup v2 with the cgroupfs manager (the lab's container on a v2 host,
such as Docker Desktop's VM): the real podman, runc and kernel of this machine.

This machine is cgroup v1, but its kernel also mounts the v2 hierarchy (without
controllers); bound at /sys/fs/cgroup in a mount namespace of the test's own, it is what
Podman takes for a v2 host. Device programs are not a controller, so the kernel enforces
them there as on any v2 host. Each pod gets a cgroup parent of the test's own, removed after.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from labkit import images
from labkit.node import device_programs
from labkit.node.mounts import own_layout
from labkit.node.procfs import processes_with_argument
from labkit.runtimes.podman import service as podman_service
from tests.conftest import need


@pytest.fixture
def v2_podman():
    need(shutil.which("podman") is not None and shutil.which("unshare") is not None,
         "podman is installed (./lab setup installs it)")
    need(os.geteuid() == 0, "rootful podman and a mount namespace need root")
    unified = own_layout().unified
    need(unified is not None, "the kernel mounts the cgroup v2 hierarchy")
    root = Path(unified.mountpoint)
    parent = f"lk-devtest-{secrets.token_hex(3)}"
    tmp_path = Path(tempfile.mkdtemp(prefix="lk-dev-"))  # short: Podman's runroot limit
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy(images.find_busybox(), rootfs / "bin/busybox")
    with tarfile.open(tmp_path / "busybox.tar", "w") as tar:
        tar.add(rootfs, arcname=".")
    (tmp_path / "hooks").mkdir()
    files, procs = podman_service.limits_for_containers()
    (tmp_path / "containers.conf").write_text(
        f'[containers]\ndefault_ulimits = ["nofile={files}:{files}", "nproc={procs}:{procs}"]\n'
        "pids_limit = 0\n"  # this v2 hierarchy has no pids controller
        '[engine]\nruntime = "runc"\n')

    def run(script: str, hooks: bool) -> subprocess.CompletedProcess:
        """A shell script in a mount namespace where /sys/fs/cgroup is the v2 hierarchy;
        ``$P`` is podman with the test's own store, the cgroupfs manager and, if asked,
        labkit's pod device hook."""
        hooks_dir = tmp_path / "hooks"
        for old in hooks_dir.iterdir():
            old.unlink()
        if hooks:
            (hooks_dir / "pod-devices.json").write_text(podman_service.pod_device_hook())
        bind = "" if str(root) == "/sys/fs/cgroup" else f"mount --bind {root} /sys/fs/cgroup"
        prelude = (f"set -e; mount --make-rprivate /; {bind}\n"
                   f"P='podman --root {tmp_path}/store --runroot {tmp_path}/run "
                   f"--tmpdir {tmp_path}/tmp --cgroup-manager cgroupfs --events-backend none "
                   f"--hooks-dir {hooks_dir}'\n")
        conf = {"CONTAINERS_CONF": str(tmp_path / "containers.conf")}
        return subprocess.run(["unshare", "-m", "bash", "-c", prelude + script],
                              capture_output=True, text=True, timeout=180,
                              env={**os.environ, **conf})

    try:
        imported = run("""$P import --change 'CMD ["/bin/busybox", "sleep", "600"]' """
                       f"{tmp_path}/busybox.tar localhost/bb:1", hooks=False)
        assert imported.returncode == 0, imported.stderr
        yield run, root, parent
    finally:
        removed = run("$P pod rm -af -t 0 >/dev/null; $P rm -af -t 0 >/dev/null", hooks=False)
        for directory in sorted((root / parent).glob("**/"), key=lambda p: -len(p.parts)):
            directory.rmdir()
        # conmon runs each ended container's `podman container cleanup` with this store, a
        # moment later: its directories go once those have ended.
        deadline = time.monotonic() + 30
        while processes_with_argument(f"{tmp_path}/store") and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(tmp_path)
    assert removed.returncode == 0, removed.stderr
    # Nothing of this test's Podman is left: its pods had a parent of their own. (The tests
    # running beside it make cgroups of their own at the root meanwhile.)
    assert not (root / parent).exists()


def make_pod(name: str, parent: str) -> str:
    return (f"$P pod create --name {name} --cgroup-parent /{parent} --network none "
            "--infra-image localhost/bb:1\n")


def test_podman_4s_pod_cgroup_denies_every_device_and_labkits_hook_frees_it(v2_podman):
    run, root, parent = v2_podman
    need(podman_service.podman_version()[:2] == (4, 3),
         "Debian 12's Podman 4.3, whose pod cgroups deny every device")
    # Without the hook: the pod is made, its infra container cannot open /dev/null.
    without = run(make_pod("bare", parent) + "$P pod start bare", hooks=False)
    assert without.returncode != 0
    assert "error reopening /dev/null inside container: open /dev/null: operation not " \
           "permitted" in without.stderr, without.stderr
    bare = next(d for d in (root / parent).iterdir() if d.is_dir())
    assert len(device_programs.attached(str(bare))) == 1  # the pod's own, from Podman
    # With labkit's hook: the pod runs a member, and the pod's cgroup holds no program
    # while each container's own cgroup keeps runc's.
    made = run(make_pod("freed", parent) + "$P pod start freed >/dev/null\n"
               "$P run -d --pod freed --name freed-app localhost/bb:1 /bin/busybox sleep 600 "
               ">/dev/null\n$P exec freed-app /bin/busybox cat /proc/self/cgroup\n"
               "$P pod inspect freed --format '{{.State}} {{.CgroupPath}}'", hooks=True)
    assert made.returncode == 0, made.stderr
    state, cgroup_path = made.stdout.splitlines()[-1].split()
    assert state == "Running"
    pod = root / cgroup_path.strip("/")
    assert device_programs.attached(str(pod)) == []
    members = [d for d in pod.iterdir() if d.is_dir() and d.name.startswith("libpod-")]
    assert len(members) == 2  # the infra container and the app
    assert all(len(device_programs.attached(str(m))) == 1 for m in members)
    # The app still may not open what its spec leaves out: runc's program holds.
    denied = run("$P exec freed-app /bin/busybox mknod /mem c 1 1 && "
                 "$P exec freed-app /bin/busybox head -c1 /mem", hooks=True)
    assert denied.returncode != 0 and "Operation not permitted" in denied.stderr, denied


def test_the_hook_finds_the_pod_cgroup_only_for_a_pods_container():
    pod, ctr = "a" * 64, "b" * 64
    find = device_programs.pod_cgroup_of
    assert find(ctr, f"0::/libpod_parent/{pod}/libpod-{ctr}\n") == f"/libpod_parent/{pod}"
    assert find(ctr, f"0::/libpod_parent/libpod-{ctr}\n") is None  # a container of no pod
    assert find("c" * 64, f"0::/libpod_parent/{pod}/libpod-{ctr}\n") is None  # not its own
    assert find(ctr, f"0::/docker/{pod}/{ctr}\n") is None  # not a Podman container's cgroup
    assert find(ctr, f"4:memory:/libpod_parent/{pod}/libpod-{ctr}\n") is None  # no v2 path
    # never a cgroup that holds the hook itself (a lab's container named like a pod)
    assert find(ctr, f"0::/{pod}/libpod-{ctr}\n", own_cgroup=f"0::/{pod}/init\n") is None
