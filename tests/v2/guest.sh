#!/usr/bin/env bash
# Runs inside the guest, once the unit has unpacked this run's code (third disk): test,
# write the results to the second disk as a tar, and let the unit power the guest off.
set -uo pipefail
# Software emulation on a busy host: a CRI call may take minutes where a machine takes
# seconds (labkit's default deadline is one minute).
export LABKIT_CRI_TIMEOUT=300
out=/tmp/labkit-v2-results
mkdir -p "$out"
{
  cd /opt/lab
  echo "== host"
  echo "cgroup fs: $(stat -fc %T /sys/fs/cgroup)  init: $(cat /proc/1/comm)  kernel: $(uname -r)"
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info --format 'docker {{.ServerVersion}} cgroup v{{.CgroupVersion}} driver {{.CgroupDriver}}'
  echo "== images"
  .venv/bin/labkit images
  if [ -f .v2-container ]; then
    # ./lab test-v2 --container, ./lab record --v2 --container: the lab's own container
    # (`./lab up` of a user who is not root) on this cgroup v2 host, made from this guest's
    # own Debian 12 (provisioned as the learner node is) and this run's code, offline.
    echo "== the lab's container"
    start=$(date +%s)
    chapters=$(for chapter in $(cat .v2-container); do echo notebooks/"$chapter"-*.ipynb; done)
    [ -f .v2-record ] && [ "$(cat .v2-record)" != all ] && chapters=$(cat .v2-record)
    [ -f .v2-record ] || cp v2-expected/*.ipynb notebooks/
    # shellcheck source=../../workshop/node-image.sh
    . workshop/node-image.sh
    image=labkit/learner-node:v2-guest
    mkdir -p /mnt/guest-root
    mount --bind / /mnt/guest-root && mount -o remount,bind,ro /mnt/guest-root
    # The root file system alone (a bind mount shows none of the mounts on it), less what
    # a container has no use for (/lib is /usr/lib here), what /tmp holds (this run's
    # results, being written) and the guest's engines' own state.
    tar -C /mnt/guest-root -c --exclude=./boot --exclude=./usr/lib/modules --exclude='./tmp/*' \
      --exclude=./var/lib/apt/lists --exclude=./var/cache/apt --exclude=./var/log/journal \
      --exclude=./var/lib/docker --exclude=./var/lib/containerd --exclude=./var/lib/containers \
      --exclude=./var/lib/labkit --exclude=./var/lib/cni . \
      | docker import "${NODE_IMAGE_CHANGES[@]}" --change 'LABEL org.labkit.image=learner-node' \
        - "$image" >/dev/null
    made=("${PIPESTATUS[@]}")
    umount /mnt/guest-root
    echo "== image made in $(( $(date +%s) - start )) s"
    mapfile -t flags < <(./lab container-flags)
    start=$(date +%s)
    if [ "${made[0]}" != 0 ] || [ "${made[1]}" != 0 ] || [ ${#flags[@]} = 0 ]; then
      echo "the lab's image was not made from the guest's root (tar ${made[0]}, docker import ${made[1]}), or ./lab container-flags said nothing (above)"
      status=1
    elif [ -f .v2-record ]; then
      echo "== recording"
      mkdir -p "$out/tapes"
      # shellcheck disable=SC2086  # the notebooks' names are words
      docker run --rm "${flags[@]}" -v "$out/tapes:/tapes" -e LABKIT_RECORD_DIR=/tapes \
        -w /opt/lab "$image" ./lab record $chapters
      status=$?
    else
      echo "== tests"
      # shellcheck disable=SC2086
      docker run --rm "${flags[@]}" -v "$out:/results" -w /opt/lab "$image" \
        ./lab test -p no:cacheprovider -v --durations=15 --junitxml=/results/junit.xml $chapters
      status=$?
    fi
    echo "== took $(( $(date +%s) - start )) s"
  elif [ -f .v2-record ]; then
    # ./lab record --v2: record the chapters named (all by default), keep only the tapes.
    echo "== recording"
    start=$(date +%s)
    chapters=$(cat .v2-record)
    [ "$chapters" = all ] && chapters=$(grep -l 'chapter_lab(' notebooks/*.ipynb)
    mkdir -p "$out/tapes"
    # shellcheck disable=SC2086  # the notebooks' names are words
    LABKIT_RECORD_DIR="$out/tapes" ./lab record $chapters
    status=$?
    echo "== took $(( $(date +%s) - start )) s"
  else
    echo "== tests"
    start=$(date +%s)
    # The chapters, strict nbval against what they printed when recorded in this guest
    # (v2-expected: replayed on the host by tests/v2/replayed-outputs.sh), and the v2
    # assertions.
    cp v2-expected/*.ipynb notebooks/
    LABKIT_OFFLINE=1 .venv/bin/python -m pytest -p no:cacheprovider -q \
      tests/v2/guest_checks.py tests/integration/test_kubelet_values.py \
      tests/integration/test_printed_commands.py tests/integration/test_pod_network.py \
      -v --nbval \
      notebooks/01-containers.ipynb notebooks/03-docker-pod.ipynb notebooks/02-pods.ipynb \
      notebooks/05-podman-pods.ipynb notebooks/06-pod-from-scratch.ipynb \
      notebooks/07-pod-network.ipynb notebooks/08-pods-today.ipynb \
      --durations=25 --junitxml="$out/junit.xml"
    status=$?
    echo "== took $(( $(date +%s) - start )) s"
    # Chapter 1's live lessons once more, with both of the guest's cores kept busy by two
    # loops that end by themselves (a learner's loaded laptop, a crowded workshop host).
    echo "== chapter 1 with both cores busy"
    start=$(date +%s)
    busy=()
    for _ in 1 2; do timeout 900 sh -c 'while :; do :; done' & busy+=($!); done
    LABKIT_OFFLINE=1 .venv/bin/python -m pytest -p no:cacheprovider -q --nbval-lax \
      notebooks/01-containers.ipynb --junitxml="$out/junit-load.xml"
    loaded=$?
    kill "${busy[@]}" 2>/dev/null
    echo "== took $(( $(date +%s) - start )) s"
    [ "$status" = 0 ] && status=$loaded
  fi
  echo "exit=$status" >"$out/status"
} 2>&1 | tee "$out/log" | grep --line-buffered -v "Kernel is running over TCP"
# (and on the console, the unit's output: a guest that runs out of time shows how far it got)
tar -cf /dev/vdb -C "$out" . && sync
