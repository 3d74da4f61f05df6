#!/usr/bin/env bash
# `sudo ./lab test-vagrant`: the lab's Vagrantfile, booted. Vagrant with libvirt (the Debian
# packages vagrant-libvirt and libvirt-daemon-system), qemu's software emulation where KVM
# is not usable, and, instead of Vagrant Cloud's debian/bookworm64, a box made of the lab's
# own Debian 12 disk: the cgroup v2 guest of `./lab test-v2` (tests/v2/build-guest.sh), so
# nothing is downloaded. The box carries that name only in this run's own Vagrant home.
# Then, inside the VM, as a learner would: the Vagrantfile's set-up (`./lab setup`), and
# chapter 1 under strict nbval against what it printed when recorded on cgroup v2.
#
# Everything it makes is its own and goes at the end: the Vagrant home, the VM, its disk
# pool and an isolated libvirt network (a bridge and DHCP for the VM, no route beyond
# this host); libvirt's daemons too when it started them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${LABKIT_V2_CACHE:-/var/cache/labkit-v2}
say() { printf '==> %s\n' "$*"; }
die() { printf 'test-vagrant: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "it runs libvirt's daemon and builds a disk image: run it as root (sudo ./lab test-vagrant)."

packages=(vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients dnsmasq-base
          qemu-system-x86 qemu-utils debootstrap e2fsprogs rsync)
missing=()
for pkg in "${packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
if (exec 3<>/dev/tcp/127.0.0.1/8888) 2>/dev/null; then
  die "port 8888 on 127.0.0.1 is taken, and the Vagrantfile forwards JupyterLab to it: stop what listens there and run it again."
fi

start=$(date +%s)
base=$(bash "$repo/tests/v2/build-guest.sh" "$cache")
built=$(date +%s)

id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
name="labkit-vagrant-$id"
run=$(mktemp -d /var/tmp/labkit-vagrant.XXXXXX)
chmod 755 "$run"  # libvirt's qemu user reads the box's kernel under it
export VAGRANT_HOME="$run/home" VAGRANT_DOTFILE_PATH="$run/machine" VAGRANT_CHECKPOINT_DISABLE=1
mkdir -p "$VAGRANT_HOME" "$run/box" "$run/pool"

libvirt_started=()
# libvirtd adds chains of its own to this host's firewall when it starts (LIBVIRT_INP, ...):
# when this run starts it and they were not there, they go at the end too.
libvirt_chains=0
iptables -S 2>/dev/null | grep -q '^-N LIBVIRT_' && libvirt_chains=1
drop_libvirt_chains() {
  local tool table chain rule
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in filter nat mangle; do
      "$tool" -t "$table" -S 2>/dev/null | grep -E '^-A [A-Z]+ -j LIBVIRT_[A-Z]+$' \
        | sed 's/^-A/-D/' | while read -r rule; do
          # shellcheck disable=SC2086  # the rule's words
          "$tool" -t "$table" $rule
        done
      for chain in $("$tool" -t "$table" -S 2>/dev/null | awk '/^-N LIBVIRT_/ {print $2}'); do
        "$tool" -t "$table" -F "$chain" && "$tool" -t "$table" -X "$chain"
      done
    done
  done
}
cleanup() {
  set +e
  (cd "$repo" && timeout 300 vagrant destroy -f >/dev/null 2>&1)
  virsh -q net-destroy "$name" >/dev/null 2>&1
  virsh -q net-undefine "$name" >/dev/null 2>&1
  for volume in $(virsh -q vol-list "$name" 2>/dev/null | awk '{print $1}'); do
    virsh -q vol-delete "$volume" --pool "$name" >/dev/null 2>&1
  done
  virsh -q pool-destroy "$name" >/dev/null 2>&1
  virsh -q pool-undefine "$name" >/dev/null 2>&1
  for daemon in "${libvirt_started[@]}"; do pkill -x "$daemon"; done
  if [ ${#libvirt_started[@]} -gt 0 ] && [ "$libvirt_chains" = 0 ]; then
    sleep 1  # libvirtd gone first: it does not put them back
    drop_libvirt_chains
  fi
  rm -rf "$run"
}
trap cleanup EXIT

if ! virsh -c qemu:///system version >/dev/null 2>&1; then
  say "starting libvirt's daemons (they stop at the end)"
  mkdir -p /var/log/libvirt
  pgrep -x virtlogd >/dev/null || { virtlogd -d; libvirt_started+=(virtlogd); }
  libvirtd -d
  libvirt_started+=(libvirtd)
  for _ in $(seq 60); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.5; done
  virsh -c qemu:///system version >/dev/null 2>&1 || die "libvirtd did not start (/var/log/libvirt/libvirtd.log)."
fi
# Software emulation unless this host's KVM runs a guest (nested KVM often does not).
driver=qemu
[ "${LABKIT_VAGRANT_DRIVER:-}" = kvm ] && driver=kvm

say "the box: the lab's Debian 12 disk as qcow2, its kernel, and the vagrant user's key"
qemu-img convert -O qcow2 "$base" "$run/box/box.img"
cp "$base.kernel" "$run/box/kernel"
cp "$base.initrd" "$run/box/initrd"
install -m 600 "$base.vagrant-key" "$run/box/vagrant-key"
echo '{"provider": "libvirt", "format": "qcow2", "virtual_size": 8}' >"$run/box/metadata.json"
cat >"$run/box/Vagrantfile" <<'EOF'
# The lab's Debian 12 disk has no boot loader: libvirt boots its kernel directly.
Vagrant.configure("2") do |config|
  config.ssh.private_key_path = File.expand_path("vagrant-key", __dir__)
  config.ssh.insert_key = false
  config.vm.provider "libvirt" do |lv|
    lv.kernel = File.expand_path("kernel", __dir__)
    lv.initrd = File.expand_path("initrd", __dir__)
    lv.cmd_line = "root=/dev/vda rw console=ttyS0 apparmor=0"
  end
end
EOF
tar -C "$run/box" -cf "$run/labkit.box" .
rm -rf "$run/box"
vagrant box add --name debian/bookworm64 "$run/labkit.box" >/dev/null
rm -f "$run/labkit.box"
# This run's own settings, under the project's Vagrantfile (which wins where both speak).
cat >"$VAGRANT_HOME/Vagrantfile" <<EOF
Vagrant.configure("2") do |config|
  config.vm.provider "libvirt" do |lv|
    lv.driver = "$driver"
    lv.storage_pool_name = "$name"
    lv.management_network_name = "$name"
    lv.management_network_address = "${LABKIT_VAGRANT_SUBNET:-192.168.124.0/24}"
    lv.management_network_mode = "none"  # isolated: this host and the VM, nothing else
  end
end
EOF
virsh -q pool-define-as "$name" dir --target "$run/pool" >/dev/null
virsh -q pool-start "$name" >/dev/null

say "vagrant up --provider libvirt ($driver)"
up_started=$(date +%s)
(cd "$repo" && timeout "${LABKIT_VAGRANT_TIMEOUT:-2400}" vagrant up --provider libvirt) \
  || die "vagrant up did not finish (above)."
up_done=$(date +%s)

say "chapter 1 in the VM, strict nbval, against its cgroup v2 recording"
bash "$repo/tests/v2/replayed-outputs.sh" "$run/expected" 01
(cd "$repo" && vagrant upload "$run/expected/01-containers.ipynb" /tmp/01-containers.ipynb \
  >/dev/null)
(cd "$repo" && timeout 1800 vagrant ssh -c 'set -e; cat /sys/fs/cgroup/cgroup.controllers >/dev/null \
  && echo "cgroup fs: $(stat -fc %T /sys/fs/cgroup), init: $(cat /proc/1/comm), kernel: $(uname -r)" \
  && sudo cp /tmp/01-containers.ipynb /opt/lab/notebooks/ && cd /opt/lab \
  && sudo env LABKIT_OFFLINE=1 LABKIT_CRI_TIMEOUT=300 ./lab test -p no:cacheprovider \
       notebooks/01-containers.ipynb')
echo "test-vagrant: box ready in $(( up_started - start )) s (guest disk $(( built - start )) s)," \
  "vagrant up and set-up in $(( up_done - up_started )) s," \
  "chapter 1 in $(( $(date +%s) - up_done )) s"
