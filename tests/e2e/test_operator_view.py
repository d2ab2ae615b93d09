"""What an operator sees, through the real console script: progress and the summary on a
terminal (a pseudo-terminal), silence or JSON events without one, fast failures with a counted
retry warning per attempt, and retries that carry a backup through a store failing uploads."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud_base_backup.adapters.object_stores.s3_retries import FIRST_CONTACT_ATTEMPTS
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.moto_server import MotoServer, aws_env
from tests.support.pgcluster import PgCluster
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

PERCENT = re.compile(r"\((\d+)%\)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgCluster]:
    """One small cluster for the module (a few MB of pgbench data: several 5 MiB parts)."""
    import shutil
    import tempfile

    from tests.support.pgcluster import chown_to_postgres

    root = Path(tempfile.mkdtemp(prefix="e2e-view-", dir=os.environ.get("E2E_TMPDIR")))
    chown_to_postgres(root, recursive=False)
    pg = PgCluster(root / "c")
    pg.initdb()
    # archiving on (to nowhere): PostgreSQL warns at pg_backup_stop when it is off
    pg.configure(fsync="off", wal_level="replica", archive_mode="on", archive_command="/bin/true")
    try:
        pg.start()
        pg.pgbench_init(scale=1)
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def _argv(backup_cmd: str, cluster: PgCluster, endpoint: str, bucket: str, *extra: str) -> list[str]:
    return [
        backup_cmd, "--endpoint-url", endpoint, "--immediate-checkpoint",
        "-h", str(cluster.sockdir), "-p", str(cluster.port), "-U", "postgres",
        *extra, f"s3://{bucket}/view", "pg",
    ]


def run_in_pty(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run with stdin, stdout and stderr on a pseudo-terminal; return (exit code, all output)."""
    master, slave = os.openpty()
    os.set_inheritable(slave, True)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=300), b"".join(chunks).decode(errors="replace")


def json_events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_on_a_terminal_progress_with_a_percentage_then_the_summary(
    backup_cmd: str, cluster: PgCluster, moto: MotoServer
) -> None:
    bucket = moto.create_bucket()
    code, out = run_in_pty(_argv(backup_cmd, cluster, moto.endpoint_url, bucket, "-n", "tty"),
                           aws_env())
    assert code == 0, out
    percents = [int(p) for p in PERCENT.findall(out)]
    assert percents and percents[-1] == 100, out
    assert "\r\x1b[K" in out  # the line was cleared at the end
    assert "uploaded" in out and "/s" in out
    summary = out[out.index("Backup "):]
    backup_id = re.match(r"Backup (\d{8}T\d{6}) \(tty\) completed in", summary)
    assert backup_id, summary
    assert "data.tar" in summary and "WAL 0000000" in summary and "ratio" in summary
    keys = [o["Key"] for o in moto.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert f"view/pg/base/{backup_id.group(1)}/backup.info" in keys


def test_without_a_terminal_silent_by_default_and_json_events_at_v(
    backup_cmd: str, cluster: PgCluster, moto: MotoServer
) -> None:
    bucket = moto.create_bucket()
    quiet = subprocess.run(_argv(backup_cmd, cluster, moto.endpoint_url, bucket),
                           env=aws_env(), capture_output=True, text=True, timeout=300)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")

    env = aws_env() | {"CBB_PROGRESS_INTERVAL": "0.05"}
    verbose = subprocess.run(_argv(backup_cmd, cluster, moto.endpoint_url, bucket, "-v"),
                             env=env, capture_output=True, text=True, timeout=300)
    assert verbose.returncode == 0, verbose.stderr
    events = json_events(verbose.stderr)
    assert len(events) == len(verbose.stderr.splitlines())  # every line is JSON
    progress = [e for e in events if e["event"] == "progress"]
    assert progress, verbose.stderr
    assert {"bytes_read", "bytes_uploaded", "bytes_total", "percent", "eta_seconds",
            "read_bytes_per_second", "archive"} <= set(progress[-1])
    summary = [e for e in events if e["event"] == "backup.summary"]
    assert len(summary) == 1
    assert summary[0]["bytes_written"] == sum(a["bytes"] for a in summary[0]["archives"]) > 0
    assert summary[0]["end_lsn"] and summary[0]["begin_wal"]


def test_t_says_what_it_checked_at_v_and_nothing_by_default(
    backup_cmd: str, moto: MotoServer
) -> None:
    bucket = moto.create_bucket()
    argv = [backup_cmd, "-t", "--endpoint-url", moto.endpoint_url, f"s3://{bucket}/x", "pg"]
    plain = subprocess.run(argv, env=aws_env(), capture_output=True, text=True, timeout=60)
    assert (plain.returncode, plain.stderr) == (0, "")
    verbose = subprocess.run([*argv, "-v"], env=aws_env(), capture_output=True, text=True,
                             timeout=60)
    checks = [e for e in json_events(verbose.stderr) if e["event"] == "check.ok"]
    assert verbose.returncode == 0 and len(checks) == 1
    assert bucket in checks[0]["checked"]
    code, out = run_in_pty(argv, aws_env())
    assert code == 0 and out.startswith("OK: ") and bucket in out


@pytest.mark.parametrize("endpoint", ["closed-port", "unresolvable"])
def test_an_unreachable_store_exits_2_on_one_line_after_the_documented_attempts(
    backup_cmd: str, endpoint: str
) -> None:
    url = (f"http://127.0.0.1:{free_port()}" if endpoint == "closed-port"
           else "http://cbb-no-such-host.invalid")
    result = subprocess.run([backup_cmd, "--endpoint-url", url, "s3://bkt/x", "pg"],
                            env=aws_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    events = json_events(result.stderr)
    errors = [e for e in events if e["level"] == "error"]
    retries = [e for e in events if e["event"] == "store.retry"]
    assert len(errors) == 1 and "Can't connect to cloud provider" in errors[0]["event"]
    assert [r["attempt"] for r in retries] == list(range(2, FIRST_CONTACT_ATTEMPTS + 1))
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == len(retries) + 1


def test_a_store_failing_some_uploads_gets_retries_and_the_backup_completes(
    backup_cmd: str, cluster: PgCluster, moto: MotoServer
) -> None:
    bucket = moto.create_bucket()
    faults = [
        Fault(lambda m, p: m == "PUT" and "partNumber=" in p, 503, "SlowDown", times=2),
        Fault(lambda m, p: m == "PUT" and p.endswith("/backup.info"), 500, "InternalError", 1),
    ]
    with FaultProxy(moto.endpoint_url, faults) as proxy:
        result = subprocess.run(_argv(backup_cmd, cluster, proxy.endpoint_url, bucket),
                                env=aws_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert len(proxy.injected) == 3, proxy.injected
    retries = [e for e in json_events(result.stderr) if e["event"] == "store.retry"]
    assert len(retries) == 3 and {r["level"] for r in retries} == {"warning"}
    assert {r["cause"] for r in retries} == {"HTTP 503 SlowDown", "HTTP 500 InternalError"}
    assert any(r["request"].startswith("UploadPart ") for r in retries)
    info_key = next(o["Key"] for o in moto.client().list_objects_v2(Bucket=bucket)["Contents"]
                    if o["Key"].endswith("backup.info"))
    body = moto.client().get_object(Bucket=bucket, Key=info_key)["Body"].read().decode()
    assert "status=DONE" in body


def _start_and_wait_for_started(argv: list[str], moto: MotoServer, bucket: str):
    """Start a slowed-down backup; return the process once its STARTED backup.info exists."""
    import time

    proc = subprocess.Popen(argv, env=aws_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while True:
        listing = moto.client().list_objects_v2(Bucket=bucket).get("Contents", [])
        info = [o["Key"] for o in listing if o["Key"].endswith("backup.info")]
        if info:
            time.sleep(0.5)  # some parts are under way
            assert proc.poll() is None, "the backup ended before the signal: slow it down more"
            return proc, info[0]
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "backup.info STARTED never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_fail_the_backup_cleanly(
    backup_cmd: str, cluster: PgCluster, moto: MotoServer, signum: str
) -> None:
    import signal

    bucket = moto.create_bucket()
    argv = _argv(backup_cmd, cluster, moto.endpoint_url, bucket, "--max-bandwidth", "2MB")
    proc, info_key = _start_and_wait_for_started(argv, moto, bucket)
    proc.send_signal(getattr(signal, signum))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    body = moto.client().get_object(Bucket=bucket, Key=info_key)["Body"].read().decode()
    assert "status=FAILED" in body
    assert moto.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert [json.loads(line)["level"] for line in err.splitlines()].count("error") == 1


def test_sigkill_leaves_a_started_backup_info_and_open_uploads(
    backup_cmd: str, cluster: PgCluster, moto: MotoServer
) -> None:
    bucket = moto.create_bucket()
    argv = _argv(backup_cmd, cluster, moto.endpoint_url, bucket, "--max-bandwidth", "2MB")
    proc, info_key = _start_and_wait_for_started(argv, moto, bucket)
    proc.kill()
    proc.communicate(timeout=60)
    body = moto.client().get_object(Bucket=bucket, Key=info_key)["Body"].read().decode()
    assert "status=STARTED" in body  # never DONE: barman's tools do not take it as complete
    # nothing can abort them: an AbortIncompleteMultipartUpload lifecycle rule clears them
    assert moto.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) != []
    # the server's side of the backup ends with the session (PostgreSQL notices the socket)
    import time

    deadline = time.monotonic() + 30
    query = ("SELECT count(*) FROM pg_stat_activity "
             "WHERE application_name = 'barman_cloud_backup'")
    while cluster.scalar(query) != 0:
        assert time.monotonic() < deadline, "the killed backup's session is still there"
        time.sleep(0.1)
