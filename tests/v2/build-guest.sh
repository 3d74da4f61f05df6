#!/usr/bin/env bash
# Build (or reuse) a Debian 12 guest disk with systemd, cgroup v2, Docker and the lab,
# provisioned by the README's own set-up script (`./lab setup --no-engine`) run in a
# chroot of a pristine debootstrap, so the guest itself never needs a network.
# The same disk is the lab's Vagrant box (tests/vagrant/run.sh): it also has sshd, sudo,
# rsync, a `vagrant` user whose key is BASE.vagrant-key, and DHCP on its network cards;
# the test unit runs only where the kernel's command line says labkit.v2-tests.
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
if [ -f "$base" ] && [ -f "$base.kernel" ] && [ -f "$base.vagrant-key" ]; then
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

say "what Vagrant needs: sshd, sudo, rsync, the vagrant user and its key, DHCP"
debian12_chroot "$root" "apt-get update -q >/dev/null \
  && apt-get install -y -q --no-install-recommends openssh-server sudo rsync >/dev/null \
  && apt-get clean && useradd --create-home --shell /bin/bash vagrant \
  && install -d -m 700 -o vagrant -g vagrant /home/vagrant/.ssh \
  && ssh-keygen -q -t ed25519 -N '' -C labkit-vagrant -f /root/vagrant-key \
  && install -m 600 -o vagrant -g vagrant /root/vagrant-key.pub /home/vagrant/.ssh/authorized_keys \
  && systemctl enable systemd-networkd >/dev/null 2>&1"
mv "$root/root/vagrant-key" "$work/vagrant-key"
rm -f "$root/root/vagrant-key.pub"
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >"$root/etc/sudoers.d/vagrant"
chmod 440 "$root/etc/sudoers.d/vagrant"
printf '%s\n' '[Match]' 'Name=en* eth*' '' '[Network]' 'DHCP=ipv4' \
  >"$root/etc/systemd/network/50-labkit-dhcp.network"

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
mv "$work/kernel" "$base.kernel"; mv "$work/initrd" "$base.initrd"
mv "$work/vagrant-key" "$base.vagrant-key"; mv "$work/base.img" "$base"
find "$cache" -maxdepth 1 -name 'base-*' ! -name "base-$key*" -delete
echo "$base"
