"""barman 3.20.1 features end to end: --zstd restored by the real 3.20.1, a session lost mid-upload,
SSE-C read back by the real 3.20.1 tools.

barman 3.20 needs Python >= 3.12, whose interpreter may live under /root: its tools run here as
root only. WAL archiving and restore_command keep using the 3.19.1 oracle (postgres OS user).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.e2e.test_s3_roundtrip import check_restored, oracle_run, the_done_backup, ts_oid
from tests.support.moto_server import Destination, MotoServer, aws_env
from tests.support.oracle import Oracle, ensure_oracle_320
from tests.support.pgcluster import PgCluster

pytestmark = pytest.mark.e2e

LOST = "Connection to the Postgres server was lost during the backup."
SSE_C = "x-amz-server-side-encryption-customer-"


@pytest.fixture(scope="session")
def oracle320() -> Oracle:
    return ensure_oracle_320()


def backup_argv(cmd: str, cluster: PgCluster, dest: Destination, *flags: str) -> list[str]:
    return [
        cmd, "--endpoint-url", dest.moto.endpoint_url, "-h", str(cluster.sockdir),
        "-p", str(cluster.port), "-U", "postgres", "--immediate-checkpoint", *flags,
        dest.url, dest.server,
    ]


def backup(argv: list[str]) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(argv, env=aws_env(), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"backup exited {res.returncode}:\n{res.stderr}"
    return res


@pytest.mark.parametrize("flags,parts", [([], 1), (["-S", "1MB"], 2)], ids=["plain", "split"])
def test_zstd_backup_is_restored_by_barman_320(
    flags, parts, backup_cmd, source, dest, oracle, oracle320, workdir, tablespace
):
    backup(backup_argv(backup_cmd, source, dest, "--zstd", *flags))
    expected = source.fingerprint()

    backup_id = the_done_backup(oracle320, dest, tablespace)
    names = {k.rsplit("/", 1)[1] for k in dest.keys(f"base/{backup_id}/")}
    data = sorted(n for n in names if n.startswith("data"))
    assert data[0] == "data.tar.zst" and len(data) >= parts, sorted(names)
    assert all(n.endswith(".tar.zst") for n in names - {"backup.info"}), sorted(names)
    assert f"{ts_oid(source, tablespace)}.tar.zst" in names

    pgdata, ts_dir = workdir / "restored" / "pgdata", workdir / "restored-ts"
    oracle_run(oracle320, "barman-cloud-restore", dest, backup_id, str(pgdata),
               "--tablespace", f"{tablespace}:{ts_dir}")
    restored = PgCluster(workdir / "restored", bindir=source.bindir, pgdata=pgdata)
    restore_command = oracle.shell_command("barman-cloud-wal-restore", dest, "%f", "%p")
    restored.recover(restore_command, immediate=True)
    try:
        check_restored(restored, expected)
    finally:
        restored.stop()


def test_a_session_killed_mid_upload_fails_the_backup_and_aborts_its_uploads(
    backup_cmd, source, dest, oracle320
):
    argv = backup_argv(backup_cmd, source, dest, "--keepalive-interval", "1",
                       "-S", "4MB", "--max-bandwidth", "4MB")
    proc = subprocess.Popen(argv, env=aws_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        while not [k for k in dest.keys("base/") if k.endswith("/backup.info")]:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "backup.info STARTED never appeared"
            time.sleep(0.1)
        time.sleep(1)
        assert proc.poll() is None, "the backup finished before the kill: slow it down more"
        killed = source.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = 'barman_cloud_backup'")
        assert killed == [(True,)]
        killed_at = time.monotonic()
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    print(f"backup ended {time.monotonic() - killed_at:.1f}s after the kill")

    assert proc.returncode == 1, err
    # one error line naming the cause; PostgreSQL's own warning that it aborted the backup may precede it
    lines = [json.loads(line) for line in err.strip().splitlines()]
    assert out == "" and [e["level"] for e in lines].count("error") == 1, err
    assert lines[-1]["event"] == f"Backup failed uploading data ({LOST})"
    assert all(e["level"] == "warning" and "aborting backup" in e["message"] for e in lines[:-1])
    uploads = dest.moto.client().list_multipart_uploads(Bucket=dest.bucket, Prefix=dest.prefix)
    assert uploads.get("Uploads", []) == []

    listed = json.loads(oracle_run(oracle320, "barman-cloud-backup-list", dest, "--format", "json"))
    assert [b["status"] for b in listed["backups_list"]] == ["FAILED"]
    (info_key,) = [k for k in dest.keys("base/") if k.endswith("/backup.info")]
    info = dest.moto.client().get_object(Bucket=dest.bucket, Key=info_key)["Body"].read().decode()
    assert f"error=failure uploading data ({LOST})" in info.splitlines()


@pytest.fixture
def recording_moto(tmp_path, monkeypatch):
    """A private moto server that records every request (headers included) to a file."""
    recording = tmp_path / "requests.jsonl"
    monkeypatch.setenv("MOTO_ENABLE_RECORDING", "true")
    monkeypatch.setenv("MOTO_RECORDER_FILEPATH", str(recording))
    with MotoServer() as server:
        yield server, recording


@pytest.fixture
def small_cluster(workdir):
    cluster = PgCluster(workdir / "ssec")
    cluster.initdb()
    cluster.configure(wal_level="replica", fsync="off")
    cluster.start()
    yield cluster
    cluster.stop()


def test_sse_c_backup_is_read_back_by_barman_320_with_the_key(
    backup_cmd, small_cluster, recording_moto, oracle320, workdir, tmp_path
):
    moto, recording = recording_moto
    dest = Destination(moto, moto.create_bucket(), "e2e/ssec", "pg")
    key = os.urandom(32)
    key_b64 = base64.b64encode(key).decode()
    key_file = tmp_path / "sse-c.key"
    key_file.write_text(key_b64 + "\n")
    sse = ("--sse-customer-key", f"file://{key_file}")

    # uncompressed, 5 MiB parts: the archives go multipart, so UploadPart is on the wire too
    res = backup(backup_argv(backup_cmd, small_cluster, dest, "-S", "8MB", "-vv", *sse))
    assert "backup.done" in res.stderr  # -vv really logged
    assert key_b64 not in res.stderr and key.hex() not in res.stderr

    listed = json.loads(oracle_run(oracle320, "barman-cloud-backup-list", dest,
                                   "--format", "json", *sse))
    (entry,) = listed["backups_list"]
    assert entry["status"] == "DONE"
    pgdata = workdir / "ssec-restored"
    oracle_run(oracle320, "barman-cloud-restore", dest, entry["backup_id"], str(pgdata), *sse)
    assert (pgdata / "PG_VERSION").read_text() == (small_cluster.pgdata / "PG_VERSION").read_text()
    assert "LABEL: Barman backup cloud" in (pgdata / "backup_label").read_text()

    # moto accepts SSE-C requests but neither enforces nor echoes them: check the wire instead.
    sent = _recorded(recording.read_text())
    md5 = base64.b64encode(hashlib.md5(key).digest()).decode()
    needs_key = [r for r in sent if _needs_sse_c(r)]
    assert {_operation(r) for r in needs_key} >= {
        "PutObject", "CreateMultipartUpload", "UploadPart", "GetObject"
    }
    for request in needs_key:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers.get(SSE_C + "algorithm") == "AES256", request["url"]
        assert headers.get(SSE_C + "key") == key_b64, request["url"]
        assert headers.get(SSE_C + "key-md5") == md5, request["url"]


def _recorded(text: str) -> list[dict]:
    """moto's recorder appends each entry and its newline in two writes from parallel request
    threads, so two entries can share a line: read a stream of JSON values instead of lines."""
    decoder, entries, at = json.JSONDecoder(), [], 0
    while (at := len(text) - len(text[at:].lstrip())) < len(text):
        entry, at = decoder.raw_decode(text, at)
        entries.append(entry)
    return entries


def _operation(request: dict) -> str:
    url = urlparse(request["url"])
    query, method = url.query, request["method"]
    if method == "PUT":
        return "UploadPart" if "partNumber=" in query else "PutObject"
    if method == "POST":
        return "CreateMultipartUpload" if query.startswith("uploads") else "CompleteMultipartUpload"
    return {"GET": "GetObject", "HEAD": "HeadObject"}.get(method, method)


def _needs_sse_c(request: dict) -> bool:
    """Requests on an object's data (not bucket ones, lists, completes or deletes)."""
    path = Path(urlparse(request["url"]).path)
    on_object = len(path.parts) > 2  # /bucket/key...
    return on_object and _operation(request) in (
        "PutObject", "CreateMultipartUpload", "UploadPart", "GetObject", "HeadObject"
    )
