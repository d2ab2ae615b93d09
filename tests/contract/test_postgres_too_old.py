"""PsycopgPostgres refuses a real PostgreSQL 12 (below the product's floor of 13) before anything."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud_base_backup.adapters.postgres import ConnParams, PsycopgPostgres
from cloud_base_backup.domain.errors import UnsupportedServer
from cloud_base_backup.domain.exit_codes import ExitCode
from tests.fakes import RecordingLog
from tests.support.pgbins import bindir_for
from tests.support.pgcluster import PgCluster, chown_to_postgres

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def pg12() -> Iterator[PgCluster]:
    root = Path(tempfile.mkdtemp(prefix="pg-old-"))
    chown_to_postgres(root, recursive=False)
    cluster = PgCluster(root, bindir_for(12)).initdb()
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_12_is_refused_with_exit_4(pg12: PgCluster) -> None:
    pg = PsycopgPostgres(ConnParams("127.0.0.1", str(pg12.port), "postgres"), RecordingLog())
    try:
        with pytest.raises(UnsupportedServer) as err:
            pg.server_info()
    finally:
        pg.close()
    assert str(err.value) == "unsupported PostgreSQL version 12. Expecting 13 or above."
    assert err.value.exit_code == ExitCode.INVALID_INPUT == 4
