"""What a chapter prints as "the commands you would type" rebuilds what labkit made.

For chapter 1's plain container, ``foo.command()`` is typed after ``docker rm -f`` of its
name, and Docker and the kernel must say the same of the new container. For the
Docker-emulated pod (chapter 3), the Podman pod made by hand (chapter 5) and the pod
from scratch (chapter 6): labkit makes the pod and the kernel is read (who shares which
namespace with whom, each member's and the pod's cgroup values, hostnames); the pod is
deleted; ``pod.commands()`` is typed into bash as it is printed; the kernel is read again
for the processes those commands started, and both readings must be equal. Everything
typed carries the session's names and labels, so the session's cleanup removes it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import labkit
from labkit.cleanup import clean
from labkit.model import Member
from labkit.views import sharing_labels
from tests.conftest import need

# Limits and requests on both containers, a hostname, an environment variable: every kind
# of flag the three plans carry.
POD = """
apiVersion: v1
kind: Pod
metadata:
  name: typed
spec:
  containers:
  - name: app
    image: nginx
    env:
    - name: GREETING
      value: hello
    resources:
      requests: {cpu: 200m, memory: 64Mi}
      limits: {cpu: 500m, memory: 96Mi}
  - name: sidecar
    image: busybox
    command: ["sleep", "3650d"]
    resources:
      limits: {cpu: 250m, memory: 32Mi}
"""
VENV_BIN = os.path.dirname(sys.executable)  # `labkit podman` runs from the lab's venv


def _view(lab, pids: dict[str, int], parent: str) -> dict:
    """What the kernel says of these processes: namespaces shared, cgroup values, hostname
    (read in each process's UTS namespace), and the pod cgroup's values."""
    members = [Member(name, pid, name, "sandbox" if i == 0 else name)
               for i, (name, pid) in enumerate(pids.items())]
    obs = lab.node.snapshot(members, trees=(parent,))
    limits = {m.name: m.state.limits for m in obs.members}
    hostnames = {name: subprocess.run(["nsenter", "--target", str(pid), "--uts", "hostname"],
                                      capture_output=True, text=True).stdout.strip()
                 for name, pid in pids.items()}
    pod = obs.trees[0].state.limits
    users = {name: (_read(f"/proc/{pid}/uid_map"), _read(f"/proc/{pid}/gid_map"),
                    os.stat(f"/proc/{pid}/root/etc/hosts").st_uid)
             for name, pid in pids.items()}
    return {"sharing": sharing_labels(obs), "hostnames": hostnames, "users": users,
            "limits": {n: (v.memory_bytes, v.cpu_quota_us, v.cpu_shares, v.cpu_weight)
                       for n, v in limits.items()},
            "pod": (pod.memory_bytes, pod.cpu_quota_us, pod.cpu_shares, pod.cpu_weight)}


def _read(path: str) -> str:
    with open(path) as handle:
        return " ".join(handle.read().split())


def _type(lines: list[str], tmp_path) -> None:
    """The lines, as printed, into one root bash (as a learner pastes them); what they print
    goes to a file, which the processes they leave in the background may keep open."""
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    said = tmp_path / "typed.log"
    with open(said, "w") as out:
        done = subprocess.run(["bash", "-e", "-c", "\n".join(lines)], stdout=out, stderr=out,
                              timeout=120, env=env, stdin=subprocess.DEVNULL,
                              start_new_session=True)
    assert done.returncode == 0, f"typed commands failed: {said.read_text()}\n{lines}"


def _until(read, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = read()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("what the typed commands started did not appear")


@pytest.fixture
def typing_lab(docker_client):
    need(os.geteuid() == 0, "typing the chapters' commands needs root, as the chapters do")
    lab = labkit.Lab(gather="direct", watch_owner=False)
    yield lab
    lab.close()
    assert not clean(lab.session.id, docker_client).failed  # what was typed goes too


def _container_view(lab, docker_client, name: str) -> dict:
    """What Docker and the kernel say of one plain container: its image, command, limits as
    Docker keeps them, and the limits the kernel holds in its cgroup."""
    details = docker_client.api.inspect_container(name)
    host, config = details["HostConfig"], details["Config"]
    member = Member(name, details["State"]["Pid"], details["Id"])
    limits = lab.node.snapshot([member]).members[0].state.limits
    return {"image": config["Image"], "cmd": config["Cmd"], "labels": config["Labels"],
            "docker": (host["Memory"], host["MemorySwap"], host["NanoCpus"]),
            "kernel": (limits.memory_bytes, limits.cpu_quota_us, limits.cpu_period_us)}


def test_the_docker_container_as_typed(typing_lab, docker_client, tmp_path):
    """Chapter 1's ``foo.command()``: while foo is there Docker refuses it (the name is
    taken); after ``docker rm -f`` of that name it makes the same container again."""
    lab = typing_lab
    foo = lab.run("foo", "nginx", memory="512MB", cpus=0.5, quiet=True)
    line, name = foo.command(), foo.engine_name
    made = _container_view(lab, docker_client, name)
    refused = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
    assert refused.returncode != 0 and "is already in use" in refused.stderr, refused.stderr
    _type([f"docker rm -f {name}", line], tmp_path)

    def running() -> bool:
        return docker_client.api.inspect_container(name)["State"]["Running"]

    _until(running)
    assert _container_view(lab, docker_client, name) == made


def test_the_docker_pod_as_typed(typing_lab, docker_client, tmp_path):
    lab = typing_lab
    pod = lab.docker_pod(POD, quiet=True)
    names = {m: pod[m].engine_name for m in ("sandbox", "app", "sidecar")}
    made = _view(lab, {m: pod[m].pid for m in names}, pod.cgroup_parent)
    memory = {m: _memory_and_swap(docker_client, names[m]) for m in names}
    lines, parent = pod.commands(), pod.cgroup_parent
    pod.delete()
    _type(lines, tmp_path)

    def pids() -> dict[str, int]:
        found = {}
        for member, name in names.items():
            state = docker_client.api.inspect_container(name)["State"]
            if not state["Running"]:
                return {}
            found[member] = state["Pid"]
        return found

    assert _view(lab, _until(pids), parent) == made
    # Docker's own memory+swap too (the kubelet's no swap above the limit, where Docker can)
    assert {m: _memory_and_swap(docker_client, names[m]) for m in names} == memory


def _memory_and_swap(docker_client, name: str) -> tuple[int, int]:
    host = docker_client.api.inspect_container(name)["HostConfig"]
    return host["Memory"], host["MemorySwap"]


def test_the_podman_pod_by_hand_as_typed(typing_lab, tmp_path):
    lab = typing_lab
    pod = lab.podman_pod(name="typed", containers={
        "app": {"image": "nginx", "memory": "96Mi", "cpus": "500m"},
        "sidecar": {"image": "busybox", "command": "sleep 3650d", "memory": "32Mi"}},
        share="+pid", quiet=True)
    _retyped_podman_pod_is_the_same(lab, pod, tmp_path)


def test_the_podman_pod_played_as_typed(typing_lab, tmp_path):
    """The manifest labkit writes and the `labkit podman kube play` it runs."""
    lab = typing_lab
    pod = lab.podman_pod(POD, quiet=True)
    _retyped_podman_pod_is_the_same(lab, pod, tmp_path)


def test_the_podman_pod_in_a_user_namespace_as_typed(typing_lab, tmp_path):
    """Chapter 8's pod with hostUsers: false: `pod create --uidmap/--gidmap` typed back maps
    the same range of the host's IDs."""
    lab = typing_lab
    pod = lab.podman_pod(name="apart", containers={
        "app": {"image": "busybox", "command": "sleep 3650d"},
        "sidecar": {"image": "busybox", "command": "sleep 3650d"}},
        host_users=False, quiet=True)
    assert "--uidmap" in "\n".join(pod.commands())
    _retyped_podman_pod_is_the_same(lab, pod, tmp_path)


def test_the_podman_pod_on_a_network_as_typed(typing_lab, tmp_path):
    """Chapter 7's Podman pod: the session's CNI network written where Podman loads it,
    and `kube play --network` on it, typed back: the same pod, with an eth0 on the bridge."""
    lab = typing_lab
    pod = lab.podman_pod(POD, network=True, quiet=True)
    assert pod.commands()[0].startswith("echo '{") and lab.podman.network_file in \
        pod.commands()[0]
    _retyped_podman_pod_is_the_same(lab, pod, tmp_path)
    infra = _podman_pids(pod.engine_name)["infra"]
    eth0 = subprocess.run(["nsenter", "--target", str(infra), "--net", "ip", "-o", "-4",
                           "addr", "show", "eth0"], capture_output=True, text=True).stdout
    assert " 10.235." in eth0


def _id_maps(pids: dict[str, int]) -> dict[str, tuple[str, str]]:
    """Each process's uid_map and gid_map, as the kernel holds them."""
    def read(pid: int, which: str) -> str:
        with open(f"/proc/{pid}/{which}") as handle:
            return " ".join(handle.read().split())
    return {name: (read(pid, "uid_map"), read(pid, "gid_map")) for name, pid in pids.items()}


def _retyped_podman_pod_is_the_same(lab, pod, tmp_path) -> None:
    """Delete the Podman pod, type its printed commands, and read the kernel: the same
    namespaces, cgroup values, hostnames and user ID maps."""
    pids = {m.name: m.pid for m in pod.members()}
    made = {**_view(lab, pids, pod.cgroup_parent), "id maps": _id_maps(pids)}
    lines, engine_name, old_id = pod.commands(), pod.engine_name, pod.id
    pod.delete()
    _type(lines, tmp_path)

    def pids() -> dict[str, int]:
        return _podman_pids(engine_name)

    # The pod typed back has a new ID, and both cgroup managers name its cgroup by it:
    # cgroupfs "/libpod_parent/<id>", systemd "/machine.slice/machine-libpod_pod_<id>.slice".
    assert old_id in pod.cgroup_parent
    parent = pod.cgroup_parent.replace(old_id, _until(lambda: _pod_id(engine_name)))
    typed = _until(pids)
    assert {**_view(lab, typed, parent), "id maps": _id_maps(typed)} == made


def _podman_pids(engine_name: str) -> dict[str, int]:
    """infra, app and sidecar's host PIDs, as `labkit podman` tells them; {} until all run."""
    labkit_cli = os.path.join(VENV_BIN, "labkit")
    listed = subprocess.run([labkit_cli, "podman", "pod", "inspect", engine_name],
                            capture_output=True, text=True)
    if listed.returncode:
        return {}
    found = json.loads(listed.stdout)
    found = found[0] if isinstance(found, list) else found
    by_name = {}
    for entry in found["Containers"]:
        state = subprocess.run([labkit_cli, "podman", "inspect", "-f", "{{.State.Pid}}",
                                entry["Id"]], capture_output=True, text=True).stdout.strip()
        member = "infra" if entry["Id"] == found["InfraContainerID"] else \
            entry["Name"].removeprefix(f"{engine_name}-")
        by_name[member] = int(state or 0)
    if len(by_name) < 3 or not all(by_name.values()):
        return {}
    return {m: by_name[m] for m in ("infra", "app", "sidecar")}


def _pod_id(name: str) -> str:
    listed = subprocess.run([os.path.join(VENV_BIN, "labkit"), "podman", "pod", "inspect",
                             "-f", "{{.Id}}", name], capture_output=True, text=True)
    return listed.stdout.strip()


@pytest.mark.parametrize("host_users", [True, False], ids=["host-users", "own-user-namespace"])
def test_the_pod_from_scratch_as_typed(typing_lab, tmp_path, host_users):
    """Also with ``hostUsers: false`` (chapter 8): the holder of the user namespace, its
    maps, every member started in it and placed in its cgroup from the host; typed, the
    same maps, the same owner of each root file system, the same sharing."""
    lab = typing_lab
    manifest = POD if host_users else POD.replace("spec:\n", "spec:\n  hostUsers: false\n", 1)
    pod = lab.scratch_pod(manifest, quiet=True)
    made = _view(lab, {m.name: m.pid for m in pod.members()}, pod.cgroup_parent)
    lines, layout, parent = pod.commands(), lab.node.layout, pod.cgroup_parent
    pod.delete()
    _type(lines, tmp_path)
    memory = layout.for_controller("memory")

    def pids() -> dict[str, int]:
        found = {}
        for member in ("pause", "app", "sidecar"):
            procs = os.path.join(memory.directory(f"{parent}/{member}"), "cgroup.procs")
            try:
                with open(procs) as handle:
                    listed = [int(p) for p in handle.read().split()]
            except OSError:
                return {}
            first = _first_process(listed)
            if first is None:
                return {}
            found[member] = first
        return found

    assert _view(lab, _until(pids), parent) == made


def test_a_container_joined_and_a_command_run_by_hand_in_a_user_namespace(typing_lab,
                                                                          tmp_path):
    """hostUsers: false, by hand: ``pod.join_commands()`` typed starts a container in the
    pod's user namespace (root there, the pod's first ID on the host), placed in its cgroup
    from the host; ``pod.exec_command()`` typed runs a command as root there too."""
    lab = typing_lab
    pod = lab.scratch_pod(name="apart", quiet=True, host_users=False, containers={
        "app": {"image": "busybox", "command": "sleep 3650d"}})
    first = pod.user_range
    _type(pod.join_commands("debug", "sleep 600"), tmp_path)
    memory = lab.node.layout.for_controller("memory").directory(pod.cgroup_parent)

    def debug() -> int | None:
        with open(f"{memory}/debug/cgroup.procs") as handle:
            return _first_process([int(p) for p in handle.read().split()])

    pid = _until(debug)
    assert os.readlink(f"/proc/{pid}/ns/user") == os.readlink(f"/proc/{pod['app'].pid}/ns/user")
    assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
    assert _read(f"/proc/{pid}/uid_map") == f"0 {first} 65536"
    assert os.stat(f"/proc/{pid}").st_uid == first  # its root is the pod's first ID
    typed = subprocess.run(["bash", "-e", "-c", "\n".join(pod.exec_command("app", "id -u"))],
                           capture_output=True, text=True, timeout=30)
    assert typed.stdout.split() == ["0"], typed.stdout + typed.stderr
    pod.delete()
    assert not os.path.exists(f"/proc/{pid}")


def _first_process(listed: list[int]) -> int | None:
    """A cgroup's first process, in its root file system: the one whose parent is not in
    the cgroup. None until there is one, or while a listed process has ended since it was
    listed (one of the typed commands' short-lived helpers): the cgroup is read again."""
    try:
        parents = {pid: _parent(pid) for pid in listed}
        first = [pid for pid in listed if parents[pid] not in listed]
        if not first or os.readlink(f"/proc/{first[0]}/root") == "/":
            return None  # not yet in its root file system
    except FileNotFoundError:
        return None
    return first[0]


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


def test_the_network_of_a_pod_from_scratch_as_typed(typing_lab, tmp_path):
    """Chapter 7: ``pod.plumb()`` adds its lines to the pod's plan (the session's bridge and
    its firewall rule, a veth pair, one end moved into pause's network namespace, renamed
    eth0 and given its address); deleted, the pod takes its bridge and rule along; typed,
    the lines rebuild the same network."""
    from labkit.node import firewall
    from labkit.node.network import read_namespace

    lab = typing_lab
    pod = lab.scratch_pod(POD, quiet=True)
    pod.plumb()

    def network(pid: int) -> dict:
        net = read_namespace(pid, "typed")
        return {"links": [(link.name, link.kind, link.up, sorted(str(a) for a in link.ipv4()))
                          for link in net.links],
                "routes": [str(route) for route in net.routes],
                "peers": {name: (peer.name, peer.master, peer.up)
                          for name, peer in net.peers.items()},
                "bridges": {name: bridge.ipv4() for name, bridge in net.bridges.items()},
                "rules": [rule for rule in firewall.session_rules(lab.session.id)
                          if any(f"-i {name} " in rule for name in net.bridges)]}

    made = network(pod["pause"].pid)
    assert made["peers"]["eth0"][1] == f"lk{lab.session.id}s" and made["rules"]
    lines, memory, parent = pod.commands(), lab.node.layout.for_controller("memory"), \
        pod.cgroup_parent
    pod.delete()
    assert not os.path.exists(f"/sys/class/net/lk{lab.session.id}s")  # went with its pod
    _type(lines, tmp_path)

    def pause() -> int:
        procs = os.path.join(memory.directory(f"{parent}/pause"), "cgroup.procs")
        try:
            with open(procs) as handle:
                listed = [int(p) for p in handle.read().split()]
        except OSError:
            return 0
        return _first_process(listed) or 0

    pid = _until(pause)
    _until(lambda: os.path.exists(f"/sys/class/net/{made['peers']['eth0'][0]}"))
    assert network(pid) == made
