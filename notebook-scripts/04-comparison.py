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
# The same `app` four ways, all on this machine at once:
#
# * a **plain container** (`docker run`, chapter 1);
# * an **emulated Pod** made of Docker containers around a sandbox (chapter 3);
# * a **Podman pod**, played from the same manifest (chapter 5);
# * a **Kubernetes Pod** made through containerd's CRI, as the kubelet makes it
#   (chapter 2).
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

# %% [markdown]
# This chapter's questions and exercises, and your progress in them:

# %% tags=["nbval-ignore-output"]
from labkit import exercises

exercises.use(lab)
exercises.progress_widget("04")

# %% [markdown]
# ## Namespaces and cgroups of `app`

# %%
views.comparison_colours(observations, "app")

# %% [markdown]
# Read it row by row:
#
# * the plain container has all five namespaces to itself (orange: its own);
# * all three pods share **net** and **ipc** with their sandbox (blue), which is what
#   lets the containers of a Pod talk over `localhost` and share memory;
# * the Podman pod and the real Pod share **uts** as well: Docker cannot join
#   another container's UTS namespace, it can only copy the hostname;
# * none shares **pid** or **mnt** by default;
# * the cgroup tells who grouped the containers: Docker puts a plain container
#   under `/docker`, our emulation under the parent we created, Podman under
#   `/libpod_parent/<pod id>`, the kubelet under `kubepods/<QoS class>/pod<uid>`.
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
# types the article leaves out (cgroup, time, user).

# %%
views.namespace_boxes_widget(observations)

# %% [markdown]
# ## When the sandbox dies
#
# Remove the emulated pod's sandbox container, kill the Podman pod's infra
# container, and kill the real Pod's pause process. What do the runtimes say
# about the rest? Predict first (for the Docker and the CRI pod):

# %%
exercises.get("04.sandbox-dies")

# %%
emulated.kill_sandbox()
podman.kill_sandbox()
real.kill_sandbox()
print("Docker-emulated pod: app is", emulated["app"].status,
      "· sidecar is", emulated["sidecar"].status)
print("Podman pod:", podman.state, "·",
      ", ".join(f"{k} is {v}" for k, v in podman.states().items()))
print("Kubernetes pod (CRI):", ", ".join(f"{k} is {v}" for k, v in real.states().items()))
print("the real pod's localhost still answers:",
      "<html" in real.exec("sidecar", "curl -s http://localhost:80/").output)

# %% [markdown]
# In all three cases the containers keep running, because the network namespace
# lives on as long as something holds it (a container joined to it; containerd's
# bind mount of it). The difference is what comes next. Docker never notices:
# the orphans cannot even be restarted, since the container whose namespaces
# they named is gone. Podman notices, and only reports: the pod is *degraded*,
# and nothing is restarted. The CRI runtime marks the sandbox *NotReady*; a kubelet
# seeing that tears the whole pod down and creates it again, pause first. A Pod
# is a unit with one lifecycle; the emulation is a set of containers that happen
# to share some namespaces, and a Podman pod sits in between: one unit to create,
# list and remove, with nobody to bring it back.
#
# ## Exercises
#
# **1.** A count: in how many of the eight namespace types is the plain
# container `app` still in the host's?

# %%
exercises.get("04.plain-shared")

# %% [markdown]
# **2.** A number from the kernel's files: the pod-level memory limit of the CRI
# pod `foo`, in bytes.

# %%
exercises.get("04.pod-memory-limit")

# %% [markdown]
# **3.** Twins: the same limit asked of both kinds of pod, read back from both
# cgroups.

# %%
exercises.get("04.twin-96mi")

# %%
# your code for exercise 3 here

# %%
exercises.get("04.twin-96mi").check()

# %% [markdown]
# ## Clean up

# %%
lab.close()
print("containers left:", lab.docker.session_containers())
