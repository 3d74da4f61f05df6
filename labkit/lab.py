"""The object a notebook holds: one session, the engines, and the node reader.

>>> lab = Lab()                                   # doctest: +SKIP
>>> web = lab.run("foo", "nginx", memory="512MB", cpus=0.5)   # doctest: +SKIP
>>> obs = lab.observe(web)                        # doctest: +SKIP
>>> pod = lab.cri_pod(open("pod.yaml").read())    # doctest: +SKIP
>>> obs = lab.observe(pod)                        # doctest: +SKIP
"""

from __future__ import annotations

import html
import os
import platform
import subprocess
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from . import liveness, watcher
from .cleanup import clean_session
from .errors import LabError, install_notebook_handler
from .model import CniState, ExecResult, Forwarding, Member, NetworkNamespace, Observation
from .node import Node
from .node.gather import DirectGatherer, HelperGatherer
from .node.mounts import CgroupLayout
from .runtimes.cluster import ClusterPod, ClusterRuntime
from .runtimes.containerd import ContainerdNode, CriPod
from .runtimes.docker import Container, DockerPod, DockerRuntime
from .runtimes.pod import Pod, PodBase
from .runtimes.podman import PodmanPod, PodmanService, check_share
from .runtimes.scratch import ScratchPod
from .session import Session
from .spec import PodSpec, refuse_what_only_the_cri_runs
from .watch import Watch, watch, watch_while_drawing

GatherChoice = Literal["auto", "direct", "helper"]
NSENTER_FLAGS = {"mnt": "--mount", "uts": "--uts", "ipc": "--ipc", "net": "--net",
                 "pid": "--pid", "user": "--user", "cgroup": "--cgroup", "time": "--time"}


@dataclass(frozen=True)
class Versions:
    """(name, version) pairs, printed on one line; ``versions["runc"]`` is one."""

    pairs: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return " · ".join(f"{name} {version}" for name, version in self.pairs)

    __repr__ = __str__

    def __getitem__(self, name: str) -> str:
        return dict(self.pairs)[name]


@dataclass(frozen=True)
class Leftovers:
    """What of a lab's session is still on the machine, by kind."""

    containers: tuple[str, ...] = ()
    cgroups: tuple[str, ...] = ()
    scratch_pods: tuple[str, ...] = ()
    engines: tuple[str, ...] = ()
    links: tuple[str, ...] = ()  # network interfaces named lk<session>… (bridges, veths)
    rules: tuple[str, ...] = ()  # the session's iptables rules (FORWARD, lk-<session>-pods)

    def __bool__(self) -> bool:
        return bool(self.containers or self.cgroups or self.scratch_pods or self.engines
                    or self.links or self.rules)

    def __str__(self) -> str:
        if not self:
            return ("nothing of this session is left: no container, cgroup, pod, engine, "
                    "network link or firewall rule")
        parts = [f"{kind}: {', '.join(names)}" for kind, names in (
            ("containers", self.containers), ("cgroups", self.cgroups),
            ("pods from scratch", self.scratch_pods), ("engines", self.engines),
            ("network links", self.links), ("firewall rules", self.rules)) if names]
        return "left of this session: " + "; ".join(parts)

    __repr__ = __str__


def engine_visible(process_name: str) -> bool:
    """True when the engine's process is in this PID namespace (so its PIDs mean ours)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return False
    for name in names:
        if name.isdigit():
            try:
                with open(f"/proc/{name}/comm") as handle:
                    if handle.read().strip() == process_name:
                        return True
            except OSError:
                continue
    return False


def choose_gatherer(requested: GatherChoice = "auto",
                    engine_process: str = DockerRuntime.engine_process) -> str:
    """``direct`` for root beside a visible engine process (Docker's); otherwise ``helper``."""
    requested = os.environ.get("LABKIT_GATHER", requested)  # type: ignore[assignment]
    if requested not in ("auto", "direct", "helper"):
        raise LabError(f"LABKIT_GATHER={requested!r} is not a way of reading: use direct, "
                       "helper or auto.")
    if requested != "auto":
        return requested
    if os.geteuid() == 0 and engine_visible(engine_process):
        return "direct"
    return "helper"


class Lab:
    """One lab session: what it creates is labelled with its id and removed on close.

    If the process holding it dies first (a kernel killed or restarted), a watcher
    process removes what it created; ``watch_owner=False`` leaves that to the next
    ``Lab`` of the same user, or to ``labkit clean``.
    """

    def __init__(self, gather: GatherChoice = "auto", session: Session | None = None, *,
                 watch_owner: bool = True, chapter: str | None = None) -> None:
        install_notebook_handler()
        self.chapter = chapter  # the notebook's chapter ("01"), when labkit.chapter_lab made it
        # What this user's earlier sessions left when their kernel died goes first; a
        # session whose owner still runs (another notebook, another learner) is left alone.
        self.reaped = liveness.reap(clean_session)
        self.session = session or Session()
        self.session.claim(watcher=watcher.start if watch_owner else None)
        self._requested_gather = gather
        self._docker: DockerRuntime | None = None
        self._node: Node | None = None
        self._containerd: ContainerdNode | None = None
        self._podman: PodmanService | None = None
        # A cluster's node, read through its node shell, for each cluster runtime in use.
        self._cluster_nodes: weakref.WeakKeyDictionary[ClusterRuntime, Node] = \
            weakref.WeakKeyDictionary()
        self.pods: list[Pod] = []  # the pods made here, in order

    @property
    def docker(self) -> DockerRuntime:
        if self._docker is None:
            self._docker = DockerRuntime(self.session)
        return self._docker

    @property
    def containerd(self) -> ContainerdNode:
        """labkit's own containerd (CRI), started on first use, and again after its
        session removed it (a cleanup of the session's engines, as Lab.close does)."""
        if self._containerd is None or not self.session.holds(self._containerd.name):
            self._containerd = ContainerdNode(self.session).start()
        return self._containerd

    @property
    def podman(self) -> PodmanService:
        """labkit's own rootful podman (its own storage and API socket), started on first
        use, and again after its session removed it."""
        if self._podman is None or not self.session.holds(self._podman.name):
            self._podman = PodmanService(self.session).start()
        return self._podman

    def cluster_pod(self, manifest: str, *, context: str = "minikube", node_shell=None,
                    start_minikube: bool = False) -> ClusterPod:
        """The Pod applied to a real cluster (a kubeconfig context), observed on its node;
        ``start_minikube=True`` first starts minikube with containerd, as the article does.

        >>> pod = lab.cluster_pod(open("pod.yaml").read(), start_minikube=True)  # doctest: +SKIP
        """
        def apply(spec: PodSpec, _quiet: bool) -> ClusterPod:
            refuse_what_only_the_cri_runs(spec)  # before kubectl or minikube is asked anything
            if start_minikube:  # after the manifest is checked: bad input starts nothing
                from .runtimes.cluster import start_minikube as start

                start(context)
            # kubectl applies the Pod and labkit waits until it runs: that is its start
            return ClusterRuntime(self.session, context, node_shell).run(spec)

        return self._pod(apply, manifest, None, None, {}, quiet=True)

    def _pod_spec(self, manifest, name, containers, flags):
        from .manifest import parse_pod, pod_from_kwargs

        if manifest is not None:
            return parse_pod(manifest)
        if name is not None:
            return pod_from_kwargs(name, containers or {}, **flags)
        raise LabError("A pod needs a manifest, or name= and containers=: give one.")

    @property
    def node(self) -> Node:
        """This machine's kernel, read directly or through Docker's helper container."""
        if self._node is None:
            engine = DockerRuntime.engine_process
            how = choose_gatherer(self._requested_gather, engine)
            gatherer = DirectGatherer() if how == "direct" else \
                HelperGatherer(self.docker.start_helper(), engine)
            self._node = Node(gatherer, engine=self.docker.description)
        return self._node

    def _cluster_node(self, runtime: ClusterRuntime) -> Node:
        """A cluster's node, read with the same gatherer as the helper's, through its shell."""
        if runtime not in self._cluster_nodes:
            gatherer = HelperGatherer(runtime.node_shell, runtime.engine_process)
            self._cluster_nodes[runtime] = Node(gatherer, engine=f"cluster {runtime.context}")
        return self._cluster_nodes[runtime]

    def _writable_layout(self) -> CgroupLayout | None:
        """The cgroup file systems, when this process writes them itself (reading directly)."""
        return self.node.layout if self.node.gatherer.kind == "direct" else None

    def run(self, name: str, image: str, command=None, **options) -> Container:
        """``docker run -d`` with the session's labels; see :meth:`DockerRuntime.run`."""
        return self.docker.run(name, image, command, **options)

    # -- pods: one way in -------------------------------------------------------------
    def docker_pod(self, manifest: str | None = None, *, name: str | None = None,
                   containers: dict[str, dict] | None = None, quiet: bool = False,
                   **flags: bool) -> DockerPod:
        """A Pod emulated with Docker (chapter 3), from Kubernetes YAML or keywords.

        >>> pod = lab.docker_pod(open("pod.yaml").read())      # doctest: +SKIP
        >>> pod = lab.docker_pod(name="foo", containers={"app": {"image": "httpbin"}})
        ... # doctest: +SKIP
        """
        return self._pod(lambda spec, quiet: DockerPod(
            self.docker, spec, self._writable_layout()).start(quiet=quiet),
            manifest, name, containers, flags, quiet)

    def cri_pod(self, manifest: str | None = None, *, name: str | None = None,
                containers: dict[str, dict] | None = None, quiet: bool = False,
                **flags: bool) -> CriPod:
        """A Pod run on containerd's CRI as the kubelet runs it (chapter 2), from YAML or
        keywords.

        >>> pod = lab.cri_pod(open("pod.yaml").read())          # doctest: +SKIP
        """
        return self._pod(lambda spec, quiet: CriPod(
            self.containerd, spec, self.node.layout).start(quiet=quiet),
            manifest, name, containers, flags, quiet)

    def podman_pod(self, manifest: str | None = None, *, name: str | None = None,
                   containers: dict[str, dict] | None = None, share=None,
                   network: bool = False, quiet: bool = False, **flags: bool) -> PodmanPod:
        """A Podman pod (chapter 5): a manifest goes to ``podman kube play``; keywords make
        it as ``podman pod create --share SHARE`` and ``podman create --pod`` per container.
        Its network namespace has ``lo`` only (``--network none``), unless ``network=True``
        puts an ``eth0`` in it on the session's CNI network (chapter 7).

        >>> pod = lab.podman_pod(open("pod.yaml").read())                  # doctest: +SKIP
        >>> pod = lab.podman_pod(name="foo", containers={"app": {"image": "nginx"}},
        ...                      share="+pid")                                  # doctest: +SKIP
        """
        if manifest is not None and share is not None:
            raise LabError("share= goes with name= and containers= (podman pod create); a "
                           "manifest's pod shares what its spec says: drop one of the two.")
        how = "kube play" if manifest is not None else "pod create"
        shared = check_share(share)  # checked before Podman starts
        if not isinstance(network, bool):
            raise LabError(f"network={network!r} must be True or False: write network=True "
                           "for an eth0 on the session's network.")
        return self._pod(lambda spec, quiet: PodmanPod(
            self.podman, spec, how=how, share=shared, network=network).start(quiet=quiet),
            manifest, name, containers, flags, quiet)

    def scratch_pod(self, manifest: str | None = None, *, name: str | None = None,
                    containers: dict[str, dict] | None = None, quiet: bool = False,
                    **flags: bool) -> ScratchPod:
        """A Pod from scratch, with no engine (chapter 6): ``unshare`` makes pause's
        namespaces, ``nsenter`` joins the containers to them, cgroupfs holds the limits
        (needs root).

        >>> pod = lab.scratch_pod(open("pod.yaml").read())      # doctest: +SKIP
        >>> print("\\n".join(pod.commands()))                  # doctest: +SKIP
        """
        return self._pod(lambda spec, quiet: ScratchPod(self.session, spec).start(quiet=quiet),
                         manifest, name, containers, flags, quiet)

    def _pod(self, make: Callable[[PodSpec, bool], Pod], manifest, name, containers, flags,
             quiet: bool):
        """Every kind of pod comes in here: the spec parsed and checked (nothing made yet),
        the API server's warnings said, the pod made (``make(spec, quiet)``) and kept in
        ``lab.pods``."""
        spec = self._pod_spec(manifest, name, containers, flags)
        for warning in spec.warnings:
            print(f"Warning: {warning}")
        pod = make(spec, quiet)
        self.pods.append(pod)
        return pod

    def observe(self, *things: Container | Pod, trees: tuple[str, ...] = ()) -> Observation:
        """What the kernel says right now about these containers, or these pods' members
        (with each pod's cgroup subtree walked, first in ``trees``).

        >>> lab.observe(pod).trees[0].path == pod.cgroup_parent       # doctest: +SKIP
        True
        """
        members: list[Member] = []
        walked: list[str] = []
        nodes = set()
        for thing in things:  # a Container or a pod: members, a cgroup to walk, a node
            members += thing.members()
            if thing.cgroup_parent:
                walked.append(thing.cgroup_parent)
            nodes.add(thing.where)
        if len(nodes) > 1:
            raise LabError("These run on different nodes (this machine, a cluster): observe "
                           "each node's containers and pods in a call of their own.")
        runtime = next(iter(nodes), None)
        node = self._cluster_node(runtime) if runtime is not None else self.node
        return node.snapshot(members, trees=(*walked, *trees))

    def watch(self, container: Container, *, seconds: float | None = None,
              samples: int | None = None, every: float = 0.2, plot: str | None = None,
              until=None) -> Watch:
        """Read a container's cgroup every ``every`` s until ``until(sample)``, ``samples``
        readings, the cgroup's end or ``seconds`` (a cap); ``plot="memory"`` or ``"cpu"``
        draws the figure live in the notebook while it runs (the readings are taken on a
        thread of their own, so a slow drawing never delays one)."""
        cgroups = self.node.cgroups(container.pid)
        live = None
        if plot is not None:
            from .views.live import LiveFigure, cpu_figure, memory_figure

            draw = {"memory": memory_figure, "cpu": cpu_figure}.get(plot)
            if draw is None:
                raise LabError(f"plot={plot!r} is not a plot labkit draws: use 'memory' or 'cpu'.")
            live = LiveFigure(draw)
        if live is None:
            return watch(self.node, cgroups, seconds=seconds, samples=samples, every=every,
                         until=until)
        readings = watch_while_drawing(self.node, cgroups, live, seconds=seconds,
                                       samples=samples, every=every, until=until)
        if readings:
            live.show(readings)
        return readings

    def versions(self) -> Versions:
        """What the chapters' version-dependent sentences hold for, on this machine: the
        kernel, the cgroup version, Docker, containerd, runc, podman, util-linux (unshare,
        nsenter), and the Kubernetes release whose rules labkit applies in the kubelet's
        place.

        >>> print(lab.versions())                                    # doctest: +SKIP
        kernel 6.1.0 · cgroup v1 · Docker 20.10.24 · containerd 1.6.20 · runc 1.1.5 · ...
        """
        from . import kubernetes
        from .node.oci_runtime import program_version

        return Versions((
            ("kernel", platform.release()), ("cgroup", self._cgroup_mode()),
            ("Docker", self.docker.description.removeprefix("Docker ")),
            *((name, program_version(program) or "not installed")
              for name, program in (("containerd", "containerd"), ("runc", "runc"),
                                    ("podman", "podman"), ("util-linux", "unshare"))),
            ("Kubernetes rules", kubernetes.VERSION)))

    def _cgroup_mode(self) -> str:
        """``v2``; ``v1``, or ``v1 (hybrid)`` where a cgroup2 tree is mounted beside the v1
        hierarchies (systemd's hybrid layout, as on this lab's Debian 12 machines)."""
        node = self.node
        if node.cgroup_version == 2:
            return "v2"
        return "v1 (hybrid)" if node.layout.unified is not None else "v1"

    def describe(self, *images: str, engine: Literal["docker", "podman"] = "docker") -> str:
        """This machine as the lab sees it: the engine, the cgroup version, how the kernel
        is read, and for each image named, what will run for it (itself, or labkit's
        stand-in and why). It differs from machine to machine, unlike the lessons.

        >>> print(lab.describe("nginx"))                 # doctest: +SKIP
        Docker 24.0.7 · cgroup v2 · reading the kernel's files directly
        nginx: this machine has it, so it runs as itself.
        """
        if engine not in ("docker", "podman"):
            raise LabError(f"engine={engine!r} is not one labkit describes: use 'docker' or "
                           "'podman'.")
        node = self.node
        runtime = self.podman if engine == "podman" else self.docker
        lines = [f"{runtime.description} · cgroup v{node.cgroup_version} · "
                 f"{node.gatherer.description}"]
        if engine == "podman":
            lines[0] += f" · podman's {runtime.cgroup_manager} cgroup manager"
        for image in images:
            resolved = runtime.resolve_image(image)
            self.session.said(resolved.note)  # said here: not again at each container
            lines.append(resolved.note or f"{image}: this machine has it, so it runs as itself.")
        return "\n".join(lines)

    def nsenter(self, pid: int, namespaces: Sequence[str], argv: Sequence[str]) -> ExecResult:
        """Run a program of this machine in some namespaces of process ``pid``, as
        ``nsenter --target PID --ipc ... PROGRAM`` does as root: to look at a container with
        the host's tools (``ipcs``, ``ip``, ``hostname``), or to join it.

        >>> lab.nsenter(pod["app"].pid, ["ipc"], ["ipcs", "-q"]).output     # doctest: +SKIP
        """
        flags = []
        for ns in namespaces:
            if ns not in NSENTER_FLAGS:
                raise LabError(f"{ns!r} is not a namespace nsenter enters: use "
                               f"{', '.join(NSENTER_FLAGS)}.")
            flags.append(NSENTER_FLAGS[ns])
        if os.geteuid() != 0:
            raise LabError("Entering another process's namespaces needs root: open the lab "
                           "as root (sudo ./lab up).")
        done = subprocess.run(["nsenter", "--target", str(pid), *flags, "--", *argv],
                              capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
        return ExecResult(done.returncode, done.stdout + done.stderr)

    # -- networks (chapter 7) ------------------------------------------------------------
    def network(self, thing: Container | Pod | None = None,
                member: str | None = None) -> NetworkNamespace:
        """A pod's (or a container's) network namespace as the kernel has it: interfaces,
        addresses, routes (``ip -j`` run in it through ``nsenter --target PID --net``), where
        the namespace is kept (bind mounts), each veth's peer on the node and the bridge it
        is a port of, and what the runtime reports as the Pod's IP. A pod is read through
        its sandbox, or ``member`` (its first running container once the sandbox is gone);
        with nothing given, the node's own namespace. Needs root.

        >>> net = lab.network(pod)                        # doctest: +SKIP
        >>> net.ip, net.peers["eth0"].master              # doctest: +SKIP
        ('10.233.7.2', 'lk0badcafe')
        >>> print(views.network_text(net))                # doctest: +SKIP
        """
        from .node import network as reader

        if thing is None:
            return reader.read_namespace(os.getpid(), "the node")
        if thing.where is not None:
            raise LabError("A pod on a cluster's node is read on that node: labkit reads the "
                           "networks of this machine's pods and containers only.")
        members = thing.members()
        if not members:
            raise LabError(f"{thing.name} has no running process, so no network namespace to "
                           "read: make it again.")
        alive = [m for m in members if os.path.exists(f"/proc/{m.pid}")]
        if member is not None:
            chosen = next((m for m in members if m.name == member), None)
            if chosen is None:
                raise LabError(f"{thing.name} has no running member {member!r}: it has "
                               f"{', '.join(m.name for m in members)}.")
        elif alive:
            chosen = alive[0]
        else:
            raise LabError(f"No process of {thing.name} runs now: make it again.")
        owner = f"pod {thing.name} ({thing.kind}): {chosen.name}" \
            if isinstance(thing, PodBase) else f"container {thing.name}"
        return reader.read_namespace(chosen.pid, owner, _reported_ip(thing))

    def cni(self) -> CniState:
        """labkit's containerd's CNI network as its files have it: the configuration list
        containerd loads (one bridge plugin, host-local for addresses), the addresses
        host-local has handed out and the last one, and the CNI plugins' version. Starts
        labkit's containerd if it is not running.

        >>> lab.cni().bridge["isGateway"]                 # doctest: +SKIP
        False
        """
        from .node import network as reader

        return reader.read_cni(self.containerd.cni_conf_dir)

    def forwarding(self, bridge: str) -> Forwarding:
        """What decides on this node whether two ports of ``bridge`` reach each other
        through it: the policy of iptables' FORWARD chain, whether bridged IPv4 frames pass
        iptables (``net.bridge.bridge-nf-call-iptables``), the FORWARD rules naming the
        bridge, iptables' version.

        >>> lab.forwarding("docker0").policy              # doctest: +SKIP
        'DROP'
        """
        from .node import firewall

        return firewall.forwarding(bridge)

    def allow_pod_traffic(self, bridge: str) -> list[str]:
        """Insert this session's rule that accepts, in iptables' FORWARD chain, what
        ``bridge`` (one of this session's: labkit's containerd's ``lk<session>``, or the
        bridge of its pods from scratch) forwards between two of its ports, and nothing
        else; it goes at clean-up. Returns the command, as typed ([] if it is there).

        >>> print("\\n".join(lab.allow_pod_traffic(f"lk{lab.session.id}")))  # doctest: +SKIP
        iptables -I FORWARD -i lk0badcafe -o lk0badcafe -m comment --comment ...
        """
        from .node import firewall
        from .node.network import LAB_LINK_RE
        from .plan import shell_line

        match = LAB_LINK_RE.fullmatch(bridge)
        if match is None or match["session"] != self.session.id or \
                not os.path.isdir(f"/sys/class/net/{bridge}/bridge"):
            raise LabError(f"{bridge} is not a bridge of this lab session: labkit adds rules "
                           f"for its own bridges only (lk{self.session.id}, made with the "
                           "first CRI pod, or the bridge of its pods from scratch).")
        argv = firewall.forward_rule(bridge, self.session.id)
        if any(f"-i {bridge} -o {bridge} " in rule
               for rule in firewall.session_rules(self.session.id)):
            return []
        firewall.run(argv)
        rule = f"-A FORWARD -i {bridge} -o {bridge} -m comment --comment " \
               f"{firewall.comment(self.session.id)} -j ACCEPT"
        self.session.on_cleanup(self.session.name(f"forward-{bridge}"),
                                lambda: firewall.delete(rule))
        return [shell_line(argv)]

    def leftovers(self) -> Leftovers:
        """What of this lab's session is still on the machine: Docker containers, cgroups,
        pods from scratch, labkit's containerd and podman (each with their pods), network
        links named after the session (bridges, veths) and its firewall rules. After
        :meth:`close` it is nothing.

        >>> print(lab.leftovers())                                   # doctest: +SKIP
        nothing of this session is left: no container, cgroup, pod, engine, network link or ...
        """
        from .cleanup import lab_cgroup_dirs
        from .runtimes.scratch import leftovers as scratch

        session = self.session.id
        links, rules = scratch.network_leftovers(session)
        return Leftovers(
            containers=tuple(self.docker.session_containers()),
            cgroups=tuple(lab_cgroup_dirs(self.node.layout, session)),
            scratch_pods=tuple(sorted(scratch.find(self.node.layout, session))),
            engines=tuple(name for name, found in (
                ("containerd", session in ContainerdNode.leftovers()),
                ("podman", session in PodmanService.leftovers(session))) if found),
            links=tuple(links), rules=tuple(rules))

    def cleanup_button(self):
        """A button that removes what this lab made (:meth:`close`) and then says what of
        its session is left: a chapter's last cell, so that running every cell keeps the
        chapter's pods for its exercises. Leaving the notebook removes everything too.

        >>> lab.cleanup_button()                                    # doctest: +SKIP
        """
        return cleanup_button(self)

    def close(self) -> list[str]:
        """Remove everything this lab made (its pods and containers, its containerd and
        podman with theirs, its cgroups); returns what could not be removed. The lab stays
        usable: what it makes afterwards is owned, watched and removed the same way (its
        engines start again on first use)."""
        failed = self.session.close()
        self._containerd = self._podman = None
        if self._node is not None and self._node.gatherer.kind != "direct":
            self._node = None  # its helper container went with the session
        self.pods = []
        return failed

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _reported_ip(thing: Any) -> str | None:
    """What the runtime reports as the IP of a pod or container: the CRI's sandbox status,
    Docker's ``NetworkSettings.IPAddress`` (of the sandbox, for an emulated pod), Podman's
    address of the infra container on the pod's network; None where no runtime reports one
    (a pod from scratch)."""
    if isinstance(thing, CriPod):
        if thing.sandbox_id is None:
            return None
        status = thing.node.call("PodSandboxStatus", thing.cri.pb.PodSandboxStatusRequest(
            pod_sandbox_id=thing.sandbox_id), what="read the sandbox's status").status
        return status.network.ip
    if isinstance(thing, PodmanPod):
        return thing.reported_ip()
    container = thing["sandbox"] if isinstance(thing, DockerPod) else thing
    if isinstance(container, Container):
        return (container.inspect().get("NetworkSettings") or {}).get("IPAddress", "")
    return None


def cleanup_button(lab: Any, replaying: bool = False):
    """The widget of :meth:`Lab.cleanup_button`, for a real, recording or replayed lab; its
    text form says what it does, for a reader without widgets."""
    import ipywidgets as widgets

    button = widgets.Button(description="Clean up this chapter", icon="trash",
                            button_style="warning", layout=widgets.Layout(width="auto"))
    said = widgets.HTML()

    def click(_button=None) -> None:
        if replaying:
            said.value = ("<p>This chapter replays a recording: it made nothing on this machine, "
                          "so there is nothing to remove.</p>")
            return
        failed = lab.close()
        text = f"Done: {lab.leftovers()}." if not failed else (
            "Some things could not be removed: " + "; ".join(failed) +
            " (run `labkit clean` in a terminal).")
        said.value = f"<p>{html.escape(text)}</p>"

    button.on_click(click)

    class CleanupButton(widgets.VBox):
        def __repr__(self) -> str:
            return ("Clean up this chapter: a button that removes what this chapter made "
                    "(lab.close()); leaving the notebook does the same.")

    box = CleanupButton([button, said])
    box.button, box.said, box.click = button, said, click
    return box
