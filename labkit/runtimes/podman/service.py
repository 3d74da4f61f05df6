"""labkit's own Podman: rootful, with its own storage, run directory and configuration.

A learner's own podman state (``/var/lib/containers``, ``/etc/containers``) is never
read or written, but for containers/image's blob-info cache, whose path is fixed for root
(docs/podman.md): every podman labkit starts is given ``CONTAINERS_CONF``,
``CONTAINERS_STORAGE_CONF`` and ``CONTAINERS_REGISTRIES_CONF`` under
``/run/labkit/podman`` and an image store under ``/var/lib/labkit/podman``. The images
are loaded from the lab's own archives (nothing is pulled), the infra container runs
labkit's pause, and each session talks to its own ``podman system service`` socket.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from urllib.parse import quote

from ... import images, oci
from ...errors import EngineUnavailable, ImageUnavailable, LabError
from ...logs import last_message
from ...node import device_programs
from ...node.cgroup_writer import remove_cgroup
from ...node.mounts import own_layout
from ...node.network import POOLS, delete_link, free_subnet, used_networks
from ...node.procfs import processes_with_argument
from ...node.systemd_units import systemd_manages_cgroups
from ...session import OWNER_LABEL, SESSION_LABEL, Session
from .api import PodmanAPI

RUN_BASE = "/run/labkit/podman"
NETWORKS = os.path.join(RUN_BASE, "networks")  # containers.conf's network_config_dir
IPAM = os.path.join(RUN_BASE, "ipam")  # host-local's leases, a directory per network
HOOKS = os.path.join(RUN_BASE, "hooks.d")  # OCI hooks, where Podman needs one (below)
STORE_BASE = "/var/lib/labkit/podman"
SERVICE_START = 60.0
"""Seconds the podman service may take to answer at its start (a few on a host; the v2 guest
under emulation, on a busy machine, once took more than 20)."""
OLDEST = (4, 0)  # the libpod API the lab speaks (Debian 12 has 4.3)
NPROC_CAP = 32768  # podman caps its own RLIMIT_NPROC here; containers get the same
EXEC_KEPT_S = 1
"""Seconds Podman keeps a finished exec session (containers.conf ``exit_command_delay``), for
labkit to read its exit code. Podman's default is Docker's 5 minutes, and all that time the
session's conmon stays in the pod's cgroup (a process the pod's tree shows), and removing the
pod waits 3 s on a cgroup that will not empty. labkit asks for the exit code within
milliseconds."""


def limits_for_containers() -> tuple[int, int]:
    """(open files, processes) that a process without CAP_SYS_RESOURCE may give them."""
    files = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    procs = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    infinity = resource.RLIM_INFINITY
    return (1048576 if files == infinity else min(files, 1048576),
            NPROC_CAP if procs == infinity else min(procs, NPROC_CAP))


def containers_conf(infra_image: str, cgroup_manager: str, files: int, procs: int,
                    cni: bool = True, hooks: bool = False) -> str:
    # Without CAP_SYS_RESOURCE no runtime may raise a limit, so containers get exactly what
    # the service has (podman's defaults are higher). crun refuses a hybrid v1 tree: runc.
    # Podman 4 runs CNI where asked, even with netavark installed (the lab's networks are
    # CNI configurations: chapter 7); Podman 5 has netavark only.
    backend = 'network_backend = "cni"\n' if cni else ""
    hooks_dir = f'hooks_dir = ["{HOOKS}"]\n' if hooks else ""
    return f"""# written by labkit: its own podman, never the machine's
[containers]
default_ulimits = ["nofile={files}:{files}", "nproc={procs}:{procs}"]

[engine]
cgroup_manager = "{cgroup_manager}"
events_logger = "file"
exit_command_delay = {EXEC_KEPT_S}
infra_image = "{infra_image}"
runtime = "runc"
image_default_transport = "containers-storage:"
{hooks_dir}
[network]
network_config_dir = "{RUN_BASE}/networks"
{backend}"""


def needs_pod_device_hook(cgroup_manager: str, cgroup_version: int) -> bool:
    """Podman 4.3's cgroupfs manager on cgroup v2 puts a deny-all device program on each
    pod's cgroup (labkit.node.device_programs); current Podman does not, nor does the
    systemd manager, nor v1. Where a Podman puts none, the hook finds nothing to detach.
    (Written where labkit knows bpf(2)'s number: x86_64 and aarch64.)"""
    return (cgroup_manager == "cgroupfs" and cgroup_version == 2
            and device_programs.SYS_BPF is not None)


def pod_device_hook() -> str:
    """The OCI hook (Podman's hooks.d JSON) that takes that program off before each
    container of a pod starts: labkit.node.device_programs, run by runc."""
    labkit_dir = os.path.dirname(os.path.dirname(os.path.abspath(device_programs.__file__)))
    return json.dumps({
        "version": "1.0.0",
        "hook": {"path": sys.executable,
                 "args": [sys.executable, "-m", "labkit.node.device_programs"],
                 "env": [f"PYTHONPATH={os.path.dirname(labkit_dir)}"], "timeout": 10},
        "when": {"always": True}, "stages": ["createRuntime"]}, indent=1) + "\n"


def podman_version(binary: str = "podman") -> tuple[int, ...]:
    """The version of the podman found on PATH, asked once per binary and process."""
    return _version_of(shutil.which(binary) or binary)


@functools.lru_cache(maxsize=8)
def _version_of(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out.stdout)
    if out.returncode != 0 or match is None:
        raise EngineUnavailable("`podman --version` did not answer: reinstall it "
                                "(`sudo ./lab setup` installs Debian's podman).")
    return tuple(int(part) for part in match.groups() if part is not None)


class ServiceExited(EngineUnavailable):
    """The service ended before it answered."""


class PodmanService:
    """One session's ``podman system service`` on a private socket, started on first use."""

    def __init__(self, session: Session) -> None:
        if shutil.which("podman") is None:
            raise EngineUnavailable("Podman is not installed, so this chapter cannot run its "
                                    "pods: run `sudo ./lab setup` (it installs Debian's podman).")
        if os.geteuid() != 0:
            raise LabError("labkit runs Podman rootful, with storage of its own, which needs "
                           "root: open the lab as root (sudo ./lab up) for the Podman chapter.")
        self.session = session
        self.name = f"{session.prefix}podman"
        self.socket = os.path.join(RUN_BASE, f"{self.name}.sock")
        self.log = os.path.join(RUN_BASE, f"{self.name}.log")
        self.pods_made = os.path.join(RUN_BASE, f"{self.name}.pods")  # ids, for a crash
        self.network = f"{session.prefix}pods"  # the session's CNI network, on first use
        self.bridge = f"lk{session.id}p"
        self._subnet: str | None = None
        busybox = images.find_busybox()
        self._busybox = busybox
        tag = images.toolbox_tag(busybox)
        self.toolbox_image = f"localhost/labkit/toolbox:{tag}"
        self.infra_image = f"localhost/labkit/pause:{tag}"
        self.cgroup_manager = "systemd" if systemd_manages_cgroups() else "cgroupfs"
        self.api = PodmanAPI(self.socket, revive=self.ensure_running)
        self.version = ""
        self.restarts = 0
        self._process: subprocess.Popen | None = None

    # -- configuration --------------------------------------------------------------
    def _write_configuration(self) -> None:
        os.makedirs(os.path.join(RUN_BASE, "networks"), exist_ok=True)
        os.makedirs(os.path.join(RUN_BASE, "tmp"), exist_ok=True)
        os.makedirs(STORE_BASE, exist_ok=True)
        hooks = needs_pod_device_hook(self.cgroup_manager, own_layout().version)
        files = {
            "containers.conf": containers_conf(self.infra_image, self.cgroup_manager,
                                               *limits_for_containers(),
                                               cni=podman_version() < (5,), hooks=hooks),
            "storage.conf": (f'[storage]\ndriver = "overlay"\nrunroot = "{RUN_BASE}/run"\n'
                             f'graphroot = "{STORE_BASE}/storage"\n'),
            # No registry is asked for anything: short names resolve to nothing.
            "registries.conf": "unqualified-search-registries = []\n",
        }
        if hooks:
            os.makedirs(HOOKS, exist_ok=True)
            files["hooks.d/labkit-pod-devices.json"] = pod_device_hook()
        for name, text in files.items():
            path = os.path.join(RUN_BASE, name)
            with open(f"{path}.{os.getpid()}", "w") as handle:
                handle.write(text)
            os.replace(f"{path}.{os.getpid()}", path)  # other sessions read it meanwhile

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> PodmanService:
        version = podman_version()
        if version[:2] < OLDEST:
            found = ".".join(map(str, version))
            raise EngineUnavailable(f"Podman {found} is older than the lab supports (4.0 or "
                                    "newer): upgrade it, e.g. with Debian 12's podman 4.3.")
        self.version = ".".join(map(str, version))
        self._write_configuration()
        self.session.on_cleanup(self.name, self.stop)
        self._launch()
        self._load_images()
        return self

    def _launch(self) -> None:
        """Start the service and wait until it answers. One that exits at once is started
        once more: another session's podman may hold what it opens for a moment (a
        lock); a second exit is said with the log's last line."""
        try:
            self._launch_once()
        except ServiceExited:
            time.sleep(0.5)
            self._launch_once()

    def _launch_once(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)
        files, procs = limits_for_containers()

        def same_limits_as_containers() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))
            resource.setrlimit(resource.RLIMIT_NPROC, (procs, procs))

        with open(self.log, "ab") as log:
            self._process = subprocess.Popen(
                podman_command("system", "service", "--time=0", f"unix://{self.socket}"),
                env=podman_environment(), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=same_limits_as_containers)
        deadline = time.monotonic() + SERVICE_START
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                said = last_message(self.log)
                raise ServiceExited(f"labkit's podman service exited at start"
                                    f"{f' ({said})' if said else ''}: see {self.log}.")
            if os.path.exists(self.socket):
                # /_ping, not /version: podman answers /version from its `info`, which asks
                # dpkg about conmon, runc and slirp4netns (about ten processes) every time.
                with contextlib.suppress(LabError):  # no reviving from in here
                    PodmanAPI(self.socket, timeout=5).request("GET", "/_ping",
                                                              what="answer a ping")
                    return
            time.sleep(0.05)
        raise EngineUnavailable(f"labkit's podman service did not answer within "
                                f"{SERVICE_START:.0f} s: see "
                                f"{self.log}.")

    def ensure_running(self) -> None:
        """Start the service anew if it went away: the pods live on without it (conmon
        watches each container), so the same pods answer again."""
        if self._process is None or self._process.poll() is not None \
                or not os.path.exists(self.socket):
            if self._process is not None and self._process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
            self.restarts += 1
            self._launch()

    def _load_images(self) -> None:
        """The toolbox and the pause image, from archives labkit writes itself."""
        layer = None
        for ref, config in ((self.toolbox_image, {"cmd": ["sh"]}),
                            (self.infra_image, {"entrypoint": ["/pause"]})):
            if self.api.exists(f"/images/{ref}/exists"):
                continue
            layer = layer or images.toolbox_tar(self._busybox)
            self.api.call("POST", "/images/load", what=f"load the lab's image {ref}",
                          raw=oci.image_archive(layer, ref, **config))

    def resolve_image(self, name: str) -> images.ResolvedImage:
        """The image that really runs: the one asked for if labkit's podman store has it,
        else the lab's stand-in (nothing is pulled: the store is the lab's own)."""
        if name.split(":")[0] in (images.TOOLBOX, "toolbox", "localhost/labkit/toolbox"):
            return images.ResolvedImage(name, self.toolbox_image)
        if self.api.exists(f"/images/{name}/exists"):
            return images.ResolvedImage(name, name)
        stand_in = images.stand_in_for(name)
        if stand_in is None:
            raise ImageUnavailable(
                f"The image {name!r} is not in labkit's podman store, and labkit pulls nothing "
                f"for Podman: load it with `labkit podman load -i FILE`, or use one the lab "
                f"brings ({images.BROUGHT}).")
        note = (f"{name} is not in labkit's podman store: running labkit's stand-in "
                f"({stand_in.what}) instead.")
        return images.ResolvedImage(name, self.toolbox_image, stand_in.command, note)

    @functools.cached_property
    def network_backend(self) -> str:
        """Which network backend this Podman runs: ``cni`` (Podman 4, as labkit's
        containers.conf asks) or ``netavark`` (Podman 5, which has no other)."""
        info = self.api.call("GET", "/info", what="ask for its network backend")
        return str((info.get("host") or {}).get("networkBackend", ""))

    @property
    def network_file(self) -> str:
        return os.path.join(NETWORKS, f"{self.network}.conflist")

    def network_conflist(self) -> str:
        """The CNI network labkit gives this session's Podman pods that ask for one: the
        plugins of labkit's containerd's network (``bridge`` with ``host-local``, no
        gateway on the bridge, no NAT), on a bridge of its own and a /24 of 10.235.0.0/16.
        Podman (with its CNI backend) loads it from ``network_config_dir``."""
        if self._subnet is None:
            self._subnet = free_subnet(self.session.id, used_networks(), POOLS["podman"])
        return json.dumps({
            "cniVersion": "1.0.0", "name": self.network,
            "plugins": [{"type": "bridge", "bridge": self.bridge, "isGateway": False,
                         "ipMasq": False, "hairpinMode": True,
                         "ipam": {"type": "host-local", "ranges": [[{"subnet": self._subnet}]],
                                  "dataDir": os.path.join(IPAM, self.network)}}],
        }, indent=1) + "\n"

    @property
    def description(self) -> str:
        return f"Podman {self.version}" if self.version else "Podman"

    def stop(self) -> None:
        """Remove this session's pods and containers (those its own cleanups have not
        removed already), then end its service."""
        if not self._nothing_left():
            remove_session_pods(self.session.id)
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
            if self._process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
            self._process = None
        if self.cgroup_manager == "cgroupfs":
            remove_pod_cgroups(_read_ids(self.pods_made))
        for path in (self.socket, self.log, self.pods_made):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        remove_session_network(self.session.id)

    def _nothing_left(self) -> bool:
        """Whether the service, while it still answers, lists no pod and no container of
        this session: then the podman command (a second or two) need not look again."""
        if self._process is None or self._process.poll() is not None:
            return False
        label = quote(json.dumps({"label": [f"{SESSION_LABEL}={self.session.id}"]}))
        api = PodmanAPI(self.socket, timeout=5)
        try:
            return not any(api.call("GET", f"/{kind}/json?all=true&filters={label}",
                                    what=f"list the session's {kind}")
                           for kind in ("pods", "containers"))
        except LabError:  # not answering now: the podman command looks instead
            return False

    def remember(self, pod_id: str) -> None:
        """Note a pod made, so that what Podman leaves of its cgroups is found again even if
        this process dies halfway through removing it."""
        with open(self.pods_made, "a") as handle:
            handle.write(pod_id + "\n")

    # -- crashed sessions ------------------------------------------------------------------
    @classmethod
    def leftovers(cls, session: str | None = None) -> list[str]:
        """Sessions (this one, or all) that left a podman service, socket, log, pod or
        container behind. Nothing is asked of podman on a machine where the lab never
        configured it."""
        if not os.path.isfile(os.path.join(RUN_BASE, "containers.conf")):
            return []
        found = set()
        for name in os.listdir(RUN_BASE):
            match = re.fullmatch(r"lk-([0-9a-f]{8})-(podman\.(sock|log|pods)|.+\.yaml)", name)
            if match:
                found.add(match[1])
        for name in os.listdir(NETWORKS) if os.path.isdir(NETWORKS) else ():
            match = re.fullmatch(r"lk-([0-9a-f]{8})-pods\.conflist", name)
            if match:
                found.add(match[1])
        if shutil.which("podman") is not None:
            label = f"{SESSION_LABEL}={session}" if session else OWNER_LABEL
            for kind in ("pod", "container"):
                listed = subprocess.run(
                    podman_command(kind, "ps", *(["-a"] if kind == "container" else []),
                                   "--filter", f"label={label}", "--format", "json"),
                    env=podman_environment(), capture_output=True, text=True, timeout=60)
                with contextlib.suppress(ValueError):
                    for item in json.loads(listed.stdout or "[]") or []:
                        found.add((item.get("Labels") or {}).get(SESSION_LABEL, ""))
        found.discard("")
        return sorted(found if session is None else found & {session})

    @classmethod
    def recover(cls, session_id: str) -> None:
        """End a crashed session's podman service and remove its pods and containers."""
        name = f"lk-{session_id}-podman"
        socket_path = os.path.join(RUN_BASE, f"{name}.sock")
        for pid in processes_with_argument(f"unix://{socket_path}"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if shutil.which("podman") is not None and os.path.isfile(
                os.path.join(RUN_BASE, "containers.conf")):
            remove_session_pods(session_id)
        remove_pod_cgroups(_read_ids(os.path.join(RUN_BASE, f"{name}.pods")))
        for suffix in (".sock", ".log", ".pods"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(RUN_BASE, name + suffix))
        for played in glob.glob(os.path.join(RUN_BASE, f"lk-{session_id}-*.yaml")):
            with contextlib.suppress(FileNotFoundError):  # the manifests kube play was given
                os.unlink(played)
        remove_session_network(session_id)


def remove_session_network(session_id: str) -> None:
    """The session's CNI network, once its pods are gone: the file Podman loads it from,
    host-local's leases, and the bridge (the bridge plugin never removes one)."""
    network = f"lk-{session_id}-pods"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(NETWORKS, f"{network}.conflist"))
    shutil.rmtree(os.path.join(IPAM, network), ignore_errors=True)
    remove_lease_ghosts()
    delete_link(f"lk{session_id}p")


def remove_lease_ghosts() -> None:
    """host-local's directories of lab networks that are gone and hold no lease. A container
    killed with its pod has conmon run `podman container cleanup` after labkit's clean-up;
    its CNI DEL makes host-local open its directory again (a lock file, nothing else)."""
    for directory in glob.glob(os.path.join(IPAM, "lk-*-pods")):
        if os.path.exists(os.path.join(NETWORKS, f"{os.path.basename(directory)}.conflist")):
            continue  # a network in use
        names = [name for _, _, files in os.walk(directory) for name in files]
        if all(name == "lock" for name in names):
            shutil.rmtree(directory, ignore_errors=True)


def podman_environment() -> dict[str, str]:
    """What every podman labkit runs is given, so it uses the lab's files only."""
    return {**os.environ,
            "CONTAINERS_CONF": os.path.join(RUN_BASE, "containers.conf"),
            "CONTAINERS_STORAGE_CONF": os.path.join(RUN_BASE, "storage.conf"),
            "CONTAINERS_REGISTRIES_CONF": os.path.join(RUN_BASE, "registries.conf")}


def podman_command(*args: str) -> list[str]:
    """The podman command line with the lab's configuration (``podman_environment``)."""
    return ["podman", "--tmpdir", os.path.join(RUN_BASE, "tmp"), *args]


def remove_session_pods(session_id: str) -> None:
    """Remove every pod and container labelled with this session (and nothing else), with
    the podman command itself: it works while no service answers."""
    label = f"label={SESSION_LABEL}={session_id}"
    for kind in ("pod", "container"):
        every = ["-a"] if kind == "container" else []  # `pod ps` lists every pod already
        listed = subprocess.run(podman_command(kind, "ps", *every, "-q", "--no-trunc",
                                               "--filter", label),
                                env=podman_environment(), capture_output=True, text=True,
                                timeout=60)
        ids = listed.stdout.split()
        if ids:
            subprocess.run(podman_command(kind, "rm", "-f", "-t", "0", *ids),
                           env=podman_environment(),
                           capture_output=True, timeout=120)
        if kind == "pod":
            remove_pod_cgroups(ids)


def _read_ids(path: str) -> list[str]:
    try:
        with open(path) as handle:
            return handle.read().split()
    except FileNotFoundError:
        return []


def remove_pod_cgroups(pod_ids) -> None:
    """What Podman's cgroupfs manager leaves of removed pods on a v1 host: their
    ``/libpod_parent/<pod id>`` in the hierarchies without controllers (``name=systemd``,
    the unified one). systemd's manager removes its slices itself."""
    layout = own_layout()
    paths = [f"/libpod_parent/{pod_id}" for pod_id in pod_ids
             if re.fullmatch(r"[0-9a-f]{64}", pod_id)]
    deadline = time.monotonic() + 5  # conmon leaves a moment after the pod is removed
    while paths:
        for path in paths:
            remove_cgroup(layout, path)
        paths = [path for path in paths if any(
            (directory := mount.directory(path)) and os.path.isdir(directory)
            for mount in layout.mounts)]
        if not paths or time.monotonic() > deadline:
            return
        time.sleep(0.05)
