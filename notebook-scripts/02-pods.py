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
# # 2 · A Kubernetes Pod, seen from the node
#
# On a Kubernetes node the kubelet does not start containers itself. It asks a
# container runtime (containerd, CRI-O) through the **CRI**, the Container Runtime
# Interface: a gRPC API with calls such as `RunPodSandbox`, `CreateContainer` and
# `StartContainer`.
#
# No kubelet runs in this lab. labkit plays its part: it starts a containerd of its
# own beside Docker, works out what the kubelet would ask for the two-container Pod
# of `notebooks/manifests/foo-pod.yaml`, by the rules of the Kubernetes release
# printed below, and sends those CRI calls. Then you ask the kernel what the node
# runs.
#
# Several sentences below hold for some versions only. This is what this machine
# runs:

# %% tags=["nbval-ignore-output"]
import shutil
import time
from pathlib import Path

import pandas as pd
import yaml

import labkit
from labkit import views

lab = labkit.chapter_lab("02")
print(lab.versions())
print("crictl:", shutil.which("crictl") or "not installed")

# %% [markdown]
# **Not a node a real kubelet of that release would run.** The last item of the
# first line is the Kubernetes release whose kubelet rules labkit applies: the
# namespace modes, the fields of each CRI request, the cgroup values, the OOM
# scores. It applies them to this machine's containerd and cgroups, which the
# recording shows as containerd 1.6.20 on cgroup v1 (the line above says what
# this machine has). With that release:
#
# * since Kubernetes 1.35 the kubelet refuses to start on a cgroup v1 host,
#   unless its `failCgroupV1` setting is set to false (KEP-5573);
# * containerd's own support table pairs containerd 1.6 with Kubernetes up to
#   1.34, and containerd 1.x with Kubernetes up to 1.35; containerd 1.6 reached
#   its end of life in August 2025;
# * since Kubernetes 1.34 the kubelet asks the runtime which cgroup driver to
#   use. containerd answers only from 2.0 on; for an older one the kubelet falls
#   back to a setting of its own that is to go (more under «The pod's cgroups»).
#
# labkit takes the containerd and the cgroup version of the host it runs on, and
# Debian 12 ships containerd 1.6.20. So read what follows as a current kubelet's
# rules carried out on an older node. Where a sentence holds only for some
# versions of Kubernetes, containerd or cgroups, it says which.
#
# crictl is the CRI's command-line client, for a node's administrator. Debian 12
# has no package for it, so labkit makes the CRI calls that crictl would make
# itself, and prints some of the columns crictl prints.
#
# ## The Pod, made through the CRI
#
# One call makes the pod from the manifest. For each container, just before it
# creates it, a kubelet makes sure the container's image is there: the CRI's
# `ImageStatus`, then `PullImage` as the container's `imagePullPolicy` says.
# labkit asks `ImageStatus` too, but its containerd never pulls: where the
# manifest's images are not there, the containers run labkit's stand-ins, and
# the cell says so:

# %%
manifest = Path("manifests/foo-pod.yaml").read_text()
pod = lab.cri_pod(manifest)
print(f"pod {pod.name}: QoS class {pod.spec.qos_class}, cgroup parent {pod.cgroup_parent}")

# %% [markdown]
# (The container named `sidecar` is an ordinary second container here. Since
# Kubernetes 1.28 "sidecar container" is also the name of an init container with
# `restartPolicy: Always`, which this manifest does not use.)
#
# This chapter asks before it shows, and ends with exercises checked against the
# machine; your progress is kept between sessions:

# %% tags=["nbval-ignore-output"]
from labkit import exercises

exercises.use(lab)
exercises.progress_widget("02")

# %% [markdown]
# ## What the node lists
#
# `crictl pods` lists sandboxes (the CRI's `ListPodSandbox`), and `crictl ps -a`
# lists containers (`ListContainers`). Here is what they list for this pod, in
# crictl's columns, less three: `CREATED` in both, `RUNTIME` for pods and
# `NAMESPACE` for containers:

# %% tags=["nbval-check-output"]
print("crictl pods")
print(pd.DataFrame(pod.crictl_pods()).to_string(index=False))
print()
print("crictl ps -a")
print(pd.DataFrame(pod.crictl_ps()).to_string(index=False))

# %% [markdown]
# One sandbox, and the manifest's two containers, each with the sandbox's id as its
# `POD ID`. Its `IMAGE` is the image's id, which is what the kubelet sends (crictl
# cuts it to 13 characters). containerd keeps sandboxes apart from containers,
# so `crictl ps` never lists the sandbox itself.
#
# Below the CRI, containerd's own client `ctr` lists the containers containerd
# keeps (running or not) in the CRI's namespace, `k8s.io`. Here is the command as
# you can type it in a root terminal (this lab's containerd has a socket of its
# own), and what it printed, the rows sorted by image:

# %% tags=["nbval-check-output"]
command, output = pod.ctr_containers()
header, *rows = [line.rstrip() for line in output.splitlines()]
print("$", command)
print(header)
print("\n".join(sorted(rows, key=lambda row: row.split()[1])))  # ctr prints them by id

# %% [markdown]
# There the sandbox *is* a container: the one running the pause image, and its
# containerd id is the sandbox's id. The pause image is the runtime's choice:
# containerd's `sandbox_image` setting in 1.6 and 1.7 (by default
# `registry.k8s.io/pause:3.6` in containerd 1.6.20, `pause:3.8` in 1.7.0), the
# `sandbox` entry of its `pinned_images` in 2.x (`pause:3.10` in 2.0.0). labkit
# gives its containerd an image of its own.
#
# The sandbox's id is not the Pod's UID (the UID that ends the cgroup parent above):
# the UID is the Kubernetes object's, and a new sandbox for the same Pod gets a
# new id.
#
# ## Who owns which namespace
#
# Which namespaces does the app share with pause? Guess before the kernel says:

# %%
exercises.get("02.shared-with-pause")

# %% [markdown]
# Each process has a link per namespace type in `/proc/<pid>/ns`. The pause
# container is listed first, so what it holds shows up as `shared with pause` in
# the other rows. Blue is shared in the pod, orange is a process's own, grey is
# the host's:

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
obs = lab.observe(pod)
views.sharing_colours(obs)

# %% [markdown]
# The same reading as a picture: a row per namespace type, a box per namespace,
# and every process drawn in the boxes it is in. The host has a column too: a
# process drawn in the host's box is in the host's namespace.

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
everything = ("net", "ipc", "uts", "pid", "mnt", "cgroup", "user", "time")
views.namespace_boxes(obs, title="pod foo, made through the CRI", namespaces=everything)

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true, "source_hidden": true}
labels = views.sharing_labels(obs)
five = ("ipc", "mnt", "net", "pid", "uts")
for member in ("app", "sidecar"):
    print(f"{member} shares pause's:", ", ".join(
        ns for ns in five if labels[member][ns] == "shared with pause"))
    print(f"{member} has its own:", ", ".join(ns for ns in five if labels[member][ns] == "own"))
print("pause's pid and mnt namespaces, shared with nobody:",
      all(labels[m][ns] == "own" for m in ("app", "sidecar") for ns in ("pid", "mnt")))
comm = lab.node.read(f"/proc/{obs.member('pause').member.pid}/comm")  # cat /proc/<pid>/comm
print("the sandbox's process is called:", comm.strip())

# %% [markdown]
# pause holds the pod's network, IPC and UTS namespaces, and the containers join
# them. pause's own PID and mount namespaces stay its own: by default each
# container has its own PID namespace, and each always has its own mount
# namespace (its own root file system).
#
# In the table, the user and time namespaces are the host's for every process.
# The cgroup row depends on the cgroup version (containerd 1.6–2.x): on cgroup v2
# every container that is not privileged gets one of its own, and the sandbox's
# pause does not; on cgroup v1 every process of the pod stays in the host's cgroup
# namespace. The versions cell at the top says which kind of host this notebook
# ran on.
#
# A runtime need not keep a process to hold these namespaces. containerd 1.6 runs
# pause for every pod, and so did CRI-O up to 1.21. Since CRI-O 1.22 (`drop_infra_ctr =
# true` by default) CRI-O runs a pause container only for a pod that shares one
# PID namespace (`shareProcessNamespace`) or runs in a virtual machine (Kata);
# for the others it pins the pod's namespaces without a process.
#
# ## The CRI requests, as labkit sent them
#
# Where did those namespaces come from? Here are the calls that made pod foo, in
# the order labkit sent them (before them, it only asked `ImageStatus` for each
# container's image, to send the image's id):

# %% tags=["nbval-check-output"]
requests = pod.requests()
started = {row["CONTAINER"]: row["NAME"] for row in pod.crictl_ps()}  # short id -> name
for method, request in requests:
    name = request.get("config", {}).get("metadata", {}).get("name")
    print(method, name or started[request["container_id"][:13]])

# %% [markdown]
# First the sandbox, then each container: created, then started. Here is the first
# request, printed as YAML. It is the protobuf message in its JSON form, with the
# `.proto` file's field names (`cgroup_parent`, where proto3's canonical JSON
# would write `cgroupParent`): 64-bit numbers are written in quotes, and a field
# left at its zero value is not written at all.

# %%
def readable(request):
    """A CRI request as YAML, without the sandbox's config that each CreateContainer carries
    again."""
    shown = {key: value for key, value in request.items() if key != "sandbox_config"}
    return yaml.safe_dump(shown, sort_keys=True, width=100).rstrip()


method, sandbox = requests[0]
print(readable(sandbox))

# %% [markdown]
# It is the kubelet's `generatePodSandboxConfig`
# (`pkg/kubelet/kuberuntime/kuberuntime_sandbox.go`), part by part:
#
# * `metadata`: the Pod's name, namespace and UID, and `attempt` 0, the sandbox's
#   first try (a zero, so not written).
# * `hostname`: the pod's name. It is left out when the pod uses the node's
#   network.
# * `labels`: the Pod's own labels (foo has none) and three
#   `io.kubernetes.pod.*` labels. The two `io.labkit.*` labels are labkit's own: it
#   finds what it made by them.
# * `log_directory`: where the containers' logs go. A kubelet uses
#   `/var/log/pods/<namespace>_<name>_<uid>`; labkit uses its own state
#   directory.
# * `linux.cgroup_parent`: the pod's cgroup, which the kubelet made before this
#   call. The runtime puts the sandbox and every container of the pod under it.
# * `linux.security_context.namespace_options`: the namespace modes. Only `pid`
#   is written, because `CONTAINER` (each container its own) is not zero.
#   `network` and `ipc` are `POD`, mode 0, so they are not written. There is no
#   field for UTS or mount.
# * `linux.resources`: the pod's summed resources (`applySandboxResources`,
#   `kuberuntime_sandbox_linux.go`, since Kubernetes 1.23). foo asks for no CPU,
#   so `cpu_shares` is 2, the minimum. The memory limit is the sum of the two
#   containers' limits. The runtime does not limit pause with these: containerd
#   (1.6 to 2.x) only copies them into annotations of pause's spec, for runtimes
#   that size a virtual machine (Kata). pause's own cgroup gets containerd's 2
#   CPU shares (on cgroup v2, runc writes them as `cpu.weight` 1) and no memory
#   limit, as the tree under «The pod's cgroups» shows (`pause … memory
#   unlimited`). What bounds pause is the pod's cgroup, which the kubelet writes.
#
# A kubelet sends more than this. labkit leaves out what needs a cluster, or
# what nothing in this lab reads:
#
# * `dns_config`: the cluster's DNS servers and search domains;
# * `port_mappings`: one per port a container declares, here
#   `container_port: 80` for the app;
# * `linux.security_context.seccomp`: the profile `RuntimeDefault`, which the
#   kubelet always asks for the sandbox;
# * `linux.overhead`: the overhead of the pod's RuntimeClass, an empty message
#   for foo.
#
# The first `CreateContainer`, for the app. The kubelet sends the sandbox's config
# again with each container; it is left out here.

# %%
method, create = requests[1]
print(readable(create))

# %% [markdown]
# It is the kubelet's `generateContainerConfig`
# (`pkg/kubelet/kuberuntime/kuberuntime_container.go`):
#
# * `pod_sandbox_id`: which sandbox the container goes in.
# * `image`: the image's id, as the image service reported it.
# * `command`: what runs. The manifest gives the app no command, so a kubelet
#   would send none, and the runtime would run the image's own; labkit writes its
#   stand-in's command here. A manifest's `command` and `args` go into `command`
#   and `args` as they are, with `$(VAR)` expanded. `envs` holds the environment
#   the manifest declares: foo's declares none, so labkit sends none.
# * `labels` and `annotations`: the kubelet's bookkeeping, `newContainerLabels`
#   and `newContainerAnnotations` (`labels.go`): the container's name, the pod's
#   name, namespace and UID, the restart count, the termination message's path
#   and policy, the grace period and the ports (and labkit's two labels again).
# * `log_path`: the container's log file in the sandbox's log directory,
#   `<name>/<restart count>.log`.
# * `linux.resources`, from `generateLinuxContainerResources`
#   (`kuberuntime_container_linux.go`). runc writes its CPU and memory fields to
#   `cpu.weight`, `cpu.max` and `memory.max` on cgroup v2, and to `cpu.shares`,
#   `cpu.cfs_period_us` / `cpu.cfs_quota_us` and `memory.limit_in_bytes` on v1:
#   * `cpu_shares`: 1024 per CPU of the request, at least 2. The app asks for no
#     CPU, so it gets 2. `cpu_period` is 100000 µs and `cpu_quota` 0 (unlimited):
#     on v2 runc writes the pair to `cpu.max` as `max 100000`, which is that file's
#     default; on v1 it writes the period to `cpu.cfs_period_us` and leaves
#     `cpu.cfs_quota_us` at its default, -1.
#   * `memory_limit_in_bytes`: the limit, 256 MiB.
#   * `oom_score_adj`: how readily the kernel's OOM killer picks this container,
#     from its QoS class. The cgroups section below reads it back.
#   * `memory_swap_limit_in_bytes`: on cgroup v2 the kubelet writes
#     `memory.swap.max` 0 in `unified` instead. On cgroup v1, where swap is
#     accounted, it is equal to the memory limit, so memory and swap together stay
#     within the memory limit.
#   * `hugepage_limits`: one per huge page size of the node, each with limit 0, so
#     the limit is not written.
#   * On cgroup v2, `unified` also holds `memory.oom.group: 1`: an OOM kill takes
#     the whole container (the kubelet's default there, unless its
#     `singleProcessOOMKill` setting says otherwise).
# * `linux.security_context.namespace_options`: the same modes as the sandbox's.
#
# Here too a kubelet sends more, among it:
#
# * `image.user_specified_image`: the image as the manifest names it
#   (`docker.io/kennethreitz/httpbin`), beside its id;
# * the annotation `io.kubernetes.container.hash`, a hash of the container's spec
#   by which the kubelet notices that the spec changed (labkit imitates none of
#   the kubelet's restart bookkeeping);
# * more `envs`: the variables of the `kubernetes` Service of the `default`
#   namespace (`KUBERNETES_SERVICE_HOST`, …) always, and with
#   `enableServiceLinks` (true by default) those of every Service in the pod's
#   namespace. There is no API server here, so no Service;
# * `mounts`: the `/etc/hosts` the kubelet writes, the file behind
#   `/dev/termination-log`, and the pod's volumes, such as the service-account
#   token an API server adds;
# * in `linux.security_context`: `masked_paths` and `readonly_paths` (the
#   `/proc` and `/sys` paths a container may not read or change), `seccomp`
#   `Unconfined` unless the kubelet's `seccompDefault` setting is on, and a
#   `run_as_user` taken from the image (root when the image names no user).
#
# `StartContainer` carries only the container's id. Those are the calls that
# made something. From them, containerd and runc made the namespaces and the
# containers' cgroups you read above and below. The pod's cgroup and the QoS
# levels above it are not in any CRI call: the kubelet writes them itself (here
# labkit does, in its place), as «The pod's cgroups» shows.
#
# ## What the containers share
#
# **One network namespace** means one `localhost`. The sidecar reaches the app's
# web server there:

# %% tags=["nbval-check-output"]
reply = pod.exec("sidecar", "curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ answers:", reply.exit_code == 0 and "<html" in reply.output)

# %% [markdown]
# **One IPC namespace** means one set of System V IPC objects (message queues,
# semaphores, shared memory segments), found by a key or an id, and of POSIX
# message queues, found by a name: nothing found by a path in the container's
# file tree. The cell makes a System V message queue
# with the host's `ipcmk`, run in the app's IPC namespace (`lab.nsenter` does what
# nsenter's `--target` and `--ipc` options do). Then it looks for that queue, by
# its key, with `ipcs -q` in the sidecar's IPC namespace, and in the node's:
# `/proc/sysvipc/msg`, as this notebook (in the node's IPC namespace) reads it.

# %% tags=["nbval-check-output"]
pids = {m.name: m.pid for m in pod.members()}
made = lab.nsenter(pids["app"], ["ipc"], ["ipcmk", "-Q"])
print("ipcmk -Q in app's IPC namespace:", made.output.strip())


def queue_keys(ipcs_output):
    """The keys of the queues `ipcs -q` lists (0x-hex)."""
    return {line.split()[0] for line in ipcs_output.splitlines() if line.startswith("0x")}


in_app = queue_keys(lab.nsenter(pids["app"], ["ipc"], ["ipcs", "-q"]).output)
in_sidecar = queue_keys(lab.nsenter(pids["sidecar"], ["ipc"], ["ipcs", "-q"]).output)
node_rows = lab.node.read("/proc/sysvipc/msg").splitlines()[1:]
in_node = {f"0x{int(row.split()[0]) & 0xffffffff:08x}" for row in node_rows}
print("app's queue listed in the sidecar's IPC namespace:", bool(in_app) and in_app <= in_sidecar)
print("app's queue listed in the node's IPC namespace:", bool(in_app & in_node))

# %% [markdown]
# **`/dev/shm`** is another matter: it is a file system (tmpfs), and each
# container has its own mount namespace. A file the app writes there is still read
# by the sidecar:

# %% tags=["nbval-check-output"]
pod.exec("app", "echo 'hello from app' > /dev/shm/greeting")
greeting = pod.exec("sidecar", "cat /dev/shm/greeting").output.strip()
print("sidecar reads /dev/shm/greeting:", greeting)

# %% [markdown]
# That is because containerd makes one tmpfs per sandbox (64 MiB) and mounts it
# at `/dev/shm` in every container of the pod. With `hostIPC` it mounts the
# node's `/dev/shm` instead. Each container's mount table (`/proc/self/mountinfo`)
# shows it: one mount per container, of the same tmpfs (the same device number),
# and not the node's:

# %%
def shm_mount(mountinfo):
    """The /dev/shm line of a mountinfo: its fields before and after the ' - '."""
    line = next(line for line in mountinfo.splitlines() if line.split()[4] == "/dev/shm")
    before, after = line.split(" - ")
    return before.split(), after.split()


mounts = {c: shm_mount(pod.exec(c, "cat /proc/self/mountinfo").output) for c in ("app", "sidecar")}
for c, (_, after) in mounts.items():
    print(f"{c}: /dev/shm is {after[0]} {after[1]!r} ({after[2].split(',')[-1]})")
print("the same device in both:", mounts["app"][0][2] == mounts["sidecar"][0][2])
print("two mounts (one per mount namespace):", mounts["app"][0][0] != mounts["sidecar"][0][0])
node = [line.split()[2] for line in lab.node.read("/proc/self/mountinfo").splitlines()
        if line.split()[4] == "/dev/shm"]
print("the node's /dev/shm:", mounts["app"][0][2] in node)

# %% [markdown]
# So a common `/dev/shm` shows only that containerd mounted the same tmpfs into
# both, a choice it makes from the IPC mode (the node's `/dev/shm` under
# `hostIPC`). The message queue is what shows the shared IPC namespace.
#
# **One UTS namespace** means one hostname. The CRI has no UTS field: containerd
# joins every container to the sandbox's UTS namespace, and sets the hostname the
# kubelet sent there. Docker's pod emulation before Kubernetes 1.24 (dockershim)
# gave each container a UTS namespace of its own, with the same hostname written
# in each.

# %% tags=["nbval-check-output"]
print("hostnames:", {c: pod.exec(c, "hostname").output.strip() for c in ("app", "sidecar")})
print("app, sidecar and pause in one UTS namespace:",
      labels["app"]["uts"] == labels["sidecar"]["uts"] == "shared with pause")

# %% [markdown]
# ## What the Pod's flags change
#
# Four fields of a Pod's spec change the namespace modes the kubelet sends:
#
# * `shareProcessNamespace: true` moves PID from each container's own namespace
#   (`CONTAINER`) to the pod's (`POD`);
# * `hostNetwork`, `hostIPC` and `hostPID` move network, IPC or PID to the node's
#   (`NODE`), for the sandbox too.
#
# One pod per flag, and whose namespace pause and the app are in each time (`pod`:
# the one pause holds for the pod; `own`: a process's own; `node`: the host's):

# %% tags=["nbval-check-output"]
box = {"app": {"image": "busybox", "command": "sleep 600"}}


def whose(obs, member, ns):
    """node, pod or own: whose namespace of type ns the member is in."""
    mine = obs.member(member).namespaces[ns]
    other = obs.member("app" if member == "pause" else "pause").namespaces[ns]
    return "node" if mine == obs.host_namespaces[ns] else "pod" if mine == other else "own"


rows = {}
node_hostname = lab.node.read("/proc/sys/kernel/hostname").strip()
for flag in ("none", "shareProcessNamespace", "hostNetwork", "hostIPC", "hostPID"):
    keyword = {"shareProcessNamespace": "share_process_namespace", "hostNetwork": "host_network",
               "hostIPC": "host_ipc", "hostPID": "host_pid"}.get(flag)
    with lab.cri_pod(name="flags", containers=box, quiet=True,
                     **({keyword: True} if keyword else {})) as variant:
        seen = lab.observe(variant)
        for member in ("pause", "app"):
            rows[(flag, member)] = {ns: whose(seen, member, ns)
                                    for ns in ("net", "ipc", "uts", "pid")}
        if flag == "shareProcessNamespace":
            first = variant.exec("app", "cat /proc/1/comm").output.strip()
        if flag == "hostNetwork":
            same_name = variant.exec("app", "hostname").output.strip() == node_hostname
pd.DataFrame(rows).T.rename_axis(["flag", "process"])

# %% tags=["nbval-check-output"]
print("with shareProcessNamespace, PID 1 in the app's view is:", first)
print("with hostNetwork, the app's hostname is the node's:", same_name)

# %% [markdown]
# `hostNetwork` takes UTS along: the kubelet sends no hostname, and containerd
# keeps the node's UTS namespace for a pod on the node's network. With
# `shareProcessNamespace` every container is in pause's PID namespace, where pause
# is PID 1 and no container's own process is. `hostIPC` and `hostPID` each swap one
# namespace for the node's, for pause as for the app.
#
# Two more, which the table cannot show here:
#
# * The CRI has a fourth mode, `TARGET`: a container in another container's
#   namespace. The kubelet uses it for PID, for an ephemeral container started with
#   a target container (`kubectl debug --target`).
# * `hostUsers: false` gives the pod a user namespace of its own: alpha in
#   Kubernetes 1.25, beta in 1.30, on by default in 1.33, stable in 1.36.
#   containerd 1.6 and older ignore it, but since Kubernetes 1.30 the kubelet
#   catches that first: it refuses to create the pod when the runtime does not
#   report user-namespace support. labkit refuses it too on its containerd (the
#   versions cell says which one this machine runs; chapter 8 makes such a Pod on
#   Podman):

# %% tags=["nbval-check-output"]
try:
    lab.cri_pod(manifest.replace("spec:\n", "spec:\n  hostUsers: false\n", 1))
except labkit.LabError as refused:
    print(refused)

# %% [markdown]
# ## The pod's cgroups
#
# The kubelet makes the pod's cgroup itself, before it asks for the sandbox, and
# writes the values of the QoS levels above it. This is what labkit wrote in the
# kubelet's place for pod foo, as you could type it as root (on cgroup v1 the
# `cpuset.cpus` and `cpuset.mems` too, which a new cpuset cgroup needs before a
# process can join it):

# %%
print("\n".join(pod.plan.lines()))

# %% [markdown]
# labkit roots its kubelet tree at `/lk-<session>-node` instead of `/`, so it
# stays apart from a real kubelet's `/kubepods` (`/kubepods.slice` with the systemd
# driver), under the kubelet's default cgroup root, `/`. The tree as the kernel has
# it, with the memory limit and CPU quota of every cgroup (`memory.max` and
# `cpu.max` on cgroup v2, `memory.limit_in_bytes` and `cpu.cfs_quota_us` on v1):

# %%
tree = lab.node.tree(pod.cgroup_parent, ancestors=True)
print(views.cgroup_tree_text(tree, pod.names()))

# %% [markdown]
# And the CPU weight of every level, `cpu.weight` on cgroup v2 (`cpu.shares` on
# v1, as in the recording), which the tree does not print:

# %%
weight_file = "cpu.shares" if obs.cgroup_version == 1 else "cpu.weight"
names = pod.names()
lines = []
for level in tree.walk():
    limits = level.state.limits
    weight = limits.cpu_shares if obs.cgroup_version == 1 else limits.cpu_weight
    member = next((m for i, m in names.items() if i in level.name), "")
    shown = f"{weight_file} {weight!s:>5}  {level.path}" + (f"  ({member})" if member else "")
    lines.append((member, shown))
for _member, line in sorted(lines, key=lambda pair: pair[0]):  # the levels, then by name
    print(line)

# %% [markdown]
# The kubelet computes CPU weights in shares, which cgroup v1 holds as they are
# (`cpu.shares`, default 1024). On cgroup v2 the kubelet and runc write each as a
# `cpu.weight` (1 to 10000, default 100; 2 shares become 1), by a formula that
# changed in Kubernetes 1.35 and runc 1.3.2.
#
# Level by level:
#
# * **kubepods** has no limit at all in labkit. A kubelet gives it a memory limit
#   of the node's capacity minus the system and kubelet reservations (not minus
#   the eviction threshold, which the node's reported *allocatable* also
#   subtracts), and the CPU shares of the same amount of CPU: a weight, not a
#   quota.
# * The QoS levels: `besteffort` gets 2 shares. `burstable` gets the shares of
#   the summed CPU requests of all Burstable pods on the node: foo asks for no CPU,
#   so 2 here too. Guaranteed pods have no level: they sit right under `kubepods`.
# * **The pod** (`ResourceConfigForPod`): shares from the summed CPU requests
#   (at least 2). The memory limit is written only when every container has one,
#   and the CPU quota only when every container has a CPU limit. foo's two
#   containers both have a memory limit, so the pod's is their sum; neither has a
#   CPU limit, so the pod has no quota.
# * **The containers** get what `CreateContainer` asked, written by runc. With no
#   CPU request, that is 2 shares. pause gets 2 from containerd, and no
#   memory limit (see the sandbox request above).
#
# What the kubelet asked in `CreateContainer`, beside what the kernel holds:

# %%
for container in pod.spec.containers:
    asked = pod.linux_resources(container).config
    held = obs.member(container.name).state.limits
    weight = held.cpu_shares if obs.cgroup_version == 1 else held.cpu_weight
    print(f"{container.name}: asked memory {asked.memory}, cpu_shares {asked.cpu_shares}, "
          f"cpu_quota {asked.cpu_quota or 'none'}; the kernel holds memory {held.memory_bytes}, "
          f"{weight_file} {weight}, quota {held.cpu_quota_us or 'none'}")

# %% [markdown]
# ### The OOM scores
#
# The kubelet gives each container an `oom_score_adj` from the pod's QoS class:
# -997 for Guaranteed, 1000 for BestEffort, and for Burstable
# 1000 − 1000 × memory request / node memory, kept between 3 and 999. containerd
# asks -998 for pause. The kernel holds each process's score in
# `/proc/<pid>/oom_score_adj`:

# %%
memtotal = next(line for line in lab.node.read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal:"))
print("node memory,", memtotal)
for container in pod.spec.containers:
    asked = pod.linux_resources(container).oom_score_adj
    held = lab.node.read(f"/proc/{pids[container.name]}/oom_score_adj").strip()
    print(f"{container.name}: the kubelet asks {asked}, the kernel holds {held}")
held = lab.node.read(f"/proc/{pids['pause']}/oom_score_adj").strip()
print(f"pause: containerd asks -998, the kernel holds {held}")

# %% [markdown]
# A Burstable container's score follows its memory request's share of the node's
# memory, so these numbers depend on the machine. pause's score is where the next section picks up.
#
# ### With the systemd driver, and on cgroup v2
#
# This machine's kubelet tree is made of plain directories: labkit uses the
# *cgroupfs* driver wherever systemd does not manage the cgroups, and the
# *systemd* driver where it does. Which driver a real kubelet uses depends on
# its release. Since Kubernetes 1.34 it asks the runtime (the CRI's
# `RuntimeConfig`; containerd 2.x answers from the `SystemdCgroup` option of its
# runc runtime). containerd 1.x cannot answer, and then the kubelet falls back to
# its own `cgroupDriver` setting, a fallback KEP-4033 plans to remove in 1.38.
# Before 1.34 that setting decided alone: cgroupfs by default, systemd when
# kubeadm 1.22 or later wrote the kubelet's configuration. The systemd driver
# works on cgroup v2 and v1 alike, and is the usual one on v2. With it the same
# tree is systemd slices, and a dash in a slice's name means "inside":
# `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice`,
# with the UID's dashes written as `_`. containerd names each container's cgroup
# `cri-containerd-<id>.scope` there, and the plain 64-character id with cgroupfs.
# On cgroup v2 the whole tree is one hierarchy, so a process's `/proc/<pid>/cgroup`
# has one line, `0::/path`; on cgroup v1 it has a line per hierarchy, each for its
# own controllers. On cgroup v2, every container that is not privileged also gets a
# cgroup namespace of its own (pause does not), so inside it its own cgroup is `/`.
#
# ## QoS classes decide where the pod goes
#
# The kubelet places a pod by its QoS class, which `ComputePodQOS` computes from
# CPU and memory only, in every container, init containers included:
#
# * a request not written is set to its limit (the API server's defaulting);
# * **Guaranteed**: every container has a CPU and a memory limit, and the requests
#   equal the limits;
# * **BestEffort**: no container has a CPU or memory request or limit;
# * **Burstable**: anything else.
#
# Since Kubernetes 1.32 (alpha; beta and on by default since 1.34) a pod may also
# set resources for the whole pod (`spec.resources`), and those decide the class
# when they are set. labkit does not run them.
#
# Three pods, one per class: where the kubelet's rules put each, the CPU weight of
# the level above it (`cpu.weight` on cgroup v2, `cpu.shares` on v1), and its app's
# OOM score. The Burstable one asks for 250m of CPU:

# %%
variants = {
    "Guaranteed": {"app": {**box["app"], "memory": "64Mi", "cpus": "250m"}},
    "Burstable": {"app": {**box["app"], "memory": "64Mi", "requests_cpus": "250m"}},
    "BestEffort": {"app": box["app"]},
}
placed = {}
for expected, containers in variants.items():
    with lab.cri_pod(name="qos", containers=containers, quiet=True) as variant:
        above = variant.cgroup_parent.rsplit("/", 1)[0]
        tier = lab.node.tree(above).state.limits
        app = variant.spec.containers[0]
        asked = variant.linux_resources(app).oom_score_adj
        members = {m.name: m.pid for m in variant.members()}
        held = lab.node.read(f"/proc/{members['app']}/oom_score_adj").strip()
    placed[expected] = (variant.spec.qos_class, variant.cgroup_parent)
    print(f"{variant.spec.qos_class}: {variant.cgroup_parent}")
    shares = tier.cpu_shares if obs.cgroup_version == 1 else tier.cpu_weight
    print(f"    {weight_file} of {above.rsplit('/', 1)[1]}: {shares}")
    print(f"    app's oom_score_adj: the kubelet asks {asked}, the kernel holds {held}")

# %% tags=["nbval-check-output"]
levels = {"Guaranteed": "kubepods", "Burstable": "burstable", "BestEffort": "besteffort"}
for expected, (qos, path) in placed.items():
    parent = path.rsplit("/", 2)[1].removesuffix(".slice")
    print(f"{expected}: computed as {qos}, pod cgroup right under the {levels[expected]} level:",
          qos == expected and parent.endswith(levels[expected]))

# %% [markdown]
# The `burstable` level's shares follow the Burstable pods' requests (foo's
# nothing and this pod's 250m), and `besteffort` keeps 2. `kubepods` keeps the
# kernel's default weight (`cpu.weight` 100 on cgroup v2, `cpu.shares` 1024 on v1):
# labkit writes nothing there.
#
# Where the kubelet's score and the kernel's differ, containerd changed it.
# labkit runs its containerd with `restrict_oom_score_adj = true`, an option
# (off by default) for a containerd that may not lower scores: containerd then
# gives no container, pause included, a score below its own. On a node the
# option is off and containerd runs as root with the `CAP_SYS_RESOURCE`
# capability, so every score is set as asked. (Even with the option on, a
# containerd at -999, the `OOMScoreAdjust` of its systemd unit, would let -997
# and -998 through.) labkit tries to set -999 for its containerd too, but
# without the `CAP_SYS_RESOURCE` capability the kernel lets a process lower a
# score no further than the last value a process with it set. Where labkit
# cannot, containerd keeps the score of the process that started it, this
# notebook.
# Whether this notebook has the capability, and its score:

# %%
capabilities = next(line for line in lab.node.read("/proc/self/status").splitlines()
                    if line.startswith("CapEff:"))
print("CAP_SYS_RESOURCE (bit 24 of CapEff):", bool(int(capabilities.split()[1], 16) >> 24 & 1))
print("this notebook's oom_score_adj:", lab.node.read("/proc/self/oom_score_adj").strip())

# %% [markdown]
# ## When pause dies
#
# What happens to a pod when its sandbox's process dies? Two pods like foo, one of
# them with `shareProcessNamespace`, and `pod.kill_sandbox()` on each, which sends
# pause SIGKILL:

# %% tags=["nbval-check-output"]
web = {"app": {"image": "docker.io/kennethreitz/httpbin"},
       "sidecar": {"image": "curlimages/curl", "command": "sleep 3650d"}}
for shared in (False, True):
    with lab.cri_pod(name="fragile", containers=web, quiet=True,
                     share_process_namespace=shared) as fragile:
        fragile.kill_sandbox()
        for _ in range(100):  # containerd notes a container's exit a moment after the kernel
            states = fragile.states()
            if not shared or "Running" not in states.values():
                break
            time.sleep(0.1)
        print(f"shareProcessNamespace {str(shared).lower()}:",
              ", ".join(f"{name} {state}" for name, state in states.items()))
        if states["sidecar"] == "Running":
            answer = fragile.exec("sidecar", "curl -s http://localhost:80/")
            print("    sidecar → http://localhost:80/ still answers:", "<html" in answer.output)
        print("    crictl pods:", fragile.crictl_pods()[0]["STATE"])

# %% [markdown]
# Without `shareProcessNamespace` the containers keep running: they are not in
# pause's PID namespace, so pause's death does not touch them. `localhost` still
# answers because the network namespace lives on while a process is in it. With
# `shareProcessNamespace` pause is PID 1 of the containers' PID namespace, and
# when a PID namespace's init dies, the kernel kills every other process in it.
#
# No kubelet runs here, so nothing happens next. A kubelet would see the sandbox
# NotReady at its next sync (`computePodActions`,
# `pkg/kubelet/kuberuntime/kuberuntime_manager.go`):
#
# * the Pod object stays, with its name and UID;
# * it kills the pod's containers and asks for a new sandbox, attempt 1: a new
#   sandbox id and, off the node's network, a new network namespace, whose address
#   the network plugin gives it anew;
# * it starts the containers again as `restartPolicy` says: all of them with
#   `Always`; with `OnFailure`, all but those that had already exited
#   successfully; with `Never`, once containers have run, it makes no new
#   sandbox at all.
#
# ## On a real node
#
# On a cluster node that runs containerd, for one minikube started with
# `--container-runtime=containerd`, the same look works as root: `crictl pods`
# lists the sandbox, `crictl ps -a` the two containers, and
# `ctr -n k8s.io containers list` all three, pause included. Where the pod's
# cgroup is depends on the cgroup driver (the runtime's since Kubernetes 1.34,
# as above): the `kubepods-burstable-pod<uid>.slice` above with systemd (the usual
# driver on cgroup v2), `kubepods/burstable/pod<uid>` with cgroupfs.
#
# ## Exercises
#
# labkit's containerd belongs to this notebook's lab, so here you make pods with
# `lab.cri_pod(...)` (name them as the card says). **Check** reads the CRI and the
# kernel; **Hint** unfolds one hint at a time.
#
# **1.** Find the pause process of pod `foo` on the host (its PID):

# %%
exercises.get("02.pause-pid")

# %% [markdown]
# **2.** A pod on the node's network, from a manifest of your own:

# %%
exercises.get("02.hostnet")

# %%
# your code for exercise 2 here

# %% tags=["nbval-ignore-output"]
exercises.get("02.hostnet").check()

# %% [markdown]
# **3.** A Guaranteed pod:

# %%
exercises.get("02.steady-guaranteed")

# %%
# your code for exercise 3 here

# %% tags=["nbval-ignore-output"]
exercises.get("02.steady-guaranteed").check()

# %% [markdown]
# ## Clean up
#
# Running every cell keeps the chapter's pods for the exercises. The button
# removes everything this chapter made (pods, containerd, cgroups); leaving the
# notebook does too.

# %%
lab.cleanup_button()
