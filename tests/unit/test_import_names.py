"""One installed import name: code imports cloud_base_backup.domain/adapters/entrypoints only.

The three folders stay at the top of the repository; cloud_base_backup/ links them into one
package, so an installed copy never collides with another distribution's `domain` (or
`adapters`, `entrypoints`) module. A bare `import domain` would load a second copy of a module
(two BackupError classes, one of them never caught) in a checkout, and fail when installed.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("domain", "adapters", "entrypoints")
BARE = re.compile(r"^\s*(from|import) (domain|adapters|entrypoints)\b", re.M)


def test_nothing_imports_the_bare_folder_names() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}"
        for base in (*NAMES, "tests", "bench")
        for path in (ROOT / base).rglob("*.py")
        for text in [path.read_text()]
        for match in BARE.finditer(text)
    ]
    assert offenders == []


def test_the_package_links_the_top_level_folders() -> None:
    for name in NAMES:
        assert (ROOT / "cloud_base_backup" / name).resolve() == (ROOT / name).resolve()
