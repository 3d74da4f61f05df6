"""The gatherer the cluster runtime uses on a node (shell commands), on this machine's kernel.

On minikube the same script runs through `minikube ssh`; here it runs through a
local shell, and must read exactly what labkit reads directly.
"""

import os
import subprocess

from labkit.node import Node
from labkit.node.gather import HelperGatherer


def local_shell(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def test_shell_gatherer_reads_what_direct_reading_reads(lab):
    box = lab.run("box", "busybox", "sleep 600", memory="96Mi", cpus=0.5, quiet=True)
    through_shell = Node(HelperGatherer(local_shell, "dockerd"))
    direct = lab.node
    member = [box.member()]
    shelled, read = through_shell.snapshot(member), direct.snapshot(member)
    assert shelled.members[0].namespaces == read.members[0].namespaces
    assert shelled.members[0].cgroups == read.members[0].cgroups
    assert shelled.members[0].state.limits == read.members[0].state.limits
    assert shelled.members[0].state.limits.memory_bytes == 96 * 2**20
    tree = through_shell.tree(read.members[0].state.path, ancestors=True)
    assert [n.name for n in tree.walk()][-1] == box.id
    assert os.getpid() in through_shell.namespace_map()
