"""What a process's log says last, for the one sentence labkit gives when it failed.

>>> import tempfile
>>> with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as log:
...     _ = log.write('starting\\nlevel=fatal msg="no space left."\\n\\n')
>>> last_line(log.name)
'level=fatal msg="no space left."'
>>> last_message(log.name)
'no space left'
>>> last_line("/nonexistent.log")
''
"""

from __future__ import annotations

import re


def last_line(path: str) -> str:
    """The log's last non-empty line, without a final full stop (a sentence follows), or
    empty if there is none or no log."""
    try:
        with open(path, errors="replace") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError:
        return ""
    return lines[-1].rstrip(".") if lines else ""


def last_message(path: str) -> str:
    """The last line's message where it is a logrus line (``msg="..."``: podman, containerd,
    dockerd), else the whole line."""
    line = last_line(path)
    found = re.search(r'msg="(.*?)\.?"', line)
    return found.group(1) if found else line
