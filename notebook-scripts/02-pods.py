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
# # 2 · A Kubernetes Pod, seen from the node
#
# On a Kubernetes node, the kubelet does not start containers itself. It talks
# to a container runtime (containerd, CRI-O) through the **CRI**, a small gRPC
# API: *run a pod sandbox*, *create a container in it*, *start it*. In this
# chapter labkit plays the kubelet: it starts its own containerd (beside Docker,
# touching nothing of Docker's) and makes exactly those calls for the article's
# two-container Pod. Then we look at the node the way the article does with
# `crictl`, `lsns` and `systemd-cgls`, except that the answers come straight
# from the kernel.

# %%
from pathlib import Path

import pandas as pd

import labkit
from labkit import views

lab = labkit.chapter_lab("02")
manifest = Path("manifests/foo-pod.yaml").read_text()
pod = lab.cri_pod(manifest)
print(f"pod {pod.name}: QoS class {pod.spec.qos_class}, cgroup parent {pod.cgroup_parent}")

# %% [markdown]
# This chapter asks before it shows, and ends with exercises checked against the
# machine; your progress is kept between sessions:

# %% tags=["nbval-ignore-output"]
from labkit import exercises

exercises.use(lab)
exercises.progress_widget("02")

# %% [markdown]
# ## Three containers for a two-container Pod
#
# What `crictl pods` and `crictl ps` would list on the node: the two containers
# of the manifest, and one more that nobody asked for, the **pause** container.
# Its id *is* the pod's id: the sandbox.

# %% tags=["nbval-check-output"]
pd.DataFrame(pod.listing())

# %% [markdown]
# ## Who owns which namespace
#
# Which namespaces does the app reuse from pause? Guess before the kernel says:

# %%
exercises.get("02.shared-with-pause")

# %% [markdown]
# The pause container is listed first, so what it holds shows up as `shared
# with pause` in the other rows (and as `held for the pod` in its own). Blue is
# shared in the pod, orange is a container's own, grey is the host's:

# %%
obs = lab.observe(pod)
views.sharing_colours(obs)

# %% [markdown]
# The same reading as a picture: a row per namespace type, a box per namespace,
# and every process drawn in the boxes it is in. The host has a column too: a
# container drawn in a grey box would be in the host's namespace.

# %%
views.namespace_boxes(obs, title="the article's Pod, made through the CRI")

# %% tags=["nbval-check-output"]
labels = views.sharing_labels(obs)
five = ("ipc", "mnt", "net", "pid", "uts")
print("pause owns:", ", ".join(ns for ns in five if labels["pause"][ns] == "own"))
for member in ("app", "sidecar"):
    reused = [ns for ns in five if labels[member][ns] == "shared with pause"]
    print(f"{member} reuses the pause container's:", ", ".join(reused))
comm = lab.node.read(f"/proc/{obs.member('pause').member.pid}/comm")  # cat /proc/<pid>/comm
print("the sandbox's process is called:", comm.strip())

# %% [markdown]
# Unlike the Docker emulation of chapter 3, **uts** is shared too: in a real Pod
# the containers have one hostname because they have one UTS namespace. Each
# keeps its own mount namespace (its own filesystem) and, by default, its own
# PID namespace.
#
# Sharing the network means `localhost` is the pod's; sharing IPC means one
# `/dev/shm`:

# %% tags=["nbval-check-output"]
reply = pod.exec("sidecar", "curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ :", reply.exit_code == 0 and "<html" in reply.output)
pod.exec("app", "echo 'hello from app' > /dev/shm/greeting")
print("sidecar reads from /dev/shm:", pod.exec("sidecar", "cat /dev/shm/greeting").output.strip())
print("hostnames:", {c: pod.exec(c, "hostname").output.strip() for c in ("app", "sidecar")})

# %% [markdown]
# ## What the Pod's flags change
#
# Four fields of a Pod spec move containers between the pod's namespaces and
# the node's. The kubelet turns them into CRI *namespace modes*: `POD` (the
# sandbox's), `CONTAINER` (its own), `NODE` (the host's). Before the table, one to
# try yourself at the end of the chapter (a pod on the host's network):

# %%
exercises.get("02.hostnet")

# %% [markdown]
# One pod per flag; the app's row each time:

# %% tags=["nbval-check-output"]
rows = {}
box = {"app": {"image": "busybox", "command": "sleep 600"}}
for flag in ("none", "share_process_namespace", "host_network", "host_ipc", "host_pid"):
    flags = {} if flag == "none" else {flag: True}
    with lab.cri_pod(name="flags", containers=box, quiet=True, **flags) as variant:
        app = views.sharing_labels(lab.observe(variant))["app"]
        if flag == "share_process_namespace":
            first = variant.exec("app", "cat /proc/1/comm").output.strip()
    rows[flag] = {ns: app[ns] for ns in ("net", "ipc", "uts", "pid")}
pd.DataFrame(rows).T.rename_axis("app with")

# %% tags=["nbval-check-output"]
print("with shareProcessNamespace, PID 1 in the app's view is:", first)

# %% [markdown]
# `hostNetwork` takes the UTS namespace along (the node's hostname comes with
# the node's network), `shareProcessNamespace` makes pause the init process of
# every container, and `hostIPC`/`hostPID` each swap one namespace for the
# node's.
#
# ## The pod's cgroups
#
# The kubelet creates a cgroup for the pod under its QoS class, writes the
# pod-level limits there, and asks the runtime to put each container below it.
# (labkit roots its kubelet tree at `/lk-<session>-node` so it can never collide
# with a real kubelet's `/kubepods`.) With the systemd driver of a cgroup v2
# host the same tree is made of slices, `…kubepods.slice/…kubepods-burstable.slice/
# …kubepods-burstable-pod<uid>.slice`, and each container is a
# `cri-containerd-<id>.scope`.

# %%
tree = lab.node.tree(pod.cgroup_parent, ancestors=True)
print(views.cgroup_tree_text(tree, pod.names()))

# %%
views.cgroup_tree_figure(obs.trees[0], pod.names(), title="the Pod's memory cgroups")

# %%
views.cgroup_tree_widget(obs.trees[0], pod.names())

# %% [markdown]
# The limits asked in the manifest beside what the kernel enforces:

# %%
views.limits_table(obs).loc[["app", "sidecar"]]

# %% [markdown]
# ## QoS classes decide where the pod goes
#
# Limits without requests count as requests equal to the limits. A pod whose
# every container has equal CPU and memory requests and limits is
# **Guaranteed** and sits directly under `kubepods`; one with no resources at
# all is **BestEffort**; anything else is **Burstable**. Can you make one
# Guaranteed? (Exercise 3 below.)

# %%
exercises.get("02.steady-guaranteed")

# %% [markdown]
# Three pods, one per class, and where the kubelet's rules put them:

# %%
variants = {
    "Guaranteed": {"app": {"image": "busybox", "command": "sleep 600", "memory": "64Mi",
                           "cpus": "250m"}},
    "Burstable": {"app": {"image": "busybox", "command": "sleep 600", "memory": "64Mi"}},
    "BestEffort": {"app": {"image": "busybox", "command": "sleep 600"}},
}
placed = {}
for expected, containers in variants.items():
    with lab.cri_pod(name="qos", containers=containers, quiet=True) as variant:
        path = lab.observe(variant).trees[0].path
    shown = path.replace(variant.spec.uid, "<uid>").replace(variant.spec.uid.replace("-", "_"),
                                                            "<uid>")
    placed[expected] = (variant.spec.qos_class, shown)
    print(f"{variant.spec.qos_class} (expected {expected}) → {shown}")

# %% tags=["nbval-check-output"]
levels = {"Guaranteed": "kubepods", "Burstable": "burstable", "BestEffort": "besteffort"}
for expected, (qos, path) in placed.items():
    parent = path.rsplit("/", 2)[1].removesuffix(".slice")
    print(f"{expected}: computed as {qos}, pod cgroup right under the {levels[expected]} level:",
          qos == expected and parent.endswith(levels[expected]))

# %% [markdown]
# ## On a real cluster
#
# Everything above is what the kubelet does on every node. On minikube
# (`minikube start --container-runtime=containerd`) the same manifest, applied
# with `kubectl`, gives a pause container, the same namespace ownership and a
# `kubepods/burstable/pod<uid>` tree; `minikube ssh` and `sudo crictl ps` show it.
#
# ## Exercises
#
# labkit's containerd is private to this notebook's lab, so here you work with
# `lab.cri_pod(...)` (name it as the card says); **Check** reads the CRI's state
# and the kernel, **Hint** unfolds one hint at a time.
#
# **1.** Find the pause process of pod `foo` on the host (its PID):

# %%
exercises.get("02.pause-pid")

# %% [markdown]
# **2.** A pod on the host's network (the card above the flags table):

# %%
# your code for exercise 2 here

# %%
exercises.get("02.hostnet").check()

# %% [markdown]
# **3.** A Guaranteed pod (the card above the QoS pods):

# %%
# your code for exercise 3 here

# %%
exercises.get("02.steady-guaranteed").check()

# %% [markdown]
# ## Clean up

# %% tags=["nbval-check-output"]
from labkit.cleanup import lab_cgroup_dirs

lab.close()
print("cgroups left from this session:", lab_cgroup_dirs(lab.node.layout, lab.session.id))
