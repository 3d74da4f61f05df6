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
# Before we take containers apart, make sure this machine can run them. Each line
# below is one check; a ✘ comes with the sentence that tells you what to fix.
#
# * **Docker engine**: the lab starts real containers, so an engine must answer.
#   `sudo ./lab up` installs and starts one on Debian or Ubuntu.
# * **Reading the kernel**: as root on the engine's host, labkit reads `/proc`
#   and `/sys/fs/cgroup` itself. Otherwise (you are in the `docker` group, or on
#   Docker Desktop) it reads them through a small helper container that shares
#   the host's PID namespace. Both give the same answers.
# * **Lab images**: nothing here is pulled from a registry. The lab builds a tiny
#   image from the static busybox on this machine and uses it wherever the
#   original article uses nginx, httpbin or curl.

# %% tags=["nbval-ignore-output"]
from labkit.preflight import run_checks, verdict

checks = run_checks()
for check in checks:
    print(check)

# %% [markdown]
# All ✔? Then open **01-containers**. On Binder there is no engine at all: the
# checks say so, and each chapter then *replays* what the kernel said when it ran on
# a real machine. Every cell still runs; the tables, trees and the *find* and
# *predict* exercises work on that recording, while making containers of your own
# needs a machine with Docker.

# %%
print(verdict(checks))
