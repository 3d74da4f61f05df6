"""A second, private Docker engine for tests that must stop, restart or reconfigure one.

It is a real dockerd (with its own containerd) on its own socket, data root, exec root and
bridge, so the machine's engine and everything on it are never disturbed. Registry traffic
can be pointed at a closed port on 127.0.0.1 (``registry="refused"``): a pull then fails
at once, on this machine, as it does where no registry answers.

Its bridge must be its own: a dockerd started with ``--bridge=none`` deletes the host's
``docker0`` on start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

BRIDGE = "lktestbr0"
BRIDGE_ADDRESS = "10.214.0.1/24"
CLOSED_PORT_URL = "http://127.0.0.1:9"  # the discard port: nothing listens on it here


class PrivateDockerd:
    def __init__(self, *, registry: str = "default") -> None:
        self.base = Path(tempfile.mkdtemp(prefix="lk-dockerd-"))
        self.socket = self.base / "docker.sock"
        self.url = f"unix://{self.socket}"
        self.env = {**os.environ}
        if registry == "refused":
            self.env.update(HTTP_PROXY=CLOSED_PORT_URL, HTTPS_PROXY=CLOSED_PORT_URL,
                            NO_PROXY="", http_proxy=CLOSED_PORT_URL,
                            https_proxy=CLOSED_PORT_URL, no_proxy="")
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60) -> PrivateDockerd:
        if not Path(f"/sys/class/net/{BRIDGE}").exists():
            for argv in (["ip", "link", "add", BRIDGE, "type", "bridge"],
                         ["ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE],
                         ["ip", "link", "set", BRIDGE, "up"]):
                subprocess.run(argv, check=True, capture_output=True)
        log = open(self.base / "dockerd.log", "ab")  # noqa: SIM115 - the daemon keeps it
        self.process = subprocess.Popen(
            ["dockerd", "--data-root", str(self.base / "data"),
             "--exec-root", str(self.base / "exec"), "--pidfile", str(self.base / "docker.pid"),
             "-H", self.url, f"--bridge={BRIDGE}", "--iptables=false", "--ip-masq=false"],
            stdout=log, stderr=log, env=self.env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.answers():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"the private dockerd did not start: {self.log_tail()}")

    def answers(self) -> bool:
        done = subprocess.run(["docker", "-H", self.url, "version", "--format",
                               "{{.Server.Version}}"], capture_output=True, check=False,
                              timeout=30)
        return done.returncode == 0

    def stop(self, timeout_s: float = 30) -> None:
        """Stop the daemon (its containers go down with it, as on a real engine stop)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def remove(self) -> None:
        """Stop, then remove every trace: mounts, directories, the bridge."""
        self.stop()
        with open("/proc/self/mountinfo") as handle:
            points = [line.split()[4] for line in handle]
        for point in sorted((p for p in points if p.startswith(f"{self.base}/")),
                            key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(self.base, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            if Path(f"/sys/class/net/{BRIDGE}").exists():
                subprocess.run(["ip", "link", "delete", BRIDGE], capture_output=True,
                               check=False)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join((self.base / "dockerd.log").read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"
