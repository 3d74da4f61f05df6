"""The Vagrantfile learners on other systems use: valid, and provisioned by the lab's own
set-up. Booting it takes minutes under software emulation: `sudo ./lab test-vagrant`
(tests/vagrant/run.sh) does, on demand, from a box made of the lab's own image."""

import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import need

REPO = Path(__file__).resolve().parents[2]


def test_vagrant_validates_it():
    need(shutil.which("vagrant") is not None, "vagrant (CI installs it) validates the Vagrantfile")
    done = subprocess.run(["vagrant", "validate", "--ignore-provider"], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "validated successfully" in done.stdout


def test_it_runs_the_same_setup_and_forwards_only_to_loopback():
    text = (REPO / "Vagrantfile").read_text()
    assert re.search(r'provision "shell", inline: "cd /opt/lab && ./lab setup"', text)
    assert 'host_ip: "127.0.0.1"' in text
