"""Chapter 5 on a real Podman (Debian's 4.3), run by labkit rootful with its own storage,
configuration and API socket: one service for the module where a test leaves it as it found
it (its pods are removed after it), a service of its own where the test kills it, closes it
or changes what it holds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

import labkit
from labkit.errors import EngineRefused, EngineUnavailable, ImageUnavailable, LabError, SpecError
from labkit.runtimes.podman import service as podman_service
from labkit.session import SESSION_LABEL
from labkit.views import sharing_labels
from tests.conftest import need
from tests.integration.exercise_lab import Made, made_by_a_lab
from tests.manifests import BROKEN, FOO

BOX = {"app": {"image": "busybox", "command": "sleep 600"}}


def _lab_podman(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(podman_service.podman_command(*args), capture_output=True,
                          text=True, env=podman_service.podman_environment(), timeout=120)


def _labelled(kind: str, session: str) -> list[str]:
    """This session's pods or containers in labkit's podman store (podman must answer)."""
    every = ["-a"] if kind == "container" else []
    listed = _lab_podman(kind, "ps", *every, "-q", "--filter",
                         f"label=io.labkit.session={session}")
    assert listed.returncode == 0, listed.stderr
    return listed.stdout.split()


def _traces(lab, pod_ids) -> list[str]:
    """What this session could leave: labelled pods and containers, its service, socket and
    log, and the cgroups of its pods."""
    sid = lab.session.id
    found = []
    for kind in ("pod", "container"):
        found += [f"{kind} {item}" for item in _labelled(kind, sid)]
    for suffix in (".sock", ".log", ".pods"):
        path = f"{podman_service.RUN_BASE}/lk-{sid}-podman{suffix}"
        if os.path.exists(path):
            found.append(path)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    found += [line for line in ps.splitlines() if f"lk-{sid}-podman.sock" in line]
    for pod_id in pod_ids:
        found += [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/libpod_parent/{pod_id}")]
    return found


@pytest.fixture
def podman_lab(docker_client):
    need(shutil.which("podman") is not None, "podman is installed (./lab setup installs it)")
    need(os.geteuid() == 0, "labkit's podman runs rootful")
    lab = labkit.Lab(gather="direct")
    lab.pod_ids = []  # every pod made, to look for its traces after
    yield lab
    lab.close()
    assert _traces(lab, lab.pod_ids) == []


def session_pod_ids(lab) -> list[str]:
    label = f"{SESSION_LABEL}={lab.session.id}"
    listed = lab.podman.api.call("GET", "/pods/json", what="list the session's pods",
                                 params={"filters": f'{{"label":["{label}"]}}'}) or []
    return [pod["Id"] for pod in listed]


class PodmanMade(Made):
    """As Made, keeping the ids of the pods it removes in ``lab.pod_ids`` (where ``_made``
    keeps those a test removes itself), to look for their traces at the end."""

    def __init__(self, lab):
        super().__init__(lab)
        lab.pod_ids = self.pod_ids = []

    def undo(self, keep: set[str]) -> None:
        if set(self.keys()) - keep:
            self.pod_ids += session_pod_ids(self.lab)
        super().undo(keep)


def made_with_podman() -> Iterator[PodmanMade]:
    """A module fixture's body: one lab and one podman service for the module; at the end
    nothing of the session is left: no pod, container, service, socket or pod cgroup."""
    need(shutil.which("podman") is not None, "podman is installed (./lab setup installs it)")
    need(os.geteuid() == 0, "labkit's podman runs rootful")
    yield from made_by_a_lab("podman", made=PodmanMade,
                             traces=lambda lab: _traces(lab, lab.pod_ids))


@pytest.fixture(scope="module")
def podman_made(docker_client):
    """For the tests that leave the service as they found it; each test's pods go after it."""
    yield from made_with_podman()


@pytest.fixture
def pod_lab(podman_made):
    """The module's lab and its running podman service; the pods the test made go after it."""
    yield podman_made.lab
    podman_made.drop()


def _made(lab, pod):
    lab.pod_ids.append(pod.id)
    return pod


def test_the_article_manifest_played(pod_lab):
    pod = _made(pod_lab, pod_lab.podman_pod(FOO, quiet=True))
    obs = pod_lab.observe(pod)
    labels = sharing_labels(obs)
    assert [m.name for m in obs.members] == ["infra", "app", "sidecar"]
    assert {ns for ns, label in labels["infra"].items() if label == "own"} == \
        {"net", "ipc", "uts", "pid", "mnt"}
    for member in ("app", "sidecar"):
        assert {ns for ns, label in labels[member].items() if label == "shared with infra"} \
            == {"net", "ipc", "uts"}
        assert labels[member]["pid"] == labels[member]["mnt"] == "own"
    # The infra container runs the lab's pause, found by its host PID.
    assert Path(f"/proc/{obs.member('infra').member.pid}/comm").read_text().strip() == "pause"
    # One cgroup for the pod: /libpod_parent/<pod id>, each container a libpod-<id> in it.
    assert pod.cgroup_parent == f"/libpod_parent/{pod.id}"
    for member in ("app", "sidecar"):
        container_id = pod[member]
        assert obs.member(member).state.path == f"{pod.cgroup_parent}/libpod-{container_id}"
    assert obs.member("app").state.limits.memory_bytes == 256 * 2**20
    assert obs.member("sidecar").state.limits.memory_bytes == 128 * 2**20
    # conmon sits in the pod's cgroup, beside the containers.
    for pid in pod.conmon_pids().values():
        assert pod_lab.node.cgroups(pid)["memory"] == f"{pod.cgroup_parent}/conmon"
    # kube play writes no pod-level limit (the kubelet would write the sum).
    assert pod_lab.node.tree(pod.cgroup_parent).state.limits.memory_bytes is None
    # One loopback, one /dev/shm, one hostname (UTS shared, unlike Docker).
    reply = pod.exec("sidecar", "curl -s http://localhost:80/")
    assert reply.exit_code == 0 and "<html" in reply.output
    assert pod.exec("app", "echo hi > /dev/shm/x").exit_code == 0
    assert pod.exec("sidecar", "cat /dev/shm/x").output.strip() == "hi"
    assert {pod.exec(c, "hostname").output.strip() for c in ("app", "sidecar")} == {"foo"}
    assert len(pod.exec("app", "ip -o link").output.splitlines()) == 1  # loopback only
    listing = pod.listing()
    assert [row["member"] for row in listing] == ["infra", "app", "sidecar"]
    assert listing[0]["NAMES"] == f"{pod.id[:12]}-infra"
    assert {row["STATUS"] for row in listing} == {"running"}


@pytest.mark.parametrize(("share", "expected"), [
    (None, {"net": "infra", "ipc": "infra", "uts": "infra", "pid": "own"}),
    ("+pid", {"net": "infra", "ipc": "infra", "uts": "infra", "pid": "infra"}),
    ("net", {"net": "infra", "ipc": "own", "uts": "own", "pid": "own"}),
    (["ipc", "net"], {"net": "infra", "ipc": "infra", "uts": "own", "pid": "own"}),
])
def test_what_share_changes(pod_lab, share, expected):
    with pod_lab.podman_pod(name="shares", containers=BOX, share=share, quiet=True) as pod:
        _made(pod_lab, pod)
        app = sharing_labels(pod_lab.observe(pod))["app"]
        wanted = {ns: "shared with infra" if who == "infra" else who
                  for ns, who in expected.items()}
        assert {ns: app[ns] for ns in wanted} == wanted
        if expected["pid"] == "infra":
            assert pod.exec("app", "cat /proc/1/comm").output.strip() == "pause"
    assert pod.state == "deleted"


def test_manifest_flags(pod_lab):
    shared = FOO.replace("spec:\n", "spec:\n  shareProcessNamespace: true\n", 1)
    with pod_lab.podman_pod(shared, quiet=True) as pod:
        _made(pod_lab, pod)
        assert sharing_labels(pod_lab.observe(pod))["app"]["pid"] == "shared with infra"
    on_host = FOO.replace("spec:\n", "spec:\n  hostNetwork: true\n", 1)
    with pod_lab.podman_pod(on_host, quiet=True) as pod:
        _made(pod_lab, pod)
        assert sharing_labels(pod_lab.observe(pod))["app"]["net"] == "host"


@pytest.mark.parametrize("flag", ["hostIPC", "hostPID"])
def test_what_kube_play_would_ignore_is_refused_before_anything_exists(pod_lab, flag):
    text = FOO.replace("spec:\n", f"spec:\n  {flag}: true\n", 1)
    with pytest.raises(SpecError) as refused:
        pod_lab.podman_pod(text)
    sentence = str(refused.value)
    assert flag in sentence and "lab.cri_pod" in sentence and "\n" not in sentence
    assert _labelled("pod", pod_lab.session.id) == []


def test_host_users_false_maps_a_range_of_its_own(pod_lab):
    """hostUsers: false on labkit's podman: infra and app in one user namespace that is not
    the host's, mapping 65536 host IDs from a multiple of 65536 that no other process maps
    into (the kubelet's rule); root in the app is that first ID on the host."""
    two = {"app": {"image": "busybox", "command": "sleep 600"}}
    with pod_lab.podman_pod(name="apart", containers=two, host_users=False, quiet=True) as one, \
            pod_lab.podman_pod(name="apart2", containers=two, host_users=False,
                               quiet=True) as other:
        _made(pod_lab, one), _made(pod_lab, other)
        labels = sharing_labels(pod_lab.observe(one))
        assert labels["infra"]["user"] == "own" and labels["app"]["user"] == "shared with infra"
        firsts = []
        for pod in (one, other):
            maps = {m.name: (_read(f"/proc/{m.pid}/uid_map"), _read(f"/proc/{m.pid}/gid_map"))
                    for m in pod.members()}
            (uid_map, gid_map), = set(maps.values())  # the same in every member
            inside, first, count = (int(w) for w in uid_map.split())
            assert (inside, count) == (0, 65536) and gid_map == uid_map
            assert first >= 65536 and first % 65536 == 0
            status = _read(f"/proc/{pod.members()[1].pid}/status")
            assert f"Uid:\t{first}\t" in status  # root in the app is this ID on the host
            assert f"--uidmap 0:{first}:65536 --gidmap 0:{first}:65536" in pod.commands()[0]
            firsts.append(first)
        assert firsts[0] != firsts[1]  # a range for each Pod
        assert one.exec("app", "id -u").output.strip() == "0"


def _read(path: str) -> str:
    with open(path) as handle:
        return " ".join(handle.read().split()) if "map" in path else handle.read()


@pytest.mark.parametrize("make", ["podman_pod", "cri_pod", "docker_pod"])
def test_host_users_false_is_refused_where_it_cannot_run(pod_lab, make):
    """kube play (which would need /etc/subuid ranges), containerd 1.6 and Docker: one
    sentence that names the ways that work, and nothing made."""
    text = FOO.replace("spec:\n", "spec:\n  hostUsers: false\n", 1)
    kept = list(pod_lab.pods)
    with pytest.raises(SpecError) as refused:
        getattr(pod_lab, make)(text, quiet=True)
    sentence = str(refused.value)
    assert "hostUsers: false" in sentence and "host_users=False" in sentence
    assert "lab.scratch_pod" in sentence and "\n" not in sentence
    assert _labelled("pod", pod_lab.session.id) == []
    assert pod_lab.pods == kept


def test_pod_create_puts_the_sum_of_limits_on_the_pod_cgroup(pod_lab):
    limited = {"app": {"image": "busybox", "command": "sleep 600", "memory": "64Mi",
                       "cpus": 0.5},
               "sidecar": {"image": "busybox", "command": "sleep 600", "memory": "32Mi",
                           "cpus": 0.25}}
    with pod_lab.podman_pod(name="limited", containers=limited, quiet=True) as pod:
        _made(pod_lab, pod)
        limits = pod_lab.node.tree(pod.cgroup_parent).state.limits
        assert limits.memory_bytes == 96 * 2**20
        assert limits.cpu_quota_us == 75_000 and limits.cpu_period_us == 100_000
        obs = pod_lab.observe(pod)
        assert obs.member("app").state.limits.cpu_quota_us == 50_000
        first = pod.commands()[0]
        assert first.startswith(f"labkit podman pod create --name {pod.engine_name} ")
        assert first.endswith(f"--infra-image {pod.service.infra_image} --share ipc,net,uts "
                              "--network none --hostname limited --memory 100663296 --cpus 0.75")


def test_infra_death_leaves_a_degraded_pod_that_still_talks(pod_lab):
    pod = _made(pod_lab, pod_lab.podman_pod(FOO, quiet=True))
    pod.kill_sandbox()
    assert pod.state == "degraded"
    assert pod.states() == {"infra": "exited", "app": "running", "sidecar": "running"}
    reply = pod.exec("sidecar", "curl -s http://localhost:80/")
    assert reply.exit_code == 0 and "<html" in reply.output
    assert [m.name for m in pod.members()] == ["app", "sidecar"]


def test_an_exec_session_leaves_the_pods_cgroup_within_seconds(pod_lab, monkeypatch):
    """Podman keeps a finished exec session, and its conmon in the pod's cgroup, for
    EXEC_KEPT_S (its default, Docker's 5 minutes, made removing the pod wait 3 s on that
    cgroup). Read from the kernel: the conmon cgroup holds the members' conmons only."""
    import time

    from labkit.runtimes.podman.api import PodmanAPI

    pod = _made(pod_lab, pod_lab.podman_pod(name="ex", containers=BOX, quiet=True))
    memory = pod_lab.node.layout.for_controller("memory")
    procs = Path(memory.directory(f"{pod.cgroup_parent}/conmon")) / "cgroup.procs"
    members = sorted(pod.conmon_pids().values())
    assert pod.exec("app", "exit 3").exit_code == 3
    deadline = time.monotonic() + podman_service.EXEC_KEPT_S + 5
    while sorted(map(int, procs.read_text().split())) != members:
        assert time.monotonic() < deadline, procs.read_text()
        time.sleep(0.1)
    # Asked after the session is gone (a machine that stalled), the exit code is lost:
    # one sentence, not a traceback.
    request = PodmanAPI.request

    def late(self, method, path, **kwargs):
        if method == "GET" and path.startswith("/exec/"):
            time.sleep(podman_service.EXEC_KEPT_S + 2)
        return request(self, method, path, **kwargs)

    monkeypatch.setattr(PodmanAPI, "request", late)
    with pytest.raises(LabError) as lost:
        pod.exec("app", "true")
    assert str(lost.value).startswith("Podman forgot how the command ended before labkit "
                                      "could ask (while trying to run a command in app)")


def test_the_service_comes_back_and_the_pods_with_it(podman_lab):
    pod = _made(podman_lab, podman_lab.podman_pod(name="svc", containers=BOX, quiet=True))
    service = podman_lab.podman
    os.killpg(service._process.pid, signal.SIGKILL)
    service._process.wait()
    assert pod.exec("app", "echo still").output.strip() == "still"
    assert service.restarts == 1
    assert [m.name for m in pod.members()] == ["infra", "app"]


@pytest.mark.parametrize("text", BROKEN)
def test_bad_manifests_are_one_sentence_and_make_nothing(pod_lab, text):
    with pytest.raises(SpecError) as refused:
        pod_lab.podman_pod(text)
    assert "\n" not in str(refused.value)
    assert _labelled("pod", pod_lab.session.id) == []


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"share": "net,bananas"}, "bananas"),
    ({"share": 7}, "share=7"),
    ({"containers": {"app": {"image": "no-such-image-here", "command": "true"}}},
     "no-such-image-here"),
])
def test_bad_keywords_are_one_sentence_and_make_nothing(pod_lab, kwargs, words):
    arguments = {"name": "bad", "containers": BOX, "quiet": True, **kwargs}
    with pytest.raises((SpecError, ImageUnavailable)) as refused:
        pod_lab.podman_pod(**arguments)
    assert words in str(refused.value) and "\n" not in str(refused.value)
    assert _labelled("pod", pod_lab.session.id) == []


def test_a_member_that_cannot_start_is_one_sentence_and_leaves_nothing(pod_lab):
    """kube play answers 200 and makes the pod even when a container fails at its start
    (here a command the image lacks); labkit says Podman's words and removes the pod."""
    manifest = FOO.replace("name: foo", "name: nostart", 1).replace(
        "command: ", 'command: ["/no/such/program"] #', 1)
    assert "/no/such/program" in manifest
    made = Path(pod_lab.podman.pods_made)  # the service notes each pod it made
    known = set(made.read_text().split()) if made.exists() else set()
    with pytest.raises(EngineRefused) as refused:
        pod_lab.podman_pod(manifest, quiet=True)
    said = str(refused.value)
    assert said.startswith("Podman refused to start a container of pod nostart: ") and \
        "/no/such/program" in said and "\n" not in said, said
    assert _labelled("pod", pod_lab.session.id) == []
    assert _labelled("container", pod_lab.session.id) == []
    failed = set(made.read_text().split()) - known
    assert len(failed) == 1  # its cgroups are gone with it, in every hierarchy
    assert not [p for p in Path("/sys/fs/cgroup").glob(f"*/libpod_parent/{failed.pop()}")]


def test_no_podman_is_one_sentence(tmp_path, monkeypatch, docker_client):
    """A machine without podman: PATH without it (podman is installed here)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with labkit.Lab(gather="direct") as lab, pytest.raises(EngineUnavailable) as missing:
        lab.podman_pod(name="x", containers=BOX)
    assert "./lab setup" in str(missing.value)


def test_an_old_podman_is_one_sentence(tmp_path, monkeypatch, docker_client):
    """Podman 3 cannot be installed next to Debian 12's 4.3: a stand-in that answers
    `--version` as podman 3.4 does stands for it (a fixture for what cannot run here)."""
    need(os.geteuid() == 0, "labkit's podman runs rootful")
    fake = tmp_path / "podman"
    fake.write_text("#!/bin/sh\necho 'podman version 3.4.4'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with labkit.Lab(gather="direct") as lab, pytest.raises(EngineUnavailable) as old:
        lab.podman_pod(name="x", containers=BOX)
    assert "3.4.4" in str(old.value) and "4.0" in str(old.value)


def test_a_service_that_exits_at_start_is_tried_twice_then_said(tmp_path, monkeypatch,
                                                                 docker_client):
    """A podman whose service ends at once (a stand-in for podman: real podman answers
    `--version`, its service fails as a fatal error would): started once more, then one
    sentence with the log's last message; nothing keeps running."""
    need(os.geteuid() == 0, "labkit's podman runs rootful")
    tries = tmp_path / "tries"
    fake = tmp_path / "podman"
    fake.write_text(f"""#!/bin/sh
case "$*" in *"system service"*)
  echo x >> {tries}
  echo 'time="2026-12-05T23:00:00Z" level=fatal msg="database is locked."' >&2; exit 125;;
esac
exec /usr/bin/podman "$@"
""")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with labkit.Lab(gather="direct") as lab, pytest.raises(EngineUnavailable) as ended:
        lab.podman_pod(name="x", containers=BOX)
    said = str(ended.value)
    assert said.startswith("labkit's podman service exited at start (database is locked)")
    assert "\n" not in said
    assert tries.read_text().count("x") == 2


def test_other_pods_in_the_lab_store_are_never_touched(podman_lab):
    """A pod in labkit's podman store without this session's label survives its close."""
    podman_lab.podman_pod(name="mine", containers=BOX, quiet=True)
    foreign = "labkit-test-foreign-pod"
    made = _lab_podman("pod", "create", "--name", foreign)
    assert made.returncode == 0, made.stderr
    try:
        podman_lab.close()
        assert _lab_podman("pod", "exists", foreign).returncode == 0
    finally:
        _lab_podman("pod", "rm", "-f", foreign)


def test_a_loaded_image_runs_as_itself(podman_lab, tmp_path):
    """`labkit podman load -i FILE` puts a learner's image in labkit's store; it then runs
    as itself, with no stand-in sentence."""
    from labkit import images, oci

    layer = images.toolbox_tar(images.find_busybox())
    archive = tmp_path / "own.tar"
    archive.write_bytes(oci.image_archive(layer, "localhost/learner/own:1", cmd=["sh"]))
    # The lab configures its podman on first use; the version it names is the service's own.
    service = podman_lab.podman
    assert service.version == service.api.call("GET", "/version", what="v")["Version"]
    loaded = subprocess.run([sys.executable, "-m", "labkit.cli", "podman", "load", "-i",
                             str(archive)], capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    try:
        box = {"app": {"image": "localhost/learner/own:1", "command": "sleep 600"}}
        with podman_lab.podman_pod(name="own", containers=box) as pod:
            _made(podman_lab, pod)
            assert pod.resolved["app"].note == "" and pod.resolved["app"].ref == \
                "localhost/learner/own:1"
            assert pod.listing()[1]["IMAGE"] == "localhost/learner/own:1"
    finally:
        _lab_podman("rmi", "-f", "localhost/learner/own:1")


def test_a_second_pod_of_the_same_name_is_refused_and_the_first_survives(pod_lab):
    first = _made(pod_lab, pod_lab.podman_pod(name="twice", containers=BOX, quiet=True))
    with pytest.raises(SpecError) as refused:
        pod_lab.podman_pod(name="twice", containers=BOX, quiet=True)
    assert "already has a Podman pod named twice" in str(refused.value)
    assert first.state == "running" and [m.name for m in first.members()] == ["infra", "app"]


def test_keyword_flags_mean_what_the_manifest_flags_mean(pod_lab):
    with pod_lab.podman_pod(name="spn", containers=BOX, share_process_namespace=True,
                            quiet=True) as pod:
        _made(pod_lab, pod)
        assert sharing_labels(pod_lab.observe(pod))["app"]["pid"] == "shared with infra"
        assert "pid" in pod.share
    with pytest.raises(SpecError):
        pod_lab.podman_pod(name="hipc", containers=BOX, host_ipc=True)


def test_a_crashed_sessions_pods_are_removed_by_clean_session(docker_client):
    """A kernel killed with SIGKILL runs no cleanup: its podman service, pods and their
    cgroups are found again by the session label and removed, and nothing else."""
    need(shutil.which("podman") is not None and os.geteuid() == 0, "labkit's podman, as root")
    from labkit.cleanup import clean_session

    script = ("import labkit, sys\n"
              "lab = labkit.Lab(gather='direct', watch_owner=False)\n"
              "pod = lab.podman_pod(name='crash', containers={'app': {'image': 'busybox', "
              "'command': 'sleep 600'}}, quiet=True)\n"
              "print(lab.session.id, pod.id, flush=True)\n"
              "sys.stdin.read()\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        session, pod_id = child.stdout.readline().split()
    finally:
        child.kill()
        child.wait()
    assert _labelled("pod", session) != []
    assert clean_session(session) == []
    assert _traces(SimpleNamespace(session=SimpleNamespace(id=session)), [pod_id]) == []


def test_preflight_names_podman(docker_client, tmp_path, monkeypatch):
    from labkit.preflight import run_checks

    line = next(c for c in run_checks() if c.name.startswith("Podman"))
    need(shutil.which("podman") is not None, "podman is installed (./lab setup installs it)")
    assert line.ok and "podman 4." in line.detail
    monkeypatch.setenv("PATH", str(tmp_path))  # Docker is asked through its socket
    missing = next(c for c in run_checks() if c.name.startswith("Podman"))
    assert not missing.ok and "./lab setup" in missing.detail
