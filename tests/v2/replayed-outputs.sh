#!/usr/bin/env bash
# The outputs of every chapter as its cgroup v2 recording (labkit/replay/tapes/v2) replays
# them, where no engine answers: executed copies of the notebooks, written to OUT_DIR.
# V2_TAPES names another directory of v2 recordings (tests/v2/container-tapes).
#
#   bash tests/v2/replayed-outputs.sh OUT_DIR [CHAPTER...]   (CHAPTER: 01, 02, ...; all by default)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tapes=${V2_TAPES:-$repo/labkit/replay/tapes/v2}
again="./lab record --v2"
[ "$tapes" = "$repo/labkit/replay/tapes/v2" ] || again="./lab record --v2 --container"
out=${1:?output directory}
shift
mkdir -p "$out"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
notebooks=()
if [ $# = 0 ]; then notebooks=("$repo"/notebooks/0[1-9]-*.ipynb)
else for chapter in "$@"; do notebooks+=("$repo/notebooks/$chapter"-*.ipynb); done; fi
for notebook in "${notebooks[@]}"; do
  chapter=$(basename "$notebook" | cut -c1-2)
  if [ ! -f "$tapes/$chapter.json" ]; then
    echo "replayed-outputs: chapter $chapter has no cgroup v2 recording in ${tapes#"$repo/"}: run $again notebooks/$(basename "$notebook")" >&2
    exit 1
  fi
  # No engine (a socket that does not exist), the v2 recording only: LABKIT_REPLAY=1 fails
  # in one sentence if the recording is missing; a stale one is caught by tests/replay.
  env -u CI DOCKER_HOST="unix://$scratch/no-engine.sock" LABKIT_REPLAY=1 \
    LABKIT_REPLAY_CGROUP=v2 LABKIT_REPLAY_TAPES="$tapes" LABKIT_OFFLINE=1 \
    LABKIT_PROGRESS="$scratch/progress.json" \
    "$repo/.venv/bin/jupyter" nbconvert --to notebook --execute --log-level=ERROR \
    --ExecutePreprocessor.timeout=300 --output-dir "$out" "$notebook" 2>"$scratch/said" || {
      cat "$scratch/said" >&2
      echo "replayed-outputs: chapter $chapter did not replay (above)" >&2
      exit 1; }
  grep -q 'cgroup v2 ([0-9]' "$out/$(basename "$notebook")" || {
    echo "replayed-outputs: chapter $chapter did not replay its cgroup v2 recording (its code changed since): run $again notebooks/$(basename "$notebook")" >&2
    exit 1; }
done
