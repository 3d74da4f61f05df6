"""Workshop benchmark: a learner's wait from login to a running kernel in a fresh node,
the hub's path against the same node started by hand with `docker run` (the raw tool);
a node's memory idle and running chapter 3; chapter 1 run in 1, 3 and 6 nodes at once.

    sudo .venv/bin/python bench/bench_workshop.py [--repeat 3] [--at-once 3 6]

Needs the learner node image (`sudo ./lab workshop build`) and no workshop up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from labkit.runtimes.docker import connect
from labkit.workshop import hub
from labkit.workshop.privileges import node_privileges

REPO = Path(__file__).resolve().parents[1]
CGROUP = Path("/sys/fs/cgroup/memory/docker")  # cgroup v1, Docker's cgroupfs driver


def wait(condition, seconds: float = 300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError


def jupyter(base: str, token: str, method: str, path: str) -> dict:
    call = urllib.request.Request(f"{base}/api{path}", method=method,
                                  data=b"{}" if method == "POST" else None,
                                  headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(call, timeout=60) as answer:
        return json.loads(answer.read() or b"{}")


def kernel_running(base: str, token: str) -> None:
    """Start a kernel and run a cell in it (an execute request answered over its
    websocket, as JupyterLab does it)."""
    import websocket

    kernel = jupyter(base, token, "POST", "/kernels")
    url = base.replace("http://", "ws://") + f"/api/kernels/{kernel['id']}/channels"
    channel = websocket.create_connection(url, header=[f"Authorization: token {token}"],
                                          timeout=120)
    try:
        msg_id = uuid.uuid4().hex
        channel.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": msg_id,
                       "username": "bench", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": "1 + 1", "silent": False}}))
        while True:
            message = json.loads(channel.recv())
            if (message.get("msg_type") == "execute_reply"
                    and message["parent_header"].get("msg_id") == msg_id):
                return
    finally:
        channel.close()


def through_the_hub(workshop, name: str) -> float:
    """Login (the user exists, as after the login form) to an idle kernel in a fresh node."""
    start = time.perf_counter()
    hub.request(workshop, "POST", "/users", {"usernames": [name]})
    hub.request(workshop, "POST", f"/users/{name}/server")
    wait(lambda: (hub.request(workshop, "GET", f"/users/{name}").get("servers") or {})
         .get("", {}).get("ready"))
    token = hub.request(workshop, "POST", f"/users/{name}/tokens", {})["token"]
    kernel_running(f"http://127.0.0.1:{workshop.port}/user/{name}", token)
    return time.perf_counter() - start


def by_hand(client, image: str) -> float:
    """The same node as `docker run` would start it, its JupyterLab reached directly."""
    port, token = hub.free_port("127.0.0.1"), "bench-token"
    extra = node_privileges()
    start = time.perf_counter()
    node = client.containers.run(
        image, ["jupyter", "lab", "--allow-root", "--ip=0.0.0.0", "--port=8888",
                f"--IdentityProvider.token={token}", "--no-browser"],
        detach=True, ports={"8888/tcp": ("127.0.0.1", port)}, cgroupns="private",
        mem_limit="2g", nano_cpus=10**9, labels={"bench": "workshop"},
        tmpfs={p: "rw,exec,dev,suid,size=4g" for p in
               ("/var/lib/docker", "/var/lib/labkit", "/var/lib/containers")}, **extra)
    try:
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                jupyter(base, token, "GET", "/status")
                return True
            except OSError:
                return False

        wait(answers)
        kernel_running(base, token)
        return time.perf_counter() - start
    finally:
        node.remove(force=True, v=True)


def memory(node_id: str, name: str) -> int:
    return int((CGROUP / node_id / name).read_text())


def chapters(node: str, *notebooks: str) -> tuple[float, bool]:
    start = time.perf_counter()
    run = subprocess.run(["docker", "exec", node, "sh", "-c",
                          "cd /opt/lab && python -m pytest -q -p no:cacheprovider --nbval "
                          + " ".join(f"notebooks/{n}" for n in notebooks)],
                         capture_output=True, text=True)
    return time.perf_counter() - start, run.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--at-once", type=int, nargs="+", default=[3, 6],
                        help="how many nodes run chapter 1 at once, one run per size")
    args = parser.parse_args()
    os.environ["LABKIT_WORKSHOP_STATE"] = tempfile.mkdtemp(prefix="lk-bench-workshop-")
    client = connect()
    proxy = REPO / ".venv/workshop-proxy/node_modules/.bin/configurable-http-proxy"
    from labkit.workshop import settings

    settings.STATE_DIR = Path(os.environ["LABKIT_WORKSHOP_STATE"])
    workshop = hub.up(learners=max(3, *args.at_once), port=hub.free_port("127.0.0.1"),
                      proxy=str(proxy.resolve()))
    try:
        hubbed, raw = [], []
        for n in range(args.repeat):
            hubbed.append(through_the_hub(workshop, f"b{n}"))
            raw.append(by_hand(client, workshop.image))
        h, r = statistics.median(hubbed), statistics.median(raw)
        print(f"login to a running kernel in a fresh node: hub {h:.1f} s, docker run "
              f"{r:.1f} s, ratio {h / r:.2f}x (medians of {args.repeat})")

        nodes = [client.containers.get(workshop.node_name(f"b{n}")) for n in range(3)]
        time.sleep(20)  # settled, each with one idle kernel
        idle = [memory(n.id, "memory.usage_in_bytes") for n in nodes]
        print(f"an idle node (one kernel): {statistics.median(idle) / 2**20:.0f} MiB")
        (CGROUP / nodes[0].id / "memory.max_usage_in_bytes").write_text("0")
        seconds, passed = chapters(nodes[0].name, "03-docker-pod.ipynb")
        peak = memory(nodes[0].id, "memory.max_usage_in_bytes")
        print(f"a node running chapter 3: peak {peak / 2**20:.0f} MiB "
              f"({seconds:.0f} s, {'passed' if passed else 'FAILED'})")

        alone, ok = chapters(nodes[1].name, "01-containers.ipynb")
        print(f"chapter 1 in one node: {alone:.0f} s ({'passed' if ok else 'FAILED'})")
        for n in range(3, max(args.at_once)):  # more nodes, for the larger classes
            through_the_hub(workshop, f"b{n}")
            nodes.append(client.containers.get(workshop.node_name(f"b{n}")))
        for size in args.at_once:
            with ThreadPoolExecutor(size) as pool:
                runs = list(pool.map(lambda n: chapters(n.name, "01-containers.ipynb"),
                                     nodes[:size]))
            print(f"chapter 1 in {size} nodes at once: {max(s for s, _ in runs):.0f} s, "
                  f"{sum(ok for _, ok in runs)} of {size} passed")
    finally:
        hub.down()


if __name__ == "__main__":
    main()
