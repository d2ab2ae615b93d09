"""Round trips through an Azure or GCS stand-in: our CLI backs up, the real barman tools restore.

WAL stays in moto S3 (the source cluster's archive_command): the base backup, the listing and
the restore are what go through the Azure / GCS stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.moto_server import Destination, aws_env
from tests.support.oracle import Oracle
from tests.support.pgcluster import PgCluster


@dataclass(frozen=True)
class CloudDest:
    """One test's base-backup destination on a stand-in, with the env its tools need."""

    provider: str
    url: str
    server: str
    env: dict[str, str] = field(repr=False)
    list_keys: Callable[[str], list[str]] = field(repr=False)

    def names(self, backup_id: str) -> set[str]:
        return {key.rsplit("/", 1)[1] for key in self.list_keys(f"{self.server}/base/{backup_id}/")}


def run(argv: list[str], env: dict[str, str], timeout: float = 600) -> str:
    res = subprocess.run(argv, env=aws_env() | env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{argv[0]} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def oracle_run(oracle: Oracle, tool: str, cloud: CloudDest, *args: str) -> str:
    argv = [oracle.tool(tool), "--cloud-provider", cloud.provider, cloud.url, cloud.server, *args]
    return run(argv, cloud.env)


def take_backup(cmd: str, source: PgCluster, cloud: CloudDest, *flags: str) -> None:
    connection = ["-h", str(source.sockdir), "-p", str(source.port), "-U", "postgres"]
    run(
        [cmd, "--cloud-provider", cloud.provider, *connection, "--immediate-checkpoint", *flags,
         cloud.url, cloud.server],
        cloud.env,
    )  # fmt: skip


def the_done_backup(oracle: Oracle, cloud: CloudDest, tablespace: str) -> str:
    """The only backup's id, seen DONE by the real barman-cloud-backup-list and -show."""
    listed = json.loads(oracle_run(oracle, "barman-cloud-backup-list", cloud, "--format", "json"))
    backups = listed["backups_list"]
    assert [b["status"] for b in backups] == ["DONE"], backups
    backup_id = str(backups[0]["backup_id"])
    shown = json.loads(
        oracle_run(oracle, "barman-cloud-backup-show", cloud, backup_id, "--format", "json")
    )
    (info,) = shown.values()
    assert info["status"] == "DONE" and info["backup_id"] == backup_id, info
    assert [t[0] for t in info["tablespaces"]] == [tablespace]
    return backup_id


def restore_and_compare(
    oracle: Oracle,
    cloud: CloudDest,
    wal: Destination,
    backup_id: str,
    workdir: Path,
    source: PgCluster,
    tablespace: str,
    expected: dict[str, str],
) -> None:
    """The real barman-cloud-restore from the stand-in (tablespace relocated), recovery to the
    backup's consistency point with WAL from moto, then the data compared and amcheck'd."""
    pgdata, ts_dir = workdir / "restored" / "pgdata", workdir / "restored-ts"
    oracle_run(
        oracle, "barman-cloud-restore", cloud, backup_id, str(pgdata),
        "--tablespace", f"{tablespace}:{ts_dir}",
    )  # fmt: skip
    oid = source.scalar("SELECT oid FROM pg_tablespace WHERE spcname = %s", tablespace)
    assert os.readlink(pgdata / "pg_tblspc" / str(oid)) == str(ts_dir)
    restored = PgCluster(workdir / "restored", bindir=source.bindir, pgdata=pgdata)
    restore_command = oracle.shell_command("barman-cloud-wal-restore", wal, "%f", "%p")
    restored.recover(restore_command, immediate=True)
    try:
        assert restored.fingerprint() == expected
        restored.amcheck()
    finally:
        restored.stop()
