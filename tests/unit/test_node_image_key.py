"""``./lab workshop up`` says when the learner node image was built from other code than the
checkout it runs from: the image's tag is ``workshop/build-node.sh``'s code key, and labkit
computes the same key for the checkout."""

from __future__ import annotations

import re
import shutil
import subprocess

from labkit.workshop.hub import REPO, code_key, stale_image_warning


def test_the_checkouts_key_is_the_one_build_node_tags_with():
    if shutil.which("git") is None:  # the lab's own container has none: no key, no warning
        assert code_key() is None
        return
    script = (REPO / "workshop" / "build-node.sh").read_text()
    pipeline = re.search(r"^code_key=\$\((.*?)\)\n", script, re.S | re.M).group(1)
    pipeline = pipeline.replace('"$repo"', str(REPO)).replace("\\\n", " ")
    built = subprocess.run(["bash", "-c", pipeline], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{12}", built)
    assert code_key() == built


def test_an_image_of_other_code_gets_one_sentence_and_the_fix(tmp_path):
    said = stale_image_warning("labkit/learner-node:0123456789ab", "ba9876543210")
    assert said.startswith("Warning: the learner node image labkit/learner-node:0123456789ab")
    assert "sudo ./lab workshop build" in said and "\n" not in said
    assert stale_image_warning("labkit/learner-node:ba9876543210", "ba9876543210") is None
    assert code_key(tmp_path) is None  # not a git checkout: nothing to compare
    assert stale_image_warning("labkit/learner-node:0123456789ab", None) is None
