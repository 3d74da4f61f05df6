"""The lab's own images, built offline from what the machine has.

``labkit/toolbox`` is busybox-static with every applet linked, a page to
serve in /www, and a tiny ``curl`` that speaks through busybox ``wget``. It
stands in for the public images the article uses (nginx, httpbin, curl)
whenever those are neither present nor pullable.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import struct
import subprocess
import tarfile
from dataclasses import dataclass

from .errors import ImageUnavailable

TOOLBOX = "labkit/toolbox"
RECIPE_VERSION = "5"  # bump when the image's contents change
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")

PAUSE_SCRIPT = """#!/bin/sh
# labkit's pause: holds the pod's namespaces, does nothing, and leaves on TERM.
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
"""

HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost\n"
INDEX_HTML = "<html><body><h1>labkit stand-in web server</h1></body></html>\n"

CURL_SCRIPT = """#!/bin/sh
# labkit's stand-in for curl: the common flags, spoken through busybox wget.
out=-
for arg in "$@"; do
  case "$prev" in -o) out="$arg"; prev=; continue;; esac
  case "$arg" in
    -o) prev=-o;;
    -s|-S|-sS|-f|-fsS|-sSf|-L) ;;
    -*) echo "curl (labkit stand-in): flag $arg is not supported" >&2; exit 2;;
    *) url="$arg";;
  esac
done
[ -n "$url" ] || { echo "curl (labkit stand-in): no URL given" >&2; exit 2; }
exec wget -q -O "$out" "$url"
"""


@dataclass(frozen=True)
class StandIn:
    command: tuple[str, ...] | None  # default command, or None to require one
    what: str


WEB_SERVER = StandIn(("httpd", "-f", "-p", "80", "-h", "/www"),
                     "busybox httpd serving a page on port 80")
STAND_INS: dict[str, StandIn] = {
    "nginx": WEB_SERVER,
    "httpbin": WEB_SERVER,
    "kennethreitz/httpbin": WEB_SERVER,
    "curlimages/curl": StandIn(None, "busybox with a small curl built on wget"),
    "alpine": StandIn(("sh",), "busybox with every applet"),
    "busybox": StandIn(("sh",), "busybox with every applet"),
}


BROUGHT = "nginx, httpbin, curlimages/curl, busybox, alpine"  # for error sentences


def stand_in_for(image: str) -> StandIn | None:
    """The lab's stand-in for an image reference (tag and docker.io/ prefix ignored)."""
    return STAND_INS.get(image.split(":")[0].removeprefix("docker.io/"))


@dataclass(frozen=True)
class ResolvedImage:
    """What will really run for an image the learner asked for."""

    asked: str
    ref: str
    default_command: tuple[str, ...] | None = None
    note: str = ""  # one sentence when a stand-in runs instead

    @property
    def is_stand_in(self) -> bool:
        return bool(self.note)


def find_busybox() -> str:
    for path in BUSYBOX_CANDIDATES:
        if os.path.isfile(path) and _is_static(path):
            return path
    raise ImageUnavailable(
        "labkit builds its images from a static busybox, and none is installed: "
        "run `sudo apt-get install busybox-static` (the README's set-up does this)."
    )


def _is_static(path: str) -> bool:
    """True for a 64-bit ELF without a PT_INTERP program header (no dynamic loader)."""
    with open(path, "rb") as handle:
        header = handle.read(64)
        if header[:5] != b"\x7fELF\x02":
            return False
        order = "<" if header[5] == 1 else ">"
        phoff, = struct.unpack_from(order + "Q", header, 32)
        phentsize, phnum = struct.unpack_from(order + "HH", header, 54)
        handle.seek(phoff)
        table = handle.read(phentsize * phnum)
    pt_interp = 3
    return all(struct.unpack_from(order + "I", table, i * phentsize)[0] != pt_interp
               for i in range(phnum))


def toolbox_tag(busybox: str) -> str:
    digest = hashlib.sha256(RECIPE_VERSION.encode())
    with open(busybox, "rb") as handle:
        digest.update(handle.read())
    return digest.hexdigest()[:12]


_DIRECTORIES = (("bin", 0o755), ("www", 0o755), ("tmp", 0o1777), ("etc", 0o755),
                ("proc", 0o755), ("sys", 0o755), ("dev", 0o755), ("dev/shm", 0o1777),
                ("root", 0o755))
DEVICES = ("null", "zero", "random", "urandom")  # a runtime binds the host's over these


def _files() -> tuple[tuple[str, str, int], ...]:
    return (("www/index.html", INDEX_HTML, 0o644), ("bin/curl", CURL_SCRIPT, 0o755),
            ("pause", PAUSE_SCRIPT, 0o755),
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644),
            ("etc/group", "root:x:0:\n", 0o644),
            ("etc/hosts", HOSTS, 0o644),
            *((f"dev/{device}", "", 0o666) for device in DEVICES))


@functools.lru_cache(maxsize=4)
def _applets(busybox: str) -> tuple[str, ...]:
    """Every applet but busybox itself and curl (the lab's script), as bin/ links."""
    listed = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                            check=True).stdout.split()
    return tuple(applet for applet in listed if applet not in ("busybox", "curl"))


def toolbox_tar(busybox: str) -> bytes:
    """A root file system: busybox, a link per applet, /www/index.html and /bin/curl."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory, mode in _DIRECTORIES:
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in _applets(busybox):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        for name, text, mode in _files():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def toolbox_archive(busybox: str, directory: str = "/var/lib/labkit") -> str:
    """The toolbox's root file system as a tar file on disk (written once per busybox and
    recipe), for the ``tar -xf`` a learner types where labkit writes the files itself."""
    path = os.path.join(directory, f"toolbox-{toolbox_tag(busybox)}.tar")
    if not os.path.exists(path):
        os.makedirs(directory, exist_ok=True)
        temporary = f"{path}.{os.getpid()}"
        with open(temporary, "wb") as handle:
            handle.write(toolbox_tar(busybox))
        os.replace(temporary, path)
    return path


def write_toolbox(busybox: str, directory: str) -> None:
    """The same root file system as :func:`toolbox_tar`, written straight into
    ``directory`` (a tenth of the time of unpacking the tar, for each pod from scratch's
    member)."""
    for name, mode in _DIRECTORIES:
        path = os.path.join(directory, name)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
    shutil.copy2(busybox, os.path.join(directory, "bin", "busybox"))
    for applet in _applets(busybox):
        os.symlink("busybox", os.path.join(directory, "bin", applet))
    for name, text, mode in _files():
        path = os.path.join(directory, name)
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, mode)
