"""minikube, as the article starts it, and commands run as root on its node."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Callable

from ...errors import EngineRefused, EngineUnavailable

NodeShell = Callable[[list[str]], str]
"""Runs an argv on the cluster's node and returns its stdout."""


def minikube_start_command(profile: str = "minikube") -> list[str]:
    """The article's cluster: minikube with containerd as its container runtime."""
    return ["minikube", "start", "-p", profile, "--container-runtime=containerd"]


def start_minikube(profile: str = "minikube") -> None:
    """Start (or resume) minikube with containerd; needs minikube, a VM or container driver
    and, the first time, a network to download its images."""
    if shutil.which("minikube") is None:
        raise EngineUnavailable("minikube is not installed, so labkit cannot start a cluster: "
                                "install minikube and kubectl, or use lab.cri_pod() here.")
    done = subprocess.run(minikube_start_command(profile), capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip() or "no reason given").splitlines()[-1]
        raise EngineRefused(f"minikube could not start: {said} (see `minikube logs`).", said)


def minikube_shell(profile: str = "minikube") -> NodeShell:
    """Run an argv as root on minikube's node."""
    def run(argv: list[str]) -> str:
        done = subprocess.run(["minikube", "-p", profile, "ssh", "--", "sudo " + shlex.join(argv)],
                              capture_output=True, text=True, check=False, timeout=60)
        return done.stdout
    return run


