"""The README's embedding example, run as written against a real cluster."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pgbins import MAJORS, bindir_for
from tests.support.pgcluster import PgCluster, chown_to_postgres

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Embedding\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Embedding section has one runnable example"
    return blocks[0]


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    root = Path(tempfile.mkdtemp(prefix="pg-embed-"))
    chown_to_postgres(root, recursive=False)
    cluster = PgCluster(root, bindir_for(MAJORS[-1])).initdb("--data-checksums")
    cluster.configure(archive_mode="off", fsync="off")
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_the_readme_example_backs_a_cluster_up_into_a_directory(
    cluster: PgCluster, tmp_path: Path
) -> None:
    example = tmp_path / "embed_example.py"
    example.write_text(readme_example())
    target = tmp_path / "backups-dir"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PGHOST": "127.0.0.1",
        "PGPORT": str(cluster.port),
        "PGUSER": "postgres",
    }
    done = subprocess.run(
        [sys.executable, str(example), str(target)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    status, begin_wal, end_wal = done.stdout.split()
    assert status == "DONE" and begin_wal <= end_wal
    (backup,) = (target / "backups" / "main" / "base").iterdir()
    assert "status=DONE" in (backup / "backup.info").read_text().splitlines()
    with tarfile.open(backup / "data.tar.gz") as data:
        names = data.getnames()
    assert {"PG_VERSION", "global/pg_control", "backup_label"} <= set(names)
    assert not any(target.with_name(target.name + ".uploads").rglob("*.*"))
