"""Chapter 3 benchmark: create, observe and delete the emulated pod, labkit against the
same `docker` CLI commands (plus `lsns` and the cgroup directories) in a shell script.

    sudo .venv/bin/python bench/bench_docker_pod.py [--repeat 20]

The two take turns, so a machine busy with something else slows both alike.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from timing import alternating_medians

import labkit

FOO = (Path(__file__).resolve().parents[1] / "notebooks/manifests/foo-pod.yaml").read_text()

SCRIPT = """
set -e
p=lk-bench00-shpod
for h in /sys/fs/cgroup/cpu /sys/fs/cgroup/memory; do mkdir -p $h/$p; done
echo 402653184 > /sys/fs/cgroup/memory/$p/memory.limit_in_bytes
docker run -d --name $p-sandbox --cgroup-parent /$p --hostname foo --ipc shareable \
  {image} sleep 2147483647 >/dev/null
docker run -d --name $p-app --cgroup-parent /$p --network container:$p-sandbox \
  --ipc container:$p-sandbox --memory 256m {image} httpd -f -p 80 -h /www >/dev/null
docker run -d --name $p-sidecar --cgroup-parent /$p --network container:$p-sandbox \
  --ipc container:$p-sandbox --memory 128m {image} sleep 3650d >/dev/null
for c in sandbox app sidecar; do
  pid=$(docker inspect -f '{{{{.State.Pid}}}}' $p-$c)
  lsns -p $pid >/dev/null
  cat /proc/$pid/cgroup >/dev/null
done
cat /sys/fs/cgroup/memory/$p/*/memory.limit_in_bytes >/dev/null
docker rm -f $p-app $p-sidecar $p-sandbox >/dev/null
for h in /sys/fs/cgroup/*/; do [ -d $h$p ] && find $h$p -depth -type d -exec rmdir {{}} \\; ; done
true
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with labkit.Lab(gather="direct") as lab:
        image = lab.docker.toolbox()

        def with_labkit() -> None:
            pod = lab.docker_pod(FOO, quiet=True)
            lab.observe(pod)
            pod.delete()

        def with_the_cli() -> None:
            subprocess.run(["sh", "-c", SCRIPT.format(image=image)], check=True)

        ours, raw = alternating_medians([with_labkit, with_the_cli], args.repeat)
    print("| what | labkit (median) | docker CLI script (median) | ratio |")
    print("| --- | --- | --- | --- |")
    print(f"| create, observe and delete the emulated pod | {ours * 1000:.0f} ms | "
          f"{raw * 1000:.0f} ms | {ours / raw:.2f}× |")


if __name__ == "__main__":
    main()
