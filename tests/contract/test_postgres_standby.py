"""PsycopgPostgres on a streaming standby, every major: BACKUP FROM standby, no restore point."""

from __future__ import annotations

import shutil
import subprocess
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


@pytest.fixture(scope="module", params=MAJORS, ids=lambda major: f"pg{major}")
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[PgCluster, PgCluster]]:
    """A primary and a streaming standby made from a cold copy of it (Debian's 15
    pg_basebackup refuses newer servers, a copy of a cleanly stopped cluster works on all)."""
    root = Path(tempfile.mkdtemp(prefix="pg-standby-"))
    chown_to_postgres(root, recursive=False)
    bindir = bindir_for(request.param)
    primary = PgCluster(root / "primary", bindir).initdb()
    primary.configure(archive_mode="off", fsync="off")
    standby = PgCluster(root / "standby", bindir)
    try:
        primary.start()
        primary.sql("CREATE TABLE before_copy AS SELECT generate_series(1, 1000) AS n")
        primary.stop()
        standby.root.mkdir()
        subprocess.run(["cp", "-a", str(primary.pgdata), str(standby.pgdata)], check=True)
        primary.start()
        standby.configure(primary_conninfo=f"host=127.0.0.1 port={primary.port} user=postgres")
        (standby.pgdata / "standby.signal").touch()
        chown_to_postgres(standby.pgdata)
        standby.start()
        yield primary, standby
    finally:
        standby.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


def wait_replayed(primary: PgCluster, standby: PgCluster, timeout: float = 60) -> None:
    target = primary.scalar("SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + timeout
    while not standby.scalar("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", target):
        assert time.monotonic() < deadline, (
            f"standby did not replay {target}:\n{standby.log_tail()}"
        )
        time.sleep(0.1)


@pytest.mark.timeout(120)
def test_backup_from_a_streaming_standby(pair: tuple[PgCluster, PgCluster]) -> None:
    primary, standby = pair
    log = RecordingLog()
    pg = PsycopgPostgres(ConnParams("127.0.0.1", str(standby.port), "postgres"), log)
    try:
        info = pg.server_info()
        assert info.systemid == str(
            primary.scalar("SELECT system_identifier FROM pg_control_system()")
        )
        pg.check_backup_privileges()
        assert pg.in_recovery
        # A standby's start makes a restartpoint, which needs a checkpoint replayed from the primary.
        primary.sql("CHECKPOINT")
        wait_replayed(primary, standby)
        start = pg.start_backup("Barman backup cloud 20250101T000000", fast=True)
        primary.sql("CREATE TABLE during_backup AS SELECT generate_series(1, 1000) AS n")
        wait_replayed(primary, standby)
        # No archive wait without archive_mode=always on the standby: the stop returns at once.
        stop = pg.stop_backup()
        assert "BACKUP FROM: standby" in stop.label
        assert "LABEL: Barman backup cloud 20250101T000000" in stop.label
        assert start.lsn <= stop.lsn
        assert start.timeline == stop.timeline == 1
        pg.create_restore_point("barman_20250101T000000")
        # Skipped, not attempted: an attempt fails in recovery and would be logged at debug level.
        debug = [event for level, event, _ in log.records if level == "debug"]
        assert "restore point not created" not in debug
        assert standby.scalar("SELECT pg_is_in_recovery()") is True
    finally:
        pg.abort_backup()
        pg.close()
