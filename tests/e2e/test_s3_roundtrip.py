"""Backup with our CLI to moto S3, then list, show, restore and recover with the real barman tools.

Recovery strategy:
- quiet source: recover with `recovery_target='immediate'` (stop at the backup's consistency
  point) and compare with the source's data captured after the backup; nothing writes meanwhile.
- source under pgbench load during the backup: stop the load, capture the data, switch WAL and
  wait until that segment is archived, then replay all archived WAL and compare.
pg_backup_stop waits for the stop segment to be archived, so the backup's own WAL is always there.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.moto_server import Destination, aws_env
from tests.support.oracle import Oracle
from tests.support.pgbins import MAJORS
from tests.support.pgcluster import PgCluster, chown_to_postgres
from tests.support.verifybackup import fetch_wal, verify, wal_names

pytestmark = pytest.mark.e2e

COMPRESSIONS = {
    "none": ([], ".tar"),
    "gzip": (["-z"], ".tar.gz"),
    "bzip2": (["-j"], ".tar.bz2"),
    "snappy": (["--snappy"], ".tar.snappy"),
    "lz4": (["--lz4"], ".tar.lz4"),
}


def run(argv: list[str], timeout: float = 600) -> str:
    res = subprocess.run(argv, env=aws_env(), capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{argv[0]} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def oracle_run(oracle: Oracle, tool: str, dest: Destination, *args: str) -> str:
    """Run a real barman tool on dest; args go after URL and server (positionals, then options)."""
    return run(
        [oracle.tool(tool), "--endpoint-url", dest.moto.endpoint_url, dest.url, dest.server, *args]
    )


def ts_oid(cluster: PgCluster, name: str) -> int:
    return int(cluster.scalar("SELECT oid FROM pg_tablespace WHERE spcname = %s", name))


def take_backup(cmd: str, source: PgCluster, dest: Destination, *flags: str) -> None:
    run(
        [
            cmd,
            "--endpoint-url",
            dest.moto.endpoint_url,
            "-h",
            str(source.sockdir),
            "-p",
            str(source.port),
            "-U",
            "postgres",
            "--immediate-checkpoint",
            *flags,
            dest.url,
            dest.server,
        ]
    )


def the_done_backup(oracle: Oracle, dest: Destination, tablespace: str) -> str:
    """The id of the only backup, checked DONE by the real backup-list and backup-show."""
    listed = json.loads(oracle_run(oracle, "barman-cloud-backup-list", dest, "--format", "json"))
    backups = listed["backups_list"]
    assert [b["status"] for b in backups] == ["DONE"], backups
    backup_id = backups[0]["backup_id"]
    shown = json.loads(
        oracle_run(oracle, "barman-cloud-backup-show", dest, backup_id, "--format", "json")
    )
    (info,) = shown.values()  # keyed by backup.info's server_name, which barman sets to "cloud"
    assert info["status"] == "DONE", info
    assert info["backup_id"] == backup_id
    assert [t[0] for t in info["tablespaces"]] == [tablespace]  # [name, oid, location]
    return backup_id


def restore_and_recover(
    oracle: Oracle,
    dest: Destination,
    backup_id: str,
    workdir: Path,
    source: PgCluster,
    tablespace: str,
    immediate: bool,
) -> PgCluster:
    """barman-cloud-restore with the tablespace relocated, then recovery with barman-cloud-wal-restore."""
    restore(oracle, dest, backup_id, workdir, source, tablespace)
    return recover(oracle, dest, workdir, source, immediate)


def restore(
    oracle: Oracle,
    dest: Destination,
    backup_id: str,
    workdir: Path,
    source: PgCluster,
    tablespace: str,
) -> Path:
    """barman-cloud-restore with the tablespace relocated; returns the restored PGDATA."""
    pgdata, ts_dir = workdir / "restored" / "pgdata", workdir / "restored-ts"
    oracle_run(
        oracle,
        "barman-cloud-restore",
        dest,
        backup_id,
        str(pgdata),
        "--tablespace",
        f"{tablespace}:{ts_dir}",
    )
    assert os.readlink(pgdata / "pg_tblspc" / str(ts_oid(source, tablespace))) == str(ts_dir)
    assert any(ts_dir.glob("PG_*")), "tablespace not restored into its new location"
    # A restore run as root keeps the archive's owners: a barman backup relayed by the hook was
    # written by barman's own OS user (root here), which PostgreSQL would refuse to open.
    chown_to_postgres(ts_dir)
    return pgdata


def recover(
    oracle: Oracle, dest: Destination, workdir: Path, source: PgCluster, immediate: bool
) -> PgCluster:
    """Recovery of the restored PGDATA with WAL from the real barman-cloud-wal-restore."""
    pgdata = workdir / "restored" / "pgdata"
    cluster = PgCluster(workdir / "restored", bindir=source.bindir, pgdata=pgdata)
    restore_command = oracle.shell_command("barman-cloud-wal-restore", dest, "%f", "%p")
    return cluster.recover(restore_command, immediate=immediate)


def check_restored(restored: PgCluster, expected: dict[str, str]) -> None:
    got = restored.fingerprint()
    assert got.keys() == expected.keys()
    assert got == expected
    restored.amcheck()


@pytest.mark.parametrize("compression", list(COMPRESSIONS))
def test_roundtrip(compression, backup_cmd, source, dest, oracle, workdir, tablespace):
    flags, suffix = COMPRESSIONS[compression]
    take_backup(backup_cmd, source, dest, *flags)
    expected = source.fingerprint()

    backup_id = the_done_backup(oracle, dest, tablespace)
    names = {k.rsplit("/", 1)[1] for k in dest.keys(f"base/{backup_id}/")}
    oid = ts_oid(source, tablespace)
    assert {"backup.info", f"data{suffix}", f"{oid}{suffix}"} <= names, names

    restored = restore_and_recover(
        oracle, dest, backup_id, workdir, source, tablespace, immediate=True
    )
    try:
        check_restored(restored, expected)
    finally:
        restored.stop()


def test_split_archives(backup_cmd, source, dest, oracle, workdir, tablespace):
    take_backup(backup_cmd, source, dest, "-S", "1MB")
    expected = source.fingerprint()

    backup_id = the_done_backup(oracle, dest, tablespace)
    names = {k.rsplit("/", 1)[1] for k in dest.keys(f"base/{backup_id}/")}
    oid = ts_oid(source, tablespace)
    assert {
        "data.tar",
        "data_0001.tar",
        "data_0002.tar",
        f"{oid}.tar",
        f"{oid}_0001.tar",
    } <= names, sorted(names)

    restored = restore_and_recover(
        oracle, dest, backup_id, workdir, source, tablespace, immediate=True
    )
    try:
        check_restored(restored, expected)
    finally:
        restored.stop()


@pytest.mark.parametrize("initdb_args", [("--data-checksums",)])
@pytest.mark.parametrize("source_bindir", MAJORS, indirect=True, ids=lambda m: f"pg{m}")
def test_backup_under_write_load(request, backup_cmd, source, dest, oracle, workdir, tablespace):
    """Under pgbench, with data checksums on (verified while reading: no false positive from
    pages being written), then pg_verifybackup on what barman-cloud-restore wrote."""
    major = request.node.callspec.params["source_bindir"]
    assert int(source.scalar("SHOW server_version_num")) // 10000 == major
    assert source.scalar("SHOW data_checksums") == "on"
    source.start_load(clients=2)
    time.sleep(3)
    take_backup(backup_cmd, source, dest, "--lz4")  # exits 0: no page failed its checksum
    time.sleep(2)
    source.stop_load()
    assert source.scalar("SELECT count(*) FROM pgbench_history") > 0
    expected = source.fingerprint()
    source.switch_wal_and_wait_archived()

    backup_id = the_done_backup(oracle, dest, tablespace)
    pgdata = restore(oracle, dest, backup_id, workdir, source, tablespace)
    check_verifybackup(oracle, dest, backup_id, pgdata, major, workdir)
    restored = recover(oracle, dest, workdir, source, immediate=False)
    try:
        check_restored(restored, expected)
    finally:
        restored.stop()


def check_verifybackup(
    oracle: Oracle, dest: Destination, backup_id: str, pgdata: Path, major: int, workdir: Path
) -> None:
    """pg_verifybackup passes on the restored directory (WAL range too where a pg_waldump of the
    major is installed), then fails once one byte of a restored file is flipped."""
    shown = json.loads(
        oracle_run(oracle, "barman-cloud-backup-show", dest, backup_id, "--format", "json")
    )
    (info,) = shown.values()
    names = wal_names(info["begin_wal"], info["end_wal"], 16 << 20)
    wal = fetch_wal(oracle, dest, names, workdir / "verify-wal")
    manifest = (pgdata / "backup_manifest").read_text()
    assert manifest.startswith('{ "PostgreSQL-Backup-Manifest-Version": ' + ("2" if major >= 17 else "1"))
    assert '"Path": "pg_tblspc/' in manifest  # the tablespace's files, through the link
    ok = verify(pgdata, major, wal)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    victim = pgdata / "PG_VERSION"
    original = victim.read_bytes()
    victim.write_bytes(bytes([original[0] ^ 1]) + original[1:])
    try:
        bad = verify(pgdata, major, wal)
        assert bad.returncode != 0 and "PG_VERSION" in bad.stderr, bad.stdout + bad.stderr
    finally:
        victim.write_bytes(original)
