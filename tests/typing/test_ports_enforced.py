"""mypy checks every adapter against its port: breaking an adapter's signature fails lint.

The product tree is copied, adapters are broken on purpose (a renamed method, a re-typed
argument), and mypy, run with the project's own configuration, must reject the copy at the
factory that hands the adapter out as its port. Runs in `tox -e lint` (mypy is a lint extra).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BREAKS = {
    # file: (text, replacement, the port mypy must name)
    "adapters/filetree.py": ("def walk(", "def walk_tree(", '"FileTree"'),
    "adapters/object_stores/s3.py": ("def check(self)", "def check_bucket(self)", '"ObjectStore"'),
    "adapters/tar_sink.py": ("def open(self, key: str", "def open(self, key: int", '"ArchiveSink"'),
}


@pytest.fixture(scope="module")
def mypy() -> list[str]:
    pytest.importorskip("mypy", reason="mypy is not installed (it comes with the `lint` extra)")
    return [sys.executable, "-m", "mypy", "--no-incremental"]


def _copy(tmp: Path) -> Path:
    for name in ("domain", "adapters", "entrypoints", "tests/support", "cloud_base_backup"):
        shutil.copytree(
            ROOT / name, tmp / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("pyproject.toml", "tests/__init__.py"):
        shutil.copy(ROOT / name, tmp / name)
    return tmp


def test_broken_adapters_fail_mypy_at_their_port(mypy: list[str], tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    for name, (text, replacement, _) in BREAKS.items():
        source = (tree / name).read_text()
        assert text in source, f"{name} no longer has {text!r}: update this test"
        (tree / name).write_text(source.replace(text, replacement, 1))
    result = subprocess.run(mypy, cwd=tree, capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    for name, (_, _, port) in BREAKS.items():
        lines = [line for line in result.stdout.splitlines() if port in line and "error" in line]
        assert lines, f"breaking {name} went unnoticed:\n{result.stdout}"
        assert all(line.startswith("cloud_base_backup/entrypoints/") for line in lines), result.stdout
