"""The CRI client: stubs built from ``runtime_v1.proto`` at first use (grpcio-tools).

>>> cri = CriClient("/run/labkit/lk-0000-containerd/containerd.sock")   # doctest: +SKIP
>>> cri.call("Version", cri.pb.VersionRequest()).runtime_name             # doctest: +SKIP
'containerd'
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

from ....errors import not_answering, refused

CALL_TIMEOUT_S = float(os.environ.get("LABKIT_CRI_TIMEOUT", "60"))
"""Seconds a CRI call may take before labkit says its containerd does not answer: a minute
on a real machine; the cgroup v2 guest, emulated in software on a busy CI host, gives more
(tests/v2/guest.sh), where a StartContainer once took longer than a minute."""

_HERE = os.path.dirname(os.path.abspath(__file__))
CONTAINER_STATES = {0: "Created", 1: "Running", 2: "Exited", 3: "Unknown"}  # ContainerState
RECONNECT = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
             ("grpc.max_reconnect_backoff_ms", 500)]


@functools.cache
def _modules():
    import grpc

    sys.path.insert(0, _HERE)
    try:
        return grpc.protos_and_services("runtime_v1.proto")
    finally:
        sys.path.remove(_HERE)


class CriClient:
    """RuntimeService and ImageService over a unix socket; errors become sentences."""

    def __init__(self, socket: str) -> None:
        import grpc

        self.socket = socket
        self.pb, services = _modules()
        # A containerd that labkit starts again answers within a second or so; gRPC's own
        # reconnect backoff would grow to two minutes while it is down, so it is capped.
        self._channel = grpc.insecure_channel(f"unix://{socket}", options=RECONNECT)
        self.runtime = services.RuntimeServiceStub(self._channel)
        self.images = services.ImageServiceStub(self._channel)

    def call(self, method: str, request: Any, timeout: float | None = None,
             what: str = "") -> Any:
        import grpc

        stub = self.images if method == "ImageStatus" else self.runtime
        try:
            return getattr(stub, method)(request, timeout=timeout or CALL_TIMEOUT_S)
        except grpc.RpcError as error:
            code, detail = error.code(), (error.details() or "").strip()
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise not_answering("labkit's containerd", self.socket, "re-run the cell "
                                    "(labkit starts it again), or see its log next to the "
                                    "socket") from None
            raise refused("containerd", what or method, detail) from None

    def close(self) -> None:
        self._channel.close()
