"""The pure parsers, on text the kernel writes (v1 recorded here, v2 from a systemd host)."""

import os

from labkit.node.cgroupfs import limits_v1, limits_v2, parse_keyed, usage_v1, usage_v2
from labkit.node.gather import parse_read_output
from labkit.node.mounts import CgroupLayout, parse_mountinfo
from labkit.node.procfs import parse_ns_link, parse_proc_cgroup

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
COMBINED = ("50 31 0:40 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup "
            "rw,cpu,cpuacct\n")
IN_CGROUPNS = ("60 59 0:26 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 "
               "rw,nsdelegate\n")


def test_hybrid_v1_layout_finds_each_controller_and_calls_it_v1():
    layout = CgroupLayout(tuple(parse_mountinfo(HYBRID_MOUNTINFO)))
    assert layout.version == 1
    assert layout.for_controller("memory").mountpoint == "/sys/fs/cgroup/memory"
    assert layout.hierarchy_of("cpu") == "cpu"
    assert layout.unified.mountpoint == "/sys/fs/cgroup/unified"
    assert layout.for_hierarchy("name=systemd").mountpoint == "/sys/fs/cgroup/systemd"


def test_combined_cpu_cpuacct_is_one_hierarchy():
    layout = CgroupLayout(tuple(parse_mountinfo(COMBINED)))
    assert layout.hierarchy_of("cpu") == layout.hierarchy_of("cpuacct") == "cpu,cpuacct"


def test_mount_root_inside_a_cgroup_namespace():
    (mount,) = parse_mountinfo(IN_CGROUPNS)
    assert mount.directory("/docker/abc/child") == "/sys/fs/cgroup/child"
    assert mount.directory("/elsewhere") is None


def test_escaped_mountpoints():
    (mount,) = parse_mountinfo("1 0 0:1 / /mnt/with\\040space rw - cgroup2 cgroup2 rw\n")
    assert mount.mountpoint == "/mnt/with space"


def test_proc_cgroup_v1_and_v2():
    text = "4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n0::/y\n"
    assert parse_proc_cgroup(text) == {"memory": "/docker/abc", "cpu,cpuacct": "/docker/abc",
                                       "name=systemd": "/x", "unified": "/y"}


def test_ns_link():
    assert parse_ns_link("net:[4026531840]") == ("net", 4026531840)
    assert parse_ns_link("pid_for_children:[4026531836]\n")[1] == 4026531836


def test_v1_limits_and_usage():
    files = {"memory.limit_in_bytes": "536870912\n", "cpu.cfs_quota_us": "50000\n",
             "cpu.cfs_period_us": "100000\n", "cpu.shares": "1024\n", "pids.max": "max\n",
             "memory.failcnt": "65\n", "memory.oom_control":
             "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
             "cpu.stat": "nr_periods 27\nnr_throttled 25\nthrottled_time 1230000\n"}
    limits, usage = limits_v1(files), usage_v1(files)
    assert limits.memory_bytes == 512 * 2**20 and limits.cpus == 0.5 and limits.pids_max is None
    assert usage.memory_failcnt == 65 and usage.oom_kills == 1
    assert usage.cpu_throttled_periods == 25
    stat = {"memory.usage_in_bytes": "104857600\n",  # the cgroup's own, then its subtree's
            "memory.stat": "inactive_file 1048576\ntotal_inactive_file 62914560\n"}
    assert usage_v1(stat).memory_working_set_bytes == 40 * 2**20


def test_v1_unlimited_reads_as_none():
    limits = limits_v1({"memory.limit_in_bytes": "9223372036854771712",
                        "cpu.cfs_quota_us": "-1"})
    assert limits.memory_bytes is None and limits.cpu_quota_us is None


def test_v2_limits_and_usage():
    files = {"memory.max": "max\n", "cpu.max": "50000 100000\n", "cpu.weight": "100\n",
             "memory.events": "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n",
             "cpu.stat": "usage_usec 10\nnr_periods 5\nnr_throttled 4\nthrottled_usec 7\n"}
    limits, usage = limits_v2(files), usage_v2(files)
    assert limits.memory_bytes is None and limits.cpus == 0.5 and limits.cpu_weight == 100
    assert usage.memory_max_events == 4 and usage.oom_kills == 1
    assert usage.cpu_usage_ns == 10_000 and usage.cpu_throttled_ns == 7_000
    stat = {"memory.current": "104857600\n",
            "memory.stat": "anon 41943040\nfile 62914560\ninactive_file 62914560\n"}
    assert usage_v2(stat).memory_working_set_bytes == 40 * 2**20


def test_keyed_ignores_noise():
    assert parse_keyed("a 1\nbroken\nb x\nc -2\n") == {"a": 1, "c": -2}


def test_helper_output_records():
    output = ("\x1e/proc/1/ns/net\x1fnet:[4026531840]\n\x1e/x\x1f\x15ENOENT"
              "\x1e/y\x1f\x15EACCES\x1e/z\x1fline1\nline2\n")
    result = parse_read_output(output)
    assert result["/proc/1/ns/net"] == "net:[4026531840]\n"
    assert result["/x"] is None and result.errors["/x"] == "ENOENT"
    assert result.denied() == ["/y"]
    assert result["/z"] == "line1\nline2\n"


def test_systemd_slice_paths_and_limits():
    from labkit.kubernetes import ResourceConfig
    from labkit.node.systemd_units import limit_properties, plan_slice, slice_path

    assert slice_path("lk_0badcafe_node-kubepods-burstable-pod1_2.slice") == (
        "/lk_0badcafe_node.slice/lk_0badcafe_node-kubepods.slice/"
        "lk_0badcafe_node-kubepods-burstable.slice/"
        "lk_0badcafe_node-kubepods-burstable-pod1_2.slice")
    assert slice_path("lk_0badcafe_foo.slice") == "/lk_0badcafe_foo.slice"
    pod = ResourceConfig(memory=384 * 2**20, cpu_quota=50_000, cpu_shares=1024)
    assert limit_properties(pod) == ["MemoryMax=402653184", "CPUQuota=50%",
                                     "CPUQuotaPeriodSec=100ms", "CPUWeight=100"]
    # 25m: 2500 µs a period is 2.5 % of a CPU, rounded up to 3 % as the kubelet's systemd
    # driver does (opencontainers/cgroups systemd: CPUQuotaPerSecUSec to 10 ms)
    assert limit_properties(ResourceConfig(cpu_quota=2500)) == [
        "CPUQuota=3%", "CPUQuotaPeriodSec=100ms"]
    assert [s.lines() for s in plan_slice("x.slice", ResourceConfig())] == [
        ["systemctl start x.slice"]]


class LocalReader:
    """A Channel to a process on this machine: the helper's reader, without a container."""

    def __init__(self, argv: list[str]) -> None:
        import subprocess

        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def receive(self, timeout: float) -> bytes:
        import os
        import select

        if not select.select([self.process.stdout], [], [], timeout)[0]:
            raise TimeoutError
        return os.read(self.process.stdout.fileno(), 65536)

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def test_the_helper_reader_reads_what_direct_reading_reads(tmp_path):
    """The reader script, once per request (a node shell) and long-lived (the helper), run
    by this machine's sh on a small tree: a link, files with and without a last newline,
    a directory, a missing path, the same texts and errors as reading directly."""
    import subprocess

    from labkit.node.gather import DirectGatherer, HelperGatherer

    (tmp_path / "ns").mkdir()
    (tmp_path / "ns" / "net").symlink_to("net:[4026531840]")
    (tmp_path / "stat").write_text("user 1\nsystem 2\n")
    (tmp_path / "max").write_text("max 100000")
    paths = [str(tmp_path / p) for p in ("ns/net", "stat", "max", "ns", "missing")]

    def once(argv: list[str]) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout

    def run(argv: list[str]) -> str:
        raise AssertionError("the long-lived reader answers")

    run.attach = LocalReader  # type: ignore[attr-defined]
    direct = DirectGatherer().read(paths)
    for gatherer in (HelperGatherer(once, "dockerd"), HelperGatherer(run, "dockerd")):
        result = gatherer.read(paths)
        assert {p: (t or "").strip() for p, t in result.texts.items()} == \
            {p: (t or "").strip() for p, t in direct.texts.items()}
        assert result[paths[2]] == "max 100000" and result[paths[1]] == "user 1\nsystem 2\n"
        assert result.errors == direct.errors == {paths[3]: "EISDIR", paths[4]: "ENOENT"}
        assert gatherer.walk(str(tmp_path)) == DirectGatherer().walk(str(tmp_path))
        assert os.getpid() in gatherer.pids()
        assert gatherer.namespace_links(["net"])[os.getpid()] == \
            DirectGatherer().namespace_links(["net"])[os.getpid()]
