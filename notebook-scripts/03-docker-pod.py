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
# # 3 · A Pod made of plain Docker containers
#
# A Kubernetes Pod is a group of containers that the runtime deliberately
# isolates *less* from each other: they talk over `localhost`, can share memory,
# and sit under one parent cgroup. Nothing in that needs Kubernetes. Docker can
# join a container to another container's namespaces and put it under a cgroup
# parent of our choosing, so we can build the same structure by hand:
#
# 1. a **parent cgroup** for the whole pod;
# 2. a **sandbox** container that only holds namespaces (Kubernetes calls it the
#    *pause* container), with its IPC namespace marked shareable;
# 3. the pod's **app** and **sidecar**, joining the sandbox's network and IPC
#    namespaces, each with its own memory limit.
#
# Then we check, from the kernel, how close this comes to the real thing.

# %%
from pathlib import Path

import labkit
from labkit import views

lab = labkit.chapter_lab("03")
manifest = Path("manifests/foo-pod.yaml").read_text()
print(manifest)

# %% [markdown]
# labkit reads the same manifest the Pod chapter uses and turns it into Docker
# calls. Whether the article's images are on your machine depends on the
# machine; where they are not (offline, at a workshop), labkit runs its own
# stand-ins: an HTTP server for the app, a small `curl` for the sidecar. This
# cell says which; nothing after it depends on the answer.

# %% tags=["nbval-ignore-output"]
print(lab.describe("docker.io/kennethreitz/httpbin", "curlimages/curl"))

# %% [markdown]
# This chapter asks you things along the way and ends with exercises. Each is
# checked against the machine itself, not against the code you type; your
# progress is kept between sessions (`labkit progress` prints it in a terminal):

# %% tags=["nbval-ignore-output"]
from labkit import exercises

exercises.use(lab)
exercises.progress_widget("03")

# %%
pod = lab.docker_pod(manifest)
for line in pod.commands():
    print(line)

# %% [markdown]
# Those are the commands you would type yourself. On a cgroup v1 host `cgcreate`
# makes the parent cgroup (labkit writes the directories directly); on a cgroup
# v2 host with systemd, Docker insists on a parent *slice* and systemd gives it
# its limits (`systemctl set-property`). The sandbox gets `--ipc shareable`, and
# the others join it with `container:` modes.
#
# ## Who owns which namespace
#
# The sandbox comes first, so a namespace it holds shows up as `shared with
# sandbox` for the others. Before you look, make your guess: pick the namespaces
# you expect the sidecar to share with the sandbox and press **Check**. The
# answer is compared with what the kernel says.

# %%
exercises.get("03.shared-namespaces")

# %%
obs = lab.observe(pod)
views.sharing_colours(obs)

# %% tags=["nbval-check-output"]
labels = views.sharing_labels(obs)
for ns in ("net", "ipc", "uts", "pid", "mnt"):
    sharing = [m for m in ("app", "sidecar") if labels[m][ns] == "shared with sandbox"]
    print(f"{ns:4} shared with the sandbox by: {', '.join(sharing) or 'nobody'}")

# %% [markdown]
# Network and IPC are the pod's; mount and PID stay private to each container,
# as in a real Pod without `shareProcessNamespace`. UTS is the odd one out; more
# on that below. Drawn as boxes, each process inside the namespaces it is in:

# %%
views.namespace_boxes(obs, title="the article's Pod, emulated with Docker")

# %% [markdown]
# Compare the **uts** row with chapter 2's picture: there the pause container,
# the app and the sidecar share one box; here each has a box of its own.
#
# ## Shown by running
#
# The sidecar reaches the app on `localhost`, because they share one network
# stack:

# %% tags=["nbval-check-output"]
reply = pod["sidecar"].exec("curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ :", reply.exit_code == 0 and "<html" in reply.output)

# %% [markdown]
# And they share IPC: with a shared IPC namespace Docker also shares the
# sandbox's `/dev/shm`, so a POSIX shared-memory object written by the app is
# there for the sidecar.

# %% tags=["nbval-check-output"]
pod["app"].exec("echo 'hello from app' > /dev/shm/greeting")
print("sidecar reads:", pod["sidecar"].exec("cat /dev/shm/greeting").output.strip())

# %% [markdown]
# ## The hostname trick
#
# In a Kubernetes Pod every container is in the sandbox's UTS namespace, so they
# have one hostname. Here all three answer with the pod's name too:

# %% tags=["nbval-check-output"]
names = {m: pod[m].exec("hostname").output.strip() for m in ("sandbox", "app", "sidecar")}
print("hostnames:", names)
print("same hostname everywhere:", len(set(names.values())) == 1)
print("same UTS namespace everywhere:",
      len({m.namespaces["uts"] for m in obs.members}) == 1)

# %% [markdown]
# Same name, different namespaces: Docker copies the sandbox's hostname into
# each container that joins its network, but each still gets a UTS namespace of
# its own. Change the hostname in one and the others will not follow. Can we ask
# Docker to share UTS outright?

# %% tags=["nbval-check-output"]
try:
    lab.run("uts-joiner", "busybox", "sleep 600", uts_mode=f"container:{pod.sandbox.id}")
except labkit.LabError as error:
    print(error)

# %% [markdown]
# Docker only accepts `host` for the UTS mode; joining another container's UTS
# namespace is not something it can do. That is the one namespace of a Pod this
# emulation cannot reproduce.
#
# ## The pod's cgroups
#
# Every member sits under the parent cgroup, which carries the pod-level limit
# (the sum of the containers' limits, as the kubelet sets it), while each child
# carries its own:

# %%
tree = obs.trees[0]
print(views.cgroup_tree_text(tree, pod.names()))

# %% tags=["nbval-check-output"]
limits = {pod.names().get(c.name.removeprefix("docker-").removesuffix(".scope"), c.name):
          c.state.limits.memory_bytes for c in tree.children}
print("pod-level memory limit is the sum of the containers':",
      tree.state.limits.memory_bytes == limits["app"] + limits["sidecar"])
print("each container keeps its own:", limits["app"] == 256 * 2**20,
      limits["sidecar"] == 128 * 2**20)

# %%
views.cgroup_tree_figure(tree, pod.names(), title="the emulated pod's memory cgroups")

# %%
views.cgroup_tree_widget(tree, pod.names())

# %% [markdown]
# ## What the host flags change
#
# `hostNetwork`, `hostIPC` and `hostPID` in a Pod spec put the containers in the
# node's own namespaces; `shareProcessNamespace` puts them all in the sandbox's
# PID namespace. Docker has the matching modes. One small pod per flag, and the
# app's row of the matrix for each:

# %% tags=["nbval-check-output"]
import pandas as pd

rows = {}
for flag in ("none", "share_process_namespace", "host_network", "host_ipc", "host_pid"):
    flags = {} if flag == "none" else {flag: True}
    with lab.docker_pod(name="flags", containers={"app": {"image": "busybox",
                                                          "command": "sleep 600"}},
                        quiet=True, **flags) as variant:
        app = views.sharing_labels(lab.observe(variant))["app"]
    rows[flag] = {ns: app[ns] for ns in ("net", "ipc", "uts", "pid")}
pd.DataFrame(rows).T.rename_axis("app with")

# %% [markdown]
# ## When the sandbox dies
#
# The sandbox holds the namespaces; what happens to the others if it goes? Guess
# first, for pod `foo`'s sidecar:

# %%
exercises.get("03.sandbox-dies")

# %% [markdown]
# Now the experiment, on a pod of its own: one container shares only the
# sandbox's network (and IPC), another also its PID namespace.

# %% tags=["nbval-check-output"]
life = lab.docker_pod(name="life", containers={"net-only": {"image": "busybox",
                                                            "command": "sleep 600"}},
                      quiet=True)
sandbox = f"container:{life.sandbox.id}"
pid_too = lab.run("pid-too", "busybox", "sleep 600", network_mode=sandbox, pid_mode=sandbox,
                  quiet=True)
life.kill_sandbox()
net_only = life["net-only"]
print("net-only:", net_only.status, "· pid-too:", pid_too.status,
      "with exit code", pid_too.state["ExitCode"])

# %% [markdown]
# The container in the sandbox's PID namespace was killed with it (when a PID
# namespace's init exits, the kernel kills every process in it). The one that
# only shared the network lives on, holding the network namespace alive by
# itself. But neither can be started again: their namespaces belonged to a
# container that no longer exists.

# %% tags=["nbval-check-output"]
for container in (net_only, pid_too):
    container.stop(timeout=1)
    try:
        container.start()
        print(container.name, "restarted")
    except labkit.LabError as error:
        print(container.name, "cannot restart:", error.engine_said)

# %% [markdown]
# Kubernetes avoids this by never letting the sandbox die alone: if the pause
# container goes, the kubelet recreates the whole pod.
#
# ## Bad manifests
#
# A manifest is checked completely before anything is created:

# %% tags=["nbval-check-output"]
for broken in (manifest.replace("containers:", "contaners:"),
               manifest.replace('memory: "128Mi"', 'memory: "128 MB"'),
               manifest.replace("name: sidecar", "name: app")):
    try:
        lab.docker_pod(broken)
    except labkit.LabError as error:
        print("✘", error)

# %% [markdown]
# ## Exercises
#
# Your turn. Each card says what to reach; **Check** reads the machine and tells
# you the one thing still wrong, and **Hint** unfolds one hint at a time. You may
# work in the empty cells with `lab` (`lab.docker_pod(...)`, `lab.run(...)`), or
# in a terminal with the `docker` command: the checks look at the kernel and at
# Docker, not at how you got there.
#
# **1.** Find a number in the kernel's files (`/proc/<pid>/ns/net` of a member of
# pod `foo`):

# %%
exercises.get("03.net-inode")

# %% [markdown]
# **2.** A sidecar that sees the app's processes:

# %%
exercises.get("03.shared-pid")

# %%
# your code for exercise 2 here

# %%
exercises.get("03.shared-pid").check()

# %% [markdown]
# **3.** A pod-level memory limit you choose:

# %%
exercises.get("03.pod-memory-192mi")

# %%
# your code for exercise 3 here

# %%
exercises.get("03.pod-memory-192mi").check()

# %% [markdown]
# ## Clean up
#
# The pods, their containers and their parent cgroups (in every hierarchy:
# Docker never removes a parent it made) go with the lab:

# %% tags=["nbval-check-output"]
from labkit.cleanup import lab_cgroup_dirs

life.delete()
lab.close()
print("containers left:", lab.docker.session_containers())
print("parent cgroups left:", lab_cgroup_dirs(lab.node.layout, lab.session.id))
