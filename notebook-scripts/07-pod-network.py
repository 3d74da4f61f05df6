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
# # 7 · The Pod's network, from the kernel up
#
# The containers of a Pod share one network namespace, so they share one `localhost`:
# the chapters so far showed that. This chapter looks at what else is in that namespace
# on a node, and how it got there: an interface with the Pod's IP, its routes, and what
# joins it to the node and to the other Pods.
#
# Four pieces of the kernel do the work:
#
# * a **network namespace** has network devices, IP routing tables and firewall rules of
#   its own (the `network_namespaces(7)` manual page lists what it isolates);
# * a **veth pair** is two virtual Ethernet devices joined like the two ends of a
#   cable: what one sends, the other receives. The two ends can be in different network
#   namespaces (`veth(4)`);
# * a **bridge** is a virtual Ethernet switch in the kernel: the interfaces plugged into
#   it are its ports;
# * **netfilter** (iptables' rules) decides what the node forwards, and, where the
#   `br_netfilter` module is loaded, what its bridges forward too.
#
# On a Kubernetes node the kubelet asks the runtime for a sandbox (the CRI's
# `RunPodSandbox`), and the runtime asks its CNI plugins (the Container Network
# Interface's) to plumb the sandbox's network namespace. labkit's containerd has one
# network configured: the `bridge` plugin, on a bridge of this session's own, with
# `host-local` for addresses (containerd adds `loopback` itself). Later you plumb a pod
# yourself, with `ip`.
#
# This chapter needs root: it enters network namespaces with `nsenter`, and makes
# interfaces and a firewall rule. Where a sentence depends on a version (the kernel,
# containerd, the CNI plugins, Docker, Podman), these are the versions it is read against
# ("Kubernetes rules" names the Kubernetes release whose source labkit's kubelet rules
# follow, as in chapter 2):

# %% tags=["nbval-ignore-output"]
import ipaddress
from pathlib import Path

import labkit
from labkit import views

lab = labkit.chapter_lab("07")
cni = lab.cni()  # starts labkit's containerd, and reads its CNI network's files
print(lab.versions())
print("CNI plugins", cni.plugins_version, "· iptables",
      lab.forwarding(cni.bridge["bridge"]).iptables)

# %% [markdown]
# ## A CRI pod's network namespace
#
# The article's Pod again (`foo`: an HTTP app, httpbin, and a curl sidecar that sleeps, the Pod every
# chapter builds), made through the CRI as in chapter 2:

# %%
manifest = Path("manifests/foo-pod.yaml").read_text()
pod = lab.cri_pod(manifest)
print(f"pod {pod.name} ({pod.kind}): {pod.state}")

# %% [markdown]
# This chapter asks before it shows, and ends with exercises checked against the
# machine; your progress is kept between sessions:

# %% tags=["nbval-ignore-output"]
from labkit import exercises

exercises.use(lab)
exercises.progress_widget("07")

# %% [markdown]
# `lab.network(pod)` runs the node's `ip -j addr` and `ip -j route` inside the
# sandbox's network namespace (as `nsenter --target <pause's PID> --net ip -j addr`
# does), reads the node's own interfaces to find each veth's other end, and the node's
# mount table to see what keeps the namespace:

# %% tags=["nbval-check-output"]
net = lab.network(pod)
print(views.network_text(net))

# %% [markdown]
# From the top:
#
# * **Kept by a bind mount.** containerd 1.6 makes the sandbox's network namespace
#   itself, before it starts pause, and bind-mounts it onto a file: under `/var/run/netns`
#   by default, under its own state directory here, because labkit's containerd sets
#   `netns_mounts_under_state_dir`. The mount keeps the namespace whatever happens to
#   pause, until the sandbox is stopped.
# * **`lo`** is up, with `127.0.0.1` and `::1`: containerd 1.6 runs CNI's `loopback`
#   plugin for every sandbox that has a network namespace of its own, besides the
#   network it is configured with. The plugin brings `lo` up; the kernel gives it its
#   addresses as it comes up.
# * **`eth0`** is one end of a veth pair; the other end is on the node, and it is a port
#   of the bridge `lk<session>`. The bridge plugin named the node's end `veth` and 8
#   random hex digits.
# * **The address** comes from the IPAM plugin the bridge plugin asks, `host-local`,
#   from the subnet it is configured with.
# * **The routes**: one, to the bridge's subnet. The kernel adds it by itself for an
#   address of an interface that is up (`ip route` would say `proto kernel`), with
#   `scope link`: every address of the subnet is reached directly on `eth0`, with no
#   gateway. There is **no default route**: this pod reaches nothing outside the
#   subnet. Nor does anything outside reach it: the node has no IPv4 address on the
#   bridge and no route to the subnet, so even a kubelet's `httpGet` probe, which runs
#   in the node's namespace, could not.
#
# That last point is labkit's configuration, not the bridge plugin's only way. Here is
# the configuration containerd loads, and what host-local has handed out:

# %% tags=["nbval-check-output"]
cni = lab.cni()
for key in ("type", "bridge", "isGateway", "ipMasq", "hairpinMode"):
    print(f"{key}: {cni.bridge[key]}")
print("ipam:", cni.bridge["ipam"]["type"], "· subnet", cni.subnet)
print("addresses host-local has handed out:", ", ".join(cni.leases))
bridge = net.peers["eth0"].master
print(f"addresses of the bridge {bridge}:",
      ", ".join(str(a) for a in net.bridges[bridge].ipv4()) or "none")
print(f"iptables FORWARD rules naming {bridge}:",
      ", ".join(lab.forwarding(bridge).rules) or "none")

# %% [markdown]
# In the CNI plugins' 1.1 bridge plugin:
#
# * `isGateway: true` would give the bridge an address (the subnet's first, by default)
#   and turn on IP forwarding on the node; `isDefaultGateway: true` would add the pod's
#   default route through that address. labkit sets neither, so the bridge has no
#   address and the pod no way off the bridge.
# * `ipMasq: true` would add iptables rules that masquerade (NAT) the pod's traffic
#   leaving the subnet. labkit sets `false`: the plugin adds no rule.
# * `hairpinMode: true` lets a frame that came in on a port go back out of the same
#   port, so that, on a node with a gateway route and kube-proxy, a pod can reach itself
#   through a Service's address (not in this lab, where the pod has no route off the
#   subnet).
#
# ## When pause dies
#
# A kubelet makes a Pod a new sandbox when the one it has is not Ready any more, as
# after its pause died (`PodSandboxChanged`, in
# `pkg/kubelet/kuberuntime/util/util.go`; also when the sandbox has no IP or more than
# one sandbox is Ready), unless the Pod's `restartPolicy` is `Never` and its containers
# have already run: that Pod is not restarted (`computePodActions`). Before you read on:

# %%
exercises.get("07.new-sandbox-ip")

# %% [markdown]
# Kill pause, as if the sandbox crashed, and read the namespace again, through the app
# this time (pause is gone):

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true}
pod.kill_sandbox()
after = lab.network(pod, "app")
print("sandbox:", pod.states()["pause"])
print("the app is still in the sandbox's network namespace:", after.inode == net.inode)
print("which is still kept at the same path:", after.pinned_at == net.pinned_at)
print("eth0 has the same address:", after.ip == net.ip)
print("and the CRI still reports it as the sandbox's IP:", after.reported_ip == net.ip)

# %% [markdown]
# Nothing of the network went with pause: the bind mount holds the namespace, the app is
# still in it, and containerd still reports the address. What a kubelet does next is stop
# the sandbox
# (`StopPodSandbox`), before it makes a new one. In containerd 1.6 that stops the
# containers, asks the CNI plugins to DEL the sandbox's network and removes the
# namespace's mount. labkit's `pod.delete()` sends the same call, then
# `RemovePodSandbox`:

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true}
old = net
pod.delete()
mounts = lab.node.read("/proc/self/mountinfo")
print("the namespace's bind mount is gone:", not any(p in mounts for p in old.pinned_at))
print("the node's end of the veth pair is gone:",
      old.peers["eth0"].name not in {link.name for link in lab.network().links})
print("host-local has the address back:", old.ip not in lab.cni().leases)

# %% [markdown]
# Now a sandbox again, with `RunPodSandbox`. labkit makes a new pod from the same
# manifest, so it has a new UID; a kubelet would keep the Pod and its UID and send
# `metadata.attempt: 1`, but the network comes about the same way: a new network
# namespace, and an ADD to the CNI plugins for it.

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true}
before = lab.cni()  # host-local's files, with foo's address given back
pod = lab.cri_pod(manifest, quiet=True)
net = lab.network(pod)
print("a new network namespace, kept at another path:", net.pinned_at != old.pinned_at)
print("the same IP as before:", net.ip == old.ip)
print("the new IP is the address right after the last one host-local had handed out:",
      ipaddress.ip_address(net.ip) == ipaddress.ip_address(before.last_reserved) + 1)

# %% [markdown]
# host-local does not hand out the lowest free address: it goes round its range from
# the address after the last one it handed out (CNI plugins 1.1,
# `plugins/ipam/host-local/backend/allocator`). So a Pod whose sandbox is made again
# has, as a rule, a new IP with host-local (other IPAM plugins have policies of their
# own). What must reach a Pod again reaches it through a Service,
# whose address does not change with the Pods behind it.
#
# ## Side by side: Docker's pod
#
# Chapter 3's pod, from the same manifest: a sandbox container on Docker's default
# network, whose bridge is `docker0`, and the app and the sidecar joining its network
# namespace with `--network container:<sandbox>`:

# %% tags=["nbval-check-output"]
docker = lab.docker_pod(manifest, quiet=True)
for line in docker.commands():
    if line.startswith("docker run"):
        words = line.split()
        name = words[words.index("--name") + 1]
        print(f"{name}:", f"--network {words[words.index('--network') + 1]}"
              if "--network" in words else "no --network (Docker's default network)")
links = {m.name: lab.node.ns_links(m.pid)["net"] for m in docker.members()}
print("one network namespace for the three:", len(set(links.values())) == 1)

# %% [markdown]
# Where is the other end of the sandbox's `eth0`? Find it yourself, before the next
# cell shows it:

# %%
exercises.get("07.docker-peer")

# %% tags=["reveal", "nbval-check-output"] jupyter={"outputs_hidden": true}
print(views.network_text(lab.network(docker)))

# %% [markdown]
# The same pieces, set up otherwise. Docker 20.10 keeps the namespace with a bind mount
# of its own, under `/run/docker/netns`; its bridge has an address, the gateway, and the
# sandbox a default route through it; `eth0` has no IPv6 address and `lo` no `::1`,
# because Docker turns IPv6 off in the sandbox of a network without IPv6; and Docker's
# built-in bridge driver (libnetwork), not a CNI plugin, made it all. For its bridges
# Docker also writes iptables rules, among them these, in the FORWARD chain:

# %%
for rule in lab.forwarding("docker0").rules:
    print(rule)

# %% [markdown]
# `-i docker0 -o docker0 -j ACCEPT` accepts what `docker0` forwards from one of its
# ports to another: from one container to another (bridged frames pass iptables only
# where `br_netfilter` is loaded: see «Two pods talking»). Keep it in mind.
#
# ## Side by side: Podman's pod
#
# labkit's Podman pods have `lo` only unless asked: chapter 5 makes them with
# `--network none`. `network=True` gives the pod a network of the session's own.
# Rootful Podman 4 networks its containers, and so a pod's infra container, with one of
# two backends: CNI, which runs CNI plugins (here the same binaries in `/usr/lib/cni` as
# labkit's containerd), or netavark, Podman's own. labkit's configuration asks this
# Podman for CNI, which loads its networks from a directory, where labkit writes one:
# the `bridge` plugin with `host-local`, with the settings of its containerd's network,
# on a bridge of its own, `lk<session>p`, with a /24 of 10.235.0.0/16. `kube play
# --network` then puts the Pod on it:

# %% tags=["nbval-check-output"]
podman = lab.podman_pod(manifest, network=True, quiet=True)
print("Podman's network backend:", lab.podman.network_backend)
made = podman.commands()
print(made[0])  # the session's network, where Podman loads networks from
print(made[-1])  # the manifest, played on that network

# %% [markdown]
# The infra container runs in the Pod's network namespace, and the Pod's containers
# join it, as they join pause's in a CRI Pod:

# %% tags=["nbval-check-output"]
print(views.network_text(lab.network(podman)))

# %% [markdown]
# The shape of foo's on containerd, from the same plugins with the same settings: a veth
# whose peer is a port of a bridge with no IPv4 address, and no default route. Podman
# keeps the namespace with a bind mount of its own, under `/run/netns`, and reports the
# address host-local handed out as the infra container's on that network, which labkit
# takes as the Pod's IP.
#
# ## By hand: a pod from scratch
#
# Chapter 6's pod from scratch has `lo` only. `web.plumb()` gives one an `eth0` on a
# bridge of the session's own, much as the bridge plugin plumbs a CRI pod with labkit's
# configuration, with the commands printed as a root shell types them (`$PAUSE` is
# pause's host PID, as in chapter 6; they join the pod's `web.commands()`):

# %%
web = lab.scratch_pod(name="web", containers={"app": {"image": "nginx"}})
print("\n".join(web.plumb()))

# %% [markdown]
# Step by step:
#
# 1. the bridge `lk<session>s`, made and brought up: the bridge plugin makes its bridge
#    the same way, the first time it needs it;
# 2. an iptables rule for that bridge, which «Two pods talking» explains;
# 3. a veth pair, both ends on the node for now, with names of the session's own;
# 4. `ip link set … netns $PAUSE` moves one end into the network namespace of process
#    `$PAUSE`;
# 5. inside, `nsenter --target $PAUSE --net` runs the node's `ip` in that namespace,
#    where the end is renamed `eth0` (an interface's name only has to be unique within
#    its namespace, so every pod can have an `eth0`, whatever the node's own interfaces
#    are called), given its address and brought up;
# 6. on the node, the other end becomes a port of the bridge and is brought up.
#
# The bridge plugin makes the pair from inside the pod's namespace, with the node's end
# made in the node's namespace directly, and it calls the kernel (netlink) rather than
# `ip`; the result has the same shape. With labkit's configuration it also turns
# hairpin mode on for the node's end (`hairpinMode`), which these commands leave off.
# And it runs before pause starts, where this plumbs a pod whose containers already
# run. The kernel agrees:

# %% tags=["nbval-check-output"]
print(views.network_text(lab.network(web)))

# %% [markdown]
# The same shape as the bridge plugin gave foo: a veth on the session's bridge, no IPv4
# address on the bridge, no default route. The four side by side, in labels that do not change
# from run to run (the addresses are in the readings above):

# %% tags=["nbval-check-output"]
views.network_table({"CRI (bridge plugin)": net, "Docker (docker0)": lab.network(docker),
                     "Podman (bridge plugin)": lab.network(podman),
                     "from scratch (by hand)": lab.network(web)})

# %% [markdown]
# ## Two pods talking
#
# A second CRI pod, on the same bridge, asks foo's app for its page on foo's IP, port 80,
# giving up after 3 seconds:

# %%
client = lab.cri_pod(name="client", quiet=True,
                     containers={"app": {"image": "busybox", "command": "sleep 3650d"}})
theirs = lab.network(client)
print("the node's end of client's eth0 is a port of the same bridge:",
      theirs.peers["eth0"].master == bridge)
ask = f"timeout 3 wget -q -O - http://{net.ip}/"
print(f"client: {ask}")
reply = client.exec("app", ask)
print("foo answered:", reply.exit_code == 0 and "<html" in reply.output)

# %% [markdown]
# Both `eth0`s pair with ports of one bridge, and have addresses of one subnet. What
# stops the request is on the node:

# %%
facts = lab.forwarding(bridge)
print("the policy of the FORWARD chain:", facts.policy)
print("IPv4 frames that a bridge forwards pass iptables (net.bridge.bridge-nf-call-iptables):",
      facts.bridged_through_iptables)
print(f"FORWARD rules naming {bridge}:", ", ".join(facts.rules) or "none")

# %% [markdown]
# Where the kernel's `br_netfilter` module is loaded and the sysctl
# `net.bridge.bridge-nf-call-iptables` is 1, an IPv4 frame that a bridge forwards from
# one port to another goes through iptables' FORWARD chain, as a routed packet does.
# Here Docker is behind both halves. Docker 20.10 loads `br_netfilter` itself when it
# manages iptables and the module is not loaded yet, and the module starts with the
# sysctl at 1; and when Docker turns IPv4 forwarding on itself (it was off when dockerd
# started, as on a fresh Debian 12), it also sets that chain's policy to DROP. It
# accepts what its own bridges forward (the rules above); nothing accepts what
# `lk<session>` forwards. The Kubernetes documentation asks a network plugin that
# connects containers to a Linux bridge to set this sysctl to 1, so that kube-proxy's
# iptables rules see bridged traffic (the CNI bridge plugin 1.1 does not set it). On a
# node where the FORWARD chain then drops by default, as Docker makes it here, bridged
# pod traffic needs a rule that accepts it: in CNI that is usually the `firewall` plugin
# chained after `bridge`. labkit adds one rule by hand instead, for this session's
# bridge and nothing else (it goes at clean-up):

# %% tags=["nbval-check-output"]
print("\n".join(lab.allow_pod_traffic(bridge)))
reply = client.exec("app", ask)
print("foo answered:", reply.exit_code == 0 and "<html" in reply.output)
print("what it answered:", reply.output.strip())

# %% [markdown]
# The bridge of the pods from scratch got the same rule in the third line `web.plumb()`
# printed (step 2 above).
#
# ## hostNetwork
#
# For contrast, a pod with `hostNetwork: true`:

# %% tags=["nbval-check-output"]
hostnet = lab.cri_pod(name="hostnet", host_network=True, quiet=True,
                      containers={"app": {"image": "busybox", "command": "sleep 3650d"}})
print(views.network_text(lab.network(hostnet)))
pause_pid = hostnet.members()[0].pid
print("pause's network namespace is the node's (the one labkit runs in):",
      lab.node.namespaces(pause_pid)["net"] == lab.node.host_namespaces["net"])
seen = set(hostnet.exec("app", "ls /sys/class/net").output.split())
print(f"the app sees the node's docker0 and {bridge}:", {"docker0", bridge} <= seen)

# %% [markdown]
# The kubelet asks for the node's network (`NODE` mode in the CRI); containerd makes no
# network namespace for the sandbox and calls no CNI plugin, so there is no veth, no
# address of the pod's own, and the runtime reports none. The kubelet then reports the
# node's IPs as the Pod's (`generateAPIPodStatus`, `pkg/kubelet/kubelet_pods.go`). Two
# things follow:
#
# * **Ports** are the node's: a port the app listens on is a port of the node, so two
#   such Pods cannot both listen on one port of one node. The Pod API says so: with
#   `hostNetwork`, a port's `hostPort` must equal its `containerPort`, and is set to it
#   when left out.
# * **DNS**: a `hostNetwork` Pod with the default `dnsPolicy`, `ClusterFirst`, gets the
#   node's DNS settings (the `Default` policy); `ClusterFirstWithHostNet` gives it the
#   cluster's.
#
# ## Exercises
#
# The checks read the kernel: the pods' network namespaces through `nsenter`, the
# node's interfaces, host-local's files, and for exercise 3 one request from one pod to
# another. **Check** gives a verdict, **Hint** unfolds one hint at a time.
#
# Exercises 1 and 2 were asked above: the new sandbox's IP, and the other end of the
# Docker pod's `eth0`.
#
# **3.** A pod plumbed by hand. Make a pod from scratch named `solo` in the cell below,
# for example
# `solo = lab.scratch_pod(name="solo", containers={"app": {"image": "busybox", "command": "sleep 3650d"}})`,
# then give it an `eth0` yourself, from a terminal (File ▸ New ▸ Terminal: this chapter
# runs in a lab opened as root, so its terminal is a root shell).

# %%
exercises.get("07.plumb-solo")

# %%
# your code for exercise 3 here

# %% tags=["nbval-ignore-output"]
exercises.get("07.plumb-solo").check()

# %% [markdown]
# ## Clean up
#
# The button removes what this chapter made: the Docker pod's containers, the pods from
# scratch and their bridge, labkit's containerd with its pods and its bridge, labkit's
# Podman with its pod, its network and its bridge, and the session's firewall rules.
# Leaving the notebook does the same.

# %%
lab.cleanup_button()
