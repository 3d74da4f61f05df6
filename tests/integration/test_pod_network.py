"""Chapter 7 on the real kernel and engines: a pod's network namespace read as data (labkit's
containerd with the CNI bridge plugin, the Docker-emulated pod on docker0, a pod from scratch
plumbed by hand), two pods talking over the lab's own bridges, what a new sandbox means, and
that everything a session plumbs (links, bridges, addresses, rules) is named after it and
gone after clean-up, a crashed session's too, while another's and the node's stay."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time

import pytest

import labkit
from labkit.cleanup import clean_session
from labkit.errors import LabError
from labkit.node import firewall
from labkit.node import network as reader
from labkit.runtimes.podman import service as podman_service
from tests.conftest import need

SLEEPER = {"image": "busybox", "command": "sleep 600"}
WEB = {"app": {"image": "nginx"}}


@pytest.fixture(scope="module")
def lab(docker_client):
    need(os.geteuid() == 0, "reading and plumbing network namespaces needs root")
    with labkit.Lab(gather="direct", watch_owner=False) as lab:
        yield lab
    assert lab.leftovers().links == () and lab.leftovers().rules == ()


def _node_names() -> set[str]:
    return {link.name for link in reader.node_links()}


def _ask(pod, address: str) -> bool:
    """One bounded request from the pod's app to ``address``, port 80."""
    reply = pod.exec("app", f"timeout 3 wget -q -O - http://{address}/")
    return reply.exit_code == 0 and "<html" in reply.output


def test_a_cri_pods_namespace_as_the_bridge_plugin_made_it(lab):
    with lab.cri_pod(name="net", containers=WEB, quiet=True) as pod:
        net = lab.network(pod)
        cni = lab.cni()
        bridge = cni.bridge["bridge"]
        assert bridge == f"lk{lab.session.id}" and cni.bridge["isGateway"] is False
        assert [link.name for link in net.links] == ["lo", "eth0"]
        eth0 = net.link("eth0")
        assert eth0.kind == "veth" and eth0.up
        assert net.ip in cni.leases and net.ip == net.reported_ip  # the CRI's status agrees
        peer = net.peers["eth0"]
        assert peer.master == bridge and peer.name.startswith("veth")
        assert peer.peer_ifindex == eth0.ifindex and eth0.peer_ifindex == peer.ifindex
        assert net.bridges[bridge].ipv4() == ()  # isGateway false: no address on the bridge
        assert [route.destination for route in net.routes] == [cni.subnet]  # no default
        # nor a way in: no route of the node's leads to the pods' subnet (only its default,
        # which leads elsewhere), so the node's own processes (a kubelet's probes) cannot reach it
        subnet = ipaddress.ip_network(cni.subnet)
        assert not [r for r in lab.network().routes if r.destination != "default"
                    and ipaddress.ip_network(r.destination).overlaps(subnet)]
        containerd = lab.containerd.state  # netns_mounts_under_state_dir
        assert len(net.pinned_at) == 1 and net.pinned_at[0].startswith(
            f"{containerd}/io.containerd.grpc.v1.cri/netns/cni-")
        assert lab.network(pod, "app").inode == net.inode  # one namespace for the pod
        assert not net.is_node
    assert peer.name not in _node_names()  # the CNI DEL took the pair with it


def test_the_namespace_outlives_pause_and_goes_with_the_sandbox(lab):
    pod = lab.cri_pod(name="again", containers=WEB, quiet=True)
    net = lab.network(pod)
    pod.kill_sandbox()
    after = lab.network(pod, "app")
    assert (after.inode, after.ip, after.pinned_at) == (net.inode, net.ip, net.pinned_at)
    before = lab.cni()
    pod.delete()
    with open("/proc/self/mountinfo") as handle:
        assert net.pinned_at[0] not in handle.read()
    assert net.ip not in lab.cni().leases
    with lab.cri_pod(name="again", containers=WEB, quiet=True) as new:
        fresh = lab.network(new)
        assert fresh.pinned_at != net.pinned_at and fresh.ip != net.ip
        assert fresh.ip == reader.next_lease(before.subnet, before.leases,
                                             before.last_reserved, released=[net.ip])


def test_two_cri_pods_talk_once_the_sessions_rule_lets_the_bridge_forward(lab):
    with lab.cri_pod(name="server", containers=WEB, quiet=True) as server, \
            lab.cri_pod(name="caller", containers={"app": SLEEPER}, quiet=True) as caller:
        address, bridge = lab.network(server).ip, f"lk{lab.session.id}"
        facts = lab.forwarding(bridge)
        blocked = facts.policy == "DROP" and facts.bridged_through_iptables
        if not any(f"-i {bridge} " in rule for rule in facts.rules):
            assert _ask(caller, address) is (not blocked)
        typed = lab.allow_pod_traffic(bridge)
        assert typed in ([], [" ".join(firewall.forward_rule(bridge, lab.session.id))])
        assert lab.allow_pod_traffic(bridge) == []  # once is enough
        assert _ask(caller, address)
        assert any(f"-i {bridge} -o {bridge} " in r for r in lab.forwarding(bridge).rules)
        assert lab.leftovers().rules


def test_a_rule_for_a_bridge_not_the_sessions_is_refused(lab):
    for bridge in ("docker0", "lk0badcafe", "eth0"):
        with pytest.raises(LabError, match="not a bridge of this lab session"):
            lab.allow_pod_traffic(bridge)


def test_a_podman_pod_on_the_sessions_cni_network(lab):
    """network=True: the bridge plugin with host-local, on the session's lk<id>p, as
    labkit's containerd's network; each pod its own address; Podman reports it; the
    network file, leases and bridge go with the service, and lo-only stays the default."""
    two = {"app": {"image": "busybox", "command": "sleep 600"}}
    with lab.podman_pod(name="pnet", containers=WEB, network=True, quiet=True) as pod, \
            lab.podman_pod(name="pnet2", containers=two, network=True, quiet=True) as other:
        service = lab.podman
        assert service.network_backend == "cni"
        with open(service.network_file) as handle:
            plugin = json.load(handle)["plugins"][0]
        bridge = f"lk{lab.session.id}p"
        assert (plugin["type"], plugin["bridge"], plugin["isGateway"], plugin["ipMasq"]) == \
            ("bridge", bridge, False, False)
        subnet = ipaddress.ip_network(plugin["ipam"]["ranges"][0][0]["subnet"])
        assert subnet.subnet_of(ipaddress.ip_network("10.235.0.0/16"))
        net, theirs = lab.network(pod), lab.network(other)
        assert [link.name for link in net.links] == ["lo", "eth0"]
        assert ipaddress.ip_address(net.ip) in subnet and net.ip == net.reported_ip
        assert theirs.ip != net.ip and ipaddress.ip_address(theirs.ip) in subnet
        assert net.peers["eth0"].master == bridge and net.bridges[bridge].ipv4() == ()
        assert [route.destination for route in net.routes] == [str(subnet)]  # no default
        assert net.pinned_at and net.pinned_at[0].startswith("/run/netns/netns-")
        assert f"--network lk-{lab.session.id}-pods" in pod.commands()[1]  # pod create
        peer = net.peers["eth0"].name
    assert peer not in _node_names()  # the CNI DEL took the pair with it
    with lab.podman_pod(name="plo", containers=two, quiet=True) as alone:
        assert [link.name for link in lab.network(alone).links] == ["lo"]
        assert alone.reported_ip() == ""
    lab.podman.stop()  # what leaving the notebook does: the network goes with the service
    assert not os.path.exists(service.network_file) and bridge not in _node_names()


def test_a_podman_network_with_host_network_is_one_sentence(lab):
    with pytest.raises(LabError) as refused:
        lab.podman_pod(name="both", containers=WEB, network=True, host_network=True)
    assert "hostNetwork" in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(LabError) as refused:
        lab.podman_pod(name="what", containers=WEB, network="bridge")
    assert "network=True" in str(refused.value)


def test_the_docker_pod_is_on_docker0_with_a_default_route(lab):
    with lab.docker_pod(name="dnet", containers={"app": SLEEPER}, quiet=True) as pod:
        net = lab.network(pod)
        assert net.peers["eth0"].master == "docker0"
        assert net.pinned_at[0].startswith("/run/docker/netns/")
        gateway = next(route.gateway for route in net.routes if route.destination == "default")
        assert gateway in {str(a).split("/")[0] for a in net.bridges["docker0"].ipv4()}
        assert net.reported_ip == net.ip
        app = lab.network(pod, "app")  # --network container:<sandbox>
        assert app.inode == net.inode


def test_pods_from_scratch_plumbed_by_hand_talk_and_leave_nothing(lab):
    bridge = f"lk{lab.session.id}s"
    web = lab.scratch_pod(name="nweb", containers=WEB, quiet=True)
    lines = web.plumb()
    assert lines[0] == f"ip link add name {bridge} type bridge"
    assert any(line.startswith("iptables -I FORWARD") for line in lines)
    assert web.commands()[-len(lines):] == lines  # the plan holds them
    assert web.plumb() == []
    net = lab.network(web)
    eth0 = net.link("eth0")
    assert eth0.kind == "veth" and eth0.up and net.peers["eth0"].master == bridge
    assert net.peers["eth0"].name.startswith(f"lk{lab.session.id}v")
    assert net.reported_ip is None and net.pinned_at == ()
    assert [route.destination for route in net.routes] == [
        str(ipaddress.ip_interface(str(eth0.ipv4()[0])).network)]
    caller = lab.scratch_pod(name="ncaller", containers={"app": SLEEPER}, quiet=True)
    more = caller.plumb()
    assert not any(bridge in line and "type bridge" in line for line in more)  # there already
    assert _ask(caller, net.ip)
    unplumbed = lab.scratch_pod(name="nalone", containers={"app": SLEEPER}, quiet=True)
    assert [link.name for link in lab.network(unplumbed).links] == ["lo"]
    assert not _ask(unplumbed, net.ip)  # no route to it: lo only
    unplumbed.delete()
    web.delete()
    assert bridge in _node_names()  # caller still uses it
    caller.delete()
    left = _node_names()
    assert not any(name.startswith(f"lk{lab.session.id}") and name != f"lk{lab.session.id}"
                   for name in left), left
    assert not any(f"-i {bridge} " in rule for rule in firewall.session_rules(lab.session.id))


def test_a_pods_network_lines_rebuild_it_in_a_terminal(lab):
    web = lab.scratch_pod(name="hweb", containers=WEB, quiet=True)
    web.plumb()
    solo = lab.scratch_pod(name="hsolo", containers={"app": SLEEPER}, quiet=True)
    lines = solo.network_commands()
    assert "$PAUSE" not in " ".join(lines) and str(solo["pause"].pid) in " ".join(lines)
    for line in lines:
        subprocess.run(["bash", "-c", line], check=True, timeout=30)
    assert _ask(solo, lab.network(web).ip)
    solo.delete()
    web.delete()
    assert not [n for n in _node_names() if n.startswith(f"lk{lab.session.id}") and
                n != f"lk{lab.session.id}"]


def test_host_network_is_the_nodes_namespace(lab):
    with lab.cri_pod(name="hnet", containers={"app": SLEEPER}, host_network=True,
                     quiet=True) as pod:
        net = lab.network(pod)
        assert net.is_node and net.reported_ip == ""
        assert lab.network().inode == net.inode


CRASHING = """
import json, sys, time, labkit
lab = labkit.Lab(watch_owner=False)
web = lab.scratch_pod(name="web", containers={"app": {"image": "nginx"}}, quiet=True)
web.plumb()
pod = lab.cri_pod(name="c", containers={"app": {"image": "nginx"}}, quiet=True)
lab.allow_pod_traffic(f"lk{lab.session.id}")
lab.podman_pod(name="p", containers={"app": {"image": "nginx"}}, network=True, quiet=True)
print(json.dumps({"session": lab.session.id}), flush=True)
time.sleep(600)
"""


def test_a_crashed_sessions_network_is_removed_and_others_kept(lab):
    live = lab.scratch_pod(name="nlive", containers=WEB, quiet=True)
    live.plumb()
    foreign = f"labkitt{os.getpid() % 100000}"  # not a session's name: never touched
    subprocess.run(["ip", "link", "add", foreign, "type", "bridge"], check=True)
    owner = subprocess.Popen([sys.executable, "-c", CRASHING], stdout=subprocess.PIPE,
                             text=True, cwd=os.path.dirname(os.path.dirname(__file__)) + "/..")
    try:
        told = json.loads(owner.stdout.readline())
    finally:
        owner.kill()  # SIGKILL: no cleanup runs in it
        owner.wait()
    sid = told["session"]
    try:
        names = reader.lab_links(sid)
        assert {f"lk{sid}", f"lk{sid}s", f"lk{sid}v1", f"lk{sid}p"} <= set(names)
        assert len(firewall.session_rules(sid)) == 2
        conflist = f"{podman_service.NETWORKS}/lk-{sid}-pods.conflist"
        assert os.path.exists(conflist)
        left = clean_session(sid)
        assert left == [] or all("containers" in f for f in left)
        deadline = time.monotonic() + 5
        while reader.lab_links(sid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert reader.lab_links(sid) == [] and firewall.session_rules(sid) == []
        assert not os.path.exists(conflist)
        assert not os.path.exists(f"{podman_service.IPAM}/lk-{sid}-pods")
        assert foreign in _node_names()
        assert lab.leftovers().links and live.state == "running"  # this session's: kept
        assert f"lk{lab.session.id}s" in _node_names()
    finally:
        subprocess.run(["ip", "link", "delete", foreign], check=False)
        live.delete()
