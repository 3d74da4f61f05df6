"""Views as functions of observations: tables, tree text, figures and widgets.

nbval does not compare figures or widgets, so these tests look inside them.
"""

import pytest

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


def test_memory_figure_draws_one_line_when_one_reading_shows_the_hit_and_the_kill():
    """Drawn apart, the kill's line would hide the first hit's under it."""
    same = [s for s in _samples() if s.t != 1.0]  # the hit and the kill both first at 1.5
    (ax,) = views.memory_figure(same).axes
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["usage", "limit",
                      "limit first hit and OOM kill (first seen in the same reading)"]
    assert ax.lines[2].get_xdata()[0] == 1.5


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


# Live lessons on a loaded machine: few readings, zero intervals, a cgroup that goes away.

def _state(t_ns=0, periods=0, throttled=0, mib=0, peak_mib=None, failcnt=None, max_events=None,
           kills=0, memory=True, quota=True):
    limits = Limits(memory_bytes=128 * 2**20,
                    cpu_quota_us=50000 if quota else None, cpu_period_us=100000)
    usage = Usage(memory_bytes=mib * 2**20 if memory else None,
                  memory_peak_bytes=peak_mib * 2**20 if peak_mib is not None else None,
                  memory_failcnt=failcnt, memory_max_events=max_events,
                  oom_kills=kills if memory else None, cpu_usage_ns=t_ns,
                  cpu_periods=periods, cpu_throttled_periods=throttled)
    return CgroupState("/docker/x", limits, usage)


GONE = CgroupState("/docker/x")


class _FakeNode:
    """Hands out the given states in turn; a clock that moves only when told."""

    def __init__(self, states, step=0.25):
        self.states = list(states)
        self.reads = 0
        self.now = 0.0
        self.step = step

    def cgroup_state(self, cgroups):
        state = self.states[min(self.reads, len(self.states) - 1)]
        self.reads += 1
        if isinstance(state, Exception):
            raise state
        return state

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += self.step if seconds > 0 else 0.0


def _watch(node, **options):
    from labkit.watch import watch

    return watch(node, {"memory": "/docker/x"}, clock=node.clock, sleep=node.sleep, **options)


def test_watch_keeps_the_last_good_reading_when_the_cgroup_goes():
    node = _FakeNode([_state(periods=20, t_ns=10**9), GONE])
    samples = _watch(node, seconds=10)
    assert samples.ended == "gone" and samples.gone and len(samples) == 1
    assert samples.intervals == 0 and cpu_rates(samples) == []


def test_watch_stops_on_a_partly_removed_cgroup():
    # cgroup v1: the runtime removes one hierarchy after the other
    node = _FakeNode([_state(mib=50), _state(mib=60), _state(memory=False)])
    samples = _watch(node, seconds=10)
    assert samples.ended == "gone" and [s.state.usage.memory_bytes for s in samples] == \
        [50 * 2**20, 60 * 2**20]


def test_watch_treats_a_read_error_after_the_first_reading_as_gone():
    from labkit.errors import NodeReadError

    node = _FakeNode([_state(mib=1), NodeReadError("No permission to read x: ...")])
    assert _watch(node, seconds=10).ended == "gone"
    first = _FakeNode([NodeReadError("No permission to read x: ...")])
    with pytest.raises(NodeReadError):
        _watch(first, seconds=10)


def test_watch_counts_only_positive_intervals():
    node = _FakeNode([_state(t_ns=i) for i in range(10)], step=0.0)
    node.sleep = lambda s: setattr(node, "now", node.now + (0.2 if node.reads >= 3 else 0.0))
    samples = _watch(node, samples=2)
    assert [s.t for s in samples] == [0.0, 0.0, 0.0, 0.2, 0.4]
    assert samples.ended == "samples" and samples.intervals == 2
    assert [round(r[0], 1) for r in cpu_rates(samples)] == [0.2, 0.4]  # no zero-interval rows


def test_watch_takes_a_final_reading_when_the_time_cap_passes():
    node = _FakeNode([_state(t_ns=i * 10**8) for i in range(50)], step=0.25)
    samples = _watch(node, seconds=1.0, every=0.25)
    assert samples.ended == "time" and samples[-1].t == 1.0 and len(samples) == 5


def test_watch_ends_on_until_and_enough_samples_needs_both():
    from labkit.watch import enough_samples

    states = [_state(throttled=0)] * 3 + [_state(throttled=4)] * 5
    samples = _watch(_FakeNode(states), seconds=60,
                     until=enough_samples(2, lambda s: bool(s.state.usage.cpu_throttled_periods)))
    assert samples.ended == "until" and len(samples) == 4
    until = enough_samples(3)
    assert [until(Sample(t, GONE)) for t in (0.0, 0.0, 0.1, 0.2, 0.2, 0.3)] == \
        [False, False, False, False, False, True]
    with pytest.raises(ValueError):
        enough_samples(0)


def test_cpu_lesson_from_one_reading_of_cumulative_counters():
    from labkit.views.live import cpu_lesson

    single = [Sample(0.0, _state(t_ns=2 * 10**9, periods=41, throttled=39))]
    lesson = cpu_lesson(single)
    assert lesson.measured and lesson.throttled and lesson.within_quota
    assert str(lesson) == ("the kernel throttled it: yes\n"
                           "CPU time used at most 0.5 core for each 100 ms period counted, "
                           "plus one period, plus 25% slack: yes")
    over = cpu_lesson([Sample(0.0, _state(t_ns=4 * 10**9, periods=41, throttled=0))])
    assert str(over) == ("the kernel throttled it: no\n"
                         "CPU time used at most 0.5 core for each 100 ms period counted, "
                         "plus one period, plus 25% slack: no")
    # 40 periods of 50 ms allow 2 s: a late tick's overrun still counts as held to it,
    # a cgroup with twice the quota's use does not.
    late = cpu_lesson([Sample(0.0, _state(t_ns=int(2.4 * 10**9), periods=40, throttled=30))])
    assert late.within_quota
    double = cpu_lesson([Sample(0.0, _state(t_ns=4 * 10**9, periods=40, throttled=30))])
    assert not double.within_quota


def test_cpu_lesson_that_cannot_measure_is_one_sentence():
    from labkit.views import live

    few = live.cpu_lesson([Sample(0.0, _state(t_ns=10**7, periods=2))])
    assert not few.measured and str(few) == live.FEW_PERIODS
    assert str(live.cpu_lesson([])) == live.NO_READING
    assert str(live.cpu_lesson([Sample(0.0, _state(periods=20, quota=False))])) == \
        live.NO_CPU_QUOTA
    for sentence in (live.FEW_PERIODS, live.NO_READING, live.NO_CPU_QUOTA,
                     live.GONE_BEFORE_KILL, live.NO_MEMORY_LIMIT):
        assert "\n" not in sentence and sentence.count(". ") == 0 and sentence.endswith(".")


def test_figures_with_too_few_readings_say_so():
    from labkit.views import live

    one = [Sample(0.0, _state(t_ns=10**9, periods=20))]
    for figure, sentence in ((views.cpu_figure(one), live.FEW_INTERVALS),
                             (views.memory_figure([]), live.NO_READING)):
        texts = [t.get_text().replace("\n", " ") for t in figure.axes[0].texts]
        assert texts == [sentence]
    assert len(views.cpu_figure(_samples()).axes[0].texts) == 0


def test_memory_lesson_reads_cumulative_counters_v1_and_v2():
    from labkit.views.live import memory_lesson

    v1 = [Sample(0.0, _state(mib=20, peak_mib=20, failcnt=0)),
          Sample(0.2, _state(mib=3, peak_mib=128, failcnt=57, kills=1))]
    assert str(memory_lesson(v1)) == ("usage reached the limit: yes\n"
                                      "the kernel counted hits on the limit: yes\n"
                                      "the kernel's OOM killer killed a process in it: yes")
    # v2 on a kernel without memory.peak: the highest usage read stands in for the peak
    v2 = [Sample(0.0, _state(mib=125, max_events=3)), Sample(0.2, _state(mib=1, max_events=9,
                                                                         kills=1))]
    lesson = memory_lesson(v2)
    assert lesson.reached_limit and lesson.hit_limit and lesson.oom_killed
    short = memory_lesson([Sample(0.0, _state(mib=60, peak_mib=60, failcnt=0))])
    assert str(short).splitlines()[0] == "usage reached the limit: no"


def test_memory_lesson_when_the_cgroup_went_before_the_kill_was_read():
    from labkit.views import live
    from labkit.watch import Watch

    before = Watch([Sample(0.0, _state(mib=90, peak_mib=90, failcnt=0))], ended="gone")
    assert str(live.memory_lesson(before)) == live.GONE_BEFORE_KILL
    after = Watch([Sample(0.0, _state(mib=9, peak_mib=128, failcnt=4, kills=1))], ended="gone")
    assert live.memory_lesson(after).oom_killed
    assert str(live.memory_lesson([])) == live.NO_READING


@pytest.mark.parametrize("name", ["v1-docker-cgroupfs.json", "v2-systemd-docker.json"])
def test_watch_on_recorded_trees_until_the_cgroup_is_removed(recorded_tree, tmp_path, name):
    import shutil

    from labkit.views import live
    from labkit.watch import watch

    node = recorded_tree(name)
    pid = next(iter(node.gatherer.pids()))
    cgroups = node.cgroups(pid)
    root = tmp_path / name

    def remove_after_two(samples):
        if len(samples) == 2:  # the runtime removes the container's cgroup
            for path in set(cgroups.values()):
                for directory in [*root.glob(f"sys/fs/cgroup/*{path}"),
                                  root / f"sys/fs/cgroup{path}"]:
                    shutil.rmtree(directory, ignore_errors=True)

    samples = watch(node, cgroups, seconds=30, every=0.01, on_sample=remove_after_two)
    assert samples.ended == "gone" and len(samples) == 2
    memory, cpu = live.memory_lesson(samples), live.cpu_lesson(samples)
    if name.startswith("v2"):
        assert memory.reached_limit and memory.hit_limit and memory.oom_killed
        assert str(cpu) == ("the kernel throttled it: yes\nCPU time used at most 0.5 core for "
                            "each 100 ms period counted, plus one period, plus 25% slack: yes")
    else:
        assert str(memory) == live.GONE_BEFORE_KILL  # no kill recorded, and then gone
        assert not cpu.measured  # two periods recorded: too few to say


def test_watch_while_drawing_reads_at_its_pace_and_stops_with_the_drawer(recorded_tree):
    import itertools
    import time

    from labkit.watch import watch_while_drawing

    node = recorded_tree("v2-systemd-docker.json")
    cgroups = node.cgroups(next(iter(node.gatherer.pids())))
    drawn: list[int] = []

    def slow(samples):
        drawn.append(len(samples))
        time.sleep(2.0)  # a figure drawn on a very busy machine

    samples = watch_while_drawing(node, cgroups, slow, samples=20, every=0.02)
    assert samples.ended == "samples" and len(samples) == 21
    assert 1 <= len(drawn) < 21  # drawn now and then, never once per reading
    # Read at its own pace while the drawing ran: no gap near the drawing's 2 s (a machine
    # busy with CI's other work delayed one reading by 0.57 s, so the bound is loose).
    assert max(b.t - a.t for a, b in itertools.pairwise(samples)) < 1.0

    def interrupted(samples):
        raise KeyboardInterrupt  # the notebook's stop button while a drawing runs

    with pytest.raises(KeyboardInterrupt):
        watch_while_drawing(node, cgroups, interrupted, seconds=30, every=0.02)
    # the reader ended with it: no thread of labkit's is left reading
    import threading
    assert not [t for t in threading.enumerate() if t.name == "labkit-watch"]

    def broken(sample):
        raise ZeroDivisionError  # a learner's until= with a bug in it

    with pytest.raises(ZeroDivisionError):  # an error on the reader's thread reaches the caller
        watch_while_drawing(node, cgroups, slow, seconds=5, until=broken)
