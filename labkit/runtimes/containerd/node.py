"""labkit's own containerd with the CRI plugin: a node as the kubelet sees it.

It runs beside Docker without touching it: its own config, root and state
directories, socket, CNI configuration and bridge, all named after the session.
Images come from the lab's offline toolbox (``ctr images import``), never a registry.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time

from ... import images, oci
from ...errors import EngineUnavailable, LabError
from ...kubernetes import NodeFacts
from ...node.capacity import node_facts
from ...node.cgroup_writer import remove_cgroup
from ...node.mounts import CgroupLayout, own_layout
from ...node.network import POOLS, free_subnet, used_networks
from ...node.procfs import processes_with_argument
from ...node.systemd_units import stop_slice, systemd_manages_cgroups
from ...session import NAME_RE, Session
from .cri import CriClient

STATE_BASE = "/run/labkit"
ROOT_BASE = "/var/lib/labkit"
CNI_BIN = "/usr/lib/cni"
CNI_CACHE = "/var/lib/cni"
K8S_NAMESPACE = "k8s.io"


def _config(node: ContainerdNode) -> str:
    return f"""version = 2
root = "{node.root}"
state = "{node.state}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{node.socket}"

[ttrpc]
  address = "{node.socket}.ttrpc"

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{node.pause_image}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{node.cni_conf_dir}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = {"true" if node.systemd else "false"}
        Root = "{node.state}/runc"
"""


KUBELET_OOM_SCORE_ADJ = -999  # what a kubeadm node gives containerd (OOMScoreAdjust=-999)


def _lower_oom_score(pid: int) -> int:
    """Give containerd the OOM score a node's containerd runs with, where this process may
    (lowering it needs CAP_SYS_RESOURCE); returns the score it has. With
    ``restrict_oom_score_adj`` containerd never gives a container a lower one, so the
    kubelet's -997 for a Guaranteed container becomes this where it could not be lowered."""
    path = f"/proc/{pid}/oom_score_adj"
    with contextlib.suppress(OSError), open(path, "w") as handle:
        handle.write(str(KUBELET_OOM_SCORE_ADJ))
    try:
        with open(path) as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return 0


class ContainerdNode:
    """Start, watch, restart and stop labkit's containerd for one session."""

    def __init__(self, session: Session) -> None:
        for tool in ("containerd", "ctr", "runc", "containerd-shim-runc-v2"):
            if shutil.which(tool) is None:
                raise EngineUnavailable(
                    f"{tool} is not installed, so labkit cannot run a Kubernetes node: run "
                    "`sudo ./lab setup` (it installs containerd, runc and the CNI plugins)."
                )
        if not os.path.isfile(os.path.join(CNI_BIN, "bridge")):
            raise EngineUnavailable("The CNI plugins are not in /usr/lib/cni: install "
                                    "containernetworking-plugins (`sudo ./lab setup` does).")
        if os.geteuid() != 0:
            raise LabError("Running a containerd node needs root: open the lab as root "
                           "(sudo ./lab up) for the Pod chapter.")
        self.session = session
        self.name = f"{session.prefix}containerd"
        self.state = os.path.join(STATE_BASE, self.name)
        self.root = os.path.join(ROOT_BASE, self.name)
        self.socket = os.path.join(self.state, "containerd.sock")
        self.cni_conf_dir = os.path.join(self.state, "net.d")
        self.network = f"labkit-{session.id}"
        self.bridge = f"lk{session.id}"
        self.kubepods = f"/{session.prefix}node/kubepods"  # cgroupfs driver
        self.systemd = systemd_manages_cgroups()  # then runc's systemd driver, with slices
        self.node_slice = f"{session.slice_prefix}node.slice"
        self.kubepods_slice_prefix = f"{session.slice_prefix}node-kubepods"
        busybox = images.find_busybox()
        self._layer = images.toolbox_tar(busybox)
        tag = images.toolbox_tag(busybox)
        self.pause_image = f"docker.io/labkit/pause:{tag}"
        self.toolbox_image = f"docker.io/labkit/toolbox:{tag}"
        self._process: subprocess.Popen | None = None
        self.cri: CriClient | None = None
        self.oom_score_adj = 0  # containerd's own: the lowest it lets a container have
        self.burstable: dict[str, int | None] = {}  # Burstable pod uid -> its CPU requests
        self._facts: NodeFacts | None = None
        self.restarts = 0
        self._answered = False  # once it has, it may hold pods to remove on stop

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> ContainerdNode:
        os.makedirs(self.cni_conf_dir, exist_ok=True)
        os.makedirs(self.root, exist_ok=True)
        self.session.on_cleanup(self.name, self.stop)
        subnet = free_subnet(self.session.id, used_networks(), POOLS["cri"])
        conflist = {
            "cniVersion": "1.0.0", "name": self.network,
            "plugins": [{"type": "bridge", "bridge": self.bridge, "isGateway": False,
                         "ipMasq": False, "hairpinMode": True,
                         "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]],
                                  "dataDir": os.path.join(self.state, "ipam")}}],
        }
        with open(os.path.join(self.cni_conf_dir, "10-labkit.conflist"), "w") as handle:
            json.dump(conflist, handle, indent=1)
        with open(os.path.join(self.state, "config.toml"), "w") as handle:
            handle.write(_config(self))
        self._launch()
        self._import_images()
        return self

    def _launch(self) -> None:
        log = open(os.path.join(self.state, "containerd.log"), "ab")  # noqa: SIM115
        self._process = subprocess.Popen(
            ["containerd", "--config", os.path.join(self.state, "config.toml")],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        if self.cri is None:
            self.cri = CriClient(self.socket)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EngineUnavailable(
                    f"labkit's containerd exited at start: see {self.state}/containerd.log.")
            if os.path.exists(self.socket):
                try:
                    self.cri.call("Version", self.cri.pb.VersionRequest(), timeout=2)
                    self._answered = True
                    self.oom_score_adj = _lower_oom_score(self._process.pid)
                    return
                except LabError:
                    pass
            time.sleep(0.05)
        raise EngineUnavailable(f"labkit's containerd did not answer within 20 s: see "
                                f"{self.state}/containerd.log.")

    def facts(self, layout: CgroupLayout) -> NodeFacts:
        """This node as the kubelet sees it (memory, cgroup version, swap, huge pages)."""
        if self._facts is None:
            self._facts = node_facts(layout)
        return self._facts

    @classmethod
    def leftovers(cls) -> list[str]:
        """Session ids whose labkit containerd left a state directory behind."""
        if not os.path.isdir(STATE_BASE):
            return []
        found = []
        for name in sorted(os.listdir(STATE_BASE)):
            match = re.fullmatch(f"{NAME_RE.pattern}containerd", name)
            if match:
                found.append(match["session"])
        return found

    @classmethod
    def recover(cls, session_id: str) -> None:
        """Bring a crashed session's containerd back just long enough to remove its pods,
        then remove every trace of it."""
        node = cls(Session(session_id))
        for pid in _processes_using(node.socket):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if os.path.isfile(os.path.join(node.state, "config.toml")):
            with contextlib.suppress(LabError):
                node._launch()
        node.stop()

    def ensure_running(self) -> None:
        """Start containerd again if it died (its containers live on in their shims)."""
        if self._process is None or self._process.poll() is not None:
            self.restarts += 1
            self._launch()

    def call(self, method: str, request, what: str = ""):
        """One CRI call, on a containerd started again first if it died; if it dies during
        the call, the error is one sentence and the next call starts it again."""
        self.ensure_running()
        return self.cri.call(method, request, what=what)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def _ctr(self, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["ctr", "-a", self.socket, "-n", K8S_NAMESPACE, *args],
                              input=data, capture_output=True, check=False)

    def _import_images(self) -> None:
        """The pause and toolbox images, one layer and one ``ctr images import``."""
        archive = oci.images_archive(self._layer, {
            self.pause_image: {"entrypoint": ["/pause"]},
            self.toolbox_image: {"cmd": ["sh"]}})
        path = os.path.join(self.state, "import.tar")
        with open(path, "wb") as handle:
            handle.write(archive)
        done = self._ctr("images", "import", path)
        os.unlink(path)
        if done.returncode != 0:
            raise EngineUnavailable(f"containerd could not import the lab's images "
                                    f"({self.pause_image}, {self.toolbox_image}): "
                                    f"{done.stderr.decode().strip()}.")

    def image_id(self, ref: str) -> str:
        """The id of an image this node has (``ImageStatus``), or "" if it has none."""
        response = self.call("ImageStatus", self.cri.pb.ImageStatusRequest(
            image=self.cri.pb.ImageSpec(image=ref)), what=f"look up image {ref}")
        return response.image.id

    def ctr_listing(self) -> tuple[str, str]:
        """``ctr containers list`` in the CRI's namespace, as typed, and what it printed."""
        argv = ("ctr", "-a", self.socket, "-n", K8S_NAMESPACE, "containers", "list")
        self.ensure_running()
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
        return " ".join(argv), (done.stdout + done.stderr).rstrip()

    def stop(self) -> None:
        """Stop containerd and remove its sandboxes' traces: mounts, bridge, CNI cache, dirs."""
        if self.cri is not None and self._process is not None and self._answered:
            with contextlib.suppress(LabError):
                # A containerd that died comes back just long enough to remove its pods,
                # whose containers live on in their shims.
                pods = self.call("ListPodSandbox", self.cri.pb.ListPodSandboxRequest())
                for item in pods.items:
                    self.call("StopPodSandbox", self.cri.pb.StopPodSandboxRequest(
                        pod_sandbox_id=item.id))
                    self.call("RemovePodSandbox", self.cri.pb.RemovePodSandboxRequest(
                        pod_sandbox_id=item.id))
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None  # stopped for good: a second stop does nothing
        if self.cri is not None:
            self.cri.close()
            self.cri = None
        if self.systemd:
            stop_slice(self.node_slice)
        else:  # the kubelet's tree it stood for: kubepods and its QoS tiers
            remove_cgroup(own_layout(), self.kubepods.rsplit("/", 1)[0])
        remove_node_traces(self.state, self.root, self.bridge, self.network)
        self.session.forget(self.name)


def _processes_using(socket: str) -> list[int]:
    """containerd processes (not shims) started with this socket's config."""
    config = os.path.join(os.path.dirname(socket), "config.toml")
    return processes_with_argument(config, program="containerd")


def _mounts_under(*prefixes: str) -> list[str]:
    with open("/proc/self/mountinfo") as handle:
        points = [line.split()[4] for line in handle]
    return sorted((p for p in points if any(p == d or p.startswith(d + "/") for d in prefixes)),
                  key=len, reverse=True)


def remove_node_traces(state: str, root: str, bridge: str, network: str) -> None:
    """Everything a labkit containerd leaves: mounts, dirs, the bridge, CNI cache entries."""
    for point in _mounts_under(state, root):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    for directory in (state, root):
        shutil.rmtree(directory, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(directory))  # /run/labkit, /var/lib/labkit once empty
    if os.path.exists(f"/sys/class/net/{bridge}"):
        subprocess.run(["ip", "link", "delete", bridge], capture_output=True, check=False)
    results = os.path.join(CNI_CACHE, "results")
    if os.path.isdir(results):
        for name in os.listdir(results):
            if name.startswith(f"{network}-"):
                os.unlink(os.path.join(results, name))
