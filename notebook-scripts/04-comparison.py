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
# # 4 · Container, emulated Pod, real Pod: side by side
#
# A container named `app`, four ways, all on this machine at once:
#
# * a **plain container** (`docker run`, chapter 1), running the lab's busybox
#   `sleep` with a memory limit;
# * an **emulated Pod** made of Docker containers around a sandbox (chapter 3), from
#   the article's manifest;
# * a **Podman pod**, played from the same manifest with `podman kube play`
#   (chapter 5);
# * a **Kubernetes Pod** made through containerd's CRI, from the same manifest, with
#   the calls a kubelet makes (chapter 2; no kubelet runs here: labkit makes the calls
#   and writes the pod's cgroups by the kubelet's rules).
#
# The kubelet's rules are those of the release printed last on the versions line
# below. A real kubelet 1.35 or later refuses a cgroup v1 node unless its
# `failCgroupV1` setting is false, and 1.35 is the last release that supports
# containerd 1.x; the lab applies 1.37's arithmetic anyway. So on a cgroup v1 node,
# or with containerd 1.x (the versions line says what this one has), the CRI pod is
# the rules' pod, not a supported node's.
#
# Each is asked the same questions, and the kernel answers.

# %% tags=["nbval-ignore-output"]
from pathlib import Path

import pandas as pd

import labkit
from labkit import views

pd.set_option("display.max_colwidth", 100)
lab = labkit.chapter_lab("04")
manifest = Path("manifests/foo-pod.yaml").read_text()

plain = lab.run("app", "busybox", "sleep 3650d", memory="256Mi", quiet=True)
emulated = lab.docker_pod(manifest, quiet=True)
podman = lab.podman_pod(manifest, quiet=True)
real = lab.cri_pod(manifest, quiet=True)

observations = {
    "plain container": lab.observe(plain),
    "Docker-emulated pod": lab.observe(emulated),
    "Podman pod": lab.observe(podman),
    "Kubernetes pod (CRI)": lab.observe(real),
}
print(lab.versions())
print(lab.describe(engine="podman"))
print("cgroup drivers here: Docker", lab.docker.cgroup_driver, "· Podman",
      lab.podman.cgroup_manager, "· labkit's containerd",
      "systemd" if lab.containerd.systemd else "cgroupfs")

# %% [markdown]
# This chapter's questions and exercises, and your progress in them:

# %% tags=["nbval-ignore-output"]
from labkit import exercises

exercises.use(lab)
exercises.progress_widget("04")

# %% [markdown]
# ## Namespaces and cgroups of `app`

# %%
from dataclasses import replace

table = views.comparison_colours(observations, "app")
path = {"cgroup": "cgroup path"}  # the column is the app's cgroup, not its cgroup namespace
replace(table, labels=table.labels.rename(columns=path),
        categories=table.categories.rename(columns=path))

# %% [markdown]
# Read it row by row:
#
# * the plain container has a namespace of its own in each of the five types shown
#   (orange); the table leaves out the cgroup, time and user *namespaces* (the
#   widget below shows them, and exercise 1 asks about them);
# * all three pods share **net** and **ipc** with their sandbox (blue): one network
#   stack, so the containers of a Pod talk over `localhost`, and one set of System V
#   IPC objects and POSIX message queues. (`/dev/shm` is another matter: a mount of
#   the sandbox's tmpfs into each container, which Docker and containerd each make;
#   chapter 3 shows Docker's.)
# * the Podman pod and the real Pod share **uts** as well. Docker cannot start a
#   container in another container's UTS namespace; it only copies the hostname;
# * none shares **pid** (the manifest does not ask for `shareProcessNamespace`) or
#   **mnt** (no Pod does);
# * the **cgroup path** says who grouped the containers, and where depends on each
#   engine's cgroup driver (the first cell printed this machine's). With cgroupfs,
#   Docker puts a plain container under `/docker`, our emulation under the parent it
#   made, and Podman under `/libpod_parent/<pod id>`. containerd puts a pod where
#   its caller tells it to: labkit, in the kubelet's place, asks for its node's
#   `kubepods/<QoS class>/pod<uid>` (a Guaranteed pod would sit right under
#   `kubepods`). With the systemd driver they are slices and scopes instead:
#   `system.slice/docker-<id>.scope` for Docker, `machine.slice` for Podman,
#   `kubepods-burstable-pod<uid>.slice` for a kubelet's Burstable pod.
#
# ## The four as pictures
#
# One picture per way of running `app`, drawn the same way: a row per namespace
# type, a box per namespace, each process in the boxes it is in.

# %%
views.namespace_boxes_by_kind(observations)

# %% [markdown]
# To look at one process at a time, pick it below: its boxes light up and the
# namespaces it is in are listed under the picture. The check box adds the three
# namespace types the article leaves out (cgroup, time, user).

# %%
views.namespace_boxes_widget(observations)

# %% [markdown]
# ## When the sandbox dies
#
# Kill each pod's sandbox: the emulated pod's with `docker kill`, the Podman pod's
# infra container through Podman's API (as `podman kill` does), the real Pod's
# pause process with SIGKILL. What happens to the apps, and what do the runtimes say?
# Chapter 3 showed what the emulated pod's app does; predict the real Pod's:

# %%
exercises.get("04.sandbox-dies")

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true}
emulated.kill_sandbox()
podman.kill_sandbox()
real.kill_sandbox()
for kind, pod in (("Docker-emulated pod", emulated), ("Podman pod", podman),
                  ("Kubernetes pod (CRI)", real)):
    states = ", ".join(f"{name} is {state}" for name, state in pod.states().items())
    answers = "<html" in pod.exec("sidecar", "curl -s http://localhost:80/").output
    print(f"{kind}: {states}; localhost still answers: {answers}")
print("Podman calls its pod:", podman.state)

# %% [markdown]
# Once you have checked your guess, unfold the output above. Why does it come out
# this way? In all three pods the app and the sidecar keep running, and for one
# reason: each has a PID namespace of its own, so the death of the sandbox's
# process, the init of *its* PID namespace, does not reach them. (With
# `shareProcessNamespace: true` the kernel would have killed them with it, as
# chapter 3 showed.) The shared network namespace lives on as long as a process is
# in it (containerd also keeps the CRI pod's bind-mounted, under its state
# directory here, `/var/run/netns` by default); that is why `localhost` still
# answers, not why the containers live.
#
# What differs is what each runtime does next, which is nothing much:
#
# * **Docker** does nothing: the sandbox is an exited container like any other, and
#   the members go on; one that stops cannot start again while the sandbox does not
#   run (chapter 3).
# * **Podman** computes the pod's state from its containers' when asked: *degraded*
#   means some but not all of them run. Nothing restarts the infra container by
#   itself: a container killed as `podman kill` does is left as it is, whatever its
#   restart policy. (Unlike Docker, though, Podman 4.3's `podman start` of a member
#   starts the infra container again first: a member depends on the containers
#   whose namespaces it joins.)
# * **containerd** marks the sandbox *NotReady* when pause dies, and leaves the
#   containers alone.
#
# A kubelet would act on that NotReady: on its next sync it kills the pod's
# containers, creates a new sandbox (a new pause, a new network namespace set up
# afresh, so the pod's address, read again from it, may be a different one) and
# starts the containers again as the Pod's `restartPolicy` says; with `Never` it
# makes no new sandbox and starts nothing. The Pod object, its name and its UID
# stay. No kubelet runs here, which is why the cell above found the pod as pause
# left it. So what keeps a Pod one unit with one lifecycle is the kubelet's loop,
# not the sandbox; the emulation is a set of containers that happen to share some
# namespaces, and a Podman pod sits in between: one unit to create, list and
# remove, with nothing that brings its sandbox back by itself.
#
# ## Exercises
#
# The cards write this session's engine names as Docker knows them
# (`lk-<session>-app` for the plain container `app`); a check also accepts a name
# typed without that prefix.
#
# **1.** A count: in how many of the eight namespace types is the plain
# container `app` still in the host's?

# %%
exercises.get("04.plain-shared")

# %% [markdown]
# **2.** A number from the kernel's files: the memory limit of the CRI pod `foo`'s
# own cgroup, in bytes.

# %%
exercises.get("04.pod-memory-limit")

# %% [markdown]
# **3.** Twins: the same limit asked of both kinds of pod, read back from both
# cgroups.

# %%
exercises.get("04.twin-96mi")

# %%
# your code for exercise 3 here

# %% tags=["nbval-ignore-output"]
exercises.get("04.twin-96mi").check()

# %% [markdown]
# ## Clean up
#
# The button removes everything this chapter made: the containers, the pods, their
# cgroups, and labkit's containerd and Podman service with theirs. Leaving the
# notebook does the same.

# %%
lab.cleanup_button()
