# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
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
# # 1 · What a container is made of
#
# A container is not a thing the kernel knows about. It is an ordinary process
# that the runtime started with two kinds of kernel features switched on:
#
# * **namespaces** decide what the process can *see*: its own mount table,
#   hostname, IPC objects, process list and network stack;
# * **cgroups** decide how much it may *use*: memory, CPU time, number of
#   processes.
#
# In this chapter we start one container the way the article does,
# `docker run --memory 512MB --cpus 0.5 nginx`, and then ask the kernel, not
# Docker, what it actually got. Every fact printed below is read from `/proc`
# and `/sys/fs/cgroup` at the moment the cell runs.

# %%
import labkit
from labkit import views

lab = labkit.Lab()
print(lab.describe())

# %% [markdown]
# ## Start a container with limits
#
# `lab.run` is `docker run -d`: a name, an image, and limits written the way
# Docker writes them (`512MB`, `0.5`) or the way Kubernetes does (`512Mi`,
# `500m`). If nginx cannot be had offline, labkit says which stand-in runs.

# %%
# NBVAL_CHECK_OUTPUT
foo = lab.run("foo", "nginx", memory="512MB", cpus=0.5)
print(f"{foo.name} is {foo.status}; its main process has a host PID: {foo.pid > 0}")

# %% [markdown]
# ## Its namespaces
#
# Every process has a link per namespace type in `/proc/<pid>/ns`; two processes
# are in the same namespace exactly when the links name the same inode. Here is
# `foo` beside the host (the process reading the kernel):

# %%
obs = lab.observe(foo)
views.namespace_table(obs, "foo")

# %%
# NBVAL_CHECK_OUTPUT
labels = views.sharing_labels(obs)["foo"]
five = ("mnt", "uts", "ipc", "pid", "net")
print("foo has its own", ", ".join(five) + ":", all(labels[ns] == "own" for ns in five))
print("foo shares user and time with the host:", labels["user"] == labels["time"] == "host")
docker_default = "own" if obs.cgroup_version == 2 else "host"
print("its cgroup namespace is Docker's default for this host:",
      labels["cgroup"] == docker_default)

# %% [markdown]
# Five new namespaces, the ones the article lists: **mnt**, **uts**, **ipc**,
# **pid** and **net**. The **user** namespace is the host's: root in the
# container is root on the host. **time** namespaces are not used by Docker at
# all. The **cgroup** namespace depends on the host: on a cgroup v1 host Docker
# leaves the container in the host's, on a cgroup v2 host it gives it a private
# one (so the container sees its own cgroup as `/`). The table above says which
# kind of host this notebook ran on.
#
# What does that look like from inside? The PID namespace means the container
# sees only its own processes, and its main process is PID 1:

# %%
# NBVAL_CHECK_OUTPUT
inside = foo.exec("ps -o pid,comm").output.split("\n")[1:]
processes = [line.split() for line in inside if line.strip()]
print("processes foo can see:", len([p for p in processes if p[1] != "ps"]))
print("its PID 1 is:", next(p[1] for p in processes if p[0] == "1"))

# %% [markdown]
# The UTS namespace gives it a hostname of its own (Docker uses the short
# container id), and the network namespace gives it its own loopback, on which
# the web server answers:

# %%
# NBVAL_CHECK_OUTPUT
hostname = foo.exec("hostname").output.strip()
print("foo's hostname is its short container id:", hostname == foo.id[:12])
page = foo.exec("wget -q -O - http://localhost/").output
print("a web page answers on foo's own localhost:", "<html" in page)

# %% [markdown]
# ## Its cgroups
#
# `/proc/<pid>/cgroup` names the cgroup of the process in every hierarchy. On a
# cgroup v1 host each controller (memory, cpu, pids, ...) is a hierarchy of its
# own, and Docker's cgroupfs driver puts the container at `/docker/<id>` in all
# of them. On a cgroup v2 host there is one hierarchy, and with systemd in
# charge Docker asks it for a scope: `/system.slice/docker-<id>.scope`.

# %%
for hierarchy, path in sorted(obs.member("foo").cgroups.items()):
    print(f"{hierarchy:14} {path}")

# %% [markdown]
# The limits we asked for are now numbers in files of those cgroups. Asked and
# read side by side:

# %%
views.limits_table(obs)

# %%
# NBVAL_CHECK_OUTPUT
print("the kernel enforces exactly the limits asked:", bool(views.limits_table(obs)["match"].all()))

# %% [markdown]
# `--cpus 0.5` became a CFS quota: in every 100 ms period the container's
# processes may run for 50 ms in total. cgroup v1 writes it in two files
# (`cpu.cfs_quota_us`, `cpu.cfs_period_us`), cgroup v2 in one (`cpu.max`,
# "50000 100000"); the memory limit is `memory.limit_in_bytes` on v1 and
# `memory.max` on v2.
#
# ## The tree it lives in
#
# The container's cgroup is a leaf in a tree. From the hierarchy's root down:

# %%
tree = lab.node.tree(obs.member("foo").state.path, ancestors=True)
names = {foo.id: foo.name}
print(views.cgroup_tree_text(tree, names))

# %%
views.cgroup_tree_figure(tree, names, title="foo in the memory hierarchy")

# %% [markdown]
# Or browse it: open a cgroup to see its limits and usage.

# %%
views.cgroup_tree_widget(tree, names)

# %% [markdown]
# ## Watch the kernel enforce the memory limit
#
# A limit is only interesting when something runs into it. The next container
# gets 128 MiB and runs a program that keeps allocating 4 MiB every tenth of a
# second. We read its memory cgroup every 0.2 s and draw usage against the
# limit while it runs.

# %%
HOG = ("awk 'BEGIN { chunk = sprintf(\"%1048576s\", \"\"); "
       "for (i = 0; ; i++) { held[i] = chunk; if (i % 4 == 0) system(\"sleep 0.1\") } }'; "
       "status=$?; sleep 2; exit $status")
hog = lab.run("hog", "busybox", HOG, memory="128Mi")
samples = lab.watch(hog, seconds=20, plot="memory", until=lambda s: bool(s.state.usage.oom_kills))

# %%
# NBVAL_CHECK_OUTPUT
last = samples[-1].state
print("usage reached the limit:", last.usage.memory_peak_bytes >= last.limits.memory_bytes * 0.95)
hits = last.usage.memory_failcnt if obs.cgroup_version == 1 else last.usage.memory_max_events
print("the kernel counted hits on the limit:", hits > 0)
print("the kernel's OOM killer ran (oom_kill):", last.usage.oom_kills)
print("container exit code:", hog.wait(), "· Docker's OOMKilled:", hog.state["OOMKilled"])

# %% [markdown]
# The kernel first reclaimed what it could, counting each time the limit was hit
# (`memory.failcnt` on cgroup v1, the `max` line of `memory.events` on v2), then
# killed the biggest process in the cgroup (`oom_kill`). Docker learns of it
# from the kernel and reports exit code 137 (killed by signal 9) and
# `OOMKilled: true`.
#
# ## Watch the kernel throttle the CPU
#
# A busy loop would take a whole core. With `--cpus 0.5` the scheduler stops
# it after 50 ms of every 100 ms period and counts the period in `cpu.stat` as
# throttled.

# %%
spin = lab.run("spin", "busybox", "while :; do :; done", cpus=0.5)
cpu_samples = lab.watch(spin, seconds=4, plot="cpu")

# %%
# NBVAL_CHECK_OUTPUT
first, final = cpu_samples[0], cpu_samples[-1]
used = (final.state.usage.cpu_usage_ns - first.state.usage.cpu_usage_ns) / 1e9
average = used / (final.t - first.t)
periods = final.state.usage.cpu_periods - first.state.usage.cpu_periods
throttled = final.state.usage.cpu_throttled_periods - first.state.usage.cpu_throttled_periods
print("average use within 15% of 0.5 cores:", abs(average - 0.5) < 0.075)
print("throttled in at least 9 of 10 periods:", throttled >= 0.9 * periods)

# %% [markdown]
# ## When the input is wrong
#
# labkit checks what you ask before anything starts, and answers in one
# sentence:

# %%
# NBVAL_CHECK_OUTPUT
try:
    lab.run("bad", "nginx", memory="12 parsecs")
except labkit.LabError as error:
    print(error)

# %% [markdown]
# ## Clean up
#
# Everything this notebook created carries its session's label; closing the lab
# removes exactly that (and so does leaving the notebook, or `labkit clean`).

# %%
# NBVAL_CHECK_OUTPUT
lab.close()
print("containers left from this session:", lab.docker.session_containers())
