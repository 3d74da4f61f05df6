# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5 · Podman pods: the same idea, from another side
#
# Chapter 3 asked how close plain Docker can get to a Pod. Podman answers from
# the opposite direction: it has pods of its own, without any Kubernetes. A
# Podman pod is an **infra container** (Podman's name for what Kubernetes calls
# pause) that holds a few namespaces, plus the containers that join them, all
# under one cgroup.
#
# labkit runs its own rootful Podman for this chapter: its own image store, run
# directory and `containers.conf`, and an API socket only this notebook talks to.
# Your own `podman` state, if you have any, is never touched. Nothing is pulled:
# the images come from the lab's own archives, and the infra container runs the
# lab's pause. These pods get loopback only, so the host's network is left as it
# was.

# %% tags=["nbval-ignore-output"]
from pathlib import Path

import pandas as pd

import labkit
from labkit import views
from labkit.quantity import format_bytes

lab = labkit.chapter_lab("05")
print(lab.describe("docker.io/kennethreitz/httpbin", "curlimages/curl", engine="podman"))

# %% [markdown]
# That first line describes this machine (the engine, the cgroup version, which
# images run as themselves and which the lab stands in for), so it differs from
# one machine to the next. Now the article's manifest:

# %%
manifest = Path("manifests/foo-pod.yaml").read_text()
pod = lab.podman_pod(manifest)
print(f"pod {pod.name}: made with podman {pod.how}, {len(pod.members())} processes running")

# %% [markdown]
# This chapter asks before it shows, and ends with exercises checked against the
# machine; your progress is kept between sessions:

# %% tags=["nbval-ignore-output"]
from labkit import exercises

exercises.use(lab)
exercises.progress_widget("05")

# %% [markdown]
# ## The article's manifest, played
#
# `podman kube play foo-pod.yaml` reads the very YAML that chapter 2 handed to
# the CRI. `podman ps -a --pod` then lists three containers for a two-container
# Pod, as `crictl` did: the third is the infra container, named after the pod's
# id.

# %% tags=["nbval-check-output"]
pd.DataFrame(pod.listing()).drop(columns="member")

# %% [markdown]
# Which namespaces does the app reuse from the infra container? Guess before the
# kernel says:

# %%
exercises.get("05.shared-with-infra")

# %% [markdown]
# ## Who owns which namespace
#
# The infra container is listed first, so what it holds shows up as `shared
# with infra` in the rows below it:

# %%
obs = lab.observe(pod)
views.sharing_colours(obs)

# %% tags=["nbval-check-output"]
labels = views.sharing_labels(obs)
five = ("ipc", "mnt", "net", "pid", "uts")
print("infra owns:", ", ".join(ns for ns in five if labels["infra"][ns] == "own"))
for member in ("app", "sidecar"):
    reused = [ns for ns in five if labels[member][ns] == "shared with infra"]
    print(f"{member} reuses the infra container's:", ", ".join(reused))
comm = lab.node.read(f"/proc/{obs.member('infra').member.pid}/comm")  # cat /proc/<pid>/comm
print("the infra container's process is called:", comm.strip())

# %% [markdown]
# The same three as a Kubernetes Pod: **net**, **ipc** and **uts**. Podman can
# share UTS where Docker could not (chapter 3 had to copy the hostname instead),
# so here one hostname is one namespace. Mount and PID namespaces stay each
# container's own. As a picture, with the infra container in the sandbox's place:

# %%
views.namespace_boxes(obs, title="the article's Pod, played by Podman")

# %% tags=["nbval-check-output"]
reply = pod.exec("sidecar", "curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ :", reply.exit_code == 0 and "<html" in reply.output)
pod.exec("app", "echo 'hello from app' > /dev/shm/greeting")
print("sidecar reads from /dev/shm:", pod.exec("sidecar", "cat /dev/shm/greeting").output.strip())
print("hostnames:", {c: pod.exec(c, "hostname").output.strip() for c in ("app", "sidecar")})
print("uts of app and sidecar:", labels["app"]["uts"], "/", labels["sidecar"]["uts"])

# %% [markdown]
# ## What `--share` changes
#
# `podman pod create --share` picks the namespaces the infra container lends.
# The default is `ipc,net,uts`; a leading `+` adds to it, so `--share +pid`
# gives Kubernetes' `shareProcessNamespace`. Here is the same pod built by hand,
# `podman pod create` and then `podman run --pod` per container:

# %% tags=["nbval-check-output"]
box = {"app": {"image": "busybox", "command": "sleep 600"}}
with lab.podman_pod(name="by-hand", containers=box, share="+pid", quiet=True) as by_hand:
    for line in by_hand.commands():
        print(line)

# %% [markdown]
# and one pod per `--share` value, with the app's row each time:

# %% tags=["nbval-check-output"]
rows = {}
for share in ("ipc,net,uts", "+pid", "net", "ipc,net"):
    with lab.podman_pod(name="shares", containers=box, share=share, quiet=True) as variant:
        app = views.sharing_labels(lab.observe(variant))["app"]
        if share == "+pid":
            first = variant.exec("app", "cat /proc/1/comm").output.strip()
    rows[f"--share {share}"] = {ns: app[ns] for ns in ("net", "ipc", "uts", "pid")}
pd.DataFrame(rows).T.rename_axis("app with")

# %% tags=["nbval-check-output"]
print("with --share +pid, PID 1 in the app's view is:", first)

# %% [markdown]
# Your turn, at the end of the chapter (exercise 1): a pod of your own in which
# pause is the app's PID 1, made with `lab.podman_pod` or with `labkit podman` in
# a terminal.

# %%
exercises.get("05.shared-pid")

# %% [markdown]
# With `pid` shared, the infra container's pause is PID 1 for every member, as
# with `shareProcessNamespace: true`. Leave `uts` out and each container gets
# its own hostname namespace, which is what Docker gives you by default.
#
# The manifest's own flags go through `kube play` too: `shareProcessNamespace`
# and `hostNetwork` are honoured. `hostIPC` and `hostPID` are quietly ignored by
# this Podman's `kube play`, so labkit refuses them instead of showing a pod that
# is not the one you wrote:

# %% tags=["nbval-check-output"]
for flag in ("shareProcessNamespace", "hostNetwork", "hostIPC"):
    text = manifest.replace("spec:\n", f"spec:\n  {flag}: true\n", 1)
    try:
        with lab.podman_pod(text.replace("name: foo", "name: flags"), quiet=True) as flagged:
            app = views.sharing_labels(lab.observe(flagged))["app"]
            print(f"{flag}: app's net {app['net']}, pid {app['pid']}, uts {app['uts']}")
    except labkit.LabError as refused:
        print(f"{flag}: refused: {refused}")

# %% [markdown]
# One difference from the kubelet shows in the `hostNetwork` row: Kubernetes
# moves the container into the node's UTS namespace along with its network
# (the node's hostname comes with it), while Podman keeps the pod's own.
#
# ## The pod's cgroup, and where conmon sits
#
# Podman gives every pod a cgroup of its own. With the cgroupfs manager of a
# cgroup v1 host it is `/libpod_parent/<pod id>`; with systemd on a v2 host it
# is a slice, `machine-libpod_pod_<pod id>.slice`. Each container is a
# `libpod-<id>` cgroup inside it. Podman also starts one small monitor process
# per container, **conmon**, which holds the container's terminal and logs and
# records its exit code. Where does it go?

# %% [markdown]
# Find out before the next cell does: `pod.conmon_pids()` gives each member's
# conmon, and `/proc/<pid>/cgroup` says where it is.

# %%
exercises.get("05.conmon-cgroup")

# %% tags=["nbval-check-output"]
def inside(path: str, parent: str) -> bool:
    return path.startswith(parent.rstrip("/") + "/")


hierarchy = "memory" if obs.cgroup_version == 1 else "unified"
conmons = [lab.node.cgroups(pid)[hierarchy] for pid in pod.conmon_pids().values()]
containers = [m.state.path for m in obs.members]
print("every container's cgroup is inside the pod's:",
      all(inside(path, pod.cgroup_parent) for path in containers))
print("every conmon is inside the pod's cgroup:",
      all(inside(path, pod.cgroup_parent) for path in conmons))
print("and inside no container's:",
      not any(c == path or inside(c, path) for c in conmons for path in containers))

# %% [markdown]
# On this machine the paths are (ids written as placeholders):

# %%
ids = {pod.id: "<pod id>", **{cid: f"<{name} id>" for cid, name in pod.names().items()}}


def placeholders(path: str) -> str:
    for real, shown in ids.items():
        path = path.replace(real, shown)
    return path


print("pod:", placeholders(pod.cgroup_parent))
print("app:", placeholders(obs.member("app").state.path))
print("conmon:", sorted({placeholders(path) for path in conmons}))

# %%
tree = lab.node.tree(pod.cgroup_parent, ancestors=True)
print(views.cgroup_tree_text(tree, pod.names()))

# %% [markdown]
# conmon stays inside the pod's cgroup, next to the containers but inside none
# of them: it counts against the pod's limits, never against a container's.
#
# ## Pod-level limits
#
# The kubelet writes the sum of the containers' limits on the pod's cgroup.
# `podman kube play` does not: its pod cgroup has no memory limit, only the
# containers do. `podman pod create --memory` (or `--cpus`) puts one there:

# %% tags=["nbval-check-output"]
def pod_limit(any_pod) -> str:
    walked = lab.node.tree(any_pod.cgroup_parent)
    limit = walked.state.limits.memory_bytes
    return "none" if limit is None else format_bytes(limit)


print("kube play, app 256Mi + sidecar 128Mi → pod cgroup memory limit:", pod_limit(pod))
limited = {"app": {"image": "busybox", "command": "sleep 600", "memory": "64Mi"},
           "sidecar": {"image": "busybox", "command": "sleep 600", "memory": "32Mi"}}
with lab.podman_pod(name="limited", containers=limited, quiet=True) as summed:
    print("pod create with the sum of the limits → pod cgroup memory limit:", pod_limit(summed))

# %% [markdown]
# ## When the infra container dies
#
# In Kubernetes the kubelet would notice a dead pause and recreate the whole
# sandbox. Podman does not: kill the infra container and the others keep
# running, the pod turns *degraded*, and the namespaces live on as long as a
# process is in them.

# %% tags=["nbval-check-output"]
pod.kill_sandbox()
print("pod:", pod.state)
print("members:", pod.states())
reply = pod.exec("sidecar", "curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ still:", reply.exit_code == 0 and "<html" in reply.output)

# %% [markdown]
# The network namespace was created for the infra container, but the kernel
# keeps a namespace while anything is in it. The app and the sidecar are, so
# `localhost` still joins them. Chapter 4 sets this beside the Docker emulation
# and the CRI pod.

# %% [markdown]
# ## Exercises
#
# labkit's Podman is the lab's own: make pods with `lab.podman_pod(...)`, or in a
# terminal with `labkit podman …` (podman with the lab's store and configuration;
# add `--network none`, as the lab's own pods have). Name them as the card says;
# **Check** reads Podman's API and the kernel, **Hint** unfolds one hint at a time.
#
# **1.** pause as the app's PID 1 (the card after the `--share` table):

# %%
# your code for exercise 1 here

# %%
exercises.get("05.shared-pid").check()

# %% [markdown]
# **2.** Containers that outlive their infra container, as `foo`'s did above,
# in a pod `lonely` of your own:

# %%
exercises.get("05.lonely")

# %%
# your code for exercise 2 here

# %%
exercises.get("05.lonely").check()

# %%
lab.close()
