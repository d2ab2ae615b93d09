"""E2E fixtures: one moto S3 server and the barman oracle per session, a source cluster per test."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.moto_server import Destination, MotoServer
from tests.support.oracle import Oracle, ensure_oracle
from tests.support.pgbins import bindir_for
from tests.support.pgcluster import DEFAULT_BINDIR, PgCluster, chown_to_postgres

TABLESPACE = "e2e_ts"


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def oracle() -> Oracle:
    return ensure_oracle()


@pytest.fixture(scope="session")
def backup_cmd() -> str:
    """Our barman-cloud-backup (project venv), or whatever E2E_BACKUP_CMD names (e.g. the oracle's)."""
    cmd = os.environ.get("E2E_BACKUP_CMD") or str(
        Path(sys.executable).parent / "barman-cloud-backup"
    )
    if not Path(cmd).exists() and not shutil.which(cmd):
        pytest.fail(f"backup command {cmd!r} not found (set E2E_BACKUP_CMD)")
    return cmd


@pytest.fixture
def tablespace() -> str:
    return TABLESPACE


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A scratch directory the postgres OS user can use (pytest's tmp_path is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="e2e-", dir=os.environ.get("E2E_TMPDIR")))
    chown_to_postgres(path, recursive=False)
    yield path
    if not os.environ.get("E2E_KEEP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def dest(moto: MotoServer) -> Destination:
    return Destination(moto, moto.create_bucket(), f"e2e/{uuid.uuid4().hex[:8]}", "pg")


@pytest.fixture
def source_bindir(request: pytest.FixtureRequest) -> Path:
    """$PG_BINDIR or PG 15, unless a test parametrizes it (indirect) with a major, 13 to 18."""
    major = getattr(request, "param", None)
    return DEFAULT_BINDIR if major is None else bindir_for(major)


@pytest.fixture
def initdb_args() -> tuple[str, ...]:
    """Extra initdb options of the source (a test parametrizes it, e.g. --data-checksums)."""
    return ()


@pytest.fixture
def source(
    workdir: Path,
    dest: Destination,
    oracle: Oracle,
    source_bindir: Path,
    initdb_args: tuple[str, ...],
) -> Iterator[PgCluster]:
    """A running cluster archiving WAL with the real barman-cloud-wal-archive, with a tablespace,
    a table in it, and pgbench tables at scale 2."""
    cluster = PgCluster(workdir / "source", source_bindir)
    cluster.initdb(*initdb_args)
    cluster.configure(
        wal_level="replica",
        archive_mode="on",
        archive_command=oracle.shell_command("barman-cloud-wal-archive", dest, "%p"),
        max_wal_size="256MB",
        fsync="off",
    )
    try:
        cluster.start()
        cluster.create_tablespace(TABLESPACE, workdir / "tablespace")
        cluster.sql(
            f"CREATE TABLE in_ts (id int PRIMARY KEY, payload text) TABLESPACE {TABLESPACE};"
            "INSERT INTO in_ts SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 20000) g;"
            f"CREATE INDEX in_ts_payload ON in_ts (payload) TABLESPACE {TABLESPACE}"
        )
        cluster.pgbench_init(scale=2)
        yield cluster
    finally:
        cluster.stop()
