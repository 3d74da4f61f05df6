"""Views as functions of observations: tables, tree text, figures and widgets.

nbval does not compare figures or widgets, so these tests look inside them.
"""

from labkit import views
from labkit.model import (
    CgroupNode,
    CgroupState,
    Limits,
    Member,
    MemberObservation,
    Observation,
    Usage,
)
from labkit.views.live import cpu_rates
from labkit.watch import Sample

HOST = {"cgroup": 1, "ipc": 2, "mnt": 3, "net": 4, "pid": 5, "time": 6, "user": 7, "uts": 8}


NO_LIMITS = Limits()


def _member(name, namespaces, limits=NO_LIMITS, asked=NO_LIMITS):
    return MemberObservation(Member(name, 1, runtime_id=f"{name}-id", asked=asked),
                             namespaces, {}, CgroupState(f"/pod/{name}", limits))


def _pod_observation():
    sandbox = {**HOST, "ipc": 20, "mnt": 30, "net": 40, "pid": 50, "uts": 80}
    app = {**sandbox, "mnt": 31, "pid": 51}
    sidecar = {**sandbox, "mnt": 32, "pid": 52}
    return Observation((_member("sandbox", sandbox), _member("app", app),
                        _member("sidecar", sidecar)), HOST, 1, "direct")


def test_sharing_matrix_labels_after_the_first_holder():
    matrix = views.sharing_matrix(_pod_observation())
    assert matrix.loc["sandbox", "net"] == "own"
    assert matrix.loc["app", "net"] == "shared with sandbox"
    assert matrix.loc["sidecar", "ipc"] == "shared with sandbox"
    assert matrix.loc["app", "pid"] == "own"
    assert matrix.loc["sidecar", "user"] == "host"
    assert list(matrix.columns) == ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"]


def test_namespace_table_puts_inodes_beside_labels():
    table = views.namespace_table(_pod_observation(), "app")
    assert table.loc["net", "app"] == 40 and table.loc["net", "host"] == 4
    assert table.loc["net", "verdict"] == "shared with sandbox"


def test_limits_table_compares_asked_with_kernel():
    asked = Limits(memory_bytes=2**29, cpu_quota_us=50000, cpu_period_us=100000)
    kernel = Limits(memory_bytes=2**29, cpu_quota_us=50000, cpu_period_us=100000)
    obs = Observation((_member("foo", HOST, kernel, asked),), HOST, 1, "direct")
    table = views.limits_table(obs)
    assert table.loc[("foo", "memory"), "kernel says"] == "512 MiB"
    assert table.loc[("foo", "memory"), "kernel file"] == "memory.limit_in_bytes"
    assert table.loc[("foo", "cpu"), "asked"].startswith("0.5 CPU")
    assert table["match"].all()


def _tree():
    leaf_a = CgroupNode("aaaaaaaaaaaa1111", "/pod/aaaaaaaaaaaa1111",
                        CgroupState("/pod/a", Limits(memory_bytes=256 * 2**20)))
    leaf_b = CgroupNode("bbbbbbbbbbbb2222", "/pod/bbbbbbbbbbbb2222",
                        CgroupState("/pod/b", Limits(memory_bytes=128 * 2**20)))
    return CgroupNode("pod", "/pod", CgroupState("/pod", Limits(memory_bytes=384 * 2**20)),
                      (leaf_a, leaf_b))


NAMES = {"aaaaaaaaaaaa1111": "app", "bbbbbbbbbbbb2222": "sidecar"}


def test_tree_text():
    text = views.cgroup_tree_text(_tree(), NAMES)
    assert text.splitlines() == [
        "/pod  (memory 384 MiB, cpu unlimited)",
        "├── app [aaaaaaaaaaaa]  (memory 256 MiB, cpu unlimited)",
        "└── sidecar [bbbbbbbbbbbb]  (memory 128 MiB, cpu unlimited)",
    ]


def test_tree_figure_draws_a_box_per_cgroup_and_an_edge_per_child():
    figure = views.cgroup_tree_figure(_tree(), NAMES)
    (ax,) = figure.axes
    texts = [t.get_text() for t in ax.texts]
    assert texts[0].startswith("/pod\nmemory 384 MiB")
    assert any(t.startswith("app [") and "256 MiB" in t for t in texts)
    assert any(t.startswith("sidecar [") and "128 MiB" in t for t in texts)
    assert len(ax.lines) == 2


def test_tree_widget_nests_accordions_with_titles():
    widget = views.cgroup_tree_widget(_tree(), NAMES)
    assert widget.titles[0].startswith("/pod — memory 384 MiB")
    body = widget.children[0]
    child_titles = [c.titles[0] for c in body.children[1:]]
    assert child_titles == ["app [aaaaaaaaaaaa] — memory 256 MiB, cpu unlimited",
                            "sidecar [bbbbbbbbbbbb] — memory 128 MiB, cpu unlimited"]
    assert "/pod/aaaaaaaaaaaa1111" in body.children[1].children[0].children[0].value


def _samples():
    limits = Limits(memory_bytes=100 * 2**20, cpu_quota_us=50000, cpu_period_us=100000)
    rows = [(0.0, 10, 0, 0, 0, 0), (0.5, 60, 0, 0, 250_000_000, 5),
            (1.0, 100, 7, 0, 500_000_000, 10), (1.5, 99, 30, 1, 750_000_000, 15)]
    return [Sample(t, CgroupState("/x", limits, Usage(memory_bytes=mib * 2**20,
                                                      memory_failcnt=fail, oom_kills=kills,
                                                      cpu_usage_ns=ns,
                                                      cpu_throttled_periods=thr)))
            for t, mib, fail, kills, ns, thr in rows]


def test_memory_figure_plots_usage_limit_and_events():
    figure = views.memory_figure(_samples())
    (ax,) = figure.axes
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["usage", "limit", "limit first hit", "OOM kill"]
    assert list(ax.lines[0].get_ydata()) == [10, 60, 100, 99]
    assert ax.lines[1].get_ydata()[0] == 100
    assert ax.lines[2].get_xdata()[0] == 1.0 and ax.lines[3].get_xdata()[0] == 1.5


def test_cpu_figure_plots_rate_quota_and_throttling():
    samples = _samples()
    assert [round(r[1], 3) for r in cpu_rates(samples)] == [0.5, 0.5, 0.5]
    figure = views.cpu_figure(samples)
    ax, second = figure.axes
    assert [line.get_label() for line in ax.lines] == ["cores used", "quota"]
    assert ax.lines[1].get_ydata()[0] == 0.5
    assert list(second.lines[0].get_ydata()) == [5, 10, 15]


def test_comparison_table_and_cgroup_patterns():
    pod = _pod_observation()
    members = tuple(
        MemberObservation(Member(m.name, 1, runtime_id=f"{m.name}0123456789abcdef"),
                          m.namespaces, {}, CgroupState(
                              f"/lk-0badcafe-node/kubepods/burstable/"
                              f"pod0e2c8a52-4b1f-4c7e-9d4e-0123456789ab/{m.name}0123456789abcdef"))
        for m in pod.members)
    pod = Observation(members, HOST, 1, "direct")
    plain = Observation((_member("app", {**HOST, "net": 9, "ipc": 10, "mnt": 11, "pid": 12,
                                         "uts": 13}),), HOST, 1, "direct")
    table = views.comparison({"plain": plain, "pod": pod}, "app")
    assert table.loc["plain", "net"] == "own"
    assert table.loc["pod", "net"] == "shared with sandbox"
    assert table.loc["pod", "cgroup"] == \
        "/lk-<session>-node/kubepods/burstable/pod<uid>/<app-id>"
    assert list(table.columns) == ["net", "ipc", "uts", "pid", "mnt", "cgroup"]


def test_tree_labels_systemd_scopes_by_their_container():
    name = "docker-aaaaaaaaaaaa1111.scope"
    scope = CgroupNode(name, f"/system.slice/{name}", CgroupState("/x", Limits(memory_bytes=2**29)))
    tree = CgroupNode("system.slice", "/system.slice", CgroupState("/system.slice"), (scope,))
    assert views.cgroup_tree_text(tree, NAMES).splitlines()[1].startswith(
        "└── app [aaaaaaaaaaaa]  (memory 512 MiB")
