"""Two backups of one server started together, and special files in PGDATA (issue 17).

Concurrent runs: each round starts two runs of our CLI at the same instant (a time barrier),
with the clock pinned to one second so that both compute the same backup id, as cron and a
retrying CronJob do. The backup id is claimed by a conditional create of backup.info: one run
completes, the other exits 1 before pg_backup_start with nothing written. Never two exit-0
runs for one listed backup; every backup the real barman-cloud-backup-list shows DONE is
restored by the real barman-cloud-restore and recovered. Rounds on moto, Azurite and
fake-gcs-server (all three honour the conditional write; see the ObjectStore contract).

Special files: a FIFO, a socket and a symlink to a directory in PGDATA each give one warning
naming the path and the type; the FIFO is in the archive, and the backup restores.
"""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
import tarfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import boto3
import pytest

from tests.support.cloud_roundtrip import CloudDest, oracle_run, restore_and_compare
from tests.support.moto_server import Destination, aws_env
from tests.support.oracle import Oracle
from tests.support.pgcluster import PgCluster, chown_to_postgres

pytestmark = pytest.mark.e2e

# Our CLI with SystemClock pinned to argv[1]; it waits until the epoch time argv[2] to run.
PINNED = """
import sys, time
from datetime import datetime
from pathlib import Path
import cloud_base_backup.adapters.system
from cloud_base_backup.entrypoints.cli import run
now = datetime.fromisoformat(sys.argv[1])
cloud_base_backup.adapters.system.SystemClock.now = lambda self: now
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
sys.argv = ["barman-cloud-backup", *sys.argv[3:]]
run()
"""


def _moto_cloud(dest: Destination) -> CloudDest:
    moto = dest.moto
    client = boto3.client("s3", endpoint_url=moto.endpoint_url, **_aws_kwargs())
    prefix = f"{dest.prefix}/"

    def keys(under: str) -> list[str]:
        listed = client.list_objects_v2(Bucket=dest.bucket, Prefix=prefix + under)
        return [o["Key"] for o in listed.get("Contents", [])]

    # boto3 reads the endpoint from the environment: our CLI and barman's tools alike
    return CloudDest("aws-s3", dest.url, dest.server, {"AWS_ENDPOINT_URL_S3": moto.endpoint_url}, keys)


def _aws_kwargs() -> dict[str, str]:
    env = aws_env()
    return {"region_name": env["AWS_DEFAULT_REGION"], "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}  # fmt: skip


def _together(source: PgCluster, cloud: CloudDest, when: datetime):
    """Two runs released at the same instant with the same pinned second; their results."""
    start_at = time.time() + 3  # both interpreters are up and waiting by then
    connection = ["-h", str(source.sockdir), "-p", str(source.port), "-U", "postgres"]
    argv = [sys.executable, "-c", PINNED, when.isoformat(), str(start_at),
            "--cloud-provider", cloud.provider, *connection, "-v",
            cloud.url, cloud.server]  # fmt: skip
    env = aws_env() | cloud.env
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]  # fmt: skip
    return [(p.wait(timeout=600), *p.communicate()) for p in procs]


def _listed(oracle: Oracle, cloud: CloudDest) -> list[dict]:
    out = oracle_run(oracle, "barman-cloud-backup-list", cloud, "--format", "json")
    return json.loads(out)["backups_list"]


def _add_special_files(pgdata: Path, elsewhere: Path) -> tuple[dict[str, str], socket.socket]:
    """A FIFO, a socket and a symlink to a directory in PGDATA: {path: type} and the socket."""
    os.mkfifo(pgdata / "a_fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(pgdata / "a_socket"))
    (pgdata / "linked_dir").symlink_to(elsewhere)
    kinds = {"a_fifo": "fifo", "a_socket": "socket", "linked_dir": "symlink to a directory"}
    return {str(pgdata / name): kind for name, kind in kinds.items()}, sock


def _special_warnings(stderr: str) -> dict[str, str]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return {w["path"]: w["type"] for w in lines if w.get("level") == "warning" and "type" in w}


def test_two_runs_started_together_never_share_a_backup_and_special_files_restore(
    source, dest, oracle, workdir, tablespace, azurite, fake_gcs
):
    specials, sock = _add_special_files(source.pgdata, workdir)
    container, gcs_bucket = azurite.create_container(), fake_gcs.create_bucket()
    path = f"e2e/{uuid.uuid4().hex[:8]}"
    rounds = [
        _moto_cloud(dest),
        CloudDest("azure-blob-storage", azurite.url(container, path), "pg",
                  {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string},
                  lambda under: azurite.keys(container, f"{path}/{under}")),
        CloudDest("google-cloud-storage", f"gs://{gcs_bucket}/{path}", "pg", fake_gcs.env,
                  lambda under: fake_gcs.keys(gcs_bucket, f"{path}/{under}")),
    ]  # fmt: skip
    expected = source.fingerprint()
    done = []
    try:
        for number, cloud in enumerate(rounds):
            when = datetime(2026, 11, 30, 12, number, 0).astimezone()
            backup_id = when.strftime("%Y%m%dT%H%M%S")
            before = {b["backup_id"] for b in _listed(oracle, cloud)}
            results = _together(source, cloud, when)
            new = [b for b in _listed(oracle, cloud) if b["backup_id"] not in before]
            assert sorted(code for code, _, _ in results) == [0, 1], results
            assert [(b["backup_id"], b["status"]) for b in new] == [(backup_id, "DONE")], results
            ((_, _, winner_err),) = [r for r in results if r[0] == 0]
            ((_, _, loser_err),) = [r for r in results if r[0] == 1]
            assert f"Backup {backup_id} already exists at" in loser_err, loser_err
            assert "backup.starting" not in loser_err  # it stopped before pg_backup_start
            assert "Traceback" not in loser_err + winner_err
            assert _special_warnings(winner_err) == specials, winner_err
            done.append((cloud, backup_id))
    finally:
        sock.close()
    moto_cloud, moto_id = done[0]
    client = boto3.client("s3", endpoint_url=dest.moto.endpoint_url, **_aws_kwargs())
    data = client.get_object(Bucket=dest.bucket, Key=f"{dest.prefix}/pg/base/{moto_id}/data.tar")
    with tarfile.open(fileobj=io.BytesIO(data["Body"].read())) as tar:
        assert tar.getmember("a_fifo").isfifo()
        assert not {"a_socket", "linked_dir"} & set(tar.getnames())
    # Every DONE backup restores with the real barman-cloud-restore; the S3 one is also recovered
    # and compared (the Azure and GCS round trips recover theirs in their own e2e tests).
    for number, (cloud, backup_id) in enumerate(done[1:], start=1):
        pgdata = workdir / f"restore{number}"
        oracle_run(oracle, "barman-cloud-restore", cloud, backup_id, str(pgdata),
                   "--tablespace", f"{tablespace}:{workdir / f'ts{number}'}")  # fmt: skip
        assert (pgdata / "backup_label").read_text().startswith("START WAL LOCATION")
        assert (pgdata / "PG_VERSION").exists() and stat.S_ISFIFO(os.lstat(pgdata / "a_fifo").st_mode)
    target = workdir / "restore0"
    target.mkdir()
    chown_to_postgres(target, recursive=False)
    restore_and_compare(oracle, moto_cloud, dest, moto_id, target, source, tablespace, expected)


def test_a_claim_left_by_a_killed_run_does_not_break_barman_s_tools(dest, oracle):
    """SIGKILL between the claim and pg_backup_start leaves a STARTED backup.info without begin
    fields: the real list, show and delete handle it (restore has nothing DONE to take)."""
    from cloud_base_backup.domain import metadata
    from cloud_base_backup.domain.records import claimed_info
    from tests.fakes import server_info

    cloud = _moto_cloud(dest)
    client = boto3.client("s3", endpoint_url=dest.moto.endpoint_url, **_aws_kwargs())
    key = f"{dest.prefix}/pg/base/20261130T120000/backup.info"
    client.put_object(Bucket=dest.bucket, Key=key, Body=metadata.render(claimed_info(server_info())).encode())
    (listed,) = _listed(oracle, cloud)
    assert (listed["backup_id"], listed["status"]) == ("20261130T120000", "STARTED")
    console = oracle_run(oracle, "barman-cloud-backup-list", cloud)
    assert "20261130T120000" in console and "STARTED" in console
    shown = oracle_run(oracle, "barman-cloud-backup-show", cloud, "20261130T120000", "--format", "json")
    (info,) = json.loads(shown).values()
    assert (info["backup_id"], info["status"]) == ("20261130T120000", "STARTED")
    oracle_run(oracle, "barman-cloud-backup-delete", cloud, "-b", "20261130T120000")
    assert cloud.list_keys("pg/base/") == [] and _listed(oracle, cloud) == []
