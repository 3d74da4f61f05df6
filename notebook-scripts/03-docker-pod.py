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
# # 3 · A Pod made of plain Docker containers
#
# A Kubernetes Pod is a group of containers that share some of their namespaces and
# sit under one cgroup of the pod's. Docker can start a container in another
# container's namespaces and put containers under a cgroup parent you choose, so we
# can build the same shape by hand:
#
# 1. a **parent cgroup** for the whole pod, holding the values the kubelet's rules
#    give a pod's cgroup (labkit applies them; no kubelet runs here);
# 2. a **sandbox** container that holds the pod's namespaces. On a Kubernetes node
#    the CRI calls the whole group a *pod sandbox*; its container runs a program
#    called *pause*, from an image of that name (CRI-O and Podman call that
#    container the *infra* container). pause sleeps, and when it is the first
#    process of a PID namespace shared by the pod, it also reaps the orphaned
#    processes that end there. Our sandbox runs plain `sleep`, which reaps
#    nothing (a cell below shows what that leaves);
# 3. the pod's **app** and **sidecar**, started in some of the sandbox's namespaces,
#    each with its own limits.
#
# Then we ask the kernel how close this comes to the real thing.

# %%
from pathlib import Path

import labkit
from labkit import views

lab = labkit.chapter_lab("03")
manifest = Path("manifests/foo-pod.yaml").read_text()
print(manifest)

# %% [markdown]
# labkit turns the manifest into Docker calls. Some of what you will see depends on
# versions (of Docker, of its Python SDK, of the kernel, of the cgroup version), on
# Docker's cgroup driver, and on whether the article's images are on this machine;
# where they are not (offline, at a workshop), labkit runs its own stand-ins: an
# HTTP server for the app, a small `curl` for the sidecar. This cell says which of
# each this machine has:

# %% tags=["nbval-ignore-output"]
from importlib.metadata import version

print(lab.versions(), "· Docker SDK for Python", version("docker"))
print("Docker's cgroup driver:", lab.docker.cgroup_driver)
print(lab.describe("docker.io/kennethreitz/httpbin", "curlimages/curl"))

# %% [markdown]
# This chapter asks you things along the way and ends with exercises. Each is
# checked against the machine itself, not against the code you type; your
# progress is kept between sessions (`labkit progress` prints it in a terminal):

# %% tags=["nbval-ignore-output"]
from labkit import exercises

exercises.use(lab)
exercises.progress_widget("03")

# %% [markdown]
# ## The pod
#
# One call makes the whole pod from the manifest: the parent cgroup, the sandbox,
# then the app and the sidecar.

# %% tags=["nbval-check-output"]
pod = lab.docker_pod(manifest)
print("pod foo is", pod.state)

# %% [markdown]
# ## Who owns which namespace
#
# The sandbox comes first, so a namespace it holds shows up as `shared with
# sandbox` for the others. Before you look, make your guess: pick the namespaces
# you expect the sidecar to share with the sandbox and press **Check**. The
# answer is compared with what the kernel says.

# %%
exercises.get("03.shared-namespaces")

# %% [markdown]
# The next three cells show the answer: the kernel's matrix, the same in words,
# and the namespaces drawn as boxes, each process inside the ones it is in. Their
# outputs open folded.

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
obs = lab.observe(pod)
views.sharing_colours(obs)

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true, "source_hidden": true}
labels = views.sharing_labels(obs)
for ns in ("net", "ipc", "uts", "pid", "mnt"):
    sharing = [m for m in ("app", "sidecar") if labels[m][ns] == "shared with sandbox"]
    print(f"{ns:4} shared with the sandbox by: {', '.join(sharing) or 'nobody'}")

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
views.namespace_boxes(obs, title="the article's Pod, emulated with Docker")

# %% [markdown]
# Once you have checked your guess, unfold the three outputs above. Why does it
# come out this way? Two namespaces are the pod's, network and IPC: the sidecar
# was started in the sandbox's. Mount and PID stay private to each container, as
# in a Pod without `shareProcessNamespace`. UTS is the odd one out: compare its row
# of boxes with chapter 2's picture, where the pause container, the app and the
# sidecar share one box; here each has a box of its own. More on that below.
#
# ## The commands labkit ran
#
# labkit made the pod with a plan of plain commands and executed it step by step.
# Here is the plan, as a root shell types it:

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
for line in pod.commands():
    print(line)

# %% [markdown]
# Read it line by line:
#
# * **Names and labels.** Every name starts with `lk-<session>-`, the prefix of this
#   lab session (another notebook has another), and every container carries the
#   labels `io.labkit.owner=labkit` and `io.labkit.session=<session>`. That is how the
#   lab's cleanup finds what this session made, and it finds what you type with the
#   same names and labels too.
# * **The parent cgroup.** On a cgroup v2 host that runs systemd, Docker 20.10
#   picks the **systemd cgroup driver** by itself. `--cgroup-parent` must then name
#   a *slice*, such as `foo.slice`, not a path (Docker 20.10 refuses anything else),
#   and the plan makes one with `systemctl` instead of `mkdir` and `echo`. On this
#   machine Docker uses the cgroupfs driver (the first cell said so), so the pod's
#   parent is a plain directory, and `--cgroup-parent` its path. `mkdir` makes it
#   in each cgroup v1 hierarchy mounted here (the cell after this list prints them,
#   from the kernel's mount table). `echo` writes into it the pod's values by the
#   kubelet's rules: the memory limit (256 MiB + 128 MiB; `memory.max` on cgroup
#   v2, here v1's `memory.limit_in_bytes`) and the CPU weight (`cpu.weight` 1 on
#   v2, here v1's `cpu.shares` 2). The two cpuset lines are not the pod's: they
#   copy the root cpuset's `cpus` and `mems` (this machine's CPUs and memory
#   nodes). A new v1 cpuset cgroup starts with both empty, and the kernel lets no
#   process join it until both are set; on v2 a new cgroup uses its parent's, so
#   the plan has no such lines there. runc 1.1.5 would make a missing parent by
#   itself (on v1 with the cpuset values copied the same way), but it would not
#   write the pod's memory limit and shares.
# * **The sandbox**: `--hostname foo` (the pod's name), `--ipc shareable` (Docker
#   20.10 gives a container a private IPC namespace by default, which no other
#   container may join), `--cpu-shares 2` (what containerd gives a pod's pause
#   container), and a process that only sleeps.
# * **app and sidecar**: `--network container:…` and `--ipc container:…` start them in
#   the sandbox's namespaces; `--memory` is each one's limit, and `--memory-swap`
#   (printed where Docker can limit swap) the same number: memory and swap together
#   may not go above the limit, so no swap at all beyond it. That is what a kubelet
#   asks by default; Docker alone would allow as much swap again, since it sets
#   memory and swap together to twice `--memory`. `--cpu-shares 2` is what
#   the kubelet asks for a container with neither a CPU request nor a CPU limit;
#   `--restart always` stands for the Pod's `restartPolicy` (Always unless the
#   manifest says otherwise), `--stop-timeout 30` for its
#   `terminationGracePeriodSeconds` (30 unless it says otherwise). The
#   sidecar's `command` replaces the image's entrypoint, so it becomes `--entrypoint`
#   and what follows the image.
# * **The image** is the one that really runs here. On this machine that is
#   `labkit/toolbox:<tag>`, the lab's busybox image, built here, with a command: it
#   stands in for the article's images, as the first cell said, so the commands work
#   offline.
#
# The lines run as typed in a root terminal once this pod is deleted (while it
# runs, its names are taken): labkit's tests type them into bash and compare what
# the kernel then shows with what it shows for the pod labkit made.
#
# On a cgroup v2 host there is one tree, at `/sys/fs/cgroup`: one directory there (made
# by `mkdir` with the cgroupfs driver, by `systemctl` as a slice with the systemd driver)
# gets the files of every controller its parent lists in `cgroup.subtree_control`. The
# cgroup v1 hierarchies `mkdir` had
# to cover here, from the mount table of this machine's first process: each cgroup v1
# mount point with its controllers (a *named* hierarchy, such as systemd's, has none):

# %%
mounts = [line.split(" - ") for line in lab.node.read("/proc/1/mountinfo").splitlines()]
v1 = [(where.split()[4], how.split()[2]) for where, how in mounts if how.split()[0] == "cgroup"]
for mount_point, options in v1:
    words = [o for o in options.split(",") if o not in ("rw", "ro")]
    controllers = [w for w in words if not w.startswith("name=")]
    named = [w for w in words if w.startswith("name=")]
    print(f"{mount_point:26} {', '.join(controllers) or 'no controller (' + named[0] + ')'}")
if not v1:
    print("no cgroup v1 hierarchy: this machine mounts cgroup v2 only")

# %% [markdown]
# ## Shown by running
#
# The sidecar reaches the app on `localhost`, because they share one network
# stack:

# %% tags=["nbval-check-output"]
reply = pod["sidecar"].exec("curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ :", reply.exit_code == 0 and "<html" in reply.output)

# %% [markdown]
# "Sharing memory" covers two different things, and the pod has both. A container
# of its own, outside the pod, to compare with:

# %% tags=["nbval-check-output"]
outsider = lab.run("outsider", "busybox", "sleep 3650d", quiet=True)
print("outsider is", outsider.status)

# %% [markdown]
# **`/dev/shm` is a mount.** It is a `tmpfs` file system, and Docker mounts the
# sandbox's into each container started with `--ipc container:` (Docker 20.10). A
# file the app writes there:

# %% tags=["nbval-check-output"]
pod["app"].exec("echo 'hello from app' > /dev/shm/greeting")
for name, container in (("sidecar", pod["sidecar"]), ("outsider", outsider)):
    said = container.exec("cat /dev/shm/greeting").output.strip()
    print(f"{name:8} reads: {said}")


def shm_device(pid):
    """The device of the file system mounted on /dev/shm for this process (mountinfo)."""
    mounts = lab.node.read(f"/proc/{pid}/mountinfo").splitlines()
    return next(line.split()[2] for line in mounts if line.split()[4] == "/dev/shm")


devices = {name: shm_device(pod[name].pid) for name in ("sandbox", "app", "sidecar")}
print("app and sidecar have the sandbox's /dev/shm mounted:", len(set(devices.values())) == 1)
print("the outsider has another one:", shm_device(outsider.pid) != devices["sandbox"])

# %% [markdown]
# That proves one file system seen by both: the same tmpfs, mounted into each
# container's own mount namespace. It says nothing about the IPC namespace, whose
# objects are not named by paths in a file system.
#
# **The IPC namespace** holds System V IPC objects (shared memory segments,
# semaphore sets, message queues) and POSIX message queues. To see it, run the
# host's ipcmk program in the app's IPC namespace to make a System V shared memory
# segment of 4096 bytes (the cell prints the command that does the same in a root
# terminal), then list the segments with `ipcs -m` in each namespace:

# %% tags=["nbval-check-output"]
app_name = pod["app"].engine_name
print("as typed in a root terminal: nsenter --target "
      f"\"$(docker inspect -f '{{{{.State.Pid}}}}' {app_name})\" --ipc ipcmk -M 4096")
made = lab.nsenter(pod["app"].pid, ["ipc"], ["ipcmk", "-M", "4096"])
print("in the app's IPC namespace:", made.output.strip())
segment_id = made.output.split()[-1]
for name, pid in (("sandbox", pod["sandbox"].pid), ("sidecar", pod["sidecar"].pid),
                  ("outsider", outsider.pid)):
    listed = lab.nsenter(pid, ["ipc"], ["ipcs", "-m"]).output
    seen = any(row.split()[1:2] == [segment_id] and row.split()[4] == "4096"
               for row in listed.splitlines() if row.startswith("0x"))
    print(f"{name:8} sees the segment: {seen}")

# %% [markdown]
# The segment lives in the IPC namespace the sandbox holds, so every member of the
# pod sees it, and the outsider, in an IPC namespace of its own, does not.
#
# ## The hostname trick
#
# In a Kubernetes Pod every container is in the sandbox's UTS namespace (unless the
# Pod sets `hostNetwork`, below), so they have one hostname. Here all three answer
# with the pod's name too:

# %% tags=["nbval-check-output"]
def hostnames():
    return {m: pod[m].exec("hostname").output.strip() for m in ("sandbox", "app", "sidecar")}


print("hostnames:", hostnames())
print("same UTS namespace everywhere:", len({m.namespaces["uts"] for m in obs.members}) == 1)

# %% [markdown]
# Same name, different namespaces: Docker 20.10 copies the sandbox's hostname into
# each container started in its network namespace, but each still gets a UTS
# namespace of its own. The app cannot rename itself (Docker's default capabilities
# leave out the one `sethostname` needs), so rename it from the host, as root, in its
# UTS namespace, and see who follows:

# %% tags=["nbval-check-output"]
print("the app itself:", pod["app"].exec("hostname renamed").output.strip())
lab.nsenter(pod["app"].pid, ["uts"], ["hostname", "renamed"])
print("after renaming the app from the host:", hostnames())
restored = lab.nsenter(pod["app"].pid, ["uts"], ["hostname", "foo"])  # and back

# %% [markdown]
# Can Docker be asked to start a container in the sandbox's UTS namespace?

# %% tags=["nbval-check-output"]
try:
    lab.run("uts-joiner", "busybox", "sleep 600",
            uts_mode=f"container:{pod['sandbox'].engine_name}")
except labkit.LabError as error:
    print("refused:", error.engine_said)

# %% [markdown]
# That refusal comes from the Docker SDK for Python, in this notebook's process: it
# accepts only `host` as a UTS mode, so no request reached Docker's daemon. The
# `docker` command refuses the same before sending anything (`--uts: invalid UTS
# mode`, docker CLI 20.10). The 20.10 daemon itself never checks the mode, it only
# asks whether it is `host`, so a request that got past a client would quietly get
# a UTS namespace of its own. Either way Docker has no way to start a container in
# another container's UTS namespace: that is the one namespace of a Pod (one without
# the host flags below) that this emulation cannot reproduce.
#
# ## The pod's cgroups
#
# Every member sits under the parent cgroup, and each has its own limits below it:

# %%
tree = obs.trees[0]
print(views.cgroup_tree_text(tree, pod.names()))

# %% [markdown]
# The values come from the kubelet's rules, as labkit applies them (their release is
# the last item of the versions line in the first cell, which also says which cgroup
# version this machine has). A real kubelet 1.35 or later refuses a cgroup v1 node
# unless its `failCgroupV1` setting is false, and 1.35 is the last release that
# supports containerd 1.x. The lab applies 1.37's arithmetic anyway: on a cgroup v1
# node, read the numbers below as the rules' numbers, not a supported node's.
#
# For the pod's cgroup (of a Pod without pod-level `spec.resources`, beta since
# Kubernetes 1.34) the kubelet follows its `ResourceConfigForPod`: a memory limit
# only when every container has one (then their sum), a CPU quota only when every
# container has a CPU limit, and CPU shares from the sum of the CPU requests (2
# when there is none). For a container, the shares come from its own CPU request,
# or its CPU limit when it gives only that (2 with neither). The sandbox gets what
# containerd gives a pod's pause container: 2 shares and no limits. The kernel's
# values, beside what those rules give for this manifest:

# %%
import pandas as pd


def kernel(limits):
    """What the kernel's files say: memory limit, CPU shares (weight on v2), CPU quota."""
    cpu = limits.cpu_shares if limits.cpu_weight is None else f"weight {limits.cpu_weight}"
    return (limits.memory_bytes or "none", cpu, limits.cpu_quota_us or "none")


def by_the_rules(config):
    """What the rules give: the kubelet's for the pod and its containers, containerd's for
    the sandbox (config None)."""
    if config is None:
        return ("none", 2, "none")
    return (config.memory or "none", config.cpu_shares, config.cpu_quota or "none")


rules = {"pod": pod.spec.resource_config,
         **{c.name: c.resource_config for c in pod.spec.containers}}
rows = {"pod": kernel(tree.state.limits) + by_the_rules(rules["pod"])}
for child in tree.children:
    name = pod.names().get(child.name.removeprefix("docker-").removesuffix(".scope"), child.name)
    rows[name] = kernel(child.state.limits) + by_the_rules(rules.get(name))
columns = pd.MultiIndex.from_product([("the kernel", "the rules"),
                                      ("memory limit", "cpu.shares", "CPU quota (µs)")])
order = ["pod", "sandbox", *(c.name for c in pod.spec.containers)]
pd.DataFrame.from_dict(rows, orient="index", columns=columns).loc[order].rename_axis("cgroup")

# %% [markdown]
# (On cgroup v2 the kernel's file is `cpu.weight`, converted from the shares: by the
# runtime for a container's cgroup, by the kubelet for the pod's. On v1, as here, it
# is `cpu.shares`, the shares themselves.) The pod's memory limit here is the sum
# of its containers', so it matters mainly where their own limits do not reach, as
# for the sandbox, which has none.
#
# One more value a kubelet sets for each container: how much swap it may use
# above its memory limit. By default it allows none (on cgroup v2, `memory.swap.max`
# 0; on v1, where the kernel accounts swap, as here, memory and swap together,
# `memory.memsw.limit_in_bytes`, equal to the memory limit). The kernel's value for the app and the sidecar, beside what a
# kubelet would ask on this node:

# %%
def swap_above_limit(name):
    """What the kernel lets a container swap above its memory limit: memory.memsw
    minus memory limit on cgroup v1, memory.swap.max on v2."""
    member = obs.member(name)
    try:
        if lab.node.cgroup_version == 2:
            return lab.node.read(f"/sys/fs/cgroup{member.cgroup}/memory.swap.max").strip()
        both = lab.node.read(f"/sys/fs/cgroup/memory{member.cgroup}/memory.memsw.limit_in_bytes")
    except labkit.LabError:
        return "no swap limit on this kernel"
    return int(both) - member.state.limits.memory_bytes


def kubelet_swap(asked):
    """The same, as a kubelet asks it for the container."""
    if asked.memory_swap_limit:
        return asked.memory_swap_limit - asked.config.memory
    return dict(asked.unified).get("memory.swap.max", "no swap limit")


for container in pod.spec.containers:
    print(f"{container.name:8} swap above the memory limit: the kernel "
          f"{swap_above_limit(container.name)} · a kubelet "
          f"{kubelet_swap(pod.linux_resources(container))}")

# %% [markdown]
# Drawn:

# %%
views.cgroup_tree_figure(tree, pod.names(), title="the emulated pod's memory cgroups")

# %%
views.cgroup_tree_widget(tree, pod.names())

# %% [markdown]
# ## What the host flags change
#
# `hostNetwork`, `hostIPC` and `hostPID` in a Pod spec put its containers in the
# node's own namespaces; `shareProcessNamespace` puts them all in the sandbox's PID
# namespace. Docker has a mode for each. One small pod per flag, the app's row of
# the kernel's matrix for each, and below it where a Pod on a kubelet would differ
# (by `labkit.kubernetes`, the kubelet's rules):

# %% tags=["nbval-check-output"]
from IPython.display import display

from labkit import kubernetes

AS_LABEL = {"pod": "shared with sandbox", "container": "own", "node": "host"}
NAMESPACES = ("net", "ipc", "uts", "pid")
emulated, in_a_pod = {}, {}
for flag in ("none", "share_process_namespace", "host_network", "host_ipc", "host_pid"):
    flags = {} if flag == "none" else {flag: True}
    with lab.docker_pod(name="flags", containers={"app": {"image": "busybox",
                                                          "command": "sleep 600"}},
                        quiet=True, **flags) as variant:
        app = views.sharing_labels(lab.observe(variant))["app"]
    emulated[flag] = {ns: app[ns] for ns in NAMESPACES}
    modes = kubernetes.namespace_modes(**flags)
    in_a_pod[flag] = {ns: AS_LABEL[getattr(modes, ns)] for ns in NAMESPACES}
display(pd.DataFrame(emulated).T.rename_axis("app with"))
for flag, row in emulated.items():
    for ns in NAMESPACES:
        if row[ns] != in_a_pod[flag][ns]:
            print(f"with {flag}: {ns} is {row[ns]!r} here, {in_a_pod[flag][ns]!r} in a Pod")

# %% [markdown]
# Every difference is UTS. Without the flags it is the one above. With
# `hostNetwork`, a Pod's containers are also in the node's UTS namespace (containerd
# leaves both out of the sandbox), while Docker's `--network host` keeps a UTS
# namespace of the container's own and copies the node's hostname into it.
#
# ## When the sandbox dies
#
# The sandbox holds the namespaces; what happens to the others if its process is
# killed? Guess first, for pod `foo`'s sidecar:

# %%
exercises.get("03.sandbox-dies")

# %% [markdown]
# The experiment runs on two pods of their own, so that `foo` stays whole for the
# exercises: `life`, shaped like `foo`, and `life-shared`, the same with
# `shareProcessNamespace: true` (and `restartPolicy: Never`, so that Docker's
# restart policy stays out of the picture). `pod.kill_sandbox()` is `docker kill`
# of the sandbox: SIGKILL to its process.

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true}
sleeper = {"image": "busybox", "command": "sleep 3650d"}
life = lab.docker_pod(name="life", quiet=True, containers={
    "app": {"image": "docker.io/kennethreitz/httpbin"}, "sidecar": sleeper})
life_shared = lab.docker_pod("""
apiVersion: v1
kind: Pod
metadata:
  name: life-shared
spec:
  shareProcessNamespace: true
  restartPolicy: Never
  containers:
  - {name: app, image: busybox, command: [sleep, 3650d]}
  - {name: sidecar, image: busybox, command: [sleep, 3650d]}
""", quiet=True)

life.kill_sandbox()
life_shared.kill_sandbox()
exit_codes = {m: life_shared[m].wait() for m in ("app", "sidecar")}  # docker wait
print("life:       ", life.states())
print("life-shared:", life_shared.states(), "exit codes", exit_codes)

# %% [markdown]
# Once you have checked your guess, unfold the output above. What decides it? The
# containers of `life-shared` were in the sandbox's PID namespace, and the
# sandbox's process was the first process (the init) of that namespace: when the
# init of a PID namespace dies, the kernel kills every other process in it with
# SIGKILL (exit code 137 is 128 + 9). The containers of `life` have PID namespaces
# of their own (the matrix above showed `pid` as `own`), so the sandbox's death
# does not reach their processes: they keep running. That is all that decides it.
#
# An init has a second job, which falls to the sandbox with
# `shareProcessNamespace`: the kernel makes the init of a PID namespace the parent
# of every process orphaned there. pause waits for them when they end (its signal
# handler for SIGCHLD calls `waitpid`); `sleep` never does. In a small pod of that
# kind, a shell that ends at once leaves its background `sleep 0.2` orphaned:

# %% tags=["nbval-check-output"]
import time

with lab.docker_pod(name="reaper", share_process_namespace=True, quiet=True,
                    containers={"app": {"image": "busybox", "command": "sleep 600"}}) as shared:
    shared.exec("app", "sh -c 'sleep 0.2 &'")
    time.sleep(1)
    rows = [row.split() for row in
            shared.exec("app", "ps -o pid,ppid,stat,comm").output.splitlines()[1:]]
zombies = [row[3] for row in rows if row[2] == "Z" and row[1] == "1"]
print("ended processes the sandbox's sleep (PID 1) has not reaped:", ", ".join(zombies))

# %% [markdown]
# Such a zombie keeps its entry in the process table (and its PID) until its parent
# waits for it; in this pod nothing ever will.
#
# Back to `life`: its network namespace lives on too, because processes are still
# in it. That is why `localhost` still answers in `life`. What it no longer has is
# the sandbox's network interface:

# %% tags=["nbval-check-output"]
links = life["sidecar"].exec("ip -o link").output.splitlines()
print("interfaces left in life's network namespace:",
      ", ".join(line.split(": ")[1].split("@")[0] for line in links))
reply = life["sidecar"].exec("curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ :", "<html" in reply.output)

# %% [markdown]
# (Docker 20.10 takes a container's network interfaces out of its namespace when it
# releases the container's network.) And a container of `life` that stops cannot
# start again while the sandbox does not run:

# %% tags=["nbval-check-output"]
life["sidecar"].stop(timeout=1)
try:
    life["sidecar"].start()
except labkit.LabError as error:
    print("Docker says:", error.engine_said)

# %% [markdown]
# Start the sandbox again, and then the sidecar: both run, but the sandbox is a new
# process with new namespaces, and only the sidecar joined them. The app is still
# in the old ones:

# %% tags=["nbval-check-output"]
life["sandbox"].start()
life["sidecar"].start()
links = {m: lab.node.ns_links(life[m].pid) for m in ("sandbox", "app", "sidecar")}
print("life:", life.states())
print("sidecar in the new sandbox's network namespace:",
      links["sidecar"]["net"] == links["sandbox"]["net"])
print("app and sidecar in one network namespace:", links["app"]["net"] == links["sidecar"]["net"])

# %% [markdown]
# Nothing here watches the pod, so nothing repairs it. On a node, the kubelet does
# not keep containers from an old sandbox: when it finds a pod's sandbox not ready
# (containerd marks it so when pause dies), it kills the pod's containers, creates a
# new sandbox (a new pause, a new network namespace set up afresh, so the pod's
# address, read again from it, may be a different one) and starts the containers
# again as the Pod's `restartPolicy` says (with `Never` it makes no new sandbox and
# starts nothing). The Pod object, its name and its UID stay the same. No kubelet
# runs in this lab; chapter 4 shows what each runtime does alone.
#
# ## Bad manifests
#
# labkit checks a manifest before it creates anything and refuses a broken one, in
# words of its own. `kubectl apply` would refuse these three too: the unknown field
# because kubectl asks the API server for strict field validation by default (the
# API server alone would drop the field with a warning, and then find no
# `containers`), the other two because the API server refuses them whatever it is
# asked.

# %% tags=["nbval-check-output"]
before = len(lab.leftovers().containers)
for broken in (manifest.replace("containers:", "contaners:"),
               manifest.replace('memory: "128Mi"', 'memory: "128 MB"'),
               manifest.replace("name: sidecar", "name: app")):
    try:
        lab.docker_pod(broken)
    except labkit.LabError as error:
        print("✘", error)
print("containers made meanwhile:", len(lab.leftovers().containers) - before)

# %% [markdown]
# ## Exercises
#
# Your turn. Each card says what to reach; **Check** reads the machine and tells
# you the one thing still wrong, and **Hint** unfolds one hint at a time. You may
# work in the empty cells with `lab` (`lab.docker_pod(...)`, `lab.run(...)`), or
# in a root terminal with the `docker` command: the checks look at the kernel and
# at Docker, not at how you got there. The cards write this session's engine names
# as Docker knows them (`lk-<session>-foo-app` for pod `foo`'s app); a check also
# accepts a name typed without that prefix.
#
# **1.** A number from the kernel's files:

# %%
exercises.get("03.net-inode")

# %% [markdown]
# **2.** A sidecar that sees the app's processes:

# %%
exercises.get("03.shared-pid")

# %%
# your code for exercise 2 here

# %% tags=["nbval-ignore-output"]
exercises.get("03.shared-pid").check()

# %% [markdown]
# **3.** A memory limit for a whole pod:

# %%
exercises.get("03.pod-memory-192mi")

# %%
# your code for exercise 3 here

# %% tags=["nbval-ignore-output"]
exercises.get("03.pod-memory-192mi").check()

# %% [markdown]
# ## Clean up
#
# The button removes everything this chapter made: the pods, their containers and
# their parent cgroups, and the outsider. Leaving the notebook does the same.

# %%
lab.cleanup_button()
