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
# # 8 · The Pod of today
#
# The Pods of the chapters so far have one list of containers, started together, each
# with its own CPU and memory. A Pod today may say more:
#
# | field of the Pod | what it adds | stage, by Kubernetes release |
# | --- | --- | --- |
# | `initContainers` (without `restartPolicy: Always`) | containers that run one after the other, each to its end, before the others start | |
# | `restartPolicy: Always` on an init container | a *sidecar*: an init container that keeps running beside the containers | alpha 1.28, beta 1.29, stable 1.33 (KEP-753) |
# | `ephemeralContainers` | a container added to a running Pod to look into it (`kubectl debug`) | alpha 1.16, beta 1.23, stable 1.25 (KEP-277) |
# | `resources`, of the Pod | CPU and memory for the whole Pod, on cgroup v2 | alpha 1.32, beta and on by default 1.34 (KEP-2837, which aims at stable in 1.37) |
# | `hostUsers: false` | a user namespace of the Pod's own | alpha 1.25, beta 1.30, on by default 1.33, stable 1.36 (KEP-127) |
#
# labkit plays the kubelet for them, as in chapter 2: it makes the Pods on its own
# containerd through the CRI, and applies the kubelet's rules of the release the
# versions cell names. What it imitates, and what it does not:
#
# * it starts init containers one at a time, each to its end, and sidecars until they
#   run, then the containers, as the kubelet's `computeInitContainerActions` decides;
# * it restarts nothing: no restart count, no back-off, no probes. A sidecar counts as
#   started once it runs, as the kubelet counts one without a `startupProbe` or a
#   `postStart` hook;
# * it has no API server: `pod.debug(...)` stands for what `kubectl debug` asks the API
#   server for, and for the kubelet starting it;
# * it computes the pod's cgroup values, QoS class and OOM scores by the kubelet's rules,
#   pod-level resources included (where a cell says "the kubelet asks", labkit computed
#   it by the kubelet's rule);
# * it cannot give a Pod a user namespace on this containerd (the last section says why,
#   and makes one on labkit's Podman and by hand, as a pod from scratch, instead).
#
# The cgroup files are named for cgroup v2 first (`memory.max`, `cpu.max`,
# `cpu.weight`), with the cgroup v1 names beside them; the cells print what this machine
# has. These are the versions the chapter is read against:

# %% tags=["nbval-ignore-output"]
import time

import yaml

import labkit
from labkit import exercises, kubernetes, views

lab = labkit.chapter_lab("08")
print(lab.versions())

# %% [markdown]
# As chapter 2 says, a kubelet of that release would refuse to start on a cgroup v1 node
# unless configured with `failCgroupV1: false`, and would not pair with containerd 1.6:
# read what follows as its rules carried out on an older node.
#
# ## Init containers and sidecars
#
# The Pod `today` has an init container, `setup`, that writes a file into `/dev/shm`
# and ends; a sidecar, `logs`, an init container with `restartPolicy: Always`; and an
# app, which prints the file setup wrote, then sleeps. Each sets its own memory limit:

# %%
manifest = """\
apiVersion: v1
kind: Pod
metadata:
  name: today
spec:
  initContainers:
  - name: setup
    image: busybox
    command: ["sh", "-c", "echo 'written by setup' > /dev/shm/config"]
    resources:
      limits:
        memory: "512Mi"
  - name: logs
    image: busybox
    restartPolicy: Always
    command: ["sleep", "3650d"]
    resources:
      requests:
        cpu: "100m"
        memory: "64Mi"
      limits:
        memory: "128Mi"
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "cat /dev/shm/config; exec sleep 3650d"]
    resources:
      requests:
        cpu: "200m"
        memory: "128Mi"
      limits:
        memory: "256Mi"
"""
pod = lab.cri_pod(manifest)
print(f"pod {pod.name}: QoS class {pod.spec.qos_class}, cgroup parent {pod.cgroup_parent}")

# %% [markdown]
# This chapter asks before it shows, and ends with exercises checked against the
# machine; your progress is kept between sessions:

# %% tags=["nbval-ignore-output"]
exercises.use(lab)
exercises.progress_widget("08")

# %% [markdown]
# ### What the node lists
#
# `crictl ps -a` lists every container of the pod, in crictl's columns less
# `CREATED` (as in chapter 2):

# %% tags=["nbval-check-output"]
import pandas as pd

print(pd.DataFrame(pod.crictl_ps()).to_string(index=False))

# %% [markdown]
# The CRI has no word for an init container or a sidecar. To containerd, setup, logs
# and app are three containers of one sandbox; setup has exited, the two others run.
# What made setup an init container is when the kubelet started it. The calls labkit
# sent, in order:

# %% tags=["nbval-check-output"]
started = {row["CONTAINER"]: row["NAME"] for row in pod.crictl_ps()}
for method, request in pod.requests():
    name = request.get("config", {}).get("metadata", {}).get("name")
    print(method, name or started[request["container_id"][:13]])

# %% [markdown]
# ### In which order they ran
#
# Between those calls labkit waited, as the kubelet's sync loop does: for setup to
# exit with code 0 before it created logs, for logs to run before it created app.
# containerd keeps when it created, started and saw the end of each container (what
# `crictl inspect` shows), in nanoseconds; compared:

# %% tags=["nbval-check-output"]
life = {row["NAME"]: row for row in pod.timeline()}
for name, row in life.items():
    print(f"{name} ({row['KIND']}): {row['STATE']}" + (
        f" with code {row['EXIT CODE']}" if row["STATE"] == "Exited" else ""))
print("setup had ended before logs was created:",
      0 < life["setup"]["FINISHED"] < life["logs"]["CREATED"])
print("logs had started before app was created:",
      0 < life["logs"]["STARTED"] < life["app"]["CREATED"])

# %% [markdown]
# The kernel says the same of the processes that still run. Field 22 of
# `/proc/<pid>/stat` is when a process started, in clock ticks after the machine
# booted (`proc(5)`):

# %% tags=["nbval-check-output"]
def started_at(pid):
    """Field 22 of /proc/<pid>/stat, the process's start time in clock ticks after boot."""
    stat = lab.node.read(f"/proc/{pid}/stat")
    return int(stat.rsplit(")", 1)[1].split()[19])


pids = {m.name: m.pid for m in pod.members()}
print("the pod's processes now:", ", ".join(pids))
print("logs' process started before app's:", started_at(pids["logs"]) < started_at(pids["app"]))

# %% [markdown]
# setup has no process left to read: it ended. labkit's `pod.members()` lists the
# processes that run.
#
# ### What they share
#
# An init container is a container of the pod like the others: it is made in the same
# sandbox. setup and the app never ran at the same time, yet the app reads the file
# setup wrote, in the tmpfs containerd mounts at `/dev/shm` in every container of a
# sandbox (chapter 2):

# %% tags=["nbval-check-output"]
print("app reads /dev/shm/config:", pod.exec("app", "cat /dev/shm/config").output.strip())
labels = views.sharing_labels(lab.observe(pod))
for member in ("logs", "app"):
    print(f"{member} shares pause's:", ", ".join(
        ns for ns in ("ipc", "mnt", "net", "pid", "uts")
        if labels[member][ns] == "shared with pause"))

# %% [markdown]
# The sidecar is in pause's network, IPC and UTS namespaces, as the app is: it reaches
# the app on `localhost`, as the sidecar of chapters 2 to 6 (the article's Pod) did.
# A sidecar does not keep its Pod from completing: once the regular containers have
# ended, the kubelet stops the sidecars, in the reverse of the order they started
# (KEP-753).
#
# ### What the pod asks for, and what the kernel holds
#
# The pod's cgroup holds all its containers for the whole of its life. Before you look
# at its memory limit:

# %%
exercises.get("08.pod-memory")

# %% [markdown]
# The kubelet adds up a Pod's resources with the functions of Kubernetes'
# component-helpers (`AggregateContainerRequests`, which the scheduler uses for
# requests too, and `AggregateContainerLimits`): the sums the kubelet takes for pod today, and what it writes on
# the pod's cgroup (`ResourceConfigForPod`), beside what the kernel holds:

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
from labkit.quantity import format_bytes

asks, caps = pod.spec.effective_requests, pod.spec.effective_limits
print(f"requests: cpu {asks.cpu_request}m, memory {format_bytes(asks.memory_request)}")
print(f"limits: memory {format_bytes(caps.memory_limit)}, cpu "
      f"{f'{caps.cpu_limit}m' if caps.cpu_limit else 'none'}")
values = pod.spec.resource_config
print(f"the kubelet writes: memory {format_bytes(values.memory)}, cpu.shares "
      f"{values.cpu_shares}, quota {values.cpu_quota or 'none'}")
obs = lab.observe(pod)
held = obs.trees[0].state.limits
version = obs.cgroup_version
memory_file = "memory.max" if version == 2 else "memory.limit_in_bytes"
weight_file = "cpu.weight" if version == 2 else "cpu.shares"
weight = held.cpu_weight if version == 2 else held.cpu_shares
print(f"the kernel holds: {memory_file} {format_bytes(held.memory_bytes)}, {weight_file} "
      f"{weight}, quota {held.cpu_quota_us or 'none'}")

# %% [markdown]
# The pod's cgroup and its containers' cgroups, with their memory limits and quotas:

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
tree = lab.node.tree(pod.cgroup_parent)
print(views.cgroup_tree_text(tree, pod.names()))

# %% [markdown]
# The rule, from the sidecar containers' KEP: what runs together is added up, the
# containers and the sidecars; an init container counts with the sidecars started
# before it; and the pod gets the larger of the two. setup sets only a limit; the API
# server defaults its request to that limit, so both are 512 MiB. Alone, setup needs
# more memory than logs and app together (384 MiB of limits), so the pod's cgroup, which
# takes the limits, can hold setup while it runs.
# The CPU request is the containers' and sidecars' (300m): setup asks none. No CPU
# quota is written, as the kubelet writes one only when every container (and every
# init container, with the sidecars before it) has a CPU limit. The QoS class counts
# init containers too.
#
# ### The OOM scores with a sidecar
#
# The kubelet gives a Burstable container an `oom_score_adj` from its memory request:
# 1000 − 1000 × request / node memory, kept between 3 and 999 (chapter 2); where the Pod
# sets pod-level requests (1.34 and later), each container's request counts with an equal
# share of the pod's request that its containers leave unclaimed. A sidecar gets one
# more rule (KEP-753, in the kubelet's `GetContainerOOMScoreAdjust`): its score is no
# higher than the highest score among the regular containers (the one with the smallest
# request), so that, at equal memory use, the sidecar is no likelier a victim than its
# app. The score is only added to what a process's memory use gives it (`proc(5)`): a
# sidecar that uses more memory can still be picked first. What the kubelet asks,
# and what the kernel holds in `/proc/<pid>/oom_score_adj`:

# %%
memtotal = next(line for line in lab.node.read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal:"))
capacity = int(memtotal.split()[1]) * 1024
alone = kubernetes.oom_score_adj("Burstable", 64 * 2**20, capacity)
print(f"node memory: MemTotal {capacity // 2**20} MiB")
for name in ("logs", "app"):
    container = next(c for c in pod.spec.all_containers if c.name == name)
    asked = pod.linux_resources(container).oom_score_adj
    held = lab.node.read(f"/proc/{pids[name]}/oom_score_adj").strip()
    print(f"{name}: the kubelet asks {asked}, the kernel holds {held}")
print(f"logs' own request (64Mi) alone would give {alone}")

# %% [markdown]
# These numbers follow the node's memory, so they differ from machine to machine.
#
# ## Ephemeral debug containers
#
# `kubectl debug -it today --image=busybox --target=app` adds an ephemeral container
# to the running Pod through the API server (its `ephemeralcontainers` subresource;
# the API server refuses one in a new Pod). The kubelet then starts it in the pod's
# sandbox, in the PID namespace of the target: the CRI's `TARGET` mode, with the
# target's container id. containerd 1.6 takes that mode: it checks that the target is
# a running container of the same sandbox, and joins its process's PID namespace.
#
# `pod.debug(...)` makes that call in the kubelet's place (with `sleep infinity` as its
# command, where kubectl gives you a shell on a terminal):

# %% tags=["nbval-check-output"]
pod.debug("debugger", target="app", quiet=True)
method, request = pod.requests()[-2]
print(method, request["config"]["metadata"]["name"])
print(yaml.safe_dump(request["config"]["linux"]["security_context"]).rstrip())
print("the target_id is app's container id:", request["config"]["linux"][
    "security_context"]["namespace_options"]["target_id"].startswith(
        next(r["CONTAINER"] for r in pod.crictl_ps() if r["NAME"] == "app")))

# %% [markdown]
# `network` and `ipc` are `POD`, mode 0, so they are not written (chapter 2). In the
# debugger, PID 1 is the app's process, and `ps` lists the app's processes beside its
# own:

# %% tags=["nbval-check-output"]
def command_lines(container):
    """What `ps -o args` lists in a container of the pod, sorted."""
    return ", ".join(sorted(pod.exec(container, ["ps", "-o", "args"]).output.splitlines()[1:]))


first = pod.exec("debugger", "tr '\\0' ' ' < /proc/1/cmdline").output.strip()
print("PID 1, as the debugger sees it, runs:", first)
print("ps there lists:", command_lines("debugger"))

# %% [markdown]
# The kernel's view: the debugger's namespaces beside the app's and pause's.

# %% tags=["nbval-check-output"]
seen = lab.observe(pod)
ns = {m.member.name: m.namespaces for m in seen.members}
print("debugger in app's PID namespace:", ns["debugger"]["pid"] == ns["app"]["pid"])
print("debugger in pause's PID namespace:", ns["debugger"]["pid"] == ns["pause"]["pid"])
print("debugger in pause's network, IPC and UTS namespaces:",
      all(ns["debugger"][t] == ns["pause"][t] for t in ("net", "ipc", "uts")))
print("debugger's mount namespace its own:",
      all(ns["debugger"]["mnt"] != ns[m]["mnt"] for m in ("pause", "app", "logs")))

# %% [markdown]
# Without a target, an ephemeral container gets the pod's PID mode, here a PID
# namespace of its own, as any container of this pod: it sees only its own processes.

# %% tags=["nbval-check-output"]
pod.debug("plain", quiet=True)
print("ps in plain lists:", command_lines("plain"))

# %% [markdown]
# The API server's checks on an ephemeral container (`validateEphemeralContainers`):
# a name new to the Pod, a target among its containers or init containers. And none in
# a Pod being created (`ValidatePodCreate`). labkit refuses the same, with nothing
# created:

# %% tags=["nbval-check-output"]
for attempt in (lambda: pod.debug("app"), lambda: pod.debug("probe", target="sidecar"),
                lambda: lab.cri_pod(manifest.replace(
                    "  containers:\n",
                    "  ephemeralContainers:\n  - {name: debugger, image: busybox}\n"
                    "  containers:\n"))):
    try:
        attempt()
    except labkit.LabError as refused:
        print(refused)

# %% [markdown]
# ### The same with Docker
#
# Docker has no ephemeral containers; its options for the same are
# `--pid container:<name>` and `--network container:<name>`, which put a new container
# in another's PID and network namespaces (Docker's `docker run` reference). A
# container `target`, and a debugger beside it:

# %% tags=["nbval-check-output"]
target = lab.run("target", "busybox", "sleep 3650d", quiet=True)
debugger = lab.run("debugger", "busybox", ["sleep", "infinity"], quiet=True,
                   pid_mode=f"container:{target.engine_name}",
                   network_mode=f"container:{target.engine_name}")
print(debugger.command())
print("PID 1, as the debugger sees it, runs:",
      debugger.exec("tr '\\0' ' ' < /proc/1/cmdline").output.strip())

# %% [markdown]
# ## Pod-level resources
#
# > **cgroup v2, Linux.** KEP-2837 supports pod-level resources on cgroup v2 nodes only,
# > and Linux Pods only; the `PodLevelResources` feature gate must be on in the API
# > server, the scheduler and the kubelet (on by default since 1.34). What this chapter
# > shows on a cgroup v1 node is labkit carrying out the kubelet's rules. When the pod's
# > cgroup reaches its memory limit, the OOM killer picks among all of the pod's
# > containers.
#
# Chapter 3 gave a pod emulated with Docker a parent cgroup with a memory limit for all
# its containers. Pod-level resources make that a field of the Pod: `spec.resources`,
# CPU and memory for the whole Pod. The Pod `shared` sets a limit of 500m of CPU and
# 256 MiB for the Pod, and none for its two containers:

# %% tags=["nbval-check-output"]
shared_manifest = """\
apiVersion: v1
kind: Pod
metadata:
  name: shared
spec:
  resources:
    limits:
      cpu: "500m"
      memory: "256Mi"
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3650d"]
  - name: helper
    image: busybox
    command: ["sleep", "3650d"]
"""
shared = lab.cri_pod(shared_manifest, quiet=True)
level = shared.spec.resources
print(f"the Pod's resources, as the API server defaults them: requests cpu "
      f"{level.cpu_request}m, memory {format_bytes(level.memory_request)}; limits cpu "
      f"{level.cpu_limit}m, memory {format_bytes(level.memory_limit)}")
print("QoS class:", shared.spec.qos_class)

# %% [markdown]
# A pod-level request not written defaults to the containers' requests together when
# some container asks, else to the pod-level limit (`defaultPodRequests`). Here no
# container asks, so the requests are the limits, and with pod-level resources the QoS
# class comes from them alone (`ComputePodQOS`): Guaranteed, though the containers set
# nothing.
#
# What the kernel holds, for the pod and for each container:

# %%
seen = lab.observe(shared)
for label, limits in (("the pod", seen.trees[0].state.limits),
                      *((m.member.name, m.state.limits) for m in seen.members)):
    weight = limits.cpu_weight if seen.cgroup_version == 2 else limits.cpu_shares
    memory = format_bytes(limits.memory_bytes) if limits.memory_bytes else "unlimited"
    print(f"{label}: memory {memory}, quota {limits.cpu_quota_us or 'none'}, "
          f"{weight_file} {weight}")

# %% [markdown]
# The pod's cgroup gets the Pod's limits (`memory.max` and `cpu.max` on cgroup v2).
# A container that sets no limit of its own gets the Pod's in its own cgroup too: the
# KEP has the kubelet do so for programs that size themselves from their cgroup's limit
# (`getMemoryLimit`, `getCPULimit`). It takes its CPU weight from that limit, having no
# request. pause keeps containerd's 2 shares and no limit (chapter 2). Together the
# containers still cannot use more than the pod's cgroup allows.
#
# The API server's checks on pod-level resources (`validatePodResources`): no container
# with more than the Pod, the Pod's requests at least what its containers ask together,
# only CPU, memory and huge pages at pod level (by default). labkit refuses what breaks them, with
# nothing created:

# %% tags=["nbval-check-output"]
for broken in (shared_manifest.replace("    command: [\"sleep\", \"3650d\"]\n  - name: helper",
                                       "    command: [\"sleep\", \"3650d\"]\n    resources:\n"
                                       "      limits:\n        memory: \"512Mi\"\n"
                                       "  - name: helper", 1),
               shared_manifest.replace("  resources:\n    limits:",
                                       "  resources:\n    requests:\n      memory: \"64Mi\"\n"
                                       "    limits:").replace(
                   "  - name: helper",
                   "    resources:\n      requests:\n        memory: \"128Mi\"\n"
                   "  - name: helper"),
               shared_manifest.replace("      cpu: \"500m\"", "      ephemeral-storage: 1Gi")):
    try:
        lab.cri_pod(broken, quiet=True)
    except labkit.LabError as refused:
        print(refused)

# %% [markdown]
# A Pod's RuntimeClass may also declare an overhead, the resources of the sandbox
# itself (a virtual machine's, say); the kubelet then adds it to the pod's cgroup
# (`PodRequests` and `PodLimits` count it). labkit runs no RuntimeClass, so no
# overhead.
#
# ## QoS and the OOM killer
#
# Every container of the chapter's two pods, with the QoS class of its pod and its
# OOM score: what the kubelet asks (`GetContainerOOMScoreAdjust`), what the kernel
# holds:

# %%
for each in (pod, shared):
    running = {m.name: m.pid for m in each.members() if m.name != "pause"}
    scores = each.spec.oom_score_adjs(capacity)
    for name, pid in running.items():
        held = lab.node.read(f"/proc/{pid}/oom_score_adj").strip()
        print(f"{each.name} ({each.spec.qos_class}) {name}: the kubelet asks {scores[name]}, "
              f"the kernel holds {held}")

# %% [markdown]
# The ephemeral containers have no request, so 999 in the Burstable pod. In the
# Guaranteed pod the kernel does not hold the kubelet's -997: labkit's containerd lacks
# `CAP_SYS_RESOURCE` (so runc could not write a lower score than its own), so it runs
# with `restrict_oom_score_adj = true`, which raises any lower request to containerd's
# own score (chapter 2 shows both). containerd puts the score in the container's OCI
# spec and runc writes it; on a node where containerd runs as root without that
# option, every score is written as asked.
#
# When a cgroup's memory limit is hit, the kernel's OOM killer picks one of that
# cgroup's processes; when the whole node runs short (and the kubelet's eviction of
# Pods under memory pressure has not freed enough first), one of all; each time the one
# with the highest OOM score, which `oom_score_adj` shifts (`proc(5)`). On cgroup v2 the
# kubelet also asks `memory.oom.group` 1 for each container (since 1.28, unless the
# kubelet's `singleProcessOOMKill` is true, 1.32 and later), so that an OOM kill takes
# all of the container's processes, and the kernel counts kills in
# `memory.events`. On cgroup v1 there is no such file: the counts are in
# `memory.oom_control`. The app's cgroup, read here:

# %%
app_cgroup = obs.member("app").cgroup
if obs.cgroup_version == 2:
    events = lab.node.read(f"/sys/fs/cgroup{app_cgroup}/memory.events")
    group = lab.node.read(f"/sys/fs/cgroup{app_cgroup}/memory.oom.group").strip()
    print("memory.oom.group:", group)
else:
    events = lab.node.read(f"/sys/fs/cgroup/memory{app_cgroup}/memory.oom_control")
    print("the app's CreateContainer asks for memory.oom.group:",
          "memory.oom.group" in str(pod.linux_resources(pod.spec.containers[0]).unified))
print(events.rstrip())

# %% [markdown]
# ## User namespaces
#
# With `hostUsers: false` a Pod gets a user namespace of its own: its user IDs are
# mapped to a range of the node's, so that root in its containers is not root on the
# node. By default the kubelet gives each such Pod a range of 65536 IDs (a size its
# `userNamespaces.idsPerPod` setting changes from Kubernetes 1.33) above the node's IDs
# 0 to 65535. The field needs the `UserNamespacesSupport` feature gate, on by default
# from 1.33; where it is off, the API server drops `hostUsers` and the Pod runs in the
# node's user namespace. The runtime makes the namespace, and containerd 1.6 cannot: for
# a kubelet of 1.27 or later, containerd does it from 2.0 on, with runc 1.2 or later and
# Linux 6.3 or later (for idmapped mounts of the file systems a Pod uses). With a
# kubelet before 1.30, containerd 1.6 silently ignored `hostUsers: false`; since 1.30
# the kubelet asks the runtime whether it supports user namespaces, and fails such a Pod
# when it does not, as it would with containerd 1.6. labkit refuses it too:

# %% tags=["nbval-check-output"]
try:
    lab.cri_pod(manifest.replace("spec:\n", "spec:\n  hostUsers: false\n", 1))
except labkit.LabError as refused:
    print(refused)

# %% [markdown]
# A process can still make a user namespace for itself: unprivileged users may, on
# kernels that allow it (`user_namespaces(7)`), where no seccomp profile forbids it (as
# here: labkit, like a kubelet without `seccompDefault`, asks none; containerd's
# RuntimeDefault profile allows `unshare` of a user namespace only with
# `CAP_SYS_ADMIN`). The container below runs busybox's `nsenter -S 65534 -G 65534`,
# which (given no namespace to enter) only changes to user `nobody` and group `nogroup`
# (65534 both);
# then `unshare --user --map-root-user`, which makes a user namespace and maps the one
# user it runs as to root there; then `sleep`. The runtime does something like it for a
# Pod, but, being privileged, it maps 65536 IDs from the range the kubelet keeps for
# that Pod alone, where an unprivileged process, without a setuid helper such as
# `newuidmap`, can map only its own user and group:

# %% tags=["nbval-check-output"]
users = lab.cri_pod(name="users", quiet=True, containers={"app": {
    "image": "busybox", "command": ["nsenter", "-S", "65534", "-G", "65534", "--", "unshare",
                                    "--user", "--map-root-user", "sleep", "3650d"]}})
pid = next(m.pid for m in users.members() if m.name == "app")
for _ in range(100):  # the process runs nsenter, then unshare, then sleep: wait for sleep
    if lab.node.read(f"/proc/{pid}/comm").strip() == "sleep":
        break
    time.sleep(0.05)
print("uid_map:", " ".join(lab.node.read(f"/proc/{pid}/uid_map").split()))
print("gid_map:", " ".join(lab.node.read(f"/proc/{pid}/gid_map").split()))
print("its user namespace is the host's:",
      lab.node.namespaces(pid)["user"] == lab.node.host_namespaces["user"])


def ids(status):
    """The Uid and Gid lines of a /proc/<pid>/status, tab-separated values as one line."""
    return " · ".join(" ".join(line.split()) for line in status.splitlines()
                      if line.startswith(("Uid:", "Gid:")))


print("seen from the host:", ids(lab.node.read(f"/proc/{pid}/status")))
inside = lab.nsenter(pid, ["user"], ["cat", f"/proc/{pid}/status"])
print("seen from its user namespace:", ids(inside.output))

# %% [markdown]
# A line of `uid_map` reads: the first ID inside, the first ID outside, how many
# (`user_namespaces(7)`). The same process is user 0 in its namespace and user 65534
# on the host: root there, `nobody` here. Root in a user namespace has every capability
# in it, but its capabilities reach a file only if the file's owner and group are mapped
# into the namespace (`user_namespaces(7)`); `/root`'s owner, host user 0, is not.
# `nsenter --user`, run as root, enters the namespace as its root; from there, the
# host's `/root` directory:

# %% tags=["nbval-check-output"]
print("nsenter --user runs as user", lab.nsenter(pid, ["user"], ["id", "-u"]).output.strip())
owner = lab.nsenter(pid, ["user"], ["stat", "-c", "%u %a", "/root"]).output.split()
print(f"/root, seen from its user namespace: owner {owner[0]}, mode {owner[1]}")
listing = lab.nsenter(pid, ["user"], ["ls", "/root"])
print("its root lists /root:", listing.exit_code == 0,
      f"({listing.output.strip().rsplit(': ', 1)[-1]})")

# %% [markdown]
# The host's root, user 0, is not mapped in that namespace, so what it owns shows as
# user 65534 there: the kernel's "overflow" ID for an unmapped owner
# (`user_namespaces(7)`), which here happens to be the same number as the host user
# `nobody` the process runs as. And to the kernel, this root is user 65534 on the host:
# the directory's mode keeps it out.

# %% [markdown]
# Podman can put a pod in a user namespace of its own: `podman pod create` takes
# `--uidmap` and `--gidmap` (Podman 4.3's documentation): the infra container makes the
# user namespace, and every container of the pod joins it (`--share` takes no `user`:
# the maps alone decide). labkit's Podman pods take `host_users=False` (a manifest's
# `hostUsers: false`) that way, with a range shaped as the kubelet's: 65536 IDs,
# starting at a multiple of 65536 above the node's 0 to 65535. The kubelet takes a free
# one at random and keeps a record of what it gave; labkit keeps none, and takes the
# lowest range that no running process on this machine is mapped into:

# %% tags=["nbval-check-output"]
apart = lab.podman_pod(name="apart", quiet=True, host_users=False, containers={
    "app": {"image": "busybox", "command": "sleep 3650d"}})
print(apart.commands()[0])

# %% [markdown]
# Each of the IDs 0 to 65535 in the pod's user namespace stands for one of the host's:
# the maps in `/proc`, read from the host, say which. And the rows of the namespace
# table:

# %% tags=["nbval-check-output"]
apart_obs = lab.observe(apart)
first = apart.user_range
for member in apart.members():
    maps = [" ".join(lab.node.read(f"/proc/{member.pid}/{name}").split())
            for name in ("uid_map", "gid_map")]
    print(f"{member.name}: uid_map {maps[0]}, gid_map {maps[1]}")
print("the range starts at a multiple of 65536 above 65535:",
      first >= 65536 and first % 65536 == 0)
print("user namespace:", {m: row["user"] for m, row in views.sharing_labels(apart_obs).items()})
app_pid = next(m.pid for m in apart.members() if m.name == "app")
status = lab.node.read(f"/proc/{app_pid}/status")
uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
print("the app's user, seen from the host, is the range's first ID:", int(uid) == first)
print("the app's user, seen in the app:", apart.exec("app", "id").output.strip())
capabilities = next(line.split()[1] for line in status.splitlines()
                    if line.startswith("CapEff:"))
print("its effective capabilities:", bin(int(capabilities, 16)).count("1"), "of the kernel's",
      int(lab.node.read("/proc/sys/kernel/cap_last_cap")) + 1)

# %% [markdown]
# In the app the process is root, user 0, with the capabilities Podman gives a
# container (the cell counts them), and they count only in the namespaces its user
# namespace owns: the pod's, not the host's. On the host it is an
# ID above 65535, which, by the convention the kubelet relies on, no user or file of
# the host uses.
#
# `podman kube play` would turn `hostUsers: false` into `--userns=auto` (Podman 4.3.1,
# this machine's, does), which picks a range from those `/etc/subuid` and
# `/etc/subgid` give the user named `containers`; labkit refuses a manifest's
# `hostUsers: false` on that path and says to use keywords. Whether this machine has
# such ranges:

# %% tags=["nbval-ignore-output"]
subuid = lab.node.read("/etc/subuid") or ""
print("/etc/subuid has a range for containers:",
      any(line.startswith("containers:") for line in subuid.splitlines()))

# %% [markdown]
# ### By hand: the pod from scratch
#
# Chapter 6's pod from scratch takes `hostUsers: false` too (`lab.scratch_pod`, with a
# manifest or with `host_users=False`), and its commands show what a runtime has to do
# in what order. Three rules of `user_namespaces(7)` set that order:
#
# * every namespace belongs to the user namespace its maker was in when it made it, and
#   root in the Pod's user namespace has its capabilities over the namespaces that user
#   namespace owns: the Pod's network, UTS, IPC, mount and PID namespaces must be made
#   from inside it;
# * a process that has just made a user namespace runs there as an unmapped user, and
#   loses its capabilities at its next `execve`: nothing can run as root there before
#   the maps are written;
# * a map of more than the writer's own one ID needs `CAP_SETUID` (for `gid_map`,
#   `CAP_SETGID`) in the parent user namespace: here, root on the host writes them.
#
# runc takes that order: its child makes the user namespace, waits until its parent has
# written the maps, becomes user 0 there, and only then makes the other namespaces. In
# commands a shell can type, labkit:
#
# 1. makes the Pod's user namespace with a process that only waits (`unshare --user --
#    sleep infinity`), and writes its maps from the host;
# 2. starts pause with `nsenter --user` into that namespace, as user 0 there, which
#    then makes the Pod's other namespaces in it;
# 3. makes each member wait on a FIFO until the host has written its PID into its
#    cgroups (root in the Pod may not write the host's cgroup files), then lets it go on;
# 4. ends the first process: pause now holds the namespace, and each container enters
#    it the same way.
#
# runc needs no FIFO for the cgroups: it puts its first process in them before that
# process makes anything, so every process it forks is born there. Here the holder and
# each member's `unshare`, which waits for its child as in chapter 6, stay in the
# host's cgroups.
#
# The members' files must belong to the range too, or root in the Pod could not change
# them. labkit gives every file of each member's root file system to the range's first
# ID, root in the Pod (`chown -R`, which also clears setuid bits): coarser than an
# ID-mapped mount (containerd 2.0 and later use one where the kernel and the file system
# allow), which shifts every owner by that first ID. The commands from the first one
# that differs from chapter 6's on (each member's script cut to its first and last
# lines):

# %%
alone = lab.scratch_pod(name="alone", quiet=True, host_users=False, containers={
    "app": {"image": "busybox", "command": "sleep 3650d"}})
typed = alone.commands()
start = next(i for i, line in enumerate(typed) if line.startswith("chown -R"))
for line in typed[start:]:
    script = line.split("\n")
    print(script[0] + (f" … {script[-1]}" if len(script) > 1 else ""))

# %% [markdown]
# What the kernel says of it:

# %% tags=["nbval-check-output"]
alone_obs = lab.observe(alone)
for member in alone.members():
    maps = [" ".join(lab.node.read(f"/proc/{member.pid}/{name}").split())
            for name in ("uid_map", "gid_map")]
    print(f"{member.name}: uid_map {maps[0]}, gid_map {maps[1]}")
print("user namespace:", {m: row["user"] for m, row in views.sharing_labels(alone_obs).items()})
app = alone["app"]
status = lab.node.read(f"/proc/{app.pid}/status")
uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
print("the app's user, seen from the host, is the range's first ID:",
      int(uid) == alone.user_range)
print("the app's user, seen in the app:", alone.exec("app", "id").output.strip())
print("the owner of the app's /etc/hosts, seen in the app:",
      alone.exec("app", "stat -c %u /etc/hosts").output.strip())
print("root in the app may name the Pod's host (the UTS namespace is its user namespace's):",
      alone.exec("app", "hostname alone").exit_code == 0)
where = lab.node.cgroups(app.pid)
print("the app's memory cgroup, where the host put it:", where.get("memory", where.get("unified")))

# %% [markdown]
# Docker's user namespaces are a setting of the whole engine (`dockerd
# --userns-remap`), and its ranges come from `/etc/subuid` and `/etc/subgid` too. labkit
# changes neither this machine's Docker nor those files, so `lab.docker_pod` refuses
# `hostUsers: false`.
#
# ## Exercises
#
# labkit's containerd belongs to this notebook's lab, so here you make pods with
# `lab.cri_pod(...)`. **Check** reads the CRI and the kernel; **Hint** unfolds one hint
# at a time. Exercise 1 was the prediction above.
#
# **2.** The debugger's PID 1:

# %%
exercises.get("08.pid-one")

# %% [markdown]
# **3.** A memory limit for the whole Pod:

# %%
exercises.get("08.lean")

# %%
# your code for exercise 3 here

# %% tags=["nbval-ignore-output"]
exercises.get("08.lean").check()

# %% [markdown]
# ## Clean up
#
# Running every cell keeps the chapter's pods for the exercises. The button removes
# everything this chapter made (pods, containerd, Podman, cgroups, Docker containers); leaving
# the notebook does too.

# %%
lab.cleanup_button()
