#!/usr/bin/env bash
# `./lab test-v2`: the chapters on a Debian 12 guest with systemd, cgroup v2 and Docker's
# systemd driver, booted under qemu (software emulation) with no network at all.
# The guest disk is cached in $LABKIT_V2_CACHE (default /var/cache/labkit-v2): a warm
# run needs no download. The code under test travels on a third disk; results come back
# as a tar on a second one.
#   --container: chapters 1-6 in the lab's own container (`./lab up` of a user who is not
#   root) inside that guest instead, as on Docker Desktop, whose VM is cgroup v2 too; their
#   outputs are checked against what they printed when recorded there
#   (tests/v2/container-tapes, `./lab record --v2 --container`).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${LABKIT_V2_CACHE:-/var/cache/labkit-v2}
container=
[ "${1:-}" = --container ] && container=1
# The chapters the container runs (7 and 8 are not recorded there yet).
container_chapters="01 02 03 04 05 06"
tapes="$repo/labkit/replay/tapes/v2"
[ -n "$container" ] && tapes="$repo/tests/v2/container-tapes"
if ! command -v qemu-system-x86_64 >/dev/null; then
  if [ "${CI:-}" = true ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends qemu-system-x86 qemu-utils debootstrap \
      e2fsprogs >/dev/null
  else
    echo "test-v2: qemu-system-x86_64 is not installed, so the cgroup v2 guest cannot boot here: sudo apt-get install qemu-system-x86 qemu-utils debootstrap." >&2
    exit 2
  fi
fi
start=$(date +%s)
base=$(bash "$repo/tests/v2/build-guest.sh" "$cache")
built=$(date +%s)
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
qemu-img create -q -f qcow2 -F raw -b "$base" "$run/disk.qcow2"
truncate -s 256M "$run/results.img"
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 tar -cf - --no-recursion) >"$run/code.tar"
if [ -z "${LABKIT_V2_RECORD:-}" ]; then
  # What each chapter printed when it was recorded in this guest (labkit/replay/tapes/v2),
  # replayed here where no engine answers: the guest's run of the chapter must print the
  # same, strict nbval, as the notebooks' stored outputs are for a cgroup v1 host.
  if [ -n "$container" ]; then
    # shellcheck disable=SC2086  # the chapters are words
    V2_TAPES=$tapes bash "$repo/tests/v2/replayed-outputs.sh" "$run/v2-expected" $container_chapters
  else
    bash "$repo/tests/v2/replayed-outputs.sh" "$run/v2-expected"
  fi
  tar -rf "$run/code.tar" -C "$run" v2-expected
fi
if [ -n "$container" ]; then
  echo "$container_chapters" >"$run/.v2-container"
  tar -rf "$run/code.tar" -C "$run" .v2-container
fi
# `./lab record --v2 [NOTEBOOK...]`: the guest records those chapters instead of testing.
if [ -n "${LABKIT_V2_RECORD:-}" ]; then
  printf '%s\n' "$LABKIT_V2_RECORD" >"$run/.v2-record"
  tar -rf "$run/code.tar" -C "$run" .v2-record
fi
# About 20 minutes alone; beside CI's slow suite on two cores, up to twice that.
limit=${LABKIT_V2_TIMEOUT:-3000}
[ -n "${LABKIT_V2_RECORD:-}" ] && limit=${LABKIT_V2_TIMEOUT:-5400}  # every chapter, recorded
# No network card, so nothing to wait for: systemd's wait for a network to come online would
# hold Docker's start (and the tests) two minutes, until it gave up.
timeout "$limit" qemu-system-x86_64 -accel tcg -machine q35 -cpu max \
  -smp 2 -m 4096 -nographic -no-reboot -nic none \
  -kernel "$base.kernel" -initrd "$base.initrd" \
  -append "root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 apparmor=0 quiet labkit.v2-tests systemd.mask=systemd-networkd-wait-online.service" \
  -drive file="$run/disk.qcow2",format=qcow2,if=virtio \
  -drive file="$run/results.img",format=raw,if=virtio \
  -drive file="$run/code.tar",format=raw,if=virtio,readonly=on \
  >"$run/console.log" 2>&1 || { echo "test-v2: the guest did not finish (see below)" >&2; tail -40 "$run/console.log" >&2; exit 1; }
mkdir "$run/results"
tar -xf "$run/results.img" -C "$run/results" 2>/dev/null
if [ ! -f "$run/results/status" ]; then
  echo "test-v2: the guest wrote no results; its console said:" >&2
  tail -60 "$run/console.log" >&2
  exit 1
fi
cat "$run/results/log"
if [ -n "${LABKIT_V2_RECORD:-}" ] && compgen -G "$run/results/tapes/*.json" >/dev/null; then
  mkdir -p "$tapes"
  cp "$run/results/tapes/"*.json "$tapes/"
  echo "test-v2: recordings kept: $(cd "$run/results/tapes" && echo *.json) in ${tapes#"$repo/"}"
fi
echo "test-v2: guest image ready in $(( built - start )) s, boot and tests in $(( $(date +%s) - built )) s"
grep -q '^exit=0$' "$run/results/status"
