"""The one kind of firewall rule a lab session adds: in iptables' FORWARD chain, accept what
a session's own bridge forwards from one of its ports to another, labelled with the
session (``-m comment --comment lk-<id>-pods``), so that its clean-up finds and deletes it.

Why a rule at all: where ``br_netfilter`` is loaded with ``net.bridge.bridge-nf-call-iptables``
= 1, IPv4 frames bridged between two ports pass the FORWARD chain, and Docker 20.10 sets that
chain's policy to DROP when it turns IPv4 forwarding on itself. The rule matches nothing but
frames in and out of the lab's bridge.

>>> forward_rule("lk0badcafes", "0badcafe")
('iptables', '-I', 'FORWARD', '-i', 'lk0badcafes', '-o', 'lk0badcafes', '-m', 'comment', \
'--comment', 'lk-0badcafe-pods', '-j', 'ACCEPT')
>>> rules_of("-P FORWARD DROP\\n-A FORWARD -j DOCKER-USER\\n"
...          "-A FORWARD -i lk0badcafe -o lk0badcafe -m comment --comment lk-0badcafe-pods "
...          "-j ACCEPT\\n", "0badcafe")
['-A FORWARD -i lk0badcafe -o lk0badcafe -m comment --comment lk-0badcafe-pods -j ACCEPT']
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence

from ..errors import LabError
from ..model import Forwarding
from ..session import prefix

SUFFIX = "pods"
_COMMENT_RE = re.compile(r"--comment lk-(?P<session>[0-9a-f]{8})-" + SUFFIX + r"(?: |$)")
SYSCTL = "/proc/sys/net/bridge/bridge-nf-call-iptables"


def comment(session_id: str) -> str:
    return f"{prefix(session_id)}{SUFFIX}"


def forward_rule(bridge: str, session_id: str) -> tuple[str, ...]:
    """The ``iptables`` command that inserts the session's rule for ``bridge``: first in the
    FORWARD chain, matching only frames that come in on the bridge and go out on it."""
    return ("iptables", "-I", "FORWARD", "-i", bridge, "-o", bridge, "-m", "comment",
            "--comment", comment(session_id), "-j", "ACCEPT")


def rules_of(listing: str, session: str | None = None) -> list[str]:
    """The lines of ``iptables -S FORWARD`` that are a session's rules (of any session
    when ``session`` is None)."""
    found = []
    for line in listing.splitlines():
        match = _COMMENT_RE.search(line)
        if line.startswith("-A ") and match and session in (None, match["session"]):
            found.append(line)
    return found


def _iptables(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("iptables") is None:
        raise LabError("This machine has no iptables command: install it (sudo apt-get "
                       "install iptables; Docker needs it too).")
    return subprocess.run(["iptables", *args], capture_output=True, text=True, check=False,
                          timeout=30)


def listing() -> str:
    """``iptables -S FORWARD``: the FORWARD chain's policy and rules, as iptables prints
    them ("" where iptables cannot be asked)."""
    done = _iptables("-S", "FORWARD")
    return done.stdout if done.returncode == 0 else ""


def session_rules(session: str | None = None) -> list[str]:
    """The session's rules (or every session's) now in the FORWARD chain."""
    if shutil.which("iptables") is None:
        return []
    return rules_of(listing(), session)


def run(argv: Sequence[str]) -> None:
    """Run an iptables command of the plan; its refusal is one sentence."""
    done = _iptables(*argv[1:])
    if done.returncode != 0:
        raise LabError(f"`{shlex.join(argv)}` failed: {done.stderr.strip() or done.stdout}")


def delete(rule: str) -> None:
    """Delete a rule given as ``iptables -S`` lists it (``-A FORWARD …``); gone is fine."""
    words = shlex.split(rule)
    if words[:1] == ["-A"]:
        _iptables("-D", *words[1:])


def delete_session_rules(session: str | None) -> list[str]:
    """Delete a session's rules (every session's for None); returns those deleted."""
    found = session_rules(session)
    for rule in found:
        delete(rule)
    return found


def bridged_through_iptables() -> bool | None:
    """Whether IPv4 frames a bridge forwards pass iptables here: the sysctl
    ``net.bridge.bridge-nf-call-iptables`` (None where br_netfilter is not loaded, so the
    file is not there)."""
    try:
        with open(SYSCTL) as handle:
            return handle.read().strip() == "1"
    except OSError:
        return None


def version() -> str:
    """``1.8.9 (nf_tables)``: what ``iptables --version`` says, after the ``v``."""
    done = _iptables("--version")
    match = re.search(r"v(\S+(?: \(\w+\))?)", done.stdout)
    return match[1] if match else done.stdout.strip()


def forwarding(bridge: str) -> Forwarding:
    """What decides whether two ports of ``bridge`` reach each other through it: the FORWARD
    chain's policy, whether bridged frames pass iptables, the rules that name the bridge."""
    text = listing()
    policy = next((line.split()[2] for line in text.splitlines()
                   if line.startswith("-P FORWARD ")), "ACCEPT")
    named = tuple(line for line in text.splitlines() if line.startswith("-A ")
                  and re.search(rf"(?:^| )-[io] {re.escape(bridge)}(?: |$)", line))
    return Forwarding(bridge, policy, bridged_through_iptables(), named, version())
