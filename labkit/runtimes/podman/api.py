"""A small client for Podman's REST API (libpod), spoken over a unix socket.

Only the standard library: one HTTP/1.1 connection per call, JSON in and out.
Every refusal becomes one sentence (:class:`~labkit.errors.LabError`).

>>> print(_refusal("create pod foo", 409, b'{"message": "name foo is in use"}'))
Podman refused to create pod foo: name foo is in use.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
from typing import Any
from urllib.parse import quote, urlencode

from ...errors import EngineRefused, EngineUnavailable, not_answering, refused

API = "/v4.0.0/libpod"  # the oldest libpod API the lab speaks; podman 4.x and 5.x answer it


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


class _NobodyAnswered(Exception):
    """The socket is missing or refuses: the service is not running. Private to this
    module, which starts the service again or says so in a sentence (errors.py holds what
    a learner may see)."""


def _refusal(what: str, status: int, body: bytes) -> EngineRefused:
    try:
        message = json.loads(body).get("message") or ""
    except (ValueError, AttributeError):
        message = body.decode(errors="replace").strip()
    return refused("Podman", what, message.strip() or f"HTTP {status}")


class PodmanAPI:
    """``call("GET", "/pods/foo/json", what="inspect pod foo")`` -> the decoded JSON."""

    def __init__(self, socket_path: str, timeout: float = 60.0, revive=None) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.revive = revive  # called once when nobody answers, before one more try

    def request(self, method: str, path: str, **kwargs) -> tuple[int, bytes]:
        try:
            return self._request(method, path, **kwargs)
        except _NobodyAnswered:
            if self.revive is None:
                raise self._unavailable() from None
            self.revive()
        try:
            return self._request(method, path, **kwargs)
        except _NobodyAnswered:
            raise self._unavailable() from None

    def _unavailable(self) -> EngineUnavailable:
        return not_answering("labkit's podman service", self.socket_path,
                             "run the cell again (labkit starts it anew), or `sudo ./lab "
                             "setup` if Podman is missing")

    def _request(self, method: str, path: str, *, what: str, params: dict | None = None,
                body: Any = None, raw: bytes | None = None, content_type: str = "",
                ok: tuple[int, ...] = (200, 201, 204, 304)) -> tuple[int, bytes]:
        url = API + path + (("?" + urlencode(params, doseq=True)) if params else "")
        headers = {}
        if raw is not None:
            data, headers["Content-Type"] = raw, content_type or "application/x-tar"
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        else:
            data = None
        connection = _UnixConnection(self.socket_path, self.timeout)
        try:
            connection.request(method, url, body=data, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (FileNotFoundError, ConnectionRefusedError) as error:
            raise _NobodyAnswered() from error
        except (OSError, http.client.HTTPException) as error:
            raise EngineUnavailable(
                f"labkit's podman service stopped answering while asked to {what} ({error}): "
                "run the cell again, and labkit starts it anew.") from None
        finally:
            connection.close()
        if response.status not in ok:
            raise _refusal(what, response.status, payload)
        return response.status, payload

    def call(self, method: str, path: str, *, what: str, **kwargs) -> Any:
        _, payload = self.request(method, path, what=what, **kwargs)
        return json.loads(payload) if payload.strip() else None

    def exists(self, path: str) -> bool:
        status, _ = self.request("GET", path, what="look something up", ok=(204, 404))
        return status == 204

    def exec(self, container_id: str, command: list[str], *, what: str) -> tuple[int, str]:
        """Run a command in a running container; (exit code, stdout and stderr as text)."""
        created = self.call("POST", f"/containers/{quote(container_id)}/exec", what=what,
                            body={"Cmd": command, "AttachStdout": True, "AttachStderr": True})
        _, stream = self.request("POST", f"/exec/{created['Id']}/start", what=what,
                                 body={"Detach": False, "Tty": False})
        status, answer = self.request("GET", f"/exec/{created['Id']}/json", what=what,
                                      ok=(200, 404))
        if status == 404:  # cleaned up already: the machine stalled past exit_command_delay
            raise EngineRefused(f"Podman forgot how the command ended before labkit could ask "
                                f"(while trying to {what}); the machine was too busy: run it "
                                f"again.")
        return int(json.loads(answer).get("ExitCode") or 0), _demultiplex(stream)


def _demultiplex(stream: bytes) -> str:
    """The attach stream's frames (8-byte header: kind, 0, 0, 0, big-endian length)."""
    out, at = [], 0
    while at + 8 <= len(stream):
        kind, length = stream[at], struct.unpack(">I", stream[at + 4:at + 8])[0]
        if kind not in (0, 1, 2):  # not framed after all
            return stream.decode(errors="replace")
        out.append(stream[at + 8:at + 8 + length])
        at += 8 + length
    return b"".join(out).decode(errors="replace")
