"""Chapter 7's network readings on recorded ``ip -j`` output (tests/fixtures/network/:
a CRI pod's and a Docker-emulated pod's network namespace, and the node's interfaces, as
this machine printed them), host-local's order, the firewall rule's text, the plan of a
pod from scratch's network, and the views. The same readings on the real kernel are in
tests/integration/test_pod_network.py."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from labkit.errors import FormError
from labkit.exercises.ch07 import interface_name
from labkit.lab import Leftovers
from labkit.model import Link, NetworkNamespace
from labkit.node import firewall
from labkit.node import network as reader
from labkit.plan import Plan
from labkit.replay.codec import decode, encode
from labkit.runtimes.scratch import network as scratch
from labkit.views import network_labels, network_table, network_text

RECORDED = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "network" /
                       "recorded.json").read_text())


def _namespace(kind: str, owner: str, reported: str | None) -> NetworkNamespace:
    """A namespace as read_namespace builds it, from the recorded output."""
    links = reader.parse_links(json.dumps(RECORDED[f"{kind}_addr"]))
    node = reader.parse_links(json.dumps(RECORDED["node_addr"]))
    peers = {link.name: reader.peer_of(link, node) for link in links
             if reader.peer_of(link, node) is not None}
    bridges = {peer.master: next(n for n in node if n.name == peer.master)
               for peer in peers.values() if peer.master}
    inode = 4026532250 if kind == "cri" else 4026532249
    return NetworkNamespace(owner, 42, inode, False,
                            reader.pinned(inode, RECORDED["mountinfo"]), links,
                            reader.parse_routes(json.dumps(RECORDED[f"{kind}_route"])),
                            peers, bridges, reported)


def test_a_cri_pods_namespace_parsed():
    links = reader.parse_links(json.dumps(RECORDED["cri_addr"]))
    assert [(link.name, link.kind, link.up) for link in links] == \
        [("lo", "loopback", True), ("eth0", "veth", True)]
    lo, eth0 = links
    assert {str(a) for a in lo.addresses} == {"127.0.0.1/8", "::1/128"}
    assert [str(a) for a in eth0.ipv4()] == ["10.233.11.2/24"]
    assert any(a.family == "inet6" and a.scope == "link" for a in eth0.addresses)
    routes = reader.parse_routes(json.dumps(RECORDED["cri_route"]))
    assert [(str(r), r.protocol, r.scope) for r in routes] == \
        [("10.233.11.0/24 dev eth0", "kernel", "link")]


def test_each_veth_finds_its_peer_on_the_node_both_ways():
    node = reader.parse_links(json.dumps(RECORDED["node_addr"]))
    cri = reader.parse_links(json.dumps(RECORDED["cri_addr"]))[1]
    docker = reader.parse_links(json.dumps(RECORDED["docker_addr"]))[1]
    # the CRI pod's eth0 is ifindex 2 in its namespace, as the node's ifb0 or lo could be:
    # only the veth whose own peer index is 2 and whose ifindex is eth0's peer index counts
    assert cri.ifindex == 2
    assert reader.peer_of(cri, node).name == "vethf4ed1342"
    assert reader.peer_of(cri, node).master == "lk55dd910b"
    assert reader.peer_of(docker, node).name == "veth34aabcb"
    assert reader.peer_of(docker, node).master == "docker0"
    stray = Link("eth0", 2, "veth", True, peer_ifindex=3325)  # veth34aabcb's index, not it
    assert reader.peer_of(stray, node) is None
    assert reader.peer_of(Link("lo", 1, "loopback", True), node) is None


def test_what_keeps_a_namespace_is_read_from_the_mount_table():
    assert reader.pinned(4026532250, RECORDED["mountinfo"]) == (
        "/run/labkit/lk-55dd910b-containerd/io.containerd.grpc.v1.cri/netns/"
        "cni-4ca8cce8-15aa-db22-1e43-c92f14c60597",)
    assert reader.pinned(4026532249, RECORDED["mountinfo"]) == ("/run/docker/netns/747fe984cfb1",)
    assert reader.pinned(4026530000, RECORDED["mountinfo"]) == ()


@pytest.mark.parametrize(("leases", "last", "released", "expected"), [
    ([], None, [], "10.0.0.2"),  # from the range's start, the gateway .1 skipped
    (["10.0.0.2"], "10.0.0.2", [], "10.0.0.3"),
    (["10.0.0.2"], "10.0.0.2", ["10.0.0.2"], "10.0.0.3"),  # round robin: not back to .2
    (["10.0.0.3"], "10.0.0.254", [], "10.0.0.2"),  # round the range, .1 still skipped
    (["10.0.0.2", "10.0.0.4"], "10.0.0.2", [], "10.0.0.3"),
    (["10.0.0.3"], "192.168.0.9", [], "10.0.0.2"),  # a last address outside: from the start
])
def test_host_local_hands_out_the_next_free_address_after_the_last(leases, last, released,
                                                                  expected):
    assert reader.next_lease("10.0.0.0/24", leases, last, released) == expected


def test_host_local_gives_the_same_address_only_when_none_other_is_free():
    every = [str(ipaddress.ip_address("10.0.0.0") + n) for n in range(2, 255)]
    assert reader.next_lease("10.0.0.0/24", every, "10.0.0.9", ["10.0.0.9"]) == "10.0.0.9"
    assert reader.next_lease("10.0.0.0/24", every, "10.0.0.9") is None


def test_the_text_names_the_peer_and_its_bridge_and_says_what_is_not_there():
    text = network_text(_namespace("cri", "pod foo (on labkit's containerd): pause", "10.233.11.2"))
    assert text.splitlines() == [
        "pod foo (on labkit's containerd): pause · network namespace net:[4026532250]",
        "kept by a bind mount at /run/labkit/lk-55dd910b-containerd/io.containerd.grpc.v1.cri/"
        "netns/cni-4ca8cce8-15aa-db22-1e43-c92f14c60597",
        "interfaces:",
        "  lo    loopback  UP  127.0.0.1/8, ::1/128",
        "  eth0  veth      UP  10.233.11.2/24, fe80::…/64 (link-local)",
        "        ⇄ its peer on the node: vethf4ed1342, a port of bridge lk55dd910b "
        "(no IPv4 address)",
        "IPv4 routes:",
        "  10.233.11.0/24 dev eth0 (the kernel's, for eth0's address)",
        "  no default route",
        "the runtime reports the Pod's IP as 10.233.11.2"]
    docker = network_text(_namespace("docker", "pod foo (emulated with Docker): sandbox",
                                     "172.17.0.3"))
    assert "a port of bridge docker0 (172.17.0.1/16)" in docker
    assert "default via 172.17.0.1 dev eth0 (the default route)" in docker


def test_the_labels_compare_kinds_without_what_changes_from_run_to_run():
    cri = network_labels(_namespace("cri", "cri", "10.233.11.2"))
    docker = network_labels(_namespace("docker", "docker", "172.17.0.3"))
    assert cri["eth0's addresses"] == "IPv4 /24, IPv6 link-local"
    assert docker["eth0's addresses"] == "IPv4 /16"  # Docker gives containers no IPv6 here
    assert (cri["default route"], docker["default route"]) == ("none",
                                                               "via the bridge's address")
    assert cri["IP the runtime reports"] == docker["IP the runtime reports"] == \
        "eth0's IPv4 address"
    assert not any("10.233.11" in value or "veth" in value.split(",")[0]
                   for value in {**cri, **docker}.values() if value != "veth, UP")
    table = network_table({"CRI": _namespace("cri", "c", None)})
    assert table.loc["IP the runtime reports", "CRI"] == "no runtime"
    node = NetworkNamespace("pod h (on labkit's containerd): pause", 1, 4026531833, True,
                            reported_ip="")
    assert "the node's own network namespace" in network_text(node)
    assert network_labels(node)["IP the runtime reports"] == "none"


def test_a_reading_goes_through_a_recording_unchanged():
    net = _namespace("cri", "pod foo", "10.233.11.2")
    assert decode(encode(net, str), str) == net


def test_the_session_rule_and_how_it_is_found():
    argv = firewall.forward_rule("lk0badcafe", "0badcafe")
    assert " ".join(argv) == ("iptables -I FORWARD -i lk0badcafe -o lk0badcafe -m comment "
                              "--comment lk-0badcafe-pods -j ACCEPT")
    listing = RECORDED["iptables_forward"] + (
        "-A FORWARD -i lk0badcafe -o lk0badcafe -m comment --comment lk-0badcafe-pods -j ACCEPT\n"
        "-A FORWARD -i lk12345678 -o lk12345678 -m comment --comment lk-12345678-pods -j "
        "ACCEPT\n-A FORWARD -m comment --comment \"lk-0badcafe-pods of mine\" -j ACCEPT\n")
    assert firewall.rules_of(listing, "0badcafe") == [
        "-A FORWARD -i lk0badcafe -o lk0badcafe -m comment --comment lk-0badcafe-pods -j ACCEPT"]
    assert len(firewall.rules_of(listing)) == 2  # another session's too, never Docker's
    assert firewall.rules_of(RECORDED["iptables_forward"]) == []


def test_the_links_a_session_names():
    names = ["lk0badcafe", "lk0badcafes", "lk0badcafev1", "lk0badcafee12", "lk-0badcafe",
             "lk0badcaf", "veth1234abcd", "lk12345678v1"]
    mine = [n for n in names if (m := reader.LAB_LINK_RE.fullmatch(n)) and
            m["session"] == "0badcafe"]
    assert mine == ["lk0badcafe", "lk0badcafes", "lk0badcafev1", "lk0badcafee12"]


def test_a_pod_from_scratch_is_plumbed_with_names_and_addresses_of_the_session():
    net = scratch.SessionNetwork("0badcafe", "10.234.7.0/24")
    web, solo = net.assign("web"), net.assign("solo")
    assert net.assign("web") == web  # the same on every call
    assert (web.host, web.temporary, web.address) == ("lk0badcafev1", "lk0badcafee1",
                                                     "10.234.7.2/24")
    assert (solo.host, solo.address) == ("lk0badcafev2", "10.234.7.3/24")
    assert all(len(name) <= 15 for name in (web.host, web.temporary, net.bridge))
    lines = Plan(scratch.pod_steps(net, solo, "4242")).lines()
    assert lines[1] == "ip link set lk0badcafee2 netns 4242"
    assert lines[-2] == "ip link set lk0badcafev2 master lk0badcafes"
    assert Plan(scratch.bridge_steps(net)).lines()[2].startswith(
        "iptables -I FORWARD -i lk0badcafes -o lk0badcafes")
    used = [ipaddress.ip_network("10.234.0.0/17")]
    assert reader.free_subnet("00000003", used, scratch.POOL) == "10.234.128.0/24"


def test_what_is_left_says_links_and_rules():
    assert str(Leftovers()) == ("nothing of this session is left: no container, cgroup, "
                                "pod, engine, network link or firewall rule")
    left = Leftovers(links=("lk0badcafes",), rules=("-A FORWARD …",))
    assert left and "network links: lk0badcafes" in str(left) and "firewall rules" in str(left)


@pytest.mark.parametrize(("typed", "name"), [("vethf4ed1342", "vethf4ed1342"),
                                             (" veth34aabcb@if3324 ", "veth34aabcb")])
def test_an_interface_name_answer(typed, name):
    assert interface_name(typed) == name


@pytest.mark.parametrize("typed", ["", "a name with spaces", "x" * 16, 3323, None])
def test_what_is_not_an_interface_name(typed):
    with pytest.raises(FormError, match="interface's name"):
        interface_name(typed)
