"""One workshop's settings, names and marks, kept in one JSON file while it is up.

Everything a workshop creates is named ``lk-ws-<id>-...`` and labelled
``io.labkit.workshop=<id>``: the hub's network, each learner's node
(``lk-ws-<id>-<learner>``) and work volume (``lk-ws-<id>-<learner>-work``, their
notebooks and progress file, kept when a node dies or is reset). ``down`` removes
exactly what carries the workshop's label, and nothing else on the host.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import LabError

WORKSHOP_LABEL = "io.labkit.workshop"
ROLE_LABEL = "io.labkit.role"
STATE_DIR = Path(os.environ.get("LABKIT_WORKSHOP_STATE", "/var/lib/labkit/workshop"))
ADMIN = "instructor"
"""The instructor's account on the hub (an admin: it sees and resets every learner)."""
NODE_WORK = "/root/work"
"""Where a learner's volume is mounted in their node: their chapters and progress file."""
NODE_PROGRESS = f"{NODE_WORK}/.labkit/progress.json"
NODE_PIDS = 4096
"""The most processes and threads a node may hold (its pids cgroup): a fork bomb in one
node stops there, not at the host's limit that every node shares. A node running chapters
2, 3, 5 and 6 peaked at 210 (docs/benchmarks.md)."""

LEARNER_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def write_private_json(file: Path, data: object) -> None:
    """Replace ``file`` with ``data`` as JSON, readable by root only; readers see the old
    file or the new one, never half."""
    temporary = file.with_suffix(".part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=1)
    temporary.replace(file)


def check_learner_name(name: str) -> str:
    """A learner's name as the hub and Docker both accept it, or one sentence."""
    if not LEARNER_RE.fullmatch(name):
        raise LabError(f"{name!r} cannot be a learner's name: use 1 to 32 lower-case letters, "
                       "digits, '-' or '_', starting with a letter.")
    if name == ADMIN:
        raise LabError(f"{ADMIN!r} is the instructor's account: give the learner another name.")
    return name


@dataclass
class Workshop:
    """What ``up`` decided, read again by the hub's configuration and by ``down``."""

    id: str = field(default_factory=lambda: secrets.token_hex(4))
    image: str = ""
    ip: str = "127.0.0.1"
    port: int = 8000
    learners: list[str] = field(default_factory=list)
    """Names allowed to log in; empty means anyone with the workshop code."""
    seats: int = 0
    """How many learners ``up`` made room for (checked against what the host holds)."""
    code: str = field(default_factory=lambda: secrets.token_urlsafe(6))  # 8 characters
    admin_code: str = field(default_factory=lambda: secrets.token_urlsafe(24))  # 32 chars
    api_token: str = field(default_factory=lambda: secrets.token_hex(24))
    cpus: float = 1.0
    memory: str = "2G"
    idle_minutes: int = 60
    warm: int = 0
    """How many warm nodes to keep ready for logins (within the seats)."""
    work_size: str = "1G"
    """How much each learner's work may hold (their work volume is a file system of this
    size, labkit/workshop/work_disks.py)."""
    lti: dict[str, str] = field(default_factory=dict)
    """The course's platform (lti.FIELDS) when learners enter from it (LTI 1.3); empty
    means they log in with the workshop code."""
    hub_ip: str = ""
    hub_port: int = 0
    proxy_api_port: int = 0
    board_port: int = 0
    """Where the class board (a hub service) listens, on 127.0.0.1; the hub proxies it."""
    proxy: str = "configurable-http-proxy"
    state: str = field(default_factory=lambda: str(STATE_DIR))

    @property
    def prefix(self) -> str:
        return f"lk-ws-{self.id}-"

    @property
    def network(self) -> str:
        return f"{self.prefix}net"

    def node_name(self, learner: str) -> str:
        return f"{self.prefix}{learner}"

    def work_volume(self, learner: str) -> str:
        return f"{self.prefix}{learner}-work"

    def labels(self, role: str) -> dict[str, str]:
        return {WORKSHOP_LABEL: self.id, ROLE_LABEL: role}

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    @property
    def api(self) -> str:
        """The hub's REST API, reached on this host (127.0.0.1 unless the hub listens elsewhere)."""
        host = "127.0.0.1" if self.ip in ("0.0.0.0", "") else self.ip
        return f"http://{host}:{self.port}/hub/api"

    @property
    def file(self) -> Path:
        return Path(self.state) / "workshop.json"

    def save(self) -> None:
        Path(self.state).mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private_json(self.file, asdict(self))  # it holds the codes

    @classmethod
    def load(cls, state: str | Path | None = None) -> Workshop | None:
        """The workshop that is up on this host, or None."""
        file = Path(state or STATE_DIR) / "workshop.json"
        try:
            return cls(**json.loads(file.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as error:
            raise LabError(f"{file} is not a workshop's settings ({error}): remove it, then "
                           "run ./lab workshop down to clear what it named.") from None
