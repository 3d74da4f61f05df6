# Sourced by the two builds that start from Debian 12 (the cgroup v2 guest of
# `./lab test-v2`, tests/v2/build-guest.sh, and the workshop's learner node,
# workshop/build-node.sh): one pristine debootstrap and one provisioning of it by the
# lab's own set-up script in a chroot, each cached and shared by both builds.

# The packages the debootstrap includes (the guest boots a kernel of its own; the
# learner node ignores it). Changing this list makes a new pristine tar.
DEBIAN12_INCLUDE=systemd-sysv,udev,kmod,linux-image-amd64,iproute2,procps,python3,python3-venv,ca-certificates

# debian12_pristine CACHE WORK: prints the path of the cached pristine tar, making it
# with debootstrap (about 150 s and 860 MB) when it is not there yet.
debian12_pristine() {
  local cache=$1 work=$2
  local pristine
  pristine="$cache/debootstrap-$(echo "$DEBIAN12_INCLUDE" | sha256sum | cut -c1-12).tar"
  if [ ! -f "$pristine" ]; then
    printf '==> %s\n' "debootstrap bookworm (a pristine Debian 12 root file system)" >&2
    mkdir -p "$cache"
    debootstrap --variant=minbase --include="$DEBIAN12_INCLUDE" bookworm "$work/pristine" \
      http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log" >&2; return 1; }
    # Two builds may start at once (CI builds the guest and the node side by side).
    tar -C "$work/pristine" -cf "$pristine.part.$$" . && mv "$pristine.part.$$" "$pristine"
    rm -rf "$work/pristine"
  fi
  echo "$pristine"
}

# debian12_chroot ROOT COMMAND: runs COMMAND (bash) in a chroot of ROOT with /proc, /sys
# and /dev, no daemon starting (policy-rc.d). The chroot borrows this machine's name
# servers and certificate authorities (it may reach the package registries through its
# own) and gives both back.
debian12_chroot() {
  local root=$1 command=$2
  local m
  for m in proc sys dev dev/pts; do mount --bind "/$m" "$root/$m"; done
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cp "$root/etc/ssl/certs/ca-certificates.crt" "$root/ca.orig"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  local status=0
  env -u PIP_FIND_LINKS DEBIAN_FRONTEND=noninteractive chroot "$root" /bin/bash -c "$command" >&2 \
    || status=$?
  rm -f "$root/usr/sbin/policy-rc.d"
  mv "$root/ca.orig" "$root/etc/ssl/certs/ca-certificates.crt"
  : >"$root/etc/resolv.conf"
  for m in dev/pts dev sys proc; do umount -l "$root/$m"; done
  return "$status"
}

# debian12_provision ROOT REPO: unpacks the lab's tracked files to ROOT/opt/lab and runs
# `./lab setup --no-engine` there in a chroot (packages and the Python environment).
debian12_provision() {
  local root=$1 repo=$2
  mkdir -p "$root/opt/lab"
  git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 tar -cf - --no-recursion) \
    | tar -xf - -C "$root/opt/lab"
  debian12_chroot "$root" "cd /opt/lab && ./lab setup --no-engine"
}

# debian12_provisioned CACHE WORK REPO: prints the path of a cached tar of the pristine
# system provisioned by the set-up script (about 5 minutes to make), shared by the guest
# and the learner node. Its key is what provisioning reads: these steps, the set-up
# script and the Python requirements.
debian12_provisioned() {
  local cache=$1 work=$2 repo=$3
  local key tar pristine
  key=$(cat "$repo/tools/debian12.sh" "$repo/lab" "$repo/requirements.txt" \
    "$repo/pyproject.toml" | sha256sum | cut -c1-12)
  tar="$cache/provisioned-$key.tar"
  mkdir -p "$cache"
  # One build provisions at a time (CI starts the guest and the node side by side): the
  # second waits here, then finds the tar made.
  exec 9>"$cache/provisioned.lock"
  flock 9
  if [ ! -f "$tar" ]; then
    pristine=$(debian12_pristine "$cache" "$work") || return 1
    mkdir -p "$work/provisioned"
    tar -C "$work/provisioned" -xf "$pristine"
    printf '==> %s\n' "provisioning Debian 12 with the lab's own set-up script, in a chroot" >&2
    debian12_provision "$work/provisioned" "$repo" || return 1
    tar -C "$work/provisioned" -cf "$tar.part.$$" . && mv "$tar.part.$$" "$tar"
    rm -rf "$work/provisioned"
    find "$cache" -maxdepth 1 -name 'provisioned-*.tar' ! -name "provisioned-$key.tar" -delete
  fi
  flock -u 9
  echo "$tar"
}

# debian12_unmount ROOT: for an EXIT trap, in case provisioning stopped half-way.
debian12_unmount() {
  local m
  for m in dev/pts dev sys proc; do umount -l "$1/$m" 2>/dev/null || true; done
}
