"""`./lab test-v2` on a host that cannot run qemu says so in one sentence (and exits 2)."""

import shutil
import subprocess
from pathlib import Path

RUN = Path(__file__).resolve().parents[1] / "v2" / "run.sh"


def test_no_qemu_is_one_sentence(tmp_path):
    (tmp_path / "dirname").symlink_to(shutil.which("dirname"))
    done = subprocess.run(["/bin/bash", str(RUN)], capture_output=True, text=True,
                          env={"PATH": str(tmp_path)}, check=False)
    assert done.returncode == 2
    message = done.stderr.strip()
    assert message.startswith("test-v2: qemu-system-x86_64 is not installed")
    assert "apt-get install qemu-system-x86" in message and "\n" not in message
