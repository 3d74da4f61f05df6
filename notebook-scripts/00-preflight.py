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
# | 1 · what a container is made of | the machine's Docker engine | no: the `docker` group will do (a group Docker's own documentation warns is equivalent to root) |
# | 2 · Pods | labkit's own containerd (with runc and the CNI plugins), started beside Docker's and called as the kubelet calls it | yes |
# | 3 · a Pod built with Docker | the machine's Docker engine; labkit writes the Pod's parent cgroup itself | yes |
# | 4 · all of them side by side | Docker, labkit's own containerd and labkit's own Podman | yes |
# | 5 · Podman's Pods | labkit's own Podman (rootful, with storage of its own) | yes |
# | 6 · a Pod from scratch | no engine at all: unshare, nsenter and cgroup files, as root; labkit's own containerd for the comparison with chapter 2 | yes |
# | 7 · the Pod's network | labkit's own containerd, Docker, labkit's own Podman and a pod from scratch; `nsenter` into their network namespaces, bridges, veths and a firewall rule of the session's | yes |
# | 8 · the Pod of today | labkit's own containerd (init containers, sidecars, ephemeral containers and pod-level resources through the CRI), labkit's own Podman (a Pod in a user namespace of its own), and two containers on the machine's Docker engine | yes |
#
# "labkit's own" means that labkit starts that engine for your session, with its own
# configuration, state and socket, and stops it when you leave the notebook: the machine's
# own containerd and Podman, if any, are not touched.
#
# Each line below is one check, and names the chapters that need what it checks ("every
# chapter" where all do); a ✘ comes with the sentence that tells you what to fix.
#
# * **Docker engine**: every chapter first asks Docker whether it answers. Where it does
#   not, every chapter replays its recording instead of running (see below), also the
#   chapters that run no container on Docker (2, 5 and 6). The line also names the
#   `docker` command a terminal runs: a client with a version of its own (chapter 1 says
#   where that matters). `sudo ./lab up` installs and starts an engine on Debian or Ubuntu.
# * **Reading the kernel**: as root beside the engine, labkit reads `/proc` and
#   `/sys/fs/cgroup` itself. Otherwise (you are in the `docker` group, or on Docker
#   Desktop) it reads them through a small helper container that shares the host's PID
#   namespace. Where a chapter compares a container with "the host", it means the host's
#   namespaces, the ones the machine's PID 1 is in; labkit reads them from a stand-in:
#   this notebook's own process when it reads directly, Docker's engine (dockerd) through
#   the helper. That holds where both run straight on the host, not where JupyterLab runs
#   in a container of its own or Docker runs rootless. Chapter 1's first cell says which
#   way it reads.
# * **Lab images**: the lab builds a tiny image (`labkit/toolbox`) from the static busybox
#   on this machine, with no registry, and runs it wherever the chapters name nginx,
#   httpbin, curl or busybox and this machine does not have them. It first tries to pull
#   such an image (a registry that does not answer within 20 s counts as none); with
#   `LABKIT_OFFLINE=1` (as `./lab test` and `./lab record` set it) it pulls nothing. The
#   line says which way this machine goes.

# %% tags=["nbval-ignore-output"]
from labkit.preflight import run_checks, verdict

checks = run_checks()
for check in checks:
    print(check)

# %% [markdown]
# All ✔? Then open **01-containers**. A ✘ on a line that names only some chapters leaves
# the others ready; a ✘ on the Docker line leaves every chapter to its recording. The
# verdict below says which.
#
# On Binder there is no engine at all: the checks say so, and each chapter then *replays*
# what the kernel said when it ran on a real machine (its first cell says which machine,
# and when). Every cell still runs; the tables, trees and the *find* and *predict*
# exercises work on that recording (use the Python way their hints give: there is no
# terminal with Docker), while making containers of your own needs a machine with Docker.

# %%
print(verdict(checks))
