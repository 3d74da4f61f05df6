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
key=$(cat "$0" "$repo/tools/debian12.sh" "$repo/lab" "$repo/requirements.txt" \
  "$repo/pyproject.toml" "$repo/tests/v2/labkit-v2-tests.service" | sha256sum | cut -c1-12)
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
# shellcheck source=../../tools/debian12.sh
. "$repo/tools/debian12.sh"
cleanup() {
  debian12_unmount "$work/provisioned"
  rm -rf "$work"
}
trap cleanup EXIT

provisioned=$(debian12_provisioned "$cache" "$work" "$repo")
mkdir -p "$root"
tar -C "$root" -xf "$provisioned"

say "guest settings: hostname, fstab, the test unit"
echo labkit-v2 >"$root/etc/hostname"
echo "/dev/vda / ext4 rw 0 1" >"$root/etc/fstab"
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
