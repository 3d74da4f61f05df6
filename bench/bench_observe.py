"""Chapter 1 benchmarks: labkit against the raw tools a learner would type, in one run.

    sudo .venv/bin/python bench/bench_observe.py [--repeat 30]

Prints a Markdown table of medians and ratios (labkit / raw); lower is better.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from timing import alternating_medians, median_seconds

import labkit


def raw_observe_script(engine_name: str, memory_dir: str, cpu_dir: str) -> str:
    """What a learner types to learn the same: inspect, lsns, and cat of the cgroup files."""
    return f"""
pid=$(docker inspect -f '{{{{.State.Pid}}}}' {engine_name})
lsns -p "$pid" >/dev/null
cat /proc/$pid/cgroup >/dev/null
cat {memory_dir}/memory.limit_in_bytes {memory_dir}/memory.usage_in_bytes \
    {memory_dir}/memory.failcnt >/dev/null
cat {cpu_dir}/cpu.cfs_quota_us {cpu_dir}/cpu.cfs_period_us {cpu_dir}/cpu.stat >/dev/null
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--processes", type=int, default=520)
    args = parser.parse_args()
    rows = []
    with labkit.Lab(gather="direct") as lab:
        foo = lab.run("foo", "nginx", memory="512MB", cpus=0.5, quiet=True)
        node = lab.node
        cgroups = node.cgroups(foo.pid)
        memory_dir = node.layout.for_controller("memory").directory(cgroups["memory"])
        cpu_mount = node.layout.for_controller("cpu")
        cpu_dir = cpu_mount.directory(cgroups[cpu_mount.hierarchy])
        script = raw_observe_script(foo.engine_name, memory_dir, cpu_dir)
        ours, raw = alternating_medians(
            [lambda: lab.observe(foo), lambda: subprocess.run(["sh", "-c", script], check=True)],
            args.repeat)
        rows.append(("observe a running container (pid, namespaces, cgroups, limits)",
                     "docker inspect + lsns -p + cat of cgroup files", ours, raw))

        lab.run("many", "busybox",
                f"for i in $(seq {args.processes}); do sleep 600 & done; wait", quiet=True)
        time.sleep(2)
        count = len(node.namespace_map())
        ours, raw = alternating_medians(
            [node.namespace_map,
             lambda: subprocess.run(["lsns", "-J"], check=True, capture_output=True)],
            args.repeat)
        rows.append((f"namespace map of every process ({count} processes)", "lsns -J",
                     ours, raw))

        # A learner without root: labkit reads through its helper container.
        with labkit.Lab(gather="helper") as helper_lab:
            helper_lab.observe(foo)  # the helper and its reader started
            exec_one = ["docker", "exec", helper_lab.session.name("node-reader"),
                        "cat", f"/proc/{foo.pid}/cgroup"]
            ours, raw = alternating_medians(
                [lambda: helper_lab.observe(foo),
                 lambda: subprocess.run(exec_one, check=True, capture_output=True)],
                args.repeat)
            rows.append(("observe a running container through the helper container (no root)",
                         "docker exec helper cat /proc/PID/cgroup", ours, raw))

    def spawn(code: str) -> float:
        return median_seconds(lambda: subprocess.run([sys.executable, "-c", code], check=True),
                          max(5, args.repeat // 3))

    bare, with_labkit = spawn("pass"), spawn("import labkit")

    print("| what | raw tool | labkit (median) | raw (median) | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for what, tool, ours, raw in rows:
        print(f"| {what} | `{tool}` | {ours * 1000:.2f} ms | {raw * 1000:.2f} ms | "
              f"{ours / raw:.2f}× |")
    print(f"\n`import labkit`: {(with_labkit - bare) * 1000:.0f} ms over a bare interpreter "
          f"start ({bare * 1000:.0f} ms).")


if __name__ == "__main__":
    main()
