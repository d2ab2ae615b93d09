"""A page corrupted on disk is reported, the backup is still DONE and restorable, and the run
exits 1 (as pg_basebackup does); --no-verify-checksums exits 0.

The corruption is made while the server is stopped (one byte in the middle of block 2 of a
table that nothing reads afterwards), so the page's LSN is older than the backup's start and
its stored checksum no longer matches: exactly what the check must catch.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.e2e.test_s3_roundtrip import oracle_run, recover, restore
from tests.support.moto_server import aws_env
from tests.support.verifybackup import verify

pytestmark = pytest.mark.e2e

BLOCK = 2


def backup(cmd, source, dest, *flags) -> subprocess.CompletedProcess[str]:
    argv = [cmd, "--endpoint-url", dest.moto.endpoint_url, "-h", str(source.sockdir),
            "-p", str(source.port), "-U", "postgres", "--immediate-checkpoint", *flags,
            dest.url, dest.server]  # fmt: skip
    return subprocess.run(argv, env=aws_env(), capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("initdb_args", [("--data-checksums",)])
def test_a_corrupt_page_is_named_the_backup_done_and_the_run_exits_1(
    backup_cmd, source, dest, oracle, workdir, tablespace
):
    source.sql(
        "CREATE TABLE victim WITH (autovacuum_enabled = off) AS"
        " SELECT g, md5(g::text) AS h FROM generate_series(1, 5000) g; CHECKPOINT"
    )
    relpath = str(source.scalar("SELECT pg_relation_filepath('victim')"))
    source.stop()
    with open(source.pgdata / relpath, "r+b") as handle:
        handle.seek(BLOCK * 8192 + 5000)
        byte = handle.read(1)
        handle.seek(BLOCK * 8192 + 5000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    source.start()

    failed = backup(backup_cmd, source, dest)
    assert failed.returncode == 1, failed.stderr
    lines = [json.loads(line) for line in failed.stderr.splitlines() if line.startswith("{")]
    warnings = [line for line in lines if line["event"] == "checksum.failed"]
    assert len(warnings) == 1, failed.stderr
    assert warnings[0]["file"] == str(source.pgdata / relpath)
    assert warnings[0]["block"] == BLOCK
    assert warnings[0]["calculated"] != warnings[0]["expected"]
    assert warnings[0]["level"] == "warning"
    errors = [line for line in lines if line["level"] == "error"]
    assert len(errors) == 1 and errors[0]["event"].endswith(
        "is DONE but 1 problem(s) were reported: checksum verification failure during base "
        "backup: 1 page(s) in 1 file(s) failed their checksum (see the warnings)"
    ), failed.stderr

    time.sleep(1.1)  # backup ids are to the second
    unverified = backup(backup_cmd, source, dest, "--no-verify-checksums")
    assert unverified.returncode == 0, unverified.stderr
    assert "checksum.failed" not in unverified.stderr

    listed = json.loads(oracle_run(oracle, "barman-cloud-backup-list", dest, "--format", "json"))
    backups = listed["backups_list"]
    assert [b["status"] for b in backups] == ["DONE", "DONE"], backups
    first = min(str(b["backup_id"]) for b in backups)

    # The backup that reported the page restores and recovers; the page is copied as it was
    # (the best copy there is), which pg_verifybackup confirms against the manifest.
    pgdata = restore(oracle, dest, first, workdir, source, tablespace)
    ok = verify(pgdata, 15, None)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    restored = recover(oracle, dest, workdir, source, immediate=True)
    try:
        assert restored.scalar("SELECT count(*) FROM pgbench_accounts") == 200000
        assert restored.scalar("SELECT count(*) FROM in_ts") == 20000
        with pytest.raises(Exception, match=f"invalid page in block {BLOCK}"):
            restored.sql("SELECT count(*) FROM victim")
    finally:
        restored.stop()
