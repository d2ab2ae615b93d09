"""Backup from a streaming standby (PG 15) under load, restored by the real barman-cloud-restore.

The standby does not archive (archive_mode=on archives only on a primary), so its stop returns at
once; the WAL up to the stop point (the standby's minRecoveryPoint) comes from the primary's
archive, which is flushed after the load stops, then all archived WAL is replayed and compared.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_s3_roundtrip import (
    check_restored,
    oracle_run,
    restore_and_recover,
    take_backup,
    the_done_backup,
)
from tests.support.moto_server import Destination
from tests.support.oracle import Oracle
from tests.support.pgbins import client_tool
from tests.support.pgcluster import PgCluster, chown_to_postgres

pytestmark = pytest.mark.e2e


@pytest.fixture
def standby(source: PgCluster, workdir: Path, tablespace: str) -> Iterator[PgCluster]:
    """A streaming standby of `source`, its tablespace mapped to a directory of its own."""
    ts_src = source.scalar(
        "SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = %s", tablespace
    )
    cluster = PgCluster(workdir / "standby", source.bindir)
    ts_dir = workdir / "standby-ts"
    cluster.root.mkdir()
    source.tool(
        "pg_basebackup",
        "-D",
        cluster.pgdata,
        "-R",
        "-X",
        "stream",
        "-c",
        "fast",
        "-T",
        f"{ts_src}={ts_dir}",
    )
    chown_to_postgres(cluster.root)
    chown_to_postgres(ts_dir)
    cluster.pgdata.chmod(0o700)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(ts_dir, ignore_errors=True)


def test_backup_from_standby(
    backup_cmd, source, standby, dest: Destination, oracle: Oracle, workdir, tablespace
):
    assert standby.scalar("SELECT pg_is_in_recovery()") is True
    source.start_load(clients=2)
    time.sleep(2)
    source.sql("CHECKPOINT")  # gives the standby a restartpoint to start its backup from
    take_backup(backup_cmd, standby, dest, "-z")
    time.sleep(1)
    source.stop_load()
    expected = source.fingerprint()
    source.switch_wal_and_wait_archived()

    backup_id = the_done_backup(oracle, dest, tablespace)
    shown = json.loads(
        oracle_run(oracle, "barman-cloud-backup-show", dest, backup_id, "--format", "json")
    )
    (info,) = shown.values()
    assert "BACKUP FROM: standby" in info["backup_label"]
    assert info["systemid"] == str(
        source.scalar("SELECT system_identifier FROM pg_control_system()")
    )
    # No restore point on a standby (barman creates one only on a primary): none in the WAL since.
    waldump = [client_tool(source.bindir, "pg_waldump"), "-p", str(source.pgdata / "pg_wal")]
    dump = subprocess.run(
        [*waldump, "-s", info["begin_xlog"], "-r", "XLOG"], capture_output=True, text=True
    )
    assert "CHECKPOINT" in dump.stdout and "RESTORE_POINT" not in dump.stdout, dump.stdout[-2000:]
    restored = restore_and_recover(
        oracle, dest, backup_id, workdir, standby, tablespace, immediate=False
    )
    try:
        check_restored(restored, expected)
    finally:
        restored.stop()
