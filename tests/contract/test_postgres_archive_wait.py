"""The stop's wait for WAL archiving survives the session's statement/transaction timeouts."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud_base_backup.adapters.postgres import ConnParams, PsycopgPostgres
from tests.fakes import RecordingLog
from tests.support.pgbins import MAJORS, bindir_for
from tests.support.pgcluster import PgCluster, chown_to_postgres

pytestmark = pytest.mark.contract

ARCHIVE_DELAY = 1.0


@pytest.fixture(scope="module", params=MAJORS, ids=lambda major: f"pg{major}")
def slow_archiver(request: pytest.FixtureRequest) -> Iterator[PgCluster]:
    """A cluster whose archive_command takes a second per file, so pg_backup_stop must wait."""
    root = Path(tempfile.mkdtemp(prefix="pg-archwait-"))
    chown_to_postgres(root, recursive=False)
    cluster = PgCluster(root, bindir_for(request.param)).initdb()
    cluster.configure(archive_mode="on", archive_command=f"sleep {ARCHIVE_DELAY}", fsync="off")
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_stop_waits_for_archiving_despite_session_timeouts(slow_archiver: PgCluster) -> None:
    # 17 added transaction_timeout, which also bounds each autocommit statement: left at 300 ms
    # it would cancel the stop's archive wait, as statement_timeout would on every major.
    has_tt = slow_archiver.sql("SELECT 1 FROM pg_settings WHERE name = 'transaction_timeout'")
    version = int(slow_archiver.scalar("SHOW server_version_num"))  # type: ignore[call-overload]
    assert bool(has_tt) == (version >= 170000)
    options = "-c statement_timeout=300" + (" -c transaction_timeout=300" if has_tt else "")
    pg = PsycopgPostgres(
        ConnParams("127.0.0.1", str(slow_archiver.port), "postgres", f"options='{options}'"),
        RecordingLog(),
    )
    try:
        pg.check_backup_privileges()
        pg.start_backup("slow archiver", fast=True)
        began = time.monotonic()
        stop = pg.stop_backup()
        waited = time.monotonic() - began
    finally:
        pg.abort_backup()
        pg.close()
    assert "LABEL: slow archiver" in stop.label
    assert waited >= ARCHIVE_DELAY * 0.9, f"the stop did not wait for the archiver ({waited:.2f}s)"
