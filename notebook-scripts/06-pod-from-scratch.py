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
# # 6 · A Pod from scratch
#
# Every chapter so far had an engine in the middle: Docker, containerd's CRI,
# Podman. This one has none. A Pod, seen from the kernel, is only this: a few
# processes that share some namespaces and sit under one cgroup. So we build
# one with the tools any Linux machine has:
#
# * `unshare` starts a process in new namespaces: our **pause**;
# * `nsenter` starts a process inside the namespaces of another one: our
#   **containers** join pause's network, IPC and hostname namespaces, and
#   `unshare` gives each its own mount and PID namespaces;
# * `mkdir` and `echo` in `/sys/fs/cgroup` make the pod's cgroup with its
#   limits, and one cgroup per container under it;
# * `chroot` puts each process in a root file system of its own: the lab's
#   busybox, unpacked once per member, as an image would be.
#
# Then we read the result exactly as we read the CRI pod of chapter 2, side by
# side with it. This chapter needs root (it writes cgroups itself).

# %% tags=["nbval-ignore-output"]
from pathlib import Path

import pandas as pd

import labkit
from labkit import views

lab = labkit.chapter_lab("06")
print(f"cgroup v{lab.node.cgroup_version} · {lab.node.gatherer.description}")

# %% [markdown]
# The line above describes this machine. Now the article's manifest, the same
# YAML chapter 2 gave the CRI:

# %%
manifest = Path("manifests/foo-pod.yaml").read_text()
pod = lab.scratch_pod(manifest)
print(f"pod {pod.name} ({pod.kind}): {pod.state}, "
      f"{len(pod.members())} processes: {', '.join(m.name for m in pod.members())}")

# %% [markdown]
# No image is pulled or stored: every member runs the lab's busybox, and the
# two notes say what stands in for the manifest's images.
#
# This chapter asks before it shows, and ends with exercises checked against the
# machine; your progress is kept between sessions:

# %% tags=["nbval-ignore-output"]
from labkit import exercises

exercises.use(lab)
exercises.progress_widget("06")

# %% [markdown]
# ## What labkit ran
#
# Here is every command that made the pod, in order, as you could type them in a
# root shell (the session's prefix shows as `lk-<session>-`). First the cgroups:
# one directory for the pod, one per member, in each hierarchy (on cgroup v1
# every controller is a tree of its own), and the limits the kubelet would
# write: the pod gets the sum of its containers' memory limits.

# %%
made = pod.commands()
for line in made:
    if not line.startswith(("unshare", "nsenter", "PAUSE=")):
        print(line)

# %% [markdown]
# Then pause. `unshare` makes the new namespaces and, with `--fork`, a child
# that is PID 1 in the new PID namespace. That child moves itself into the
# pause cgroup (`$$` is its own PID), names the host after the pod, brings up
# `lo`, mounts `/proc` and a few device files into its root file system, and
# finally `chroot`s into it to run the lab's pause, a script that only sleeps.

# %%
print(next(line for line in made if line.startswith("unshare")))
print(next(line for line in made if line.startswith("PAUSE=")))

# %% [markdown]
# And the containers. Each `nsenter --target $PAUSE --net --ipc --uts` steps
# into pause's namespaces; the `unshare` after it makes the container's own
# mount and PID namespaces. The pod's `/dev/shm` is a directory bound into
# every container, the way containerd gives a sandbox's shm to its containers.

# %%
for line in made:
    if line.startswith("nsenter"):
        print(line, end="\n\n")

# %% [markdown]
# Before the kernel says it: which namespaces does the app share with pause?

# %%
exercises.get("06.joined-namespaces")

# %% [markdown]
# ## The same matrix as chapter 2's
#
# `lab.observe(pod)` reads the members' namespaces and cgroups exactly as it
# does for every other kind of pod. pause is listed first, so what it holds
# shows as `shared with pause` in the other rows (and as `held for the pod` in
# its own). Blue is shared in the pod, orange is a process's own, grey is the
# host's:

# %%
obs = lab.observe(pod)
views.sharing_colours(obs)

# %%
views.namespace_table(obs, "app")

# %% [markdown]
# Now the CRI pod of chapter 2, made from the same manifest by labkit's
# containerd, and the two matrices compared cell by cell:

# %% tags=["nbval-check-output"]
cri = lab.cri_pod(manifest, quiet=True)
cri_obs = lab.observe(cri)
ours, theirs = views.sharing_labels(obs), views.sharing_labels(cri_obs)
five = ("ipc", "mnt", "net", "pid", "uts")
side = pd.DataFrame({(kind, ns): {m: labels[m][ns] for m in labels}
                     for kind, labels in (("from scratch", ours), ("CRI", theirs))
                     for ns in five})
side.rename_axis("member")

# %% [markdown]
# The same two readings as pictures, one above the other: a row per namespace
# type, a box per namespace, each process drawn in the boxes it is in.

# %%
views.namespace_boxes_by_kind({"pod from scratch": obs, "CRI pod (chapter 2)": cri_obs})

# %% tags=["nbval-check-output"]
print("same label for every member in these five namespaces:",
      all(ours[m][ns] == theirs[m][ns] for m in ours for ns in five))
print("pause owns:", ", ".join(ns for ns in five if ours["pause"][ns] == "own"))
print("app and sidecar join pause's:",
      ", ".join(ns for ns in five if ours["app"][ns] == ours["sidecar"][ns] == "shared with pause"))

# %% [markdown]
# The same labels, row for row. containerd and runc did for chapter 2 what
# `unshare` and `nsenter` did here: nothing about a Pod needs more than that.
# (On a cgroup v2 host runc also gives each container a cgroup namespace of its
# own; this pod leaves the cgroup namespace alone, so that column would differ.)
#
# ## Talking over localhost and /dev/shm
#
# One network namespace means one `lo`: the sidecar reaches the app's web server
# on `localhost`. One IPC namespace and one shm directory mean a file the app
# writes in `/dev/shm` is there for the sidecar. `pod.exec` is `docker exec` by
# hand: `nsenter` into all of a member's namespaces and its root, after joining
# its cgroup.

# %% tags=["nbval-check-output"]
reply = pod.exec("sidecar", "curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ :", reply.exit_code == 0 and "<html" in reply.output)
pod.exec("app", "echo 'hello from app' > /dev/shm/greeting")
print("sidecar reads from /dev/shm:", pod.exec("sidecar", "cat /dev/shm/greeting").output.strip())
print("hostnames:", {c: pod.exec(c, "hostname").output.strip() for c in ("app", "sidecar")})
print("PID 1 as the sidecar sees it:", pod.exec("sidecar", "cat /proc/1/comm").output.strip())

# %% [markdown]
# This is what `pod.exec("sidecar", "hostname")` ran (`$SIDECAR` for the
# sidecar's host PID):

# %%
from labkit.runtimes.scratch.commands import shell_text

argv = pod.exec_argv("sidecar", ["hostname"])
print(shell_text(argv).replace(f"--target {pod['sidecar'].pid} ", "--target $SIDECAR "))

# %% [markdown]
# ## One cgroup for the pod
#
# The pod's cgroup holds the pod-level limit; each member's cgroup under it holds
# its own. Beside it, the CRI pod's: the kubelet puts it under `kubepods`, by QoS
# class, and names the members by container id, but the shape is the same.

# %% tags=["nbval-check-output"]
print(views.cgroup_tree_text(obs.trees[0], pod.names()))

# %%
tree = cri_obs.trees[0]
print(views.cgroup_tree_text(tree, cri.names()).replace(cri.spec.uid, "<uid>"))

# %%
views.limits_table(obs).loc[["app", "sidecar"]]

# %% tags=["nbval-check-output"]
for member in obs.members:
    print(f"{member.name}: in {member.state.path.replace(lab.session.prefix, 'lk-<session>-')}")

# %% [markdown]
# Where is pause on the host? Find its PID, with the cgroup as your map:

# %%
exercises.get("06.pause-pid")

# %% [markdown]
# ## When pause dies
#
# In Kubernetes, pause only holds the namespaces. Kill it and see what is left:

# %% tags=["nbval-check-output"]
pod.kill_sandbox()
print("pod:", pod.state)
print("still running:", ", ".join(m.name for m in pod.members()))
after = views.sharing_labels(lab.observe(pod))
print("sidecar's net namespace now:", after["sidecar"]["net"])
reply = pod.exec("sidecar", "curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ still:", reply.exit_code == 0 and "<html" in reply.output)

# %% [markdown]
# The containers live on: each has its own PID namespace, so only what was in
# pause's died with it. The network namespace lives on too, because the kernel
# keeps a namespace while any process is in it, and now app holds it. But
# nothing can *join* the pod any more: `nsenter` needed pause's
# `/proc/<pid>/ns/net`, and that is gone.

# %% tags=["nbval-check-output"]
joined = pod.try_join("net")  # nsenter --target <pause's old PID> --net true
print("nsenter --target <pause> --net:", "refused" if joined.exit_code else "joined",
      "(no such process)" if "No such" in joined.output else "")

# %% [markdown]
# That is why the kubelet, when it sees a dead sandbox, tears the whole pod down
# and makes it again: a new pause, and every container joined to it. Nobody
# does that here: a pod from scratch has no kubelet. The CRI pod keeps its
# containers too when its pause is killed, and containerd calls the sandbox
# `NotReady`:

# %% tags=["nbval-check-output"]
cri.kill_sandbox()
print("CRI pod:", cri.state, cri.states())

# %% [markdown]
# ## Exercises
#
# The checks read only the kernel: the pod's cgroup, the processes in it, their
# namespaces. **Check** gives a verdict, **Hint** unfolds one hint at a time.
#
# **1.** A third container, added by hand: make the pod `trio` with
# `lab.scratch_pod(...)`, then start `debug` in it yourself, in a terminal
# (`pod.join_commands("debug")` shows the lines for your pod).

# %%
exercises.get("06.third-container")

# %%
# your code for exercise 1 here

# %%
exercises.get("06.third-container").check()

# %% [markdown]
# ## Clean up
#
# Closing the lab kills what is in each pod's cgroup (pause takes its PID
# namespace with it, each container its own), then removes the cgroups and the
# root file systems. Nothing else on the machine is touched.

# %% tags=["nbval-check-output"]
from labkit.cleanup import lab_cgroup_dirs
from labkit.runtimes.scratch import rootfs

lab.close()
print("cgroups left from this session:", lab_cgroup_dirs(lab.node.layout, lab.session.id))
print("pod directories left:", [d for d in Path(rootfs.BASE).glob(f"{lab.session.prefix}*")])
