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
# A container is an ordinary process that a runtime (here Docker, through containerd and
# runc) started with a few kernel features switched on:
#
# * **namespaces** decide what the process can *see* of the machine;
# * **cgroups** decide how much of the machine it may *use*;
# * and it gets a root file system of its own and fewer privileges than root on the host
#   has.
#
# In this chapter we start one container as `docker run --memory 512MB --cpus 0.5 nginx`
# would, and then ask the kernel what it actually got. Each cell says where its facts come
# from:
#
# * **the kernel's files** (`/proc`, `/sys/fs/cgroup`), read by labkit when the cell runs;
#   where a cell shows such a file as `cat` prints it, it reads it with `lab.node.read`;
# * **Docker's API**: a container's name, id, status, exit code and OOM flag, as
#   `docker inspect` shows them;
# * **inside the container**: a command run in it (as `docker exec` runs one), for what
#   the container itself sees.
#
# On Binder every answer comes from a recording instead (the line at the top says of which
# machine, and when).
#
# First, this machine as the lab sees it: the versions this chapter's sentences depend on
# (they say so where they do; "Kubernetes rules" is the Kubernetes release whose rules
# labkit applies where later chapters play the kubelet), the engine, the cgroup version,
# how labkit reads the kernel, which images run here (the ones named, or labkit's offline
# stand-ins for them), and the `docker` command a terminal runs: a client with a version of
# its own, which is not the engine's.

# %% tags=["nbval-ignore-output"]
import labkit
from labkit import exercises, views
from labkit.preflight import docker_command

lab = labkit.chapter_lab("01")
print(lab.versions())
print(lab.describe("nginx", "busybox"))
print(docker_command())

# %% [markdown]
# Along the way you will be asked to predict, and the chapter ends with exercises; each
# is checked against the machine, and your progress is kept between sessions:

# %% tags=["nbval-ignore-output"]
exercises.use(lab)
exercises.progress_widget("01")

# %% [markdown]
# ## Start a container with limits
#
# `lab.run` makes a container as `docker run -d` does, with a name, an image and limits.
# Docker knows it by a longer name: labkit puts this session's prefix in front, and a
# label of the session on it, so that it removes exactly what this notebook made.

# %% tags=["nbval-check-output"]
foo = lab.run("foo", "nginx", memory="512MB", cpus=0.5)
print(f"{foo.name} is {foo.status}; Docker knows it as {foo.engine_name}")

# %% [markdown]
# The `docker run` that made it (it names the image that runs for nginx on this machine).
# Typed in a terminal while `foo` is there, Docker refuses it: the name is taken. Once
# `foo` is gone (after the clean-up button at the end of the chapter, or `docker rm -f`
# with that name), it makes the same container again.

# %% tags=["nbval-ignore-output"]
print(foo.command())

# %% [markdown]
# labkit hands Docker the memory limit in bytes. How it reads what you write: `lab.run`
# takes Docker's units, binary and blind to case (`512MB`, `512M` and `512m` are all
# 512 MiB, as the `docker` command reads `--memory`), and Kubernetes' `Mi` and `Gi` as
# well. The `docker` command itself takes `Mi` in some versions only: the 20.10 client
# took it, clients from 23 on refuse it (`invalid suffix: 'mi'`); the first cell printed
# this machine's. At a terminal, `64m` works with every version. A Pod's manifest is read
# as Kubernetes reads it: `M` is 10⁶ bytes, `Mi` is 2²⁰, and `m` is a thousandth (of a
# byte, for memory). CPUs are cores, as a number (`0.5`) or in Kubernetes' thousandths of a
# core (`500m`), the same half core either way.

# %% tags=["nbval-check-output"]
from labkit.quantity import format_bytes, kubernetes_memory, parse_cpus, parse_memory

print(f"{'written':9}{'lab.run(memory=...)':22}a Pod's manifest")
for written in ("512MB", "512M", "512Mi", "512m"):
    try:
        size = kubernetes_memory(written)[0]
        in_pod = f"{size:,} byte{'s' if size > 1 else ''}"
    except labkit.LabError:
        in_pod = "refused: not a Kubernetes quantity"
    if written == "512m":
        in_pod += " (0.512 rounded up, with a warning)"
    print(f"{written:9}{format_bytes(parse_memory(written)):22}{in_pod}")
print(f"cpus=0.5 and cpus='500m' are the same: {parse_cpus(0.5) == parse_cpus('500m')}")

# %% [markdown]
# ## An ordinary process
#
# `foo`'s main process is a process of the host like any other, with a host PID and a
# parent. Docker does not start it itself: it asks containerd, which starts a shim
# (`containerd-shim-runc-v2`) for the container. The shim runs `runc create`, which sets
# up the namespaces and cgroups and leaves the new process (`runc init`) waiting in them,
# then `runc start`, which lets it run the container's command; both runc commands exit.
# The shim has asked the kernel to adopt its orphaned descendants (it is a "child
# subreaper"), so it becomes the process's parent, and stays. `/proc/<pid>/status` names
# the parent (`PPid`), and the parent's `comm` says what it is (its name, which the kernel
# cuts at 15 characters):

# %% tags=["nbval-check-output"]
status = dict(line.split(":\t", 1) for line in
              lab.node.read(f"/proc/{foo.pid}/status").splitlines() if ":\t" in line)
parent = status["PPid"]
print("foo's main process:", status["Name"])
print("its parent:", lab.node.read(f"/proc/{parent}/comm").strip())

# %% [markdown]
# The shim's command line names the container (`-id`), Docker's namespace in containerd
# (`-namespace moby`: a scope for names inside containerd, not one of the kernel's
# namespaces of the next section) and the containerd it answers to (`-address`, a path
# that differs from machine to machine):

# %% tags=["nbval-ignore-output"]
print(" ".join(lab.node.read(f"/proc/{parent}/cmdline").split("\0")).strip())

# %% [markdown]
# ## Its namespaces
#
# Every process has one link per namespace type in `/proc/<pid>/ns`, for the types its
# kernel has (the chapter's first cell printed this kernel's version; the cgroup type came
# with Linux 4.6, the time type with 5.6, so kernels from 5.6 on have eight). `ls` also
# shows `pid_for_children` (since 4.12) and `time_for_children` (since 5.6): where the
# process's next children will go. A link reads like `net:[4026532184]`: the type and an
# inode number. Two processes are in the same namespace of a type when their links of that
# type name the same namespace: the same inode (on the same device, which `ls` does not
# show).
#
# Which types does Docker give `foo` of its own? Guess before you look:

# %%
exercises.get("01.own-namespaces")

# %% [markdown]
# Answered? The kernel's answer is in the cells below, folded, code and output alike:
# unfold each cell, and the text between them (click the blue bar to the left of a folded
# cell, or use the View menu). First the link targets that `ls -l /proc/<pid>/ns` lists
# (without its mode, owner and date, and without the `*_for_children` links), `foo`'s
# beside the host's. The host's namespace of a type is the one the machine's first
# process, PID 1, is in. labkit reads the host's column from a stand-in: this notebook's
# own process when it reads the kernel's files directly (as root, beside Docker), Docker's
# engine when it reads through its helper container (the first cell says which). The
# stand-in is in the host's namespaces where it runs straight on the host, as here; not
# where JupyterLab runs in a container of its own, or where Docker runs rootless.

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true, "source_hidden": true}
obs = lab.observe(foo)
foo_pid = f"$(docker inspect -f '{{{{.State.Pid}}}}' {foo.engine_name})"
host_pid = "self" if obs.gatherer == "direct" else "$(pidof dockerd)"
print(f"ls -l /proc/{foo_pid}/ns   beside   ls -l /proc/{host_pid}/ns")
mine = lab.node.ns_links(foo.pid)
host = {ns: f"{ns}:[{inode}]" for ns, inode in obs.host_namespaces.items()}
for ns, link in mine.items():
    print(f"{ns:>6} -> {link:20}  {ns:>6} -> {host[ns]}")

# %% [markdown]
# labkit's table reads the same links and puts a verdict on each row:

# %% tags=["reveal"] jupyter={"outputs_hidden": true, "source_hidden": true}
views.namespace_table(obs, "foo")

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true, "source_hidden": true}
labels = views.sharing_labels(obs)["foo"]
five = ("mnt", "uts", "ipc", "pid", "net")
print("foo has its own", ", ".join(five) + ":", all(labels[ns] == "own" for ns in five))
print("foo shares user and time with the host:", labels["user"] == labels["time"] == "host")
docker_default = "own" if obs.cgroup_version == 2 else "host"
print("its cgroup namespace is Docker 20.10's default for this host's cgroup version:",
      labels["cgroup"] == docker_default)

# %% [markdown] jupyter={"source_hidden": true}
# Five namespaces of its own: **mnt**, **uts**, **ipc**, **pid** and **net**, the five
# that Docker 20.10 always asks runc for (its `oci/defaults.go`; `--network host`,
# `--pid host`, `--ipc host` and `--uts host` each take one away). A type nobody asks for
# is the one runc itself runs in, here the host's. **time** is such a type: Docker 20.10
# does not ask for a time namespace, and runc 1.1 could not make one (runc 1.2 can).
# **cgroup** depends on the host: Docker 20.10 asks for one of its own on a cgroup v2 host
# and for none on a cgroup v1 host (unless `docker run --cgroupns` or dockerd's
# `--default-cgroupns-mode` says otherwise; a privileged container on a v1 host gets none
# either); with one of its own, the container sees its cgroup as `/`. The first cell
# printed which kind of host this is, and the cell above compared `foo` with that default.
#
# **user** is the host's too: Docker 20.10 gives a container a user namespace of its own
# only when dockerd runs with `--userns-remap`. (A rootless dockerd runs, with all its
# containers, inside one user namespace that RootlessKit made for it: there, the
# container's root is not root on the host.) So UID 0 in `foo` is UID 0 on the host: the
# kernel maps `foo`'s user IDs 0 to 4294967294 onto the same numbers (the line
# `0 0 4294967295` below), which is the map of the initial user namespace, the host's own.
# What keeps that root from doing all that root on the host may is not a user namespace
# but, besides the other namespaces and its own root file system, fewer privileges: a
# smaller set of capabilities (Docker 20.10 keeps 14 by default), a seccomp filter on its
# system calls (`Seccomp: 2` is filter mode), a short list of the devices it may use, paths
# of `/proc` and `/sys` masked or read-only, and, on a host that runs AppArmor, Docker's
# AppArmor profile. `foo`'s `/proc/<pid>/uid_map` and three lines of its
# `/proc/<pid>/status`:

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true, "source_hidden": true}
print(f"cat /proc/{foo_pid}/uid_map")
print(lab.node.read(f"/proc/{foo.pid}/uid_map").rstrip("\n"))
for field in ("Uid", "CapEff", "Seccomp"):
    print(f"{field}:\t{status[field]}")
held = bin(int(status["CapEff"], 16)).count("1")  # CapEff: one bit per capability held
print(f"foo's main process holds {held} capabilities")

# %% [markdown] jupyter={"source_hidden": true}
# What does that look like from inside? The PID namespace means that `foo` sees only its
# own processes, and its main process is PID 1 there (by default: `docker run --init`
# would put Docker's small init there first). What runs for nginx on this machine is
# what the first cell said: labkit's stand-in is one busybox `httpd`, so that is all
# there is to see.

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true, "source_hidden": true}
inside = foo.exec("ps -o pid,comm").output.split("\n")[1:]
processes = [line.split() for line in inside if line.strip()]
print("processes foo can see, besides ps itself:", len([p for p in processes if p[1] != "ps"]))
print("its PID 1 is:", next(p[1] for p in processes if p[0] == "1"))

# %% [markdown] jupyter={"source_hidden": true}
# The UTS namespace gives it a hostname of its own: Docker 20.10 uses the first 12 hex
# digits of the container's id, unless `--hostname` names one; a container on the host's
# network (`--network host`) gets the host's name, one on another container's network
# (`--network container:…`) that container's, and with `--uts host` it has no UTS
# namespace of its own. The network namespace gives it network devices of its own, its
# own loopback among them, on which the web server answers:

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true, "source_hidden": true}
hostname = foo.exec("hostname").output.strip()
print("foo's hostname is its short container id:", hostname == foo.id[:12])
print("foo's network devices:", ", ".join(foo.exec("ls /sys/class/net").output.split()))
page = foo.exec("wget -q -O - http://localhost/").output
print("a web page answers on foo's own localhost:", "<html" in page)

# %% [markdown]
# ## Its cgroups
#
# `/proc/<pid>/cgroup` names the cgroup of the process in every cgroup hierarchy, one line
# each, `hierarchy-ID:controllers:path`. The path is relative to the hierarchy's root, as
# the reader's cgroup namespace sees it (the host's, here).
#
# * On a cgroup **v2** host there is one hierarchy, with every controller that supports
#   v2 attached to it; unless some v1 hierarchy is mounted as well, that makes one line,
#   with the ID 0 and no controllers listed. A line `0::/docker/<id>`
#   says the process is in the cgroup `/docker/<id>`; where that hierarchy is mounted at
#   `/sys/fs/cgroup`, that is the directory `/sys/fs/cgroup/docker/<id>`.
# * On cgroup **v1** each hierarchy has one or more controllers attached, or none for a
#   named hierarchy such as `name=systemd`. A line `4:memory:/docker/<id>` says: hierarchy
#   number 4, which has the memory controller attached, holds this process in the cgroup
#   `/docker/<id>`; where the memory hierarchy is mounted at `/sys/fs/cgroup/memory`, as on
#   this machine, that is the directory `/sys/fs/cgroup/memory/docker/<id>`. Controllers
#   mounted together share one line: where cpu and cpuacct are mounted together it reads
#   `3:cpu,cpuacct:/docker/<id>`. From Linux 6.11 the v1 memory controller is a build
#   option of the kernel (`CONFIG_MEMCG_V1`, off unless the distribution turns it on), so a
#   v1 host on a newer kernel may have no memory hierarchy at all; this one has (below).
# * A v1 host laid out as systemd does it in "hybrid" mode has two more lines:
#   `name=systemd`, the named hierarchy that systemd uses to keep track of processes, and
#   `0::`, the cgroup v2 hierarchy (mounted at `/sys/fs/cgroup/unified`),
#   with no controller either, since they are all attached to v1 hierarchies. runc 1.1
#   puts the container in both.
#
# Where the container's cgroup is depends on Docker's cgroup driver: with `cgroupfs` it
# is `/docker/<id>` in every hierarchy; with `systemd` (Docker 20.10's default on a cgroup
# v2 host run by systemd) it is `/system.slice/docker-<id>.scope`. `--cgroup-parent`
# changes the part in front. Here are `foo`'s lines, as `cat` prints them:

# %%
print(f"cat /proc/{foo_pid}/cgroup")
lines = lab.node.read(f"/proc/{foo.pid}/cgroup").rstrip("\n")
print(lines)

# %% [markdown]
# What those lines say about this machine:

# %%
entries = [line.split(":", 2) for line in lines.splitlines()]
print("hierarchies with more than one controller:",
      ", ".join(c for _, c, _ in entries if "," in c) or "none")
print("v1 hierarchies with no controller:",
      ", ".join(c for _, c, _ in entries if c.startswith("name=")) or "none")
print("a cgroup v2 line (0::):", any(number == "0" for number, _, _ in entries))
print("foo is at the same path in every hierarchy:", len({path for *_, path in entries}) == 1)

# %% [markdown]
# The limits we asked for are now numbers in files of those cgroups: on cgroup v2
# `memory.max`, and `cpu.max` with the quota and the period on one line; on v1, as on this
# machine, `memory.limit_in_bytes` in the memory hierarchy, and `cpu.cfs_quota_us` with
# `cpu.cfs_period_us` in the cpu hierarchy. As `cat` prints them (512 MiB is 536870912
# bytes):

# %%
where = obs.member("foo").cgroup  # its cgroup's path, in the memory hierarchy on v1
if obs.cgroup_version == 1:
    files = [f"/sys/fs/cgroup/memory{where}/memory.limit_in_bytes",
             f"/sys/fs/cgroup/cpu{where}/cpu.cfs_quota_us",
             f"/sys/fs/cgroup/cpu{where}/cpu.cfs_period_us"]
else:
    files = [f"/sys/fs/cgroup{where}/memory.max", f"/sys/fs/cgroup{where}/cpu.max"]
for path in files:
    print(f"cat {path}")
    print(lab.node.read(path).strip())

# %% [markdown]
# labkit's table reads the same files, and puts them beside what was asked:

# %%
views.limits_table(obs)

# %% tags=["nbval-check-output"]
print("the kernel holds exactly the limits asked:", bool(views.limits_table(obs)["match"].all()))

# %% [markdown]
# `--cpus 0.5` became a CFS quota: Docker 20.10 asks, in the container's OCI spec, for a
# period of 100 ms (100000 µs) and half of it as the quota, and runc writes both (into
# `cpu.max` on v2, into the two files on v1).
# Another period needs `--cpu-period` with `--cpu-quota` instead of `--cpus`: Docker 20.10
# refuses `--cpus` together with either. In each period the container's processes may run
# 50 ms in total, then wait for the next period. The files hold the numbers; whether the
# kernel keeps the container to them is what the two watches below show.
#
# ## The tree it lives in
#
# The container's cgroup is a leaf in a tree. The text below goes from the hierarchy's
# root down to it (on cgroup v2 the one tree under `/sys/fs/cgroup`; on v1 the memory
# hierarchy, and the CPU figures come from the cpu hierarchy, where the cgroupfs driver
# puts `foo` at the same path). The root cgroup of a host has no limits:

# %%
tree = lab.node.tree(obs.member("foo").cgroup, ancestors=True)
names = {foo.id: foo.name}
print(views.cgroup_tree_text(tree, names))

# %%
views.cgroup_tree_figure(tree, names, title="foo's cgroup and the cgroups above it")

# %% [markdown]
# Or browse it: open a cgroup to see its limits and usage.

# %%
views.cgroup_tree_widget(tree, names)

# %% [markdown]
# ## Watch the kernel enforce the memory limit
#
# A limit is only interesting when something runs into it. The next container, `hog`,
# gets 128 MiB and runs a shell that starts busybox awk, which keeps taking memory, 1 MiB
# at a time (it copies a 1 MiB string into every new element of an array), with a pause of
# a tenth of a second after every 4 MiB. The shell then sleeps ten seconds before it exits
# with awk's exit status: that keeps the container, and its cgroup, there to be read after
# awk is gone. We read the memory cgroup every 0.2 s and draw its usage against the limit
# until the kernel reports an OOM kill (120 s is only a cap for a very busy machine). A
# dotted line marks the first reading that shows a hit on the limit, a dash-dotted one the
# first that shows a kill; when one reading shows both first, one line marks both.

# %%
HOG = ("awk 'BEGIN { chunk = sprintf(\"%1048576s\", \"\"); "
       "for (i = 0; ; i++) { held[i] = chunk; if (i % 4 == 0) system(\"sleep 0.1\") } }'; "
       "status=$?; sleep 10; exit $status")
hog = lab.run("hog", "busybox", HOG, memory="128Mi")
samples = lab.watch(hog, seconds=120, plot="memory", until=lambda s: bool(s.state.usage.oom_kills))

# %% [markdown]
# Each time a new page would take the cgroup over its limit, the kernel first tries to
# reclaim memory from that cgroup, and counts the hit on the limit. When reclaim fails,
# the OOM killer picks the process of the cgroup with the highest "badness" (roughly: the
# memory it uses, adjusted by its `oom_score_adj`) and kills it with SIGKILL. Here that is
# awk, and the container's main process, the shell, lives on (on cgroup v2, a cgroup whose
# `memory.oom.group` is 1, a file kernels have had since Linux 4.19, loses all its
# processes at once instead).
#
# What marks an OOM kill is the kernel's count of them for the cgroup: `oom_kill`, in
# `memory.events` on cgroup v2 and in `memory.oom_control` on v1 (kernels have counted it
# since Linux 4.13). As `cat` prints it, right after the watch:

# %%
print("the container right after the kill:", hog.status)
where = lab.observe(hog).member("hog").cgroup
counters = (f"/sys/fs/cgroup/memory{where}/memory.oom_control" if obs.cgroup_version == 1
            else f"/sys/fs/cgroup{where}/memory.events")
print(f"cat {counters}")
print(lab.node.read(counters).rstrip("\n"))

# %% [markdown]
# The kernel's counters run from the cgroup's creation, so one reading after the kill
# says what happened however often we managed to read: how high usage went (the
# high-water mark `memory.peak` on v2 since Linux 5.19, `memory.max_usage_in_bytes` on
# v1), the hits on the limit (the `max` line of `memory.events` on v2, `memory.failcnt` on
# v1), and the OOM kills:

# %% tags=["nbval-check-output"]
print(views.memory_lesson(samples))

# %% [markdown]
# Docker learns of it too. containerd's shim (containerd 1.6) watches the container's
# memory cgroup and reports an OOM event; dockerd 20.10 remembers it and, when the
# container exits, sets `State.OOMKilled`, whichever process of the container was killed:
# here awk, not the main process. What the event means depends on the cgroup version. On
# v2 the shim reads `oom_kill` in `memory.events` and reports when it grows: a kill. On v1
# it waits for the event the kernel signals on `memory.oom_control` whenever the cgroup
# runs out of memory, kill or not, so there `OOMKilled` can be true with nothing killed
# (with `docker run --oom-kill-disable`, say). The exit code is the main process's own:

# %% tags=["nbval-check-output"]
import signal

code = hog.wait()
print(f"hog's exit code: {code} = 128 + {code - 128} ({signal.Signals(code - 128).name})")
print("Docker's OOMKilled:", hog.state["OOMKilled"])

# %% [markdown]
# The shell in the lab's image, busybox sh, gives a command that a signal killed the exit
# status 128 + the signal's number: awk died of SIGKILL (9), so the shell's `status=$?` was
# 137, and the shell exited with that number after its sleep. So 137 here is the shell
# passing on awk's; and 137 alone proves no OOM kill: a main process killed by SIGKILL from
# anyone exits with 137 too (containerd reports 128 + the signal's number for it).
# `docker kill` sends exactly that:

# %% tags=["nbval-check-output"]
victim = lab.run("victim", "busybox", "sleep 3600")
victim.kill()
print("victim's exit code:", victim.wait(), "· Docker's OOMKilled:", victim.state["OOMKilled"])

# %% [markdown]
# One more thing decides when the kill comes: swap. Given only `--memory`, Docker 20.10
# sets the container's memory+swap limit (`--memory-swap`) to twice the memory limit where
# the kernel accounts swap for cgroups (`memory.swap.max` on v2, a limit on swap alone;
# `memory.memsw.*` files on v1); where it does not, Docker warns and leaves swap unlimited
# (`HostConfig.MemorySwap` -1), whatever `--memory-swap` says. On a host with swap the
# kernel may move some of the hog's memory out to swap (how much, swappiness and the like
# decide: the machine's `vm.swappiness` on v2, the cgroup's `memory.swappiness` on v1),
# and kills only once memory and swap together reach that limit. This machine accounts
# swap (the limit below is twice 128 MiB) and has none:

# %%
both = hog.inspect()["HostConfig"]["MemorySwap"]
print("hog's memory+swap limit (HostConfig.MemorySwap):",
      format_bytes(both) if both > 0 else f"{both} (no limit)")
print(next(line for line in lab.node.read("/proc/meminfo").splitlines()
           if line.startswith("SwapTotal")))

# %% [markdown]
# ## Watch the kernel throttle the CPU
#
# The next container, `spin`, runs two busy loops, each of which would keep a core busy,
# under `--cpus 0.5`. Once its processes have run 50 ms together in a 100 ms period, the
# scheduler stops them (throttles them) until the next period. We read its cgroup until
# we have 20 readings a moment apart and the kernel has throttled it at least once.
#
# Each point of the figure is the CPU time used between two readings divided by the time
# between them. Those windows (about 0.2 s, and never exactly: a reading comes when the
# machine gets to it) do not start and end with the kernel's 100 ms periods, so a window
# can take in one more burst of running than its neighbour: one point can lie above the
# quota line and the next below it. The quota is a rule over whole periods; the cells
# after the figure judge it so.

# %%
from labkit.watch import enough_samples

spin = lab.run("spin", "busybox", "while :; do :; done & while :; do :; done", cpus=0.5)


def throttled(sample):
    return bool(sample.state.usage.cpu_throttled_periods)


cpu_samples = lab.watch(spin, seconds=120, plot="cpu", until=enough_samples(20, throttled))

# %% [markdown]
# `cpu.stat` holds the kernel's counters since the cgroup was made, on v2 and v1 alike:
# `nr_periods`, the enforcement periods that have elapsed; `nr_throttled`, how many times
# the cgroup was throttled; `throttled_usec` on v2 (in µs), `throttled_time` on v1 (in
# ns), the time its run queues spent throttled, added up over the CPUs: with two busy loops
# on two CPUs it can be more than the periods' own time.
# The CPU time it used is in `cpu.stat` too on v2 (`usage_usec`), and in another file on
# v1, `cpuacct.usage` of the cpuacct controller (in ns). As `cat` prints them now
# (the numbers differ from run to run), with the average over the periods counted:

# %% tags=["nbval-ignore-output"]
where = lab.observe(spin).member("spin").cgroup
if obs.cgroup_version == 1:
    files = [f"/sys/fs/cgroup/cpu{where}/cpu.stat", f"/sys/fs/cgroup/cpuacct{where}/cpuacct.usage"]
else:
    files = [f"/sys/fs/cgroup{where}/cpu.stat"]
read = {path: lab.node.read(path).rstrip("\n") for path in files}
for path, text in read.items():
    print(f"cat {path}")
    print(text)
counted = dict(line.split() for line in read[files[0]].splitlines())
used_ns = int(read[files[1]]) if len(files) > 1 else int(counted["usage_usec"]) * 1000
periods = int(counted["nr_periods"])
print(f"{used_ns / 1e9:.2f} s of CPU time in {periods} periods of 100 ms: "
      f"{used_ns / (periods * 100e6):.2f} core on average")

# %% [markdown]
# labkit's lesson reads the same counters: the quota held when the CPU time used is at
# most 50 ms for every period counted, and one more for the period under way, plus a
# slack of a quarter; its line says so. The slack is labkit's, not the kernel's: the
# kernel documents a small overrun (a slice already handed to a CPU, "typically at most
# 1ms per cpu"), and labkit reads the two counters one after the other, on machines that
# may be busy.

# %% tags=["nbval-check-output"]
print(views.cpu_lesson(cpu_samples))

# %% [markdown]
# ## When the input is wrong
#
# labkit checks what you ask before anything starts, and answers in one sentence:

# %% tags=["nbval-check-output"]
try:
    lab.run("bad", "nginx", memory="12 parsecs")
except labkit.LabError as error:
    print(error)

# %% [markdown]
# ## Exercises
#
# Your turn. **Check** reads the machine (Docker's API and the kernel's files), never your
# code, and names the one thing still wrong; **Hint** unfolds one hint at a time. A check
# with nothing of yours to judge yet counts no try and unlocks no hint. Work in the empty
# cells with `lab`, or in a root terminal where a hint gives a command: the cards write
# this session's names as Docker knows them (`lk-…-foo`).
#
# **1.** Where is `foo` on the host?

# %%
exercises.get("01.host-pid")

# %% [markdown]
# **2.** And in which cgroup?

# %%
exercises.get("01.memory-cgroup")

# %% [markdown]
# **3.** Make the OOM killer strike at a limit you set. Make the container with
# `lab.run` in the empty cell: labkit names and labels it for this session, and leaving
# the notebook removes it. A container you make by hand in a terminal with exactly the
# name asked (`oom64`, from the lab's image `labkit/toolbox`, which labkit tags `latest`
# on this machine) passes too; it carries no session label, so leaving the notebook leaves
# it, and `exercises.get("01.oom-64mi").reset()` removes it.

# %%
exercises.get("01.oom-64mi")

# %%
# your code for exercise 3 here

# %% tags=["nbval-ignore-output"]
exercises.get("01.oom-64mi").check()

# %% [markdown]
# **4.** A container the scheduler limits to a quarter of a core. As in 3., one made by
# hand with exactly the name asked (`quarter`) passes too, and
# `exercises.get("01.cpu-quarter").reset()` removes it:

# %%
exercises.get("01.cpu-quarter")

# %%
# your code for exercise 4 here

# %% tags=["nbval-ignore-output"]
exercises.get("01.cpu-quarter").check()

# %% [markdown]
# ## Clean up
#
# Everything this notebook made carries its session's label. The button removes exactly
# that (leaving the notebook does the same), and then says what of this session is left;
# running every cell keeps `foo` for the exercises above.

# %%
lab.cleanup_button()
