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
# # 0 · Pre-flight
#
# Before we take containers apart, make sure this machine can run them. The chapters use
# more than one engine, and some need root:
#
# | chapter | what runs the containers | root? |
# | --- | --- | --- |
# | 1 · what a container is made of | the machine's Docker engine | no |
# | 2 · Pods | labkit's own containerd (with runc and the CNI plugins), started beside Docker's and called as the kubelet calls it | yes |
# | 3 · a Pod built with Docker | the machine's Docker engine; labkit writes the Pod's parent cgroup itself | yes |
# | 4 · all of them side by side | Docker, labkit's own containerd and labkit's own Podman | yes |
# | 5 · Podman's Pods | labkit's own Podman (rootful, with storage of its own) | yes |
# | 6 · a Pod from scratch | no engine at all: unshare, nsenter and cgroup files, as root; labkit's own containerd for the comparison with chapter 2 | yes |
#
# "labkit's own" means that labkit starts that engine for your session, with its own
# configuration, state and socket, and stops it when you leave the notebook: the machine's
# own containerd and Podman, if any, are not touched.
#
# Each line below is one check, and says which chapters need what it checks; a ✘ comes
# with the sentence that tells you what to fix.
#
# * **Docker engine**: every chapter first asks Docker whether it answers. `sudo ./lab up`
#   installs and starts one on Debian or Ubuntu.
# * **Reading the kernel**: as root beside the engine, labkit reads `/proc` and
#   `/sys/fs/cgroup` itself. Otherwise (you are in the `docker` group, or on Docker
#   Desktop) it reads them through a small helper container that shares the host's PID
#   namespace. Where a chapter compares a container with "the host", the host is the
#   process labkit reads as: this notebook's own process when it reads directly, Docker's
#   engine (dockerd) through the helper. Chapter 1's first cell says which way it reads.
# * **Lab images**: nothing here is pulled from a registry. The lab builds a tiny image
#   (`labkit/toolbox`) from the static busybox on this machine and runs it wherever the
#   chapters name nginx, httpbin, curl or busybox and this machine does not have them.

# %% tags=["nbval-ignore-output"]
from labkit.preflight import run_checks, verdict

checks = run_checks()
for check in checks:
    print(check)

# %% [markdown]
# All ✔? Then open **01-containers**. A ✘ on a line that only some chapters need leaves
# the others ready: the verdict below says which.
#
# On Binder there is no engine at all: the checks say so, and each chapter then *replays*
# what the kernel said when it ran on a real machine (its first cell says which machine,
# and when). Every cell still runs; the tables, trees and the *find* and *predict*
# exercises work on that recording (use the Python way their hints give: there is no
# terminal with Docker), while making containers of your own needs a machine with Docker.

# %%
print(verdict(checks))
