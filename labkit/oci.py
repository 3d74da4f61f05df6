"""OCI image archives, written with the standard library alone.

containerd imports them with ``ctr images import``; nothing is pulled.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import tarfile

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def image_archive(layer: bytes, name: str, *, entrypoint: list[str] | None = None,
                  cmd: list[str] | None = None, env: list[str] | None = None) -> bytes:
    """A one-layer OCI image layout in a tar, named ``name`` (e.g. docker.io/labkit/pause:x)."""
    return images_archive(layer, {name: {"entrypoint": entrypoint, "cmd": cmd, "env": env}})


def images_archive(layer: bytes, images: dict[str, dict]) -> bytes:
    """Several images on one layer in one OCI layout tar (one ``ctr images import``):
    ``{name: {"entrypoint": [...], "cmd": [...], "env": [...]}}``, each key optional."""
    blobs = [layer]
    manifests = []
    for name, settings in images.items():
        config = json.dumps({
            "architecture": _ARCH.get(platform.machine(), platform.machine()),
            "os": "linux",
            "config": {"Env": settings.get("env") or ["PATH=/bin"],
                       "Entrypoint": settings.get("entrypoint"), "Cmd": settings.get("cmd")},
            "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]},
        }, sort_keys=True).encode()
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": _digest(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": _digest(layer), "size": len(layer)}],
        }, sort_keys=True).encode()
        tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "digest": _digest(manifest), "size": len(manifest),
                          "annotations": {"io.containerd.image.name": name,
                                          "org.opencontainers.image.ref.name": tag}})
        blobs += [config, manifest]
    index = json.dumps({"schemaVersion": 2, "manifests": manifests}, sort_keys=True).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]
        unique = {_digest(blob)[7:]: blob for blob in blobs}
        files += [(f"blobs/sha256/{digest}", blob) for digest, blob in unique.items()]
        for directory in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for path, data in files:
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
