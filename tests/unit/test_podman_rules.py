"""Which of a Pod's flags labkit's Podman refuses depends on the Podman: kube play honours
hostPID from 4.4 and hostIPC from 4.5 (before, it leaves them out without a word)."""

from __future__ import annotations

import pytest

from labkit.errors import SpecError
from labkit.manifest import pod_from_kwargs
from labkit.runtimes.podman.pod import refuse_what_podman_ignores

BOX = {"app": {"image": "busybox", "command": "sleep 60"}}


@pytest.mark.parametrize(("version", "flag", "refused"), [
    ("4.3.1", "host_pid", True), ("4.3.1", "host_ipc", True),
    ("4.4.0", "host_pid", False), ("4.4.2", "host_ipc", True),
    ("4.5.0", "host_ipc", False), ("5.2.3", "host_pid", False),
    ("", "host_pid", True),  # a Podman that does not say its version: the safe answer
])
def test_refused_where_this_podman_would_ignore_it(version, flag, refused):
    spec = pod_from_kwargs("p", BOX, **{flag: True})
    if refused:
        with pytest.raises(SpecError, match=r"lab\.cri_pod"):
            refuse_what_podman_ignores(spec, version)
    else:
        refuse_what_podman_ignores(spec, version)
