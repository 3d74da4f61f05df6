"""cgroup v2 without systemd (the lab's container, Docker Desktop): the kubelet's tree gets
its controllers handed down from the root, or its cgroups have no limit files to write.

This host is cgroup v1, so these read a made-up v2 tree: a directory standing in for the
cgroup2 mount at a cgroup namespace's root, whose root hands every controller down (as the
lab container's entrypoint leaves it). The kernel's side is tested in the v2 guest
(`./lab test-v2 --container`, chapter 2 in the lab's container).
"""

from labkit.node.cgroup_writer import plan_delegation_down, plan_handing_down
from labkit.node.mounts import CgroupLayout, CgroupMount
from labkit.plan import Plan

CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma misc"


def v2_root(tmp_path, handed_down=CONTROLLERS) -> CgroupLayout:
    (tmp_path / "cgroup.controllers").write_text(CONTROLLERS + "\n")
    (tmp_path / "cgroup.subtree_control").write_text(handed_down + "\n")
    return CgroupLayout((CgroupMount("unified", str(tmp_path), "/", 2),))


def test_a_new_tree_is_made_then_handed_down_level_by_level(tmp_path):
    layout = v2_root(tmp_path)
    lines = Plan(plan_delegation_down(layout, "/lk-1-node/kubepods")).lines()
    assert lines == [
        f"mkdir -p {tmp_path}/lk-1-node/kubepods",
        f"echo '+cpu +memory +pids' > {tmp_path}/lk-1-node/cgroup.subtree_control",
        f"echo '+cpu +memory +pids' > {tmp_path}/lk-1-node/kubepods/cgroup.subtree_control",
    ]


def test_a_root_that_hands_nothing_down_is_asked_first(tmp_path):
    layout = v2_root(tmp_path, handed_down="")
    lines = Plan(plan_delegation_down(layout, "/lk-1-node")).lines()
    assert lines[1] == f"echo '+cpu +memory +pids' > {tmp_path}/cgroup.subtree_control"
    assert len(lines) == 3


def test_a_tree_already_handed_down_needs_no_write(tmp_path):
    layout = v2_root(tmp_path)
    for level in ("lk-1-node", "lk-1-node/kubepods"):
        (tmp_path / level).mkdir()
        (tmp_path / level / "cgroup.controllers").write_text("cpu memory pids\n")
        (tmp_path / level / "cgroup.subtree_control").write_text("cpu memory pids\n")
    assert plan_delegation_down(layout, "/lk-1-node/kubepods") == []
    # a QoS tier not made yet gets what kubepods hands down
    lines = Plan(plan_handing_down(layout, "/lk-1-node/kubepods/burstable")).lines()
    assert lines == [f"echo '+cpu +memory +pids' > "
                     f"{tmp_path}/lk-1-node/kubepods/burstable/cgroup.subtree_control"]


def test_nothing_on_cgroup_v1():
    v1 = CgroupLayout((CgroupMount("memory", "/sys/fs/cgroup/memory", "/", 1),
                       CgroupMount("cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct", "/", 1)))
    assert plan_delegation_down(v1, "/lk-1-node/kubepods") == []
