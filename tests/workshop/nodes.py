"""Running a command in a learner node, as the workshop tests do."""

from __future__ import annotations

import subprocess


def in_node(node: str, command: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", node, "sh", "-c", command], text=True,
                          capture_output=True, timeout=timeout)
