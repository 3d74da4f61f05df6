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
# # 6 · A Pod from scratch
#
# Every chapter so far had an engine in the middle: Docker, containerd's CRI,
# Podman. This one has none. The kernel has no Pod object. What it holds for a
# Pod's containers is processes that share some namespaces and sit under one
# cgroup, and that part we can build by hand, with util-linux's `unshare` and
# `nsenter`, `mount`, `chroot`, `ip` and the lab's busybox:
#
# * `unshare` starts a process in new namespaces: our **pause**;
# * `nsenter` starts a process inside some of another process's namespaces, and
#   `unshare` then gives it namespaces of its own: our **containers**;
# * `mkdir` and `echo` in `/sys/fs/cgroup` make the pod's cgroup with its
#   limits, and one cgroup per container under it;
# * `chroot` puts each process in a root file system of its own: the lab's
#   busybox, unpacked once per member.
#
# Then we read the result exactly as we read the CRI pod of chapter 2, side by
# side with it, and look at what a real runtime adds. This chapter needs root: it
# makes namespaces, mounts file systems, calls `chroot` and writes cgroups.

# %% tags=["nbval-ignore-output"]
from pathlib import Path

import pandas as pd

import labkit
from labkit import views

lab = labkit.chapter_lab("06")
print(lab.versions())

# %% [markdown]
# The line above is this machine: where a sentence below depends on the kernel,
# the cgroup version, containerd, runc or util-linux, these are the versions it is
# read against. Now the article's manifest, the same one chapter 2 turned into CRI
# requests:

# %% tags=["nbval-check-output"]
manifest = Path("manifests/foo-pod.yaml").read_text()
pod = lab.scratch_pod(manifest)
print(f"pod {pod.name} ({pod.kind}): {pod.state}, "
      f"{len(pod.members())} members: {', '.join(m.name for m in pod.members())}")

# %% [markdown]
# No image is pulled or stored: every member runs the lab's busybox, and the
# two notes say what stands in for the manifest's images.
#
# This chapter asks before it shows, and ends with an exercise checked against the
# machine; your progress is kept between sessions:

# %% tags=["nbval-ignore-output"]
from labkit import exercises

exercises.use(lab)
exercises.progress_widget("06")

# %% [markdown]
# ## What labkit ran
#
# `pod.commands()` is the plan labkit carried out, step by step, written as a
# root shell would type it. labkit runs the same steps itself, in this order
# (for the root file systems it writes the archive's files directly instead of
# running `tar`). A test of the lab types these lines into bash and compares what
# the kernel then says. First the cgroups:

# %%
made = pod.commands()
starts = ("unshare", "nsenter", "until")
for line in made:
    if "/sys/fs/cgroup" in line and not line.startswith(starts):
        print(line)

# %% [markdown]
# On cgroup v2 there is one tree, at `/sys/fs/cgroup`, and one `mkdir` makes a
# cgroup for every controller its parent enables: a cgroup lists in its
# `cgroup.subtree_control` the controllers whose files its children get. So the
# plan's writes there first hand the cpu, memory and pids controllers down to the
# pod's cgroup and its children. The pod's cgroup then holds no process itself:
# cgroup v2 allows none in a cgroup that hands controllers down. On cgroup v1, as on
# this machine: one directory for the pod and one per member, in each v1 hierarchy
# the loops name, which are the v1 hierarchies mounted here. Each v1 hierarchy is a
# tree of its own, mounted under `/sys/fs/cgroup`, and one hierarchy may hold
# several controllers: many systemd hosts mount `cpu` and `cpuacct` together, as
# `/sys/fs/cgroup/cpu,cpuacct`. The next cell shows which hierarchies hold the app.
#
# The memory limits and CPU weights are the ones a node writes for this manifest.
# A memory limit goes as it is to `memory.max` on cgroup v2 (`memory.limit_in_bytes`
# on v1); a CPU weight is counted in shares, v1's unit, and converted on v2 (below):
#
# * the pod's cgroup gets what the kubelet's `ResourceConfigForPod` computes: a
#   memory limit that is the sum of the containers' (only because *every*
#   container here declares one), and 2 shares, the least the kubelet writes,
#   because no container asks for CPU;
# * pause gets 2 shares, as containerd gives every sandbox;
# * each container gets its own memory limit and shares from its CPU request
#   (none here, so 2 again).
#
# A node sets more, which this pod leaves out: for each container the kubelet also
# asks for a swap limit (where the node has a swap controller) and an OOM score
# adjustment (`oom_score_adj`, a value of the process, not of its cgroup), and
# containerd 1.6 gives pause an OOM score adjustment of -998.
#
# On cgroup v2 a CPU weight is `cpu.weight`, from 1 to 10000 instead of
# `cpu.shares`' 2 to 262144, so the shares are converted, as runc converts a
# container's and the kubelet its pod cgroup's: 2 becomes 1. On v1, as here, the
# shares go to `cpu.shares` as they are.
#
# On cgroup v2 an empty `cpuset.cpus` or `cpuset.mems` means the nearest
# ancestor's, so a new cgroup needs neither. On v1 a new `cpuset` cgroup starts
# with no CPUs and no memory nodes (unless its parent's `cgroup.clone_children` is
# 1, or the cpuset hierarchy is mounted with `cpuset_v2_mode`), and the kernel will
# not put a process in a cpuset cgroup that has none; so the plan copies
# `cpuset.cpus` and `cpuset.mems` from the parent first, as runc does.

# %%
app_cgroups = lab.node.cgroups(pod["app"].pid)  # /proc/<app>/cgroup, one line per hierarchy
print("hierarchies that hold the app's cgroup:",
      ", ".join(sorted(h for h, path in app_cgroups.items()
                       if path.startswith(pod.cgroup_parent))))
print("hierarchies where the app stays where it was started:",
      ", ".join(sorted(h for h, path in app_cgroups.items()
                       if not path.startswith(pod.cgroup_parent))) or "none")
raw = lab.node.read(f"/proc/{pod['app'].pid}/cgroup").splitlines()
print("its lines with no controller name (the v2 tree's):",
      ", ".join(line.split(":")[0] + "::…" for line in raw if line.split(":")[1] == "")
      or "none")

# %% [markdown]
# The names above come from `/proc/<pid>/cgroup`, which has one line per
# hierarchy: its ID, its controllers, the process's cgroup in it. The v2 tree's
# line has ID 0 and no controller name (`0::…`): labkit calls that hierarchy
# `unified`. On cgroup v2 it is the only line. A v1 line names its controllers
# (`memory`, or `cpu,cpuacct` where the two are mounted together; listed apart, as
# `cpu` and `cpuacct`, they are two hierarchies, each with a directory for the
# app). On a hybrid host (cgroup v1 with a v2 tree beside it) this plan leaves the
# app where it was started in the v2 tree; runc 1.1.5, by contrast, also puts a
# container's process into a cgroup of its own in the v2 tree.
#
# Next the pod's files: its `/dev/shm`, a 64 MiB tmpfs with mode 1777 as
# containerd 1.6 mounts one for each sandbox (containerd adds `nosuid`, `nodev`
# and `noexec`); a root file system per member, unpacked from the lab's busybox
# archive; and each member's `/etc/hosts`. A runtime does not unpack an image
# per container: containerd unpacks its layers once, and gives each container a
# writable snapshot on top of them.

# %%
for line in made:
    if "/sys/fs/cgroup" not in line and not line.startswith(starts):
        print(line)

# %% [markdown]
# Then pause:

# %%
print(next(line for line in made if line.startswith("unshare")))
print(next(line for line in made if line.startswith("until")))

# %% [markdown]
# `unshare` calls `unshare(2)` for new net, IPC, UTS, PID and mount namespaces,
# then, with `--fork`, starts its child. That child is PID 1 of the new PID
# namespace (a process that unshares a PID namespace stays outside it; only its
# children enter). The child:
#
# * joins its cgroup with `echo $$ > …/pause/cgroup.procs` (one file on cgroup v2,
#   one per hierarchy on v1). In that shell `$$` is **1**, its PID inside the new
#   namespace. It works because the kernel reads a PID written to `cgroup.procs` in
#   the writer's own PID namespace, so 1 is the writer itself (writing 0 means the
#   writer too);
# * names the host after the pod, brings up `lo`, and mounts `/proc` and four
#   device files into its root file system. These mounts stay in its own mount
#   namespace: `unshare` (util-linux 2.27 and later) makes mount propagation
#   private in a new mount namespace;
# * `exec`s `chroot` into that root, to run the lab's pause: a shell script that
#   sleeps (a `sleep` child it waits for), and leaves on SIGTERM.
#
# `&` leaves it running in the background; `$!` is the PID of that `unshare`, and
# the `until` loop reads its child's PID from `/proc/$!/task/$!/children` as soon
# as there is one: pause's host PID, kept in `$PAUSE`. That file is there only in
# a kernel built with `CONFIG_PROC_CHILDREN` (the cell below reads it). If
# `unshare` has ended instead (`kill -0 $!` fails), the loop stops and `$PAUSE`
# stays empty. The kernel agrees:

# %% tags=["nbval-check-output"]
pause = pod["pause"].pid
status = lab.node.read(f"/proc/{pause}/status")
nspid = next(line for line in status.splitlines() if line.startswith("NSpid:")).split()
print("pause's PID inside its PID namespace:", nspid[-1])
print("pause's cgroup, though its shell wrote 1:",
      next(p for p in lab.node.cgroups(pause).values() if p.startswith(pod.cgroup_parent)))
parent = next(line for line in status.splitlines() if line.startswith("PPid:")).split()[1]
print("pause's parent:", lab.node.read(f"/proc/{parent}/comm").strip(),
      "· its task/<pid>/children lists pause:",
      lab.node.read(f"/proc/{parent}/task/{parent}/children").split() == [str(pause)])

# %% [markdown]
# Now the containers. Before you read their lines: which namespaces does the app
# share with pause?

# %%
exercises.get("06.joined-namespaces")

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
for line in made:
    if line.startswith("nsenter"):
        print(line, end="\n\n")

# %% [markdown]
# Once you have answered, unfold the lines above. For each namespace option it
# is given, `nsenter --target $PAUSE` opens that type's file in `/proc/$PAUSE/ns/`
# and joins pause's namespace of that type; the `unshare` it then runs makes new
# namespaces of the types its own options name, and the same steps follow as for
# pause: the cgroup, `/proc`, the devices, the pod's `/dev/shm` bound onto
# the container's, `chroot`. containerd 1.6 asks runc for the same: a container's
# spec names pause's `/proc/<pid>/ns/…` files for the types it shares, and runc
# opens them and joins.
#
# ## The same matrix as chapter 2's
#
# `lab.observe(pod)` reads the members' namespaces and cgroups exactly as it
# does for every other kind of pod. pause is listed first, so what it holds
# shows as `shared with pause` in the other rows (and as `held for the pod` in
# its own). Blue is shared in the pod, orange is a process's own, grey is the
# host's:

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
obs = lab.observe(pod)
views.sharing_colours(obs)

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
table = views.namespace_table(obs, "app")
table.insert(0, "pause", [obs.member("pause").namespaces.get(ns) for ns in table.index])
table

# %% [markdown]
# Now the CRI pod of chapter 2, made from the same manifest on labkit's
# containerd, and the two matrices compared cell by cell:

# %% tags=["nbval-check-output", "reveal"] jupyter={"outputs_hidden": true, "source_hidden": true}
cri = lab.cri_pod(manifest, quiet=True)
cri_obs = lab.observe(cri)
five = ("ipc", "mnt", "net", "pid", "uts")


def labels_of(o):
    """sharing_labels, with pause's own namespaces that others share read as the matrix
    above reads them: held for the pod."""
    labels = views.sharing_labels(o)
    for ns in five:
        if any(labels[m][ns] == "shared with pause" for m in labels):
            labels["pause"][ns] = "held for the pod"
    return labels


ours, theirs = labels_of(obs), labels_of(cri_obs)
side = pd.DataFrame({(kind, ns): {m: labels[m][ns] for m in labels}
                     for kind, labels in (("from scratch", ours), ("CRI", theirs))
                     for ns in five})
side.rename_axis("member")

# %% [markdown]
# The same two readings as pictures, one above the other: a row per namespace
# type, a box per namespace, each process drawn in the boxes it is in.

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
views.namespace_boxes_by_kind({"pod from scratch": obs, "CRI pod (chapter 2)": cri_obs})

# %% tags=["nbval-check-output", "reveal"] jupyter={"outputs_hidden": true}
print("same label for every member in these five namespaces:",
      all(ours[m][ns] == theirs[m][ns] for m in ours for ns in five))
print("pause holds for the pod:",
      ", ".join(ns for ns in five if ours["pause"][ns] == "held for the pod"))
print("pause's own:", ", ".join(ns for ns in five if ours["pause"][ns] == "own"))
print("app and sidecar join pause's:",
      ", ".join(ns for ns in five if ours["app"][ns] == ours["sidecar"][ns] == "shared with pause"))

# %% [markdown]
# The same labels, row for row: containerd and runc built for chapter 2 the
# namespaces `unshare` and `nsenter` built here. One column can
# differ with the cgroup version. On a cgroup v2 host containerd's CRI plugin
# (1.6) asks runc for a cgroup namespace of their own for every container that is
# not privileged (not for pause); runc makes one only when asked. Whether this
# pod makes one:

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
print("the app's cgroup namespace:",
      {kind: labels["app"]["cgroup"] for kind, labels in (("from scratch", ours), ("CRI", theirs))})

# %% [markdown]
# ## What this pod does not have
#
# The same namespaces do not make the same container. Here is what the kernel
# says about each pod's app beyond its namespaces:

# %% tags=["nbval-check-output"]
mine = lab.node.read("/proc/self/status")  # labkit's own process, which started the pod


def beyond_namespaces(o, p, name):
    pid = o.member(name).member.pid
    fields = dict(line.split(":", 1) for line in lab.node.read(f"/proc/{pid}/status").splitlines())
    caps = fields["CapEff"].strip()
    links = p.exec(name, "ip -o link").output.split("\n")
    addresses = [line.split()[1:4:2] for line in p.exec(name, "ip -o addr").output.split("\n")
                 if line.strip() and "scope link" not in line]  # [interface, address/prefix]
    return {
        "root directory (readlink /proc/<pid>/root)": lab.node.read(f"/proc/{pid}/root"),
        "user id (Uid)": fields["Uid"].split()[0],
        "capabilities (CapEff)": "all of root's here" if f"CapEff:\t{caps}" in mine
                                 else f"{caps}: {bin(int(caps, 16)).count('1')} of them",
        "seccomp mode (0: none)": fields["Seccomp"].strip(),
        "user namespace": views.sharing_labels(o)[name]["user"],
        "network interfaces": ", ".join(sorted(line.split(":")[1].strip().split("@")[0]
                                               for line in links if line.strip())),
        "addresses (ip -o addr, not link-local)": ", ".join(
            f"{interface} {address}" if interface == "lo" else f"{interface} the Pod's IP"
            for interface, address in sorted(addresses)),
    }


pd.DataFrame({"from scratch": beyond_namespaces(obs, pod, "app"),
              "CRI": beyond_namespaces(cri_obs, cri, "app")})

# %% [markdown]
# * **Root directory.** `chroot` changes one thing, where a process's paths
#   start; the host's whole file tree stays mounted in the app's mount
#   namespace, above that directory. By default runc does not `chroot` a
#   container that has a mount namespace: it calls `pivot_root`, which makes the
#   container's root file system the root of its mount namespace, and then
#   detaches the old root. So the CRI app's root is `/`. (With runc's
#   `--no-pivot`, which containerd's `NoPivotRoot` option asks for, runc moves
#   the root file system onto `/` and calls `chroot` instead.)
# * **Capabilities.** The app from scratch keeps every capability root has here.
#   With `CAP_SYS_CHROOT` a process can get out of a `chroot` (the `chroot(2)`
#   manual shows how, and says `chroot` is not meant as a security boundary), and
#   out of this one it reaches the host's files. The CRI app has containerd's
#   default set of 14. `CAP_SYS_CHROOT` is among them, but after `pivot_root`
#   there is no host tree left in its mount namespace to reach.
# * **seccomp.** Neither has a filter. Kubernetes runs a container
#   `Unconfined` unless `seccompProfile` (in the Pod's or the container's
#   `securityContext`) asks for `RuntimeDefault`, the runtime's default profile,
#   or a `Localhost` profile from the node, or the kubelet runs with
#   `--seccomp-default`; a privileged container is always `Unconfined`.
# * **User namespace.** Both run as user 0 in the host's user namespace: the
#   host's root. A Pod gets a user namespace of its own only with
#   `hostUsers: false`, and only where the runtime supports it: from Kubernetes
#   1.27 that takes containerd 2.0 or later with runc 1.2 or later, on Linux 6.3
#   or later. containerd 1.6 ignores the field without a word.
# * **Network.** This pod's network namespace has `lo` only, with the loopback
#   addresses the kernel gives `lo` when it is brought up (`127.0.0.1`, `::1`):
#   no interface and no address that anything outside the namespace can reach.
#   A CRI runtime makes the sandbox's network namespace and asks its CNI plugins
#   for an interface and an address in it; that is the Pod's IP.
#
# So a Pod's namespaces and cgroups need no more than `unshare`, `nsenter`,
# `mkdir` and `echo`; a Pod as Kubernetes runs it also needs its network, its
# volumes and the isolation a runtime adds.
#
# ## Talking over localhost, System V IPC and /dev/shm
#
# One network namespace means one `lo`: the sidecar reaches the app's web server
# on `localhost`. One UTS namespace means one hostname.

# %% tags=["nbval-check-output"]
reply = pod.exec("sidecar", "curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ :", reply.exit_code == 0 and "<html" in reply.output)
print("hostnames:", {c: pod.exec(c, "hostname").output.strip() for c in ("app", "sidecar")})
print("PID 1 as the sidecar sees it:", pod.exec("sidecar", "cat /proc/1/comm").output.strip())

# %% [markdown]
# One IPC namespace means one set of System V IPC objects (message queues,
# semaphores, shared memory segments) and POSIX message queues: objects that have
# no path in a file system. `lab.nsenter` runs the host's `ipcmk` and `ipcs` in
# a process's IPC namespace, as `nsenter --target <pid> --ipc` does. A queue made
# in the app's IPC namespace is there for the sidecar, and not for another pod:

# %% tags=["nbval-check-output"]
made_queue = lab.nsenter(pod["app"].pid, ["ipc"], ["ipcmk", "-Q"])
queue = made_queue.output.split()[-1]  # "Message queue id: 0"
print("the app's IPC namespace made message queue", queue)
print("the sidecar's ipcs -q lists it:",
      any(line.split()[1:2] == [queue] for line in
          lab.nsenter(pod["sidecar"].pid, ["ipc"], ["ipcs", "-q"]).output.splitlines()
          if line.startswith("0x")))
print("the CRI pod's app lists any queue:",
      any(line.startswith("0x") for line in
          lab.nsenter(cri_obs.member("app").member.pid, ["ipc"], ["ipcs", "-q"]).output.splitlines()))

# %% [markdown]
# `/dev/shm` is another matter. POSIX shared memory (`shm_open`) is files in a
# tmpfs mounted at `/dev/shm`, and who sees a file system is decided by mounts,
# not by the IPC namespace. The pod's `/dev/shm` is the tmpfs from the plan,
# bound onto each container's `/dev/shm` (containerd binds its sandbox's into
# every container the same way; with `hostIPC: true` it binds the host's).
# So a file the app writes there is there for the sidecar:

# %% tags=["nbval-check-output"]
pod.exec("app", "echo 'hello from app' > /dev/shm/greeting")
print("sidecar reads from /dev/shm:", pod.exec("sidecar", "cat /dev/shm/greeting").output.strip())
shm = {c: pod.exec(c, "stat -f -c %T /dev/shm; stat -c %d /dev/shm").output.split()
       for c in ("app", "sidecar")}
print("file system type at /dev/shm:", {c: seen[0] for c, seen in shm.items()})
print("the same file system in app and sidecar:", shm["app"][1] == shm["sidecar"][1])
print("mounted with size=65536k:",
      "size=65536k" in pod.exec("app", "grep ' /dev/shm ' /proc/self/mountinfo").output)

# %% [markdown]
# The queue shows the IPC namespace at work; the file shows a shared mount. A pod
# with one IPC namespace but a `/dev/shm` per container would pass the first test
# and fail the second.
#
# `pod.exec` runs a command in a member the way the member was made. Here is
# what `pod.exec("sidecar", "hostname")` runs, as you could type it: `$SIDECAR`
# is the first PID the sidecar's cgroup lists (`head -1`), which is the sidecar's
# own process while nothing else runs in that cgroup, as here between two
# `pod.exec` calls; then join the member's cgroup, and `nsenter` into its mount,
# UTS, IPC, net and PID namespaces and its root.

# %%
print("\n".join(pod.exec_command("sidecar", "hostname")))

# %% [markdown]
# ## One cgroup for the pod
#
# The pod's cgroup holds the pod-level limit; each member's cgroup under it holds
# its own. Beside it, the CRI pod's. With the systemd cgroup driver, usual on
# cgroup v2, the pod's cgroup is a slice inside `kubepods-burstable.slice` and
# each container's a scope. Here, with the cgroupfs driver, the kubelet names the
# pod's cgroup `pod<uid>` and puts it under `kubepods/burstable` for this
# Burstable pod, and containerd names each container's cgroup by the container's
# id.

# %% tags=["nbval-check-output"]
print(views.cgroup_tree_text(obs.trees[0], pod.names()))

# %%
print(views.cgroup_tree_text(cri_obs.trees[0], cri.names()).replace(cri.spec.uid, "<uid>"))

# %% [markdown]
# The tree shows memory and CPU quota only. The CPU weight is in the kernel's
# files as well (`cpu.weight` on cgroup v2, `cpu.shares` on v1), and both pods
# have the same values:

# %%
def kernel_values(o):
    cgroups = {"pod": o.trees[0].state.limits, **{m.name: m.state.limits for m in o.members}}
    return {(who, what): value for who, limits in cgroups.items() for what, value in (
        ("memory", f"{limits.memory_bytes >> 20} MiB" if limits.memory_bytes else "no limit"),
        ("cpu weight", limits.cpu_shares or limits.cpu_weight))}


values = pd.DataFrame({"from scratch": kernel_values(obs), "CRI": kernel_values(cri_obs)})
values

# %% tags=["nbval-check-output"]
print("the same values in both pods:", values["from scratch"].equals(values["CRI"]))
for member in obs.members:
    print(f"{member.name}: in {member.cgroup}")

# %% [markdown]
# Where is pause on the host? Find its PID, with the cgroup as your map. Answer
# before you run the next section: its first cell kills pause.

# %%
exercises.get("06.pause-pid")

# %% [markdown]
# ## When pause dies
#
# Kill pause with SIGKILL, as if the sandbox crashed, and see what is left:

# %% tags=["nbval-check-output"]
pod.kill_sandbox()
print("pod:", pod.state)
print("still running:", ", ".join(m.name for m in pod.members()))
after = lab.observe(pod)
print("sidecar's net namespace now:", views.sharing_labels(after)["sidecar"]["net"])
reply = pod.exec("sidecar", "curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ still:", reply.exit_code == 0 and "<html" in reply.output)

# %% [markdown]
# The containers live on because nothing ties their lives to pause's. They share
# some namespaces with it, and a namespace is not a process: it outlives any one
# of its members. They are not pause's children either (each is the child of its
# own `unshare`). What the kernel did kill is every process in pause's *PID*
# namespace: when the first process of a PID namespace dies, the kernel sends
# SIGKILL to all the others in it. Pause's cgroup held pause and its `sleep`:

# %% tags=["nbval-check-output"]
left = {node.name: node.state.usage.pids_current for node in after.trees[0].walk()}
print("processes left in each cgroup:", {m: left[m] for m in ("pause", "app", "sidecar")})

# %% [markdown]
# The network namespace lives on too, and that is why `localhost` still answers:
# the kernel keeps a namespace while a process is in it (or an open
# `/proc/<pid>/ns/…` file, or a bind mount of one, holds it). Who is in this one
# now? The app's `httpd`, the sidecar's `sleep`, and the two `unshare` processes
# labkit started for them, which joined the pod's namespaces, forked the
# containers and wait for them, outside the pod's cgroup:

# %% tags=["nbval-check-output"]
net = lab.node.namespaces(pod["sidecar"].pid)["net"]
print("in the pod's network namespace:",
      ", ".join(sorted(lab.node.read(f"/proc/{p}/comm").strip()
                       for p, ns in lab.node.namespace_map().items() if ns.get("net") == net)))

# %% [markdown]
# With `shareProcessNamespace: true` it is the other way round: the containers
# join pause's PID namespace, so pause's death takes them with it. A small pod
# shows it:

# %% tags=["nbval-check-output"]
shared = lab.scratch_pod(name="shared", containers={"app": {"image": "nginx"}},
                         share_process_namespace=True, quiet=True)
print("app's PID namespace:", views.sharing_labels(lab.observe(shared))["app"]["pid"])
shared.kill_sandbox()
print("processes left in its cgroups:",
      {node.name: node.state.usage.pids_current
       for node in lab.node.tree(shared.cgroup_parent).walk() if node.name in ("pause", "app")})

# %% [markdown]
# Back to `foo`. Can anything still join it? Pause's `/proc/<pid>/ns/*` files
# went with pause, so `nsenter --target <pause's PID>` has nothing to open. But
# any process still in the namespaces is a door: `nsenter --target <app's PID>
# --net` joins the same network namespace the sidecar is in.

# %% tags=["nbval-check-output"]
joined = pod.try_join("net")  # nsenter --target <pause's old PID> --net true
print("nsenter --target <pause> --net:", "refused" if joined.exit_code else "joined",
      "(no such process)" if "No such" in joined.output else "")
through_app = lab.nsenter(pod["app"].pid, ["net"], ["readlink", "/proc/self/ns/net"])
print("nsenter --target <app> --net joins the sidecar's network namespace:",
      through_app.output.strip() == lab.node.ns_links(pod["sidecar"].pid)["net"])

# %% [markdown]
# What is lost is pause's PID as the pod's handle, and the promise that the
# namespaces outlive the containers. For the network namespace a runtime does not
# leave that to one process: containerd 1.6 makes a sandbox's network namespace
# itself and bind-mounts it under `/var/run/netns` (labkit's containerd keeps it
# under its own state directory instead), so it lives even with no process in it.
# Here, `touch FILE` and then `unshare --net=FILE …` would have done the same. The
# IPC and UTS namespaces get no such mount from containerd 1.6: processes alone
# hold them, as here. And for each new container containerd 1.6 still names
# pause's `/proc/<pid>/ns/net`, `ipc` and `uts` in the container's spec, and runc
# opens them, as `nsenter` did here: with pause gone, there is nothing at those
# paths.
#
# Nobody reacts here: a pod from scratch has no kubelet. On a node, the kubelet
# would see the sandbox `NotReady` on its next sync and, for the same Pod (same
# object, same UID), stop the containers, make a new sandbox (a new pause, a new
# network namespace and so, normally, a new IP), and start the containers again
# as the Pod's `restartPolicy` allows: with `Never`, once the containers have run,
# it makes no new sandbox. labkit makes the kubelet's calls when it creates a pod
# and does not watch the pod afterwards, so the CRI pod keeps its containers when
# its pause is killed, and containerd calls its sandbox `NotReady`:

# %% tags=["nbval-check-output"]
cri.kill_sandbox()
print("CRI pod:", cri.state, cri.states())

# %% [markdown]
# ## Exercise
#
# The check reads only the kernel: the pod's cgroup, the processes in it, their
# namespaces. **Check** gives a verdict, **Hint** unfolds one hint at a time.
#
# **1.** A third container, added by hand. Make a pod from scratch named `trio`
# in the cell below, for example
# `trio = lab.scratch_pod(name="trio", containers={"app": {"image": "nginx"}})`,
# then start a container `debug` in it yourself, from a terminal (File ▸ New ▸
# Terminal): this chapter runs in a lab opened as root (`sudo ./lab up`), so its
# terminal is a root shell.

# %%
exercises.get("06.third-container")

# %%
# your code for exercise 1 here

# %% tags=["nbval-ignore-output"]
exercises.get("06.third-container").check()

# %% [markdown]
# ## Clean up
#
# The button removes this chapter's pods: it kills what is in each pod's cgroup
# (pause takes its PID namespace with it, each container its own), then removes
# the cgroups, unmounts the pod's `/dev/shm` and deletes the root file systems;
# the CRI pod goes with labkit's containerd. Leaving the notebook does the same.

# %%
lab.cleanup_button()
