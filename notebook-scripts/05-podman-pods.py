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
# # 5 · Podman pods: the same idea, from another side
#
# Chapter 3 built a Pod out of plain Docker containers. Podman has pods of its
# own, with no Kubernetes at all. A Podman pod is, by default, an **infra
# container** that holds the namespaces the pod shares, plus the containers that
# join them. Kubernetes has the same thing under another name: the CRI calls it
# the pod *sandbox*, and its process is usually `pause`. In Podman the infra
# container can be left out (`podman pod create --infra=false`); such a pod shares
# no namespaces.
#
# labkit runs a Podman of its own for this chapter, as root: its own image store,
# run directory and `containers.conf`, and an API socket for each lab session. In a
# terminal, `labkit podman ...` is podman with that store and configuration. Your
# own `podman` state, if you have any, is not touched. Nothing is pulled: the
# images come from the lab's own archives, and the infra container runs the lab's
# pause. The pods get a network namespace with loopback only, unless a manifest
# asks for the host's network (chapter 7 gives one a network of the session's own).
#
# How Podman behaves here depends on its version, and a few things on the cgroup
# version and on Podman's cgroup manager. This machine's:

# %% tags=["nbval-ignore-output"]
from pathlib import Path

import pandas as pd

import labkit
from labkit import views
from labkit.quantity import format_bytes

lab = labkit.chapter_lab("05")
print(lab.versions())
print(lab.describe("docker.io/kennethreitz/httpbin", "curlimages/curl", "busybox",
                   engine="podman"))

# %% [markdown]
# The first line gives the versions; the second the engine, the cgroup version,
# how labkit reads the kernel and which cgroup manager labkit's Podman uses; then,
# for each image the chapter uses (the article's two, and `busybox` for the small
# pods further down), whether it runs as itself or the lab stands in for it. This
# differs from one machine to the next; the rest of the chapter is read from the
# machine as it runs.
#
# This chapter asks before it shows, and ends with exercises checked against the
# machine; your progress is kept between sessions:

# %% tags=["nbval-ignore-output"]
from labkit import exercises

exercises.use(lab)
exercises.progress_widget("05")

# %% [markdown]
# ## The article's manifest, played
#
# `podman kube play` makes a pod from a Kubernetes Pod manifest (before Podman 4.3
# the command was called `podman play kube`; from 4.3 that name still works, as an
# alias). Here is the article's manifest, played:

# %%
manifest = Path("manifests/foo-pod.yaml").read_text()
pod = lab.podman_pod(manifest)
print(f"pod {pod.name}: made with podman {pod.how}, {len(pod.members())} containers running")

# %% [markdown]
# labkit did not hand Podman the article's file as it is. It wrote a manifest of
# its own and played that through Podman's API. `pod.commands()` prints the same
# two steps as a root terminal takes them: write the manifest, then play it.

# %%
print("\n".join(pod.commands()))

# %% [markdown]
# Both lines run as typed in a root terminal once pod foo is deleted: while it
# exists its name is taken, and `kube play` will not make a second pod of that
# name. labkit's tests type them into bash after deleting the pod, and compare
# what the kernel then says (who shares which namespace, every cgroup value, the
# hostnames) with what it said of the pod labkit made.
#
# What changed, line by line, between the article's manifest (read and written
# out again in the same YAML style) and the one Podman got:

# %%
import difflib

import yaml

played_path = pod.commands()[-1].split()[-1]
played = lab.node.read(played_path)  # the file, as cat prints it
article = yaml.safe_dump(yaml.safe_load(manifest), sort_keys=False)
changes = difflib.unified_diff(article.splitlines(), played.splitlines(),
                               "the article's foo-pod.yaml", played_path, n=1, lineterm="")
print("\n".join(changes))

# %% [markdown]
# Each change has a reason:
#
# * **The name** carries your session's prefix, and the **labels** say whose pod it
#   is, so that the lab removes exactly what it made. `kube play` names each
#   container `<pod name>-<container name>`, which is why the containers below are
#   called `lk-<session>-foo-app` and `lk-<session>-foo-sidecar`.
# * **`hostname: foo`** keeps the hostname the article's Pod would have. Without
#   it, `kube play` uses the pod's name as the hostname.
# * **The images** are the ones that run here (the stand-ins, when the article's
#   images are not in the lab's store), with `imagePullPolicy: Never`, so nothing
#   is pulled. A stand-in is given its own command (the app's: `httpd` serving a
#   page on port 80).
# * **The port is gone.** Podman 4.3 to 4.7 publish a `containerPort` on the host
#   even without a `hostPort` (from 4.8 only with `--publish-all`), and Podman
#   refuses port mappings on a pod played with `--network none` (a network
#   namespace of its own, with only `lo`), which is how labkit plays it.
# * **The memory limits** are the same quantities written in bytes (256 Mi is
#   268435456 bytes), and `restartPolicy: Always` and
#   `terminationGracePeriodSeconds: 30` are the Kubernetes defaults written out.
#
# Chapter 2 started from the same file, but containerd never read it: labkit,
# in the kubelet's place, turned it into CRI calls. Here Podman reads a manifest
# itself and makes the pod from it, with no kubelet in between.
#
# Podman lists the infra container among the pod's containers, so a
# two-container Pod shows three (`labkit podman ps -a --pod` in a terminal). The
# table below is labkit's, made from what Podman's API reports for each
# container (the STATUS column is the container's state, where `podman ps`
# writes `Up 2 seconds ago`). The infra container is named after the first twelve
# characters of the pod's id, followed by `-infra`. `podman pod create
# --infra-name` names it otherwise; a played manifest can do the same from
# Podman 4.7 on, with the annotation `io.podman.annotations.infra.name`.

# %% tags=["nbval-check-output"]
pd.DataFrame(pod.listing()).drop(columns="member")

# %% [markdown]
# The CRI keeps the two apart: on a Kubernetes node `crictl pods` lists the
# sandbox and `crictl ps` lists the containers, never pause. Only below the
# CRI, in containerd's own list (`ctr -n k8s.io containers ls`), does pause
# appear as a container beside the others.
#
# ## Who owns which namespace
#
# Which namespaces does the app take from the infra container? Answer first: the
# cells after the card open folded, since they show it.

# %%
exercises.get("05.shared-with-infra")

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
obs = lab.observe(pod)
views.sharing_colours(obs)

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true, "source_hidden": true}
labels = views.sharing_labels(obs)
five = ("ipc", "mnt", "net", "pid", "uts")
held = [ns for ns in five if "shared with infra" in (labels["app"][ns], labels["sidecar"][ns])]
print("infra, held for the pod:", ", ".join(held))
alone = [ns for ns in five if labels["infra"][ns] == "own" and ns not in held]
print("infra, own:", ", ".join(alone))
for member in ("app", "sidecar"):
    reused = [ns for ns in five if labels[member][ns] == "shared with infra"]
    print(f"{member} reuses the infra container's:", ", ".join(reused))
comm = lab.node.read(f"/proc/{obs.member('infra').member.pid}/comm")  # cat /proc/<pid>/comm
print("the infra container's process is called:", comm.strip())

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
pids = {m.name: m.pid for m in pod.members()}
for member in ("infra", "app", "sidecar"):
    links = lab.node.ns_links(pids[member])  # ls -l /proc/<pid>/ns
    print(f"{member:8}", "  ".join(links[ns] for ns in five))

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
views.namespace_boxes(obs, title="the article's Pod, played by Podman")

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true}
reply = pod.exec("sidecar", "curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ :", reply.exit_code == 0 and "<html" in reply.output)
print("hostnames:", {c: pod.exec(c, "hostname").output.strip() for c in ("app", "sidecar")})
print("uts of app and sidecar:", labels["app"]["uts"], "/", labels["sidecar"]["uts"])

# %% [markdown]
# The same three as a Kubernetes Pod, whose containers join the sandbox's
# network, IPC and UTS namespaces. Podman can make a container join another's UTS
# namespace, which Docker refuses (in chapter 3, Docker copied the sandbox's
# hostname into each joiner's own UTS namespace instead, as it does for a
# container started with `--network container:…`), so here one hostname is one
# namespace. The mount and PID namespaces stay each container's own: `readlink`
# on the `/proc/<pid>/ns` links, as in the raw lines above, shows the same thing
# number by number.
#
# The `cgroup` column is Podman's default at work, not the pod's: Podman gives a
# container a cgroup namespace of its own on cgroup v2 (unless `cgroupns` in
# `containers.conf` or `--cgroupns` says otherwise) and the host's on cgroup v1, where
# the `containers.conf` setting is ignored and only `--cgroupns` changes it. The first cell says which cgroup version this machine has.
#
# ## IPC: System V objects, and what /dev/shm is
#
# An IPC namespace holds System V IPC objects (shared memory segments, semaphore
# sets, message queues) and POSIX message queues. It does not hold `/dev/shm`:
# that is a file system, and which one a container sees is a matter of its
# mounts. So the two are shown apart. First System V shared memory, made in the
# app's IPC namespace with the host's own `ipcmk` and looked for with `ipcs`,
# each run with `nsenter --target <pid> --ipc` (`lab.nsenter`):

# %% tags=["nbval-check-output"]
made = lab.nsenter(pids["app"], ["ipc"], ["ipcmk", "-M", "1024"])  # prints its shmid
shmid = made.output.split()[-1]


def segment_key(listing: str) -> str | None:
    """The key of segment `shmid` in `ipcs -m` output, if it is listed."""
    for line in listing.splitlines():
        words = line.split()
        if len(words) > 1 and words[0].startswith("0x") and words[1] == shmid:
            return words[0]
    return None


key = segment_key(lab.nsenter(pids["app"], ["ipc"], ["ipcs", "-m"]).output)
print("the app made a System V shared memory segment:", key is not None)
for member in ("sidecar", "infra"):
    seen = segment_key(lab.nsenter(pids[member], ["ipc"], ["ipcs", "-m"]).output)
    print(f"the {member}'s ipcs -m lists it:", seen == key)
host = lab.node.read("/proc/sysvipc/shm")  # this notebook's IPC namespace: the host's
host_keys = {int(line.split()[0]) & 0xFFFFFFFF for line in host.splitlines()[1:] if line.strip()}
print("the host's /proc/sysvipc/shm lists it:", int(key, 16) in host_keys)

# %% [markdown]
# Then a file in `/dev/shm`, written by the app and read by the sidecar, and where
# it lives: the device of the `/dev/shm` mount in each member's
# `/proc/self/mountinfo`, and the file looked for with only the app's IPC
# namespace entered, then with its mount namespace:

# %% tags=["nbval-check-output"]
pod.exec("app", "echo 'hello from app' > /dev/shm/greeting")
print("the sidecar reads /dev/shm/greeting:",
      pod.exec("sidecar", "cat /dev/shm/greeting").output.strip())
mounted = {m: pod.exec(m, "grep ' /dev/shm ' /proc/self/mountinfo").output.split()[2]
           for m in ("infra", "app", "sidecar")}
print("/dev/shm is one tmpfs (one device) in infra, app and sidecar:",
      len(set(mounted.values())) == 1)
print("nsenter --ipc: the app's /dev/shm/greeting is there:",
      lab.nsenter(pids["app"], ["ipc"], ["cat", "/dev/shm/greeting"]).exit_code == 0)
print("nsenter --mount: the app's /dev/shm/greeting says:",
      lab.nsenter(pids["app"], ["mnt"], ["cat", "/dev/shm/greeting"]).output.strip())

# %% [markdown]
# The two prove different things. The segment is visible in the sidecar and the
# infra container, and not on the host, because they are in one IPC namespace:
# that is what sharing `ipc` means to the kernel. The file is shared because
# Podman mounts the infra container's `/dev/shm` into every container that joins
# its IPC namespace: one tmpfs, seen by all. Entering only the IPC namespace
# shows the host's `/dev/shm`, without the file; entering the mount namespace
# finds it. Kubernetes' containerd does the same: it mounts the sandbox's
# `/dev/shm` into each container, beside joining the IPC namespace.
#
# ## What `--share` changes
#
# `podman pod create --share` picks the namespaces the infra container lends.
# Since Podman 4.0 the default is `ipc,net,uts`. (Podman 3.x listed `cgroup` too,
# which then meant a shared cgroup *parent*, not a shared cgroup namespace; 4.0
# gave that job to `--share-parent`.) Since 4.2, a leading `+` adds to that
# default: the `podman` command expands `--share +pid` to the default plus `pid`.
# labkit's `share="+pid"` does the same expansion before it asks Podman's API.
#
# First, the article's pod again, by hand this time: `pod create`, a `create
# --pod` for each container, `pod start`. These are the commands labkit sent,
# written as a root terminal takes them:

# %% tags=["nbval-check-output"]
foo_by_hand = {
    "app": {"image": "docker.io/kennethreitz/httpbin", "memory": "256Mi"},
    "sidecar": {"image": "curlimages/curl", "command": ["/bin/sleep", "3650d"],
                "memory": "128Mi"},
}
by_hand = lab.podman_pod(name="by-hand", containers=foo_by_hand, quiet=True)
for line in by_hand.commands():
    print(line)

# %% [markdown]
# Line by line:
#
# * `labkit podman pod create --name ... --label ...` makes the pod and its infra
#   container (created, not started). `--infra-image` names the lab's pause;
#   without it (and without `infra_image` in `containers.conf`), Podman 4.x builds
#   a local `localhost/podman-pause` image that runs `catatonit -P`. labkit's
#   `containers.conf` names the lab's pause as `infra_image`, so a pod you make
#   with `labkit podman pod create` in a terminal runs pause too. `--share` is
#   the namespaces the infra container lends, `--network none` gives the pod a
#   network namespace with only `lo`, `--hostname` sets the hostname in the shared
#   UTS namespace, and `--memory` is a limit on the pod's own cgroup (below).
# * `labkit podman create --pod ...` makes one container in the pod: its memory
#   limit (`--memory`, in bytes), the image's entrypoint replaced by the first
#   word of the Kubernetes `command` (`--entrypoint`, as a JSON list), and the
#   rest of the `command` (then any `args`) after the image.
# * `labkit podman pod start` starts the pod: its containers in the order their
#   dependencies ask, which puts the infra container first, since the others join
#   its namespaces.
#
# As with foo, these lines run as typed in a root terminal once this pod is
# deleted (while it exists, its name is taken), and the lab's tests type them and
# compare what the kernel says. The kernel says the same of this pod as of foo:

# %% tags=["nbval-check-output"]
same = views.sharing_labels(lab.observe(by_hand)) == labels
print("by-hand shares with its infra container what foo does:", same)

# %% [markdown]
# Now one pod per `--share` value, with the app's row each time:

# %% tags=["nbval-check-output"]
box = {"app": {"image": "busybox", "command": "sleep 600"}}
rows = {}
for share in ("ipc,net,uts", "+pid", "net", "ipc,net"):
    with lab.podman_pod(name="shares", containers=box, share=share, quiet=True) as variant:
        app = views.sharing_labels(lab.observe(variant))["app"]
        if share == "+pid":
            first = variant.exec("app", "cat /proc/1/comm").output.strip()
    rows[f"--share {share}"] = {ns: app[ns] for ns in ("net", "ipc", "uts", "pid")}
pd.DataFrame(rows).T.rename_axis("app with")

# %% tags=["nbval-check-output"]
print("with --share +pid, PID 1 in the app's view is:", first)

# %% [markdown]
# With `pid` shared, the app is in the infra container's PID namespace, where
# pause is PID 1, as with `shareProcessNamespace: true` in Kubernetes. Leave `uts`
# out and the app gets a UTS namespace of its own, as every Docker container has
# unless it asks for the host's.
#
# Your turn, at the end of the chapter (exercise 1): a pod of your own in which
# pause is the app's PID 1, made with `lab.podman_pod` or with `labkit podman` in a
# terminal.

# %%
exercises.get("05.shared-pid")

# %% [markdown]
# ## The manifest's own flags
#
# `kube play` reads the Pod's `shareProcessNamespace`, `hostNetwork`, `hostIPC`
# and `hostPID` too, but what it does with them depends on Podman's version.
# Podman 4.3, Debian 12's (the first cell says which one this machine has),
# honours `shareProcessNamespace` and, for `hostNetwork`, the network namespace
# only; it ignores `hostIPC` and `hostPID` without a word. Podman honours
# `hostPID` from 4.4 and `hostIPC` from 4.5. On a Podman that would leave one of
# them out, labkit refuses the Pod with a sentence of its own, before anything is
# made, so that you never look at a pod that is not the one you wrote:

# %% tags=["nbval-check-output"]
for flag in ("shareProcessNamespace", "hostNetwork", "hostIPC", "hostPID"):
    text = manifest.replace("spec:\n", f"spec:\n  {flag}: true\n", 1)
    try:
        with lab.podman_pod(text.replace("name: foo", "name: flags"), quiet=True) as flagged:
            app = views.sharing_labels(lab.observe(flagged))["app"]
            print(f"{flag}: app's net {app['net']}, pid {app['pid']}, uts {app['uts']}")
    except labkit.LabError as refused:
        print(f"{flag}: labkit refuses: {refused}")

# %% [markdown]
# The `hostNetwork` row shows one more difference from Kubernetes. For a
# `hostNetwork` Pod, containerd leaves out both the network and the UTS
# namespace, so the containers see the node's hostname. Podman up to 4.7 keeps
# the pod's own UTS namespace, as here; from 4.8, `kube play` puts a
# `hostNetwork` pod in the host's UTS namespace with the node's hostname too.
# (That pod is in the host's network namespace: it is the one pod here that is not
# loopback-only.)
#
# ## The pod's cgroup, and where conmon sits
#
# Podman starts a small monitor process for each container, **conmon**. It starts
# the OCI runtime (runc here) for the container, holds the container's terminal
# and output streams, writes its log and records its exit code. Where does the
# kernel count it? Find out before the cells after the card show it (they open
# folded):

# %%
exercises.get("05.conmon-cgroup")

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true}
def inside(path: str, parent: str) -> bool:
    return path.startswith(parent.rstrip("/") + "/")


hierarchy = "memory" if obs.cgroup_version == 1 else "unified"
conmons = [lab.node.cgroups(pid)[hierarchy] for pid in pod.conmon_pids().values()]
containers = [m.cgroup for m in obs.members]
print("every container's cgroup is inside the pod's:",
      all(inside(path, pod.cgroup_parent) for path in containers))
print("every conmon is inside the pod's cgroup:",
      all(inside(path, pod.cgroup_parent) for path in conmons))
print("and inside no container's:",
      not any(c == path or inside(c, path) for c in conmons for path in containers))
parents = {name: int(lab.node.read(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()[1])
           for name, pid in pids.items()}  # the 4th field of /proc/<pid>/stat: its parent
print("each container's first process is a child of its conmon:",
      parents == pod.conmon_pids())

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
ids = {pod.id: "<pod id>", **{cid: f"<{name} id>" for cid, name in pod.names().items()}}


def placeholders(path: str) -> str:
    for real, shown in ids.items():
        path = path.replace(real, shown)
    return path


print("pod:", placeholders(pod.cgroup_parent))
print("app:", placeholders(obs.member("app").cgroup))
print("conmon:", sorted({placeholders(path) for path in conmons}))

# %% tags=["reveal"] jupyter={"outputs_hidden": true}
tree = lab.node.tree(pod.cgroup_parent, ancestors=True)
print(views.cgroup_tree_text(tree, pod.names()))

# %% [markdown]
# Where these paths lie depends on Podman's **cgroup manager**, a setting of its
# own (`cgroup_manager` in `containers.conf`, or `podman --cgroup-manager`), not
# on the cgroup version: a rootful Podman runs with `cgroupfs` or `systemd` on
# cgroup v2 and on v1 alike. Unless `containers.conf` says otherwise, Podman 4.3
# picks `systemd` when systemd is the machine's PID 1 and `cgroupfs` otherwise; a
# rootless Podman on cgroup v1, or a Podman built without systemd support, picks
# `cgroupfs` always. labkit's `containers.conf` picks `systemd` where systemd
# manages the machine's cgroups and `cgroupfs` elsewhere; the first cell names the
# one in use here. For a rootful pod (whose containers take the pod's cgroup as
# their parent, unless it was made with `--share-parent=false`):
#
# * with **cgroupfs**, the pod's cgroup is `/libpod_parent/<pod id>`, each
#   container is `libpod-<container id>` in it, and every conmon of the pod is
#   put in one cgroup, `<pod cgroup>/conmon`;
# * with **systemd**, the pod is a slice, `/machine.slice/machine-libpod_pod_<pod
#   id>.slice`, each container a scope in it, `libpod-<container id>.scope`, and
#   each conmon a scope of its own in the same slice,
#   `libpod-conmon-<container id>.scope`.
#
# On cgroup v2 each of these paths is one directory of the one unified tree; on
# cgroup v1 each hierarchy (one controller, or several mounted together, such as
# `cpu,cpuacct`) has its own copy of the path, and the cells above read the paths in
# the memory hierarchy.
#
# Either way (on Podman 4.3), conmon counts against the pod's limits and never
# against a container's. That holds while Podman moves conmon there: it does not
# with `podman run --cgroups=no-conmon` or `--cgroups=disabled`, nor when the
# podman command itself (not Podman's API service, which labkit uses) runs inside
# a systemd service: then conmon stays in the cgroup of the podman process that
# started it (with `--cgroups=split`, in a child of that cgroup). A rootless
# Podman with cgroupfs makes no pod cgroup, unless it is given a cgroup parent it
# may write to.
#
# ## Pod-level limits
#
# A Pod may declare resources for the whole Pod, beside its containers'
# (`spec.resources`: the feature PodLevelResources, beta and on by default from
# Kubernetes 1.34). foo does not. Without them, the kubelet gives a Pod's cgroup
# a memory limit (`memory.max` on cgroup v2, `memory.limit_in_bytes` on v1) only
# when every container in it declares one, and then the limit is their sum (with
# no init containers and no pod overhead, as in foo): 256 Mi + 128 Mi = 384 Mi.
# `kube play` writes no limit on the pod's cgroup, only the containers' own.
# `podman pod create --memory` (new in Podman 4.2) and `--cpus` (older) write one on
# the pod's cgroup since Podman 4.2 (on cgroup v1 only for a rootful Podman).
# labkit's `pod create` passes the sum as the kubelet would compute it (the
# `--memory` in the by-hand pod's first line above):

# %% tags=["nbval-check-output"]
def pod_limit(any_pod) -> str:
    walked = lab.node.tree(any_pod.cgroup_parent)
    limit = walked.state.limits.memory_bytes
    return "none" if limit is None else format_bytes(limit)


create = next(line for line in by_hand.commands() if " pod create " in line).split()
print("kube play → pod cgroup memory limit:", pod_limit(pod))
print("pod create", " ".join(create[create.index("--memory"):][:2]),
      "→ pod cgroup memory limit:", pod_limit(by_hand))

# %% [markdown]
# ## When the infra container dies
#
# Kill foo's infra container (labkit sends its pause `SIGKILL`, as `podman kill
# --signal KILL` does) and look at the pod:

# %% tags=["nbval-check-output"]
pod.kill_sandbox()  # SIGKILL to the infra container's pause
print("pod:", pod.state)
print("members:", pod.states())
reply = pod.exec("sidecar", "curl -s http://localhost:80/")
print("sidecar → http://localhost:80/ still:", reply.exit_code == 0 and "<html" in reply.output)

# %% [markdown]
# Then the same with a pod whose containers share the infra container's PID
# namespace (`--share +pid`):

# %% tags=["nbval-check-output"]
import time

plus_pid = lab.podman_pod(name="plus-pid", containers=box, share="+pid", quiet=True)
plus_pid.kill_sandbox()
for _ in range(100):  # until Podman has seen the app's end
    if "running" not in plus_pid.states().values():
        break
    time.sleep(0.05)
print("pod:", plus_pid.state)
print("members:", plus_pid.states())
print("foo, meanwhile:", pod.state, "- its infra container", pod.states()["infra"])

# %% [markdown]
# In foo the app and the sidecar each have a PID namespace of their own, so the
# end of pause takes nothing of theirs: they keep running. In plus-pid the app
# was in pause's PID namespace, where pause was PID 1, and when the first process
# of a PID namespace ends, the kernel kills every other process in it.
#
# foo's network namespace outlives pause too: the kernel keeps a namespace as long
# as a process is in it (or something else holds it, such as a bind mount), and
# the app and the sidecar are in it, so `localhost` still joins them. These pods
# have loopback only. On a pod with a real network, Podman would also tear down
# the pod's network interface when the infra container stops, leaving only `lo`.
#
# *Degraded* is Podman's word for a pod in which at least one container runs, but
# not all of them (the infra container counts as one). When every container has
# stopped, as in plus-pid, the pod is `exited` instead.
#
# Nothing started foo's infra container again: its state, read once more after
# plus-pid was made, is still `exited`. On Podman 4.3 the infra container has no
# restart policy at all: `kube play` gives the Pod's `restartPolicy` to the Pod's
# own containers (here app and sidecar), not to the infra container. So nothing
# would restart it, whether it is killed or pause dies by itself. (Podman 4.6 gave
# a pod a restart policy of its own, `pod create --restart`.) A container stopped
# with `podman kill` is not restarted by its policy either; before Podman 4.7 that
# held only for the signal `KILL`, the one labkit sends (a container killed with
# another signal was restarted).
#
# A kubelet would notice at its next sync that the pod's sandbox is no longer
# ready. It records the event "Pod sandbox changed, it will be killed and
# re-created.", stops the containers that still run, asks for a new sandbox (with a
# new network namespace, which the network plugin sets up anew, address included,
# for a Pod not on the host's network) and starts the containers in it again. The
# Pod object and its UID stay the same.
# With `restartPolicy: Never` it stops the containers and makes no new sandbox.
#
# ## Exercises
#
# labkit's Podman is the lab's own: make pods with `lab.podman_pod(...)`, or in a
# terminal with `labkit podman ...` (podman with the lab's store and
# configuration; give `--network none`, as the lab's own pods have). A plain
# `podman` in a terminal is the machine's own, with another store: the checks do
# not see its pods. Name them as the card says; **Check** reads Podman's API and
# the kernel, **Hint** unfolds one hint at a time.
#
# **1.** pause as the app's PID 1 (the card under «What `--share` changes»):

# %%
# your code for exercise 1 here

# %% tags=["nbval-ignore-output"]
exercises.get("05.shared-pid").check()

# %% [markdown]
# **2.** Containers that outlive their infra container, as foo's did above, in a
# pod `lonely` of your own:

# %%
exercises.get("05.lonely")

# %%
# your code for exercise 2 here

# %% tags=["nbval-ignore-output"]
exercises.get("05.lonely").check()

# %% [markdown]
# This button removes every pod of this chapter; leaving the notebook does the
# same.

# %%
lab.cleanup_button()
