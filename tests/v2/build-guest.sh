#!/usr/bin/env bash
# Build (or reuse) a Debian 12 guest disk with systemd, cgroup v2, Docker and the lab,
# provisioned by the README's own set-up script (`./lab setup --no-engine`) run in a
# chroot of a pristine debootstrap, so the guest itself never needs a network.
#
#   bash tests/v2/build-guest.sh CACHE_DIR      prints the path of the base image
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:?cache directory}
# What changes the image: this script, the set-up script, the Python requirements and the
# unit that runs the tests.
key=$(cat "$0" "$repo/lab" "$repo/requirements.txt" "$repo/pyproject.toml" \
  "$repo/tests/v2/labkit-v2-tests.service" | sha256sum | cut -c1-12)
base="$cache/base-$key.img"
if [ -f "$base" ] && [ -f "$base.kernel" ]; then
  echo "$base"
  exit 0
fi
say() { printf '==> %s\n' "$*" >&2; }
for tool in debootstrap mkfs.ext4 qemu-system-x86_64 qemu-img; do
  command -v "$tool" >/dev/null || { echo "build-guest: $tool is missing" >&2; exit 1; }
done
mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
root="$work/rootfs"
cleanup() {
  for m in dev/pts dev sys proc; do umount -l "$root/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

include=systemd-sysv,udev,kmod,linux-image-amd64,iproute2,procps,python3,python3-venv,ca-certificates
pristine="$cache/debootstrap-$(echo "$include" | sha256sum | cut -c1-12).tar"
if [ ! -f "$pristine" ]; then
  say "debootstrap bookworm (a pristine Debian 12 root file system)"
  debootstrap --variant=minbase --include="$include" bookworm "$work/pristine" \
    http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/pristine" -cf "$pristine.part" . && mv "$pristine.part" "$pristine"
  rm -rf "$work/pristine"
fi
mkdir -p "$root"
tar -C "$root" -xf "$pristine"

say "provisioning with the lab's own set-up script, in a chroot"
mkdir -p "$root/opt/lab"
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$root/opt/lab"
for m in proc sys dev dev/pts; do mount --bind "/$m" "$root/$m"; done
cp /etc/resolv.conf "$root/etc/resolv.conf"
# This machine may reach the package registries through its own certificate authority.
cp "$root/etc/ssl/certs/ca-certificates.crt" "$work/ca.orig"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"   # no daemon starts in the chroot
chmod +x "$root/usr/sbin/policy-rc.d"
env -u PIP_FIND_LINKS chroot "$root" /bin/bash -c "cd /opt/lab && ./lab setup --no-engine" >&2
rm -f "$root/usr/sbin/policy-rc.d"
cp "$work/ca.orig" "$root/etc/ssl/certs/ca-certificates.crt"
for m in dev/pts dev sys proc; do umount -l "$root/$m"; done

say "guest settings: hostname, fstab, the test unit"
echo labkit-v2 >"$root/etc/hostname"
echo "/dev/vda / ext4 rw 0 1" >"$root/etc/fstab"
: >"$root/etc/resolv.conf"
cp "$repo/tests/v2/labkit-v2-tests.service" "$root/etc/systemd/system/"
ln -sf /etc/systemd/system/labkit-v2-tests.service \
  "$root/etc/systemd/system/multi-user.target.wants/labkit-v2-tests.service"
rm -rf "$root/opt/lab"/{labkit,notebooks,tests,bench,docs}   # the code comes with each run
kernel=$(ls "$root"/boot/vmlinuz-* | head -1)
initrd=$(ls "$root"/boot/initrd.img-* | head -1)

say "making the disk image"
cp "$kernel" "$work/kernel"; cp "$initrd" "$work/initrd"
mkfs.ext4 -q -F -L root -d "$root" "$work/base.img" 8G >&2
mv "$work/kernel" "$base.kernel"; mv "$work/initrd" "$base.initrd"; mv "$work/base.img" "$base"
find "$cache" -maxdepth 1 -name 'base-*' ! -name "base-$key*" -delete
echo "$base"
