"""Chapter 5 benchmark: play, observe and delete the article's pod on labkit's podman,
labkit against the same `podman` CLI commands a learner would type (kube play, inspect,
`lsns` and the cgroup files, pod rm), run on the same store and configuration.

    sudo .venv/bin/python bench/bench_podman_pod.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from timing import median_seconds

import labkit
from labkit.manifest import parse_pod
from labkit.runtimes.podman import PodmanPod
from labkit.runtimes.podman.service import (
    podman_command,
    podman_environment,
    remove_pod_cgroups,
)

FOO = (Path(__file__).resolve().parents[1] / "notebooks/manifests/foo-pod.yaml").read_text()

SCRIPT = """
set -e
podman="{podman}"
$podman kube play --network none {yaml} >/dev/null
for c in $($podman ps -q --filter pod=lk-bench00-foo); do
  pid=$($podman inspect --format '{{{{.State.Pid}}}}' $c)
  lsns -p $pid >/dev/null
  cat /proc/$pid/cgroup >/dev/null
done
cat /sys/fs/cgroup/memory/libpod_parent/*/*/memory.limit_in_bytes >/dev/null
$podman pod rm -f -t 0 lk-bench00-foo >/dev/null
"""


def _pod_cgroups() -> set[str]:
    return {path.name for path in Path("/sys/fs/cgroup").glob("*/libpod_parent/*")
            if path.is_dir() and len(path.name) == 64}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with labkit.Lab(gather="direct") as lab, tempfile.TemporaryDirectory() as tmp:
        service = lab.podman

        def with_labkit() -> None:
            pod = lab.podman_pod(FOO, quiet=True)
            lab.observe(pod)
            pod.delete()

        # The very manifest labkit plays, under a name of the benchmark's own.
        template = PodmanPod(service, parse_pod(FOO), how="kube play")
        template.resolved = {c.name: service.resolve_image(c.spec.image)
                             for c in template.spec.containers}
        template.engine_name = "lk-bench00-foo"
        yaml_path = Path(tmp) / "foo.yaml"
        yaml_path.write_text(template.kube_yaml())
        script = SCRIPT.format(podman=" ".join(podman_command()), yaml=yaml_path)
        ours = median_seconds(with_labkit, args.repeat)
        before = _pod_cgroups()
        raw = median_seconds(lambda: subprocess.run(["sh", "-c", script], check=True,
                                                    env=podman_environment()), args.repeat)
        # What `podman pod rm` leaves in the controller-less hierarchies, as labkit removes it.
        remove_pod_cgroups(_pod_cgroups() - before)
    print("| what | labkit (median) | podman CLI script (median) | ratio |")
    print("| --- | --- | --- | --- |")
    print(f"| play, observe and delete the Podman pod | {ours * 1000:.0f} ms | "
          f"{raw * 1000:.0f} ms | {ours / raw:.2f}× |")


if __name__ == "__main__":
    main()
