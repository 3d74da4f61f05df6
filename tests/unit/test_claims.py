"""docs/claims.md, the ledger of what the chapters say: a section for every chapter, and
every row with where it holds (a cell that shows it, or a source) and for which versions."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "docs" / "claims.md"


def _sections() -> dict[str, str]:
    """chapter number -> the text of its section (``## Chapter NN …`` up to the next one)."""
    text = LEDGER.read_text()
    parts = re.split(r"^## Chapter (\d\d)\b.*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _rows(section: str) -> list[list[str]]:
    """The table rows of a section (header and rule lines left out), as cells."""
    rows = []
    for line in section.splitlines():
        if not line.startswith("|") or re.match(r"^\|[\s|:-]+\|$", line):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if cells[0] in ("#", "claim", "claim (short)") or "claim" in cells[:2]:
            continue
        rows.append(cells)
    return rows


def test_every_chapter_has_a_section():
    chapters = sorted(p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    assert sorted(_sections()) == chapters


def test_every_row_says_where_it_holds_and_for_which_versions():
    for chapter, section in _sections().items():
        rows = _rows(section)
        assert len(rows) >= 10, f"chapter {chapter}: only {len(rows)} claims"
        for cells in rows:
            assert len(cells) >= 3, f"chapter {chapter}: {cells}"
            *_, where, holds_for = cells
            assert where and holds_for, f"chapter {chapter}: a row without a source: {cells}"
            assert "✱" not in " ".join(cells), f"chapter {chapter}: not checked: {cells}"
