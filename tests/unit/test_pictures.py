"""The pictures of who shares what, and the coloured matrix, on RECORDED observations.

The recordings in tests/fixtures/observations/ are real: ``lab.observe(...)`` of each kind
of pod made on this lab's kind of machine (``tests/fixtures/record_observations.py`` made
them and makes them again). nbval never compares figures or widgets, so these tests look
inside them: which process text sits inside which box patch, the boxes' labels and
colours, the matrix's categories, and what the widget does when a learner clicks.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from matplotlib.colors import to_rgba

from labkit import views
from labkit.errors import LabError
from labkit.model import NAMESPACE_TYPES, Observation
from labkit.views.coloured_matrix import HELD
from labkit.views.namespace_figures import ARTICLE_TYPES, COLOURS, FILLS, HOST, OWN, POD, THE_HOST

RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "observations"
ARTICLE = ARTICLE_TYPES


def recorded(kind: str) -> Observation:
    return Observation.from_json((RECORDINGS / f"{kind}.json").read_text())


# What each kind of pod does with the article's five namespace types, as the chapters
# teach it: the app's namespace is the pod's (shared with the sandbox), its own, or the
# host's.
LESSONS = {
    "container": {"net": OWN, "ipc": OWN, "uts": OWN, "pid": OWN, "mnt": OWN},
    "docker-pod": {"net": POD, "ipc": POD, "uts": OWN, "pid": OWN, "mnt": OWN},
    "cri-pod": {"net": POD, "ipc": POD, "uts": POD, "pid": OWN, "mnt": OWN},
    "podman-pod": {"net": POD, "ipc": POD, "uts": POD, "pid": OWN, "mnt": OWN},
    "cri-pod-host-network": {"net": HOST, "ipc": POD, "uts": HOST, "pid": OWN, "mnt": OWN},
    "docker-pod-host-pid": {"net": POD, "ipc": POD, "uts": OWN, "pid": HOST, "mnt": OWN},
}
SANDBOX = {"docker-pod": "sandbox", "cri-pod": "pause", "podman-pod": "infra",
           "cri-pod-host-network": "pause", "docker-pod-host-pid": "sandbox"}


def _boxes(ax) -> list:
    return [p for p in ax.patches if (p.get_gid() or "").startswith("box:")]


def _inside(patch, x: float, y: float) -> bool:
    box = patch.get_bbox()
    return box.x0 <= x <= box.x1 and box.y0 <= y <= box.y1


def _drawn(ax) -> dict[str, list[tuple[object, set[str], list[str]]]]:
    """namespace type -> [(box patch, processes drawn inside it, labels drawn inside it)],
    read from the artists alone."""
    texts = ax.texts
    drawn: dict[str, list] = {}
    for patch in _boxes(ax):
        ns_type = patch.get_gid().split(":")[1]
        inside = {t.get_text() for t in texts if (t.get_gid() or "").startswith("process:")
                  and _inside(patch, *t.get_position())}
        labels = [t.get_text() for t in texts if (t.get_gid() or "").startswith("label:")
                  and _inside(patch, *t.get_position())]
        drawn.setdefault(ns_type, []).append((patch, inside, labels))
    return drawn


def _category(patch) -> str:
    return next(c for c, fill in FILLS.items() if to_rgba(fill) == patch.get_facecolor())


@pytest.mark.parametrize("kind", sorted(LESSONS))
def test_every_process_is_drawn_once_per_row_inside_the_box_of_its_namespace(kind):
    obs = recorded(kind)
    ax = views.namespace_boxes(obs).axes[0]
    drawn = _drawn(ax)
    processes = [THE_HOST, *(m.name for m in obs.members)]
    assert list(drawn) == list(ARTICLE)  # one row per type, in the article's order
    for ns_type, boxes in drawn.items():
        everyone = [p for _, inside, _ in boxes for p in inside]
        assert sorted(everyone) == sorted(processes)  # each process in exactly one box
        for _, inside, labels in boxes:
            assert len(labels) == 1  # each box says whose namespace it is
            # The processes in one box are in one namespace, and only they are.
            inodes = {obs.host_namespaces[ns_type] if p == THE_HOST
                      else obs.member(p).namespaces[ns_type] for p in inside}
            assert len(inodes) == 1
            others = {m.name for m in obs.members} - inside
            assert all(obs.member(o).namespaces[ns_type] not in inodes for o in others)


@pytest.mark.parametrize("kind", sorted(LESSONS))
def test_the_apps_boxes_say_the_chapters_lesson_in_colour_and_words(kind):
    obs = recorded(kind)
    drawn = _drawn(views.namespace_boxes(obs).axes[0])
    sandbox = SANDBOX.get(kind)
    for ns_type, expected in LESSONS[kind].items():
        patch, inside, (label,) = next(b for b in drawn[ns_type] if "app" in b[1])
        assert _category(patch) == expected, (ns_type, label)
        assert to_rgba(COLOURS[expected]) == patch.get_edgecolor()
        if expected == POD:
            assert inside >= {sandbox, "app"} and label == f"{sandbox}'s {ns_type}, shared"
        elif expected == OWN:
            assert inside == {"app"} and label == f"app's own {ns_type}"
        else:
            assert THE_HOST in inside and label == f"the host's {ns_type}"


@pytest.mark.parametrize("kind", sorted(LESSONS))
def test_the_host_is_alone_in_its_boxes_unless_a_member_joins_it(kind):
    obs = recorded(kind)
    for ns_type, boxes in _drawn(views.namespace_boxes(obs).axes[0]).items():
        (patch, inside, _), = [b for b in boxes if THE_HOST in b[1]]
        assert _category(patch) == HOST
        joined = {m.name for m in obs.members
                  if m.namespaces[ns_type] == obs.host_namespaces[ns_type]}
        assert inside == {THE_HOST} | joined


def test_columns_are_the_host_then_the_members_with_the_sandbox_named():
    obs = recorded("cri-pod")
    ax = views.namespace_boxes(obs, title="a CRI pod").axes[0]
    headers = sorted((t for t in ax.texts if (t.get_gid() or "").startswith("header:")),
                     key=lambda t: t.get_position()[0])
    assert [t.get_text() for t in headers] == ["the host", "pause\n(the sandbox)", "app",
                                               "sidecar"]
    assert ax.get_title(loc="left") == "a CRI pod"
    rows = [t.get_text() for t in sorted((t for t in ax.texts
                                          if (t.get_gid() or "").startswith("row:")),
                                         key=lambda t: -t.get_position()[1])]
    assert rows == list(ARTICLE)
    legend = ax.figure.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["its own", "shared in the pod",
                                                         "the host's"]
    assert [h.get_facecolor() for h in legend.legend_handles] == [
        to_rgba(FILLS[c]) for c in (OWN, POD, HOST)]


def test_each_row_says_what_its_namespace_type_isolates():
    ax = views.namespace_boxes(recorded("cri-pod")).axes[0]
    texts = [t.get_text() for t in ax.texts]
    # ipc_namespaces(7): System V IPC objects and POSIX message queues; a pod's /dev/shm
    # is a tmpfs mount the runtime shares between its containers, not the IPC namespace.
    assert "System V IPC, POSIX message queues" in texts
    assert not any("/dev/shm" in text for text in texts)


def test_all_eight_types_add_the_namespaces_every_container_keeps_from_the_host():
    obs = recorded("docker-pod")
    drawn = _drawn(views.namespace_boxes(obs, namespaces=NAMESPACE_TYPES).axes[0])
    assert sorted(drawn) == sorted(NAMESPACE_TYPES)
    for ns_type in ("user", "time"):  # no user or time namespace of their own, on v1 too
        ((patch, inside, _),) = drawn[ns_type]
        assert _category(patch) == HOST and len(inside) == 1 + len(obs.members)


def test_the_palette_is_okabe_ito_and_each_category_stands_apart():
    assert (COLOURS[OWN], COLOURS[POD]) == ("#E69F00", "#56B4E9")  # Okabe–Ito
    fills = [FILLS[c] for c in (OWN, POD, HOST)]
    assert len(set(fills)) == 3
    for fill in fills:  # light enough for black text on it
        red, green, blue, _ = to_rgba(fill)
        assert 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.6


def test_the_same_observation_draws_the_same_picture():
    obs = recorded("podman-pod")

    def artists(fig):
        ax = fig.axes[0]
        return ([(p.get_gid(), p.get_bbox().bounds, p.get_facecolor()) for p in _boxes(ax)],
                [(t.get_gid(), t.get_text(), t.get_position()) for t in ax.texts])

    assert artists(views.namespace_boxes(obs)) == artists(views.namespace_boxes(obs))


def test_highlight_lights_the_boxes_of_one_process_and_fades_the_rest():
    obs = recorded("cri-pod")
    ax = views.namespace_boxes(obs, highlight="app").axes[0]
    for ns_type, boxes in _drawn(ax).items():
        for patch, inside, _ in boxes:
            if "app" in inside:
                assert patch.get_linewidth() > 2 and patch.get_alpha() == 1.0, ns_type
            else:
                assert patch.get_alpha() < 0.5, ns_type
    chips = [t for t in ax.texts if t.get_gid() == "process:net:app"]
    assert chips and chips[0].get_fontweight() == "bold"
    with pytest.raises(LabError, match="'nginx' is not a process of this picture"):
        views.namespace_boxes(obs, highlight="nginx")


def test_a_box_whose_processes_are_not_side_by_side_is_drawn_in_parts():
    # Hand-edited from a recording: the sidecar moved into the host's PID namespace, so
    # the host's pid box holds the first and the last column and nothing between.
    obs = recorded("docker-pod")
    host_pid = obs.host_namespaces["pid"]
    sidecar = obs.member("sidecar")
    moved = dataclasses.replace(sidecar, namespaces={**sidecar.namespaces, "pid": host_pid})
    obs = dataclasses.replace(obs, members=(*obs.members[:2], moved))
    drawn = _drawn(views.namespace_boxes(obs).axes[0])
    parts = [(inside, labels) for patch, inside, labels in drawn["pid"]
             if _category(patch) == HOST]
    assert sorted(parts, key=lambda part: sorted(part[0])) == [
        ({"sidecar"}, ["the host's pid"]),
                             ({THE_HOST}, ["the host's pid"])]


def test_one_picture_per_kind_in_one_figure():
    kinds = {"plain container": recorded("container"), "Docker-emulated pod":
             recorded("docker-pod"), "Podman pod": recorded("podman-pod"),
             "Kubernetes pod (CRI)": recorded("cri-pod")}
    fig = views.namespace_boxes_by_kind(kinds)
    assert [ax.get_title(loc="left") for ax in fig.axes] == list(kinds)
    for ax, obs in zip(fig.axes, kinds.values(), strict=True):
        drawn = _drawn(ax)
        assert {p for _, inside, _ in drawn["net"] for p in inside} == {
            THE_HOST, *(m.name for m in obs.members)}
    # the same scale, so the columns line up from one picture to the next
    assert len({ax.get_xlim() for ax in fig.axes}) == 1
    with pytest.raises(LabError, match="nothing to draw"):
        views.namespace_boxes_by_kind({})


def test_bad_namespace_types_are_one_sentence():
    with pytest.raises(LabError, match="netw is not a namespace type labkit draws"):
        views.namespace_boxes(recorded("cri-pod"), namespaces=("net", "netw"))
    with pytest.raises(LabError, match="No namespace type"):
        views.sharing_colours(recorded("cri-pod"), namespaces=())


# -- the coloured matrix ----------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(LESSONS))
def test_matrix_categories_follow_the_kernel_and_its_words_follow_sharing_labels(kind):
    obs = recorded(kind)
    matrix = views.sharing_colours(obs)
    plain = views.sharing_matrix(obs)
    assert list(matrix.labels.columns) == list(plain.columns)
    assert list(matrix.labels.index) == list(plain.index)
    for member in plain.index:
        for ns_type in plain.columns:
            text, category = matrix.labels.loc[member, ns_type], matrix.categories.loc[
                member, ns_type]
            inode = obs.member(member).namespaces[ns_type]
            sharers = sum(m.namespaces[ns_type] == inode for m in obs.members)
            if inode == obs.host_namespaces[ns_type]:
                assert (category, text) == (HOST, "host")
            elif sharers > 1:
                assert category == POD
                assert text == (HELD if plain.loc[member, ns_type] == "own"
                                else plain.loc[member, ns_type])
            else:
                assert (category, text) == (OWN, "own")
            assert matrix.colour(member, ns_type) == FILLS[category]
    app = LESSONS[kind]
    assert {ns: matrix.categories.loc["app", ns] for ns in app} == app


def test_matrix_html_colours_each_cell_and_is_the_same_every_time():
    obs = recorded("cri-pod")
    page = views.sharing_colours(obs)._repr_html_()
    assert page == views.sharing_colours(obs)._repr_html_()  # nbval compares text/html
    assert "T_" not in page and "0x" not in page  # no random ids, no addresses
    pod_cell = (f'<td class="lk-ns lk-ns-pod" title="shared in the pod" style="'
                f'background-color: {FILLS[POD]}; color: #000000; text-align: center">')
    assert page.count(pod_cell + "shared with pause</td>") == 6  # app and sidecar, 3 each
    assert page.count(pod_cell + f"{HELD}</td>") == 3  # pause holds net, ipc, uts
    assert page.count('class="lk-ns lk-ns-own"') == 2 * 3 + 1  # mnt, pid; + legend
    assert page.count('class="lk-ns lk-ns-host"') == 3 * 3 + 1  # cgroup, time, user


def test_matrix_text_form_says_what_the_colours_say():
    text = repr(views.sharing_colours(recorded("docker-pod")))
    lines = text.splitlines()
    assert lines[0].split() == ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"]
    assert lines[2].split()[:4] == ["sandbox", "host", "held", "for"]
    assert lines[-1] == ("colours: orange = its own · blue = shared in the pod · "
                         "grey = the host's")
    assert "shared with sandbox" in text


def test_comparison_colours_one_row_per_kind_with_a_plain_cgroup_column():
    kinds = {"plain container": recorded("container"), "Docker-emulated pod":
             recorded("docker-pod"), "Podman pod": recorded("podman-pod"),
             "Kubernetes pod (CRI)": recorded("cri-pod")}
    matrix = views.comparison_colours(kinds, "app")
    assert list(matrix.labels.index) == list(kinds)
    assert list(matrix.labels.columns) == [*ARTICLE, "cgroup"]
    plain = views.comparison(kinds, "app")
    assert (matrix.labels == plain[list(matrix.labels.columns)]).all().all()
    for kind, lesson in zip(kinds, ("container", "docker-pod", "podman-pod", "cri-pod"),
                            strict=True):
        assert dict(matrix.categories.loc[kind, list(ARTICLE)]) == LESSONS[lesson]
        assert matrix.colour(kind, "cgroup") is None
    assert "<td style=\"text-align: left\">/docker/&lt;app-id&gt;</td>" in matrix._repr_html_()


# -- the widget -------------------------------------------------------------------------

def test_widget_lists_and_lights_a_processs_namespaces_and_switches_kind():
    kinds = {"Kubernetes pod (CRI)": recorded("cri-pod"), "plain container":
             recorded("container")}
    widget = views.namespace_boxes_widget(kinds)
    kind, process, every, image, summary = widget.children
    assert kind.layout.display == "" and list(kind.options) == list(kinds)
    assert list(process.options) == ["nobody", THE_HOST, "pause", "app", "sidecar"]
    assert "Pick a process" in summary.value
    first = bytes(image.value)
    assert first.startswith(b"\x89PNG")

    process.value = "app"
    assert bytes(image.value) != first  # redrawn with app's boxes lit
    assert "pause&#x27;s net, shared</span> with pause, sidecar" in summary.value
    assert "app&#x27;s own pid</span> alone" in summary.value
    assert summary.value.count("<li>") == len(ARTICLE)

    every.value = True
    assert summary.value.count("<li>") == len(NAMESPACE_TYPES)
    assert "the host&#x27;s user</span> with the host" in summary.value

    kind.value = "plain container"
    assert list(process.options) == ["nobody", THE_HOST, "app"]
    assert process.value == "app"  # still the app, now the plain container's
    assert "app&#x27;s own net</span> alone" in summary.value

    process.value = THE_HOST
    assert "the host&#x27;s net</span> alone" in summary.value


def test_widget_of_one_observation_hides_the_kind_buttons():
    widget = views.namespace_boxes_widget(recorded("podman-pod"))
    kind, process = widget.children[:2]
    assert kind.layout.display == "none"
    assert list(process.options) == ["nobody", THE_HOST, "infra", "app", "sidecar"]
