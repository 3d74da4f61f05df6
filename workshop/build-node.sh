#!/usr/bin/env bash
# Build (or reuse) the workshop's learner node image, offline after the first debootstrap:
#   labkit/learner-base:KEY  Debian 12 set up by the lab's own `./lab setup --no-engine` in a
#                            chroot (Docker, containerd, runc, Podman, busybox, the Python
#                            environment with JupyterHub's single-user server), imported
#                            with `docker import`: nothing is pulled;
#   labkit/learner-node:KEY  that base with this checkout's code, chapters and exercises
#                            (a `docker commit` of one copied layer, seconds).
#
#   bash workshop/build-node.sh [CACHE_DIR]     prints the node image's name
# The debootstrap and its provisioning are cached and shared with `./lab test-v2`
# (tools/debian12.sh; same cache directory).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=node-image.sh
. "$repo/workshop/node-image.sh"
cache=${1:-${LABKIT_V2_CACHE:-/var/cache/labkit-v2}}
say() { printf '==> %s\n' "$*" >&2; }
# What changes the base: this script, the shared Debian steps, the set-up script and the
# Python requirements. What changes the node: any tracked file (the entrypoint, named by
# the base, comes with the code).
base_key=$(cat "$0" "$repo/workshop/node-image.sh" "$repo/tools/debian12.sh" "$repo/lab" \
  "$repo/requirements.txt" "$repo/pyproject.toml" | sha256sum | cut -c1-12)
code_key=$(git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 sha256sum) | sha256sum \
  | cut -c1-12)
base="labkit/learner-base:$base_key"
node="labkit/learner-node:$code_key"
if docker image inspect "$node" >/dev/null 2>&1; then
  echo "$node"
  exit 0
fi

if ! docker image inspect "$base" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "build-node: debootstrap is missing (sudo apt-get install debootstrap)" >&2; exit 1; }
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/node.XXXXXX")
  root="$work/rootfs"
  # shellcheck source=../tools/debian12.sh
  . "$repo/tools/debian12.sh"
  trap 'debian12_unmount "$work/provisioned"; rm -rf "$work"' EXIT
  provisioned=$(debian12_provisioned "$cache" "$work" "$repo")
  mkdir -p "$root"
  tar -C "$root" -xf "$provisioned"
  # A node is a container: no kernel, no boot files, no apt lists.
  rm -rf "$root"/boot/* "$root"/lib/modules/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  echo labkit-node >"$root/etc/hostname"
  say "importing it as $base"
  tar -C "$root" -c . | docker import "${NODE_IMAGE_CHANGES[@]}" \
    --change 'LABEL org.labkit.image=learner-base' - "$base" >/dev/null
  rm -rf "$work"
  trap - EXIT
  # Older bases of this lab are no use any more (their key no longer matches).
  docker image ls --filter label=org.labkit.image=learner-base --format '{{.Repository}}:{{.Tag}}' \
    | grep -vx "$base" | xargs -r docker image rm >/dev/null 2>&1 || true
fi

say "adding this checkout's code: $node"
box=$(docker create --label org.labkit.image=learner-build "$base")
trap 'docker rm -f "$box" >/dev/null 2>&1 || true' EXIT
git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 tar -cf - --no-recursion) \
  | docker cp - "$box:/opt/lab" >/dev/null
docker commit --change 'LABEL org.labkit.image=learner-node' "$box" "$node" >/dev/null
docker rm -f "$box" >/dev/null
trap - EXIT
docker image ls --filter label=org.labkit.image=learner-node --format '{{.Repository}}:{{.Tag}}' \
  | grep -vx "$node" | xargs -r docker image rm >/dev/null 2>&1 || true
echo "$node"
