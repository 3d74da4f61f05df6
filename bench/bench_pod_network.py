"""Chapter 7 benchmark: a networked Pod on containerd's CRI (the CNI bridge plugin gives its
sandbox a veth on the session's bridge and an address) created, observed, its network read
(``lab.network``: ``ip -j`` in the pod's namespace and on the node) and deleted with labkit,
against the floor: the same CRI calls made alone, with requests built beforehand (the
sandbox's network is made by the same RunPodSandbox, and torn down by the same
StopPodSandbox). The two take turns.

    sudo .venv/bin/python bench/bench_pod_network.py [--repeat 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from timing import alternating_medians

import labkit
from labkit.manifest import parse_pod
from labkit.runtimes.containerd import CriPod

FOO = (Path(__file__).resolve().parents[1] / "notebooks/manifests/foo-pod.yaml").read_text()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with labkit.Lab(gather="direct") as lab:
        node = lab.containerd
        cri, pb = node.cri, node.cri.pb
        seen = {}

        def with_labkit() -> None:
            pod = lab.cri_pod(FOO, quiet=True)
            lab.observe(pod)
            seen["ip"] = lab.network(pod).ip
            pod.delete()

        template = CriPod(node, parse_pod(FOO), lab.node.layout)
        template._resolve_images()
        sandbox_config = template.sandbox_config()
        sandbox_config.linux.cgroup_parent = f"{node.kubepods}/burstable/podfloor"
        containers = [template.container_config(c) for c in template.spec.containers]

        def floor() -> None:
            sandbox = cri.call("RunPodSandbox", pb.RunPodSandboxRequest(
                config=sandbox_config)).pod_sandbox_id
            ids = []
            for config in containers:
                created = cri.call("CreateContainer", pb.CreateContainerRequest(
                    pod_sandbox_id=sandbox, config=config, sandbox_config=sandbox_config))
                cri.call("StartContainer", pb.StartContainerRequest(
                    container_id=created.container_id))
                ids.append(created.container_id)
            status = cri.call("PodSandboxStatus", pb.PodSandboxStatusRequest(
                pod_sandbox_id=sandbox, verbose=True))
            seen["floor ip"] = status.status.network.ip
            for container_id in ids:
                cri.call("ContainerStatus", pb.ContainerStatusRequest(container_id=container_id,
                                                                      verbose=True))
            cri.call("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=sandbox))
            cri.call("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox))

        ours, raw = alternating_medians([with_labkit, floor], args.repeat)
        assert seen["ip"] and seen["floor ip"], seen  # both pods had an address
        from labkit.node.cgroup_writer import remove_cgroup

        remove_cgroup(lab.node.layout, f"{node.kubepods}/burstable/podfloor",
                      up_to=node.kubepods.rsplit("/", 1)[0])
    print("| what | labkit (median) | the same CRI calls alone (median) | ratio |")
    print("| --- | --- | --- | --- |")
    print(f"| create a networked Pod (sandbox with its veth and address + 2 containers), "
          f"observe it, read its network, delete it | {ours * 1000:.0f} ms | "
          f"{raw * 1000:.0f} ms | {ours / raw:.2f}× |")


if __name__ == "__main__":
    main()
