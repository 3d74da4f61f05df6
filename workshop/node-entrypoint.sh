#!/bin/sh
# A learner node's first process: the node's own Docker engine, the lab's images loaded
# into it offline, (a warm node: waiting to be handed to a learner,) the learner's copies
# of the chapters on their volume, then the command (JupyterHub's single-user server, as
# root in the node).
# The engines keep their storage on the node's tmpfs mounts (/var/lib/docker,
# /var/lib/labkit): an overlay cannot sit on the node's own overlay, and a node's engines
# start empty each time, so a fresh node is really fresh.
set -eu
work=/root/work
prepare_work() {  # the learner's copies of the chapters, the first time (trusted already:
  # a notebook's trust is its content's signature, and the originals are signed below)
  mkdir -p "$work/.labkit"
  [ -e "$work/01-containers.ipynb" ] || cp -r /opt/lab/notebooks/. "$work/"
}
# A warm node, handed to a learner, has its work prepared by the hand-over.
if [ "${1:-}" = --prepare-work ]; then prepare_work; exit 0; fi
# Writable /sys, /proc/sys and cgroups, as --privileged gives them (already so when it
# was given; labkit/workshop/privileges.py).
mount -o remount,rw /sys 2>/dev/null || true
mount -o remount,bind,rw /proc/sys 2>/dev/null || true
for hierarchy in /sys/fs/cgroup/*/ /sys/fs/cgroup; do
  mount -o remount,bind,rw "$hierarchy" 2>/dev/null || true
done
# On a cgroup v1 host Docker gives a container the v1 hierarchies only. Hosts on v1 today
# run systemd's hybrid layout, the cgroup2 tree mounted beside them at unified/ (Debian 12
# with systemd.unified_cgroup_hierarchy=0, as the lab's own v1 machines): the node mounts it
# too, so its engines place containers in it as the host's do.
if [ "$(stat -fc %T /sys/fs/cgroup)" = tmpfs ] && [ ! -e /sys/fs/cgroup/unified ] \
    && grep -qw cgroup2 /proc/filesystems; then
  { mkdir /sys/fs/cgroup/unified && mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified; } 2>/dev/null \
    || rmdir /sys/fs/cgroup/unified 2>/dev/null || true
fi
# On a cgroup v2 host (a systemd distribution today, Docker Desktop's VM) the node has a
# cgroup namespace of its own, whose root its first processes sit in. A cgroup v2 group
# that hands controllers (memory, cpu, pids) down to its children may hold no processes
# itself, so these move to a leaf of their own, init/, and the root hands every controller
# it has down: the node's engines can then give their containers limits. Only at the root
# of a cgroup namespace of its own ("0::/", in a cgroup that is not the machine's root: the
# real root has no cgroup.type), never in a host's tree.
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && grep -qx '0::/' /proc/self/cgroup \
    && [ -e /sys/fs/cgroup/cgroup.type ] && mkdir /sys/fs/cgroup/init 2>/dev/null; then
  while read -r pid; do
    echo "$pid" >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
  done </sys/fs/cgroup/cgroup.procs
  for controller in $(cat /sys/fs/cgroup/cgroup.controllers); do
    echo "+$controller" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
  done
fi
mkdir -p /run/labkit
# The chapters signed as trusted (their stored widgets render), beside the engine's start.
/opt/lab/.venv/bin/jupyter trust /opt/lab/notebooks/*.ipynb >/dev/null 2>&1 &
trusting=$!
dockerd >/var/log/dockerd.log 2>&1 &
i=0
until docker info >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 120 ]; then
    echo "learner node: its Docker engine did not start; the end of its log:" >&2
    tail -20 /var/log/dockerd.log >&2
    exit 1
  fi
  sleep 0.5
done
/opt/lab/.venv/bin/labkit images >/var/log/labkit-images.log 2>&1 \
  || { echo "learner node: the lab's images did not load:" >&2; cat /var/log/labkit-images.log >&2; exit 1; }
wait "$trusting" || true
if [ -n "${LABKIT_WARM:-}" ]; then
  # A warm node (labkit/workshop/warm.py), nobody's yet: a Python with the single-user
  # server imported waits to be handed to a learner, then runs it with their environment.
  # (-P: the learner's work, its directory once handed over, is not on its import path)
  exec /opt/lab/.venv/bin/python -P -m labkit.workshop.warm_server
fi
prepare_work
exec "$@"
