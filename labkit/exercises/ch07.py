"""Chapter 7 exercises: the Pod's network, from the kernel up.

The checks find the learner's pods as the other chapters' do (``pods.CRI`` through the CRI,
a Docker-emulated pod by its containers' names, ``pods.SCRATCH`` from its cgroup), then
read the network from the kernel: ``ip -j`` in the pod's network namespace (``nsenter
--target PID --net``) and on the node, host-local's files for labkit's containerd, and for
the *do* exercise one bounded HTTP request between two of the lab's own pods. Those
readings run programs, so each is a :func:`~labkit.exercises.machine.reading`: a recorded
chapter files and replays it whole.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
from typing import Any

from ..errors import FormError, LabError
from ..model import CniState, Link, NetworkNamespace
from ..node import network
from .core import Wrong, exercise, failed, one_of, passed, unjudged
from .machine import reading
from .pods import CRI, FOO_POD, SCRATCH, SLEEPER, docker_members, on_pod, pod_names

# -- readings: the kernel's network, through the machine ------------------------------------


@reading
def namespace_of(machine, pid: int) -> NetworkNamespace | None:
    """Process ``pid``'s network namespace as ``lab.network`` reads it; None once the
    process is gone."""
    try:
        return network.read_namespace(pid, f"process {pid}")
    except LabError:
        return None


@reading
def node_links(machine) -> tuple[Link, ...]:
    """The node's interfaces (``ip -j -d addr``)."""
    return network.node_links()


@reading
def cni_of(machine, address: str) -> CniState | None:
    """The CNI network of the lab session's containerd (of those this process owns) whose
    subnet holds ``address``."""
    from ..runtimes.containerd.node import STATE_BASE

    for prefix in sorted(p for p in machine.prefixes() if p):
        conf_dir = os.path.join(STATE_BASE, f"{prefix}containerd", "net.d")
        if not os.path.isdir(conf_dir):
            continue
        try:
            state = network.read_cni(conf_dir)
        except (LabError, OSError, ValueError, KeyError, StopIteration):
            continue
        if ipaddress.ip_address(address) in ipaddress.ip_network(state.subnet):
            return state
    return None


@reading
def answers(machine, pid: int, address: str) -> bool:
    """Whether ``http://ADDRESS/`` answers a request made in process ``pid``'s network
    namespace (the host's busybox wget, given 3 s): traffic between two of the lab's own
    network namespaces, nothing else."""
    from ..images import find_busybox

    try:
        done = subprocess.run(["nsenter", "--target", str(pid), "--net", "--", find_busybox(),
                               "wget", "-q", "-O", "/dev/null", f"http://{address}/"],
                              capture_output=True, timeout=3, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def interface_name(answer: Any) -> str:
    """An interface's name, as ``ip link`` prints it (without ``@if…``)."""
    text = answer.strip().split("@")[0] if isinstance(answer, str) else ""
    if text and len(text) <= 15 and not any(c.isspace() or c in "/:" for c in text):
        return text
    shown = repr(answer) if answer is not None else "No answer"
    raise FormError(f"{shown} is not an interface's name: type it as ip link prints it, e.g. "
                    "veth1a2b3c4 (what comes before @if…).")


# -- predict: the IP of a new sandbox ------------------------------------------------------

SAME = "the same IP as before"
OTHER = "another IP of the bridge's subnet"
KEPT = "no new IP: the containers keep the old network namespace"
NEW_IP_OPTIONS = (SAME, OTHER, KEPT)
MAKE_FOO = ("the first cell under «A CRI pod's network namespace» (pod = lab.cri_pod(manifest)), "
            "then check")
AGAIN_FOO = ("make foo again with the cells under «When pause dies» "
             "(pod = lab.cri_pod(manifest)), then check")


def setup_foo(lab):
    """The chapter's first pod: the article's manifest, on labkit's containerd."""
    return lab.cri_pod(FOO_POD, quiet=True)


def new_ip_solution(lab):
    pod = CRI.in_lab(lab, "foo")
    ip = lab.network(pod).ip  # eth0's address, read in pause's network namespace
    cni = lab.cni()  # host-local's leases and the last address it handed out
    following = network.next_lease(cni.subnet, cni.leases, cni.last_reserved, released=[ip])
    return SAME if following == ip else OTHER


@exercise(
    "07.new-sandbox-ip", kind="predict",
    title="A new sandbox's IP",
    task="pause of pod foo dies, and the kubelet makes the Pod a new sandbox. What is the "
         "address of eth0 in the new sandbox? (foo is the pod made by the first cell under "
         "«A CRI pod's network namespace», with lab.cri_pod, on labkit's containerd; answer "
         "before you run the cells below this card.)",
    hints=("What to think about: what the kubelet does with the old sandbox before it makes a "
           "new one (StopPodSandbox), and what containerd does for a sandbox's network when "
           "it stops one and when it runs one: it asks the CNI plugins to DEL the old "
           "sandbox's interface and to ADD one to the new sandbox's network namespace.",
           "Where the address comes from: the bridge plugin asks its IPAM plugin, host-local, "
           "which keeps a file per address it has handed out and not been given back, and the "
           "last address it handed out: "
           "`ls /run/labkit/{name:containerd}/ipam/labkit-{session}`.",
           "How host-local picks: not the lowest free address, but the first free one after "
           "`cat /run/labkit/{name:containerd}/ipam/labkit-{session}/last_reserved_ip.0`, "
           "going round the subnet (and skipping .1). Once foo's address is given back, which "
           "one does the next ADD get?"),
    form=one_of(NEW_IP_OPTIONS), options=NEW_IP_OPTIONS, example=SAME,
    setup=setup_foo, untouched="There is no pod named foo on labkit's containerd yet",
    solution=new_ip_solution,
    wrong=(Wrong(lambda lab: SAME, "host-local hands out"),
           Wrong(lambda lab: KEPT, "StopPodSandbox")),
    reads="pod foo through the CRI (pause's host PID), its network namespace (ip -j addr in "
          "it, through nsenter), and host-local's files for labkit's containerd (its leases "
          "and last_reserved_ip.0)",
)
@on_pod(CRI, "foo", make=MAKE_FOO, running=("app",), again=AGAIN_FOO)
def new_sandbox_ip(machine, pod, answer):
    net = namespace_of(machine, pod.pause_pid)
    if net is None or net.ip is None:
        return unjudged(f"Pod foo's pause has no IPv4 address to compare with now: {AGAIN_FOO}.")
    cni = cni_of(machine, net.ip)
    if cni is None:
        return unjudged("labkit's containerd's CNI files were not found for pod foo's "
                        f"address: {AGAIN_FOO}.")
    following = network.next_lease(cni.subnet, cni.leases, cni.last_reserved,
                                   released=[net.ip])
    truth = SAME if following == net.ip else OTHER
    last = cni.last_reserved or "none yet"
    if answer == KEPT:
        return failed("The kubelet does not keep the old sandbox's containers: it stops them "
                      "and the sandbox (StopPodSandbox, which makes containerd DEL its network "
                      "and remove the bind mount that kept its network namespace), then "
                      "creates the containers anew in the new sandbox, which gets a CNI ADD of "
                      "its own.")
    if answer != truth:
        return failed(f"host-local hands out the first free address after the last it gave "
                      f"({last}), going round {cni.subnet}: with foo's {net.ip} given back "
                      f"that is {following}, so the new sandbox gets {truth}.")
    return passed(f"Right: foo's eth0 has {net.ip}; the old sandbox's address goes back to "
                  f"host-local, which hands out the next free one after the last it gave "
                  f"({last}): {following}, {truth}.")


# -- find: the node's end of the Docker pod's eth0 -----------------------------------------

MAKE_DOCKER = ("the first cell under «Side by side: Docker's pod» (docker = "
               "lab.docker_pod(manifest)), then check")


def setup_docker_foo(lab):
    """The article's manifest, emulated with Docker (chapter 3's pod)."""
    return lab.docker_pod(FOO_POD, quiet=True)


def _docker_pod(lab):
    """The chapter's ``docker``: the lab's newest Docker-emulated pod foo."""
    return next(p for p in reversed(lab.pods) if p.name == "foo" and p.kind.startswith(
        "emulated") and p.state != "deleted")


def docker_peer_solution(lab):
    net = lab.network(_docker_pod(lab))  # eth0 in the sandbox, and its peer on the node
    return net.peers["eth0"].name


@exercise(
    "07.docker-peer", kind="find",
    title="The other end of Docker's eth0",
    task="Type the name of the node's end of the veth pair whose other end is eth0 in the "
         "Docker-emulated pod foo (its sandbox container {name:foo-sandbox}), as ip link "
         "names it on the node.",
    hints=("A veth pair is two interfaces joined like the two ends of a cable, each end in "
           "its own network namespace. In a namespace, ip link writes a veth as "
           "NAME@ifN: N is the ifindex of its peer, in the peer's namespace.",
           "So first look inside the sandbox's network namespace, with the node's ip run "
           "there: `nsenter --target $(docker inspect -f '{{.State.Pid}}' {name:foo-sandbox}) "
           "--net ip -o link show eth0`",
           "Then look for that index among the node's interfaces: ip -o link on the node "
           "starts each line with an ifindex. Docker plugs a container's end into its bridge "
           "docker0, whose ports are listed by `ip -o link show master docker0`; more than "
           "one container may be there, and only one of them pairs with foo's eth0."),
    form=interface_name, example="veth1a2b3c4",
    setup=setup_docker_foo, untouched="There is no pod foo emulated with Docker yet",
    solution=docker_peer_solution,
    wrong=(Wrong(lambda lab: "eth0", "the sandbox's own end"),
           Wrong(lambda lab: "docker0", "the bridge")),
    reads="the Docker containers <pod>-sandbox (docker inspect: its host PID), ip -j addr in "
          "its network namespace (through nsenter) and on the node",
)
def docker_peer(machine, name):
    members, _missing = docker_members(machine, "foo", ("sandbox",))
    if members is None:
        return unjudged(f"There is no pod foo emulated with Docker yet (no running container "
                        f"named foo-sandbox): make it with {MAKE_DOCKER}.")
    net = namespace_of(machine, members["sandbox"][1])
    if net is None or "eth0" not in net.peers:
        return unjudged(f"The sandbox of pod foo has no eth0 paired with the node now: make the "
                        f"pod again with {MAKE_DOCKER}.")
    peer, eth0 = net.peers["eth0"], net.link("eth0")
    if name == peer.name:
        return passed(f"Right: {peer.name} is the node's end of foo's eth0 (its ifindex "
                      f"{peer.ifindex} is what eth0@if{peer.ifindex} names, and its own peer "
                      f"index is eth0's {eth0.ifindex}), a port of bridge {peer.master}.")
    if name == "eth0":
        return failed("eth0 is the sandbox's own end, inside its network namespace; the node's "
                      "end has another name, which eth0@ifN leads to.")
    if name == peer.master:
        return failed(f"{name} is the bridge that the node's end is a port of, not the end "
                      "itself.")
    found = next((link for link in node_links(machine) if link.name == name), None)
    if found is None:
        return failed(f"The node has no interface named {name} now: list them with ip -o link.")
    if found.kind == "veth" and found.peer_ifindex == eth0.ifindex:
        return failed(f"{name} is a veth on the node whose peer has the same index as foo's "
                      f"eth0 ({eth0.ifindex}), but in another namespace: an ifindex is "
                      f"numbered per namespace. Check both ways: foo's eth0 names ifindex "
                      f"{peer.ifindex} (eth0@if{peer.ifindex}), and {name} is ifindex "
                      f"{found.ifindex}.")
    if found.kind == "veth":
        return failed(f"{name} is a veth on the node (ifindex {found.ifindex}), but its peer "
                      f"index is {found.peer_ifindex}, not eth0's {eth0.ifindex}: it pairs with "
                      f"another namespace's interface; foo's eth0 names ifindex "
                      f"{peer.ifindex}.")
    return failed(f"{name} is one of the node's interfaces ({found.kind}), not the veth paired "
                  f"with foo's eth0, which names ifindex {peer.ifindex}.")


# -- do: a pod from scratch plumbed by hand ------------------------------------------------

MAKE_SOLO = ("solo = lab.scratch_pod(name=\"solo\", containers={\"app\": {\"image\": "
             "\"busybox\", \"command\": \"sleep 3650d\"}}) in the cell under Exercises "
             "(# your code for exercise 3 here), then its eth0 from a terminal, then check")
MAKE_WEB = ("the cells under «By hand: a pod from scratch» (web = lab.scratch_pod(...), "
            "web.plumb())")


def setup_web(lab):
    """The chapter's pod from scratch on the session's bridge."""
    web = lab.scratch_pod(name="web", containers={"app": {"image": "nginx"}}, quiet=True)
    web.plumb()
    return web


def _solo(lab, change=None):
    solo = lab.scratch_pod(name="solo", containers={"app": SLEEPER}, quiet=True)
    for line in solo.network_commands():  # what a learner types in a root terminal
        typed = change(line) if change else line
        if typed:
            subprocess.run(["sh", "-c", typed], check=True, timeout=30)
    return solo


def plumb_solo_solution(lab):
    _solo(lab)


def _host_prefix(line: str) -> str:
    """The address with a /32 prefix: no route to the rest of the subnet."""
    return line.replace("/24 dev eth0", "/32 dev eth0")


def _elsewhere(line: str) -> str:
    """The address in another subnet (10.99.x.y instead of 10.234.x.y)."""
    return line.replace(" 10.234.", " 10.99.")


@exercise(
    "07.plumb-solo", kind="do",
    title="A pod plumbed by hand",
    task="Make a pod from scratch named solo, with no network but lo (for example solo = "
         "lab.scratch_pod(name=\"solo\", containers={\"app\": {\"image\": \"busybox\", "
         "\"command\": \"sleep 3650d\"}})), then give it yourself, from a terminal, an eth0 "
         "on the session's bridge lk{session}s: a veth pair with one end in solo's network "
         "namespace as eth0, up, with an address of web's subnet that no pod has, and the "
         "other end a port of the bridge, up, so that web answers solo on web's IP. Name "
         "what you make on the node lk{session}… (at most 15 characters): the names the lab's "
         "clean-up looks for.",
    hints=("Look at what gave web its eth0, in the section By hand: a pod from scratch: the "
           "lines web.plumb() printed (web.commands() ends with them). solo needs the same "
           "steps, with names, an address and a pause of its own; the bridge and its rule "
           "are there already.",
           "What names web in those lines: the veth pair's two names, web's address, and "
           "$PAUSE, the host PID of web's pause. For solo, any process of its pause cgroup "
           "will do as the PID (cat its cgroup.procs, in the pause cgroup under "
           "/sys/fs/cgroup/memory/{name:scratch.solo}, or /sys/fs/cgroup/{name:scratch.solo} "
           "on cgroup v2); for the address, see which ones the "
           "bridge's pods have, e.g. web's: `nsenter --target $(head -1 "
           "/sys/fs/cgroup/memory/{name:scratch.web}/pause/cgroup.procs) --net ip -o addr "
           "show eth0` (on cgroup v2 the file is "
           "/sys/fs/cgroup/{name:scratch.web}/pause/cgroup.procs)",
           "Then check the two ends: on the node, solo's end must be listed by "
           "`ip -o link show master lk{session}s` and be up; inside, solo's eth0 up with its "
           "address. solo.exec(\"app\", \"timeout 3 wget -q -O - http://ADDRESS/\") with web's "
           "address tries what the check tries."),
    solution=plumb_solo_solution,
    names=pod_names("solo"), pods=("solo",), setup=setup_web,
    untouched="There is no pod from scratch named solo yet",
    wrong=(Wrong(lambda lab: lab.scratch_pod(name="solo", containers={"app": SLEEPER},
                                             quiet=True), "only lo"),
           Wrong(lambda lab: _solo(lab, lambda line: "" if " master " in line else line),
                 "a port of no bridge"),
           Wrong(lambda lab: _solo(lab, _elsewhere), "not in web's subnet"),
           Wrong(lambda lab: _solo(lab, _host_prefix), "no route to web")),
    reads="pod solo's and pod web's cgroups (the first process of their pause), ip -j addr "
          "in their network namespaces (through nsenter) and on the node, and one HTTP "
          "request from solo's network namespace to web's address (3 s at most)",
)
@on_pod(SCRATCH, "solo", make=MAKE_SOLO, do=True)
def plumb_solo(machine, solo, _answer):
    pause = solo.main("pause", machine)
    if pause is None:
        return failed("Pod solo's pause is not running, so it has no network namespace to "
                      "plumb: delete the pod and make it again.")
    web, _ = SCRATCH.find(machine, "web")
    web_pause = web.main("pause", machine) if web is not None else None
    theirs = namespace_of(machine, web_pause) if web_pause else None
    if theirs is None or "eth0" not in theirs.peers or not theirs.link("eth0").ipv4():
        return unjudged(f"There is no pod from scratch named web on the session's bridge to "
                        f"reach: make it again with {MAKE_WEB}, then check.")
    web_address = theirs.link("eth0").ipv4()[0]
    subnet = ipaddress.ip_interface(str(web_address)).network
    bridge = theirs.peers["eth0"].master
    net = namespace_of(machine, pause)
    eth0 = next((link for link in net.links if link.name == "eth0"), None) if net else None
    if eth0 is None:
        names = [link.name for link in net.links] if net else []
        has = "only lo" if names == ["lo"] else ", ".join(names) + " but" if names else "nothing"
        return failed(f"Pod solo's network namespace has {has}: no eth0 yet. Make a veth "
                      "pair, move one end into it and name that end eth0.")
    if eth0.kind != "veth":
        return failed(f"solo's eth0 is a {eth0.kind}, not one end of a veth pair.")
    peer = net.peers.get("eth0")
    if peer is None:
        return failed("The other end of solo's eth0 is not in the node's network namespace: "
                      "leave it on the node, where the bridge is.")
    if peer.master != bridge:
        where = f"a port of {peer.master}" if peer.master else "a port of no bridge"
        return failed(f"The node's end of solo's eth0, {peer.name}, is {where}: it must be a "
                      f"port of {bridge}, the bridge web's eth0 is on (ip link set ... master).")
    if not peer.up or not eth0.up:
        down = "solo's eth0" if not eth0.up else f"the node's end {peer.name}"
        return failed(f"{down} is down: bring it up (ip link set ... up).")
    addresses = eth0.ipv4()
    if not addresses:
        return failed("solo's eth0 has no IPv4 address: give it one of web's subnet "
                      f"({subnet}).")
    mine = ipaddress.ip_interface(str(addresses[0]))
    if mine.ip not in subnet:
        return failed(f"solo's eth0 has {mine}, which is not in web's subnet {subnet}: its "
                      "packets to web would have no route.")
    if ipaddress.ip_address(web_address.local) not in mine.network:
        return failed(f"solo's eth0 has {mine}: with the prefix /{mine.network.prefixlen} its "
                      f"subnet {mine.network} does not hold web's {web_address.local}, so solo "
                      f"has no route to web. Use web's prefix length, "
                      f"/{subnet.prefixlen}.")
    if mine.ip == ipaddress.ip_address(web_address.local):
        return failed(f"solo's eth0 has web's own address {mine.ip}: give it one that no pod "
                      "on the bridge has.")
    if not answers(machine, pause, web_address.local):
        return failed(f"solo's eth0 looks right ({mine}, its peer {peer.name} on {bridge}), "
                      f"but web ({web_address.local}) did not answer solo within 3 s: look for "
                      "another pod with the same address.")
    return passed(f"web answered solo over the bridge: solo's eth0 ({mine}) pairs with "
                  f"{peer.name}, a port of {bridge}, beside web's. No CNI plugin was asked. "
                  "solo.network_commands() prints the lines labkit would have typed, to "
                  "compare with yours.")

