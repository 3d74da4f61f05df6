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
#
#
# First, this machine as the lab sees it: the engine, the cgroup version, how
# labkit reads the kernel, and whether the images this chapter uses are here or
# labkit runs its own stand-ins for them (offline, at a workshop). This is the
# one output that differs from machine to machine.

# %% tags=["nbval-ignore-output"]
import labkit
from labkit import exercises, views

lab = labkit.chapter_lab("01")
print(lab.describe("nginx", "busybox"))

# %% [markdown]
# Along the way you will be asked to predict, and the chapter ends with
# exercises; each is checked against the machine, and your progress is kept
# between sessions:

# %% tags=["nbval-ignore-output"]
exercises.use(lab)
exercises.progress_widget("01")

# %% [markdown]
# ## Start a container with limits
#
# `lab.run` is `docker run -d`: a name, an image, and limits written the way
# Docker writes them (`512MB`, `0.5`) or the way Kubernetes does (`512Mi`,
# `500m`).

# %% tags=["nbval-check-output"]
foo = lab.run("foo", "nginx", memory="512MB", cpus=0.5)
print(f"{foo.name} is {foo.status}; its main process has a host PID: {foo.pid > 0}")

# %% [markdown]
# ## Its namespaces
#
# Every process has a link per namespace type in `/proc/<pid>/ns`; two processes
# are in the same namespace exactly when the links name the same inode. Which
# of them does `docker run` give `foo` of its own? Guess before you look:

# %%
exercises.get("01.own-namespaces")

# %% [markdown]
# Here is `foo` beside the host (the process reading the kernel):

# %%
obs = lab.observe(foo)
views.namespace_table(obs, "foo")

# %% tags=["nbval-check-output"]
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

# %% tags=["nbval-check-output"]
inside = foo.exec("ps -o pid,comm").output.split("\n")[1:]
processes = [line.split() for line in inside if line.strip()]
print("processes foo can see:", len([p for p in processes if p[1] != "ps"]))
print("its PID 1 is:", next(p[1] for p in processes if p[0] == "1"))

# %% [markdown]
# The UTS namespace gives it a hostname of its own (Docker uses the short
# container id), and the network namespace gives it its own loopback, on which
# the web server answers:

# %% tags=["nbval-check-output"]
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
# charge Docker asks it for a scope: `/system.slice/docker-<id>.scope`. (A v1
# host also lists two hierarchies with no controller in them: `name=systemd`,
# where systemd only groups processes, and `unified`, the empty cgroup v2 tree
# beside the v1 ones. Whether an engine places a container in those differs from
# machine to machine, so we leave them out.)

# %%
controllers = {h: p for h, p in obs.member("foo").cgroups.items() if not h.startswith("name=")}
if len(controllers) > 1:  # cgroup v1: leave out the empty v2 tree beside the controllers
    controllers.pop("unified", None)
for hierarchy, path in sorted(controllers.items()):
    print(f"{hierarchy:14} {path}")

# %% [markdown]
# The limits we asked for are now numbers in files of those cgroups. Asked and
# read side by side:

# %%
views.limits_table(obs)

# %% tags=["nbval-check-output"]
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
# The container's cgroup is a leaf in a tree. From the hierarchy's root down
# (the root is the machine's: it has no limits on a host, and in a workshop's
# learner node it is the node's own cgroup, with the node's limits):

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
# limit while it runs. The watch ends when the kernel reports the kill (120 s
# is only a cap for a very busy machine); the shell around the program stays a
# few seconds after it, so its cgroup is still there to be read.

# %%
HOG = ("trap '' TERM; "
       "awk 'BEGIN { chunk = sprintf(\"%1048576s\", \"\"); "
       "for (i = 0; ; i++) { held[i] = chunk; if (i % 4 == 0) system(\"sleep 0.1\") } }'; "
       "status=$?; sleep 3; exit $status")
hog = lab.run("hog", "busybox", HOG, memory="128Mi")
samples = lab.watch(hog, seconds=120, plot="memory", until=lambda s: bool(s.state.usage.oom_kills))

# %% [markdown]
# The kernel keeps cumulative counters, so one reading after the kill tells the
# whole story however often we managed to read: the highest usage so far
# (`memory.max_usage_in_bytes` on cgroup v1, `memory.peak` on v2), the times
# the limit was hit (`memory.failcnt` on v1, the `max` line of `memory.events`
# on v2) and the OOM kills (`oom_kill`).

# %% tags=["nbval-check-output"]
print(views.memory_lesson(samples))
print("container exit code:", hog.wait(), "· Docker's OOMKilled:", hog.state["OOMKilled"])

# %% [markdown]
# The kernel first reclaimed what it could, counting each time the limit was hit,
# then killed the biggest process in the cgroup. Docker learns of it from the
# kernel and reports exit code 137 (killed by signal 9) and `OOMKilled: true`.
#
# ## Watch the kernel throttle the CPU
#
# Two busy loops would take two whole cores. With `--cpus 0.5` the scheduler
# stops the container's processes once they have run 50 ms in a 100 ms period,
# and counts that period in `cpu.stat` as throttled. We read it until we have 20
# readings a moment apart and the kernel has throttled it at least once.

# %%
from labkit.watch import enough_samples

spin = lab.run("spin", "busybox", "while :; do :; done & while :; do :; done", cpus=0.5)


def throttled(sample):
    return bool(sample.state.usage.cpu_throttled_periods)


cpu_samples = lab.watch(spin, seconds=120, plot="cpu", until=enough_samples(20, throttled))

# %% [markdown]
# `cpu.stat` counts from the moment the cgroup was made: the periods the
# container was running in (`nr_periods`), the ones it was stopped in
# (`nr_throttled`) and the CPU time it used (`usage_usec` on v2, `cpuacct.usage`
# on v1). The quota holds when that time is at most 50 ms per period counted:

# %% tags=["nbval-check-output"]
print(views.cpu_lesson(cpu_samples))

# %% [markdown]
# ## When the input is wrong
#
# labkit checks what you ask before anything starts, and answers in one
# sentence:

# %% tags=["nbval-check-output"]
try:
    lab.run("bad", "nginx", memory="12 parsecs")
except labkit.LabError as error:
    print(error)

# %% [markdown]
# ## Exercises
#
# Your turn. **Check** reads the machine and names the one thing still wrong;
# **Hint** unfolds one hint at a time. Work in the empty cells with `lab`, or in
# a terminal with `docker` and `cat`: the checks read the kernel and Docker, not
# your code.
#
# **1.** Where is `foo` on the host? (A terminal helps: `docker inspect`, `ps`.)

# %%
exercises.get("01.host-pid")

# %% [markdown]
# **2.** And in which cgroup? (`/proc/<pid>/cgroup` says.)

# %%
exercises.get("01.memory-cgroup")

# %% [markdown]
# **3.** Make the OOM killer strike at a limit you choose:

# %%
exercises.get("01.oom-64mi")

# %%
# your code for exercise 3 here

# %%
exercises.get("01.oom-64mi").check()

# %% [markdown]
# **4.** A container the scheduler holds to a quarter of a core:

# %%
exercises.get("01.cpu-quarter")

# %%
# your code for exercise 4 here

# %%
exercises.get("01.cpu-quarter").check()

# %% [markdown]
# ## Clean up
#
# Everything this notebook created carries its session's label; closing the lab
# removes exactly that (and so does leaving the notebook, or `labkit clean`).

# %% tags=["nbval-check-output"]
lab.close()
print("containers left from this session:", lab.docker.session_containers())
