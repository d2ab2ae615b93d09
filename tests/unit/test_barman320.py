"""What barman 3.20.1 added: --zstd, --keepalive-interval, --sse-customer-key, access points; the heartbeat."""

import base64
import io
import os
import threading
import time

import pytest

from cloud_base_backup.domain import metadata
from cloud_base_backup.domain.errors import BackupFailed, PostgresConnectionError, PostgresError
from cloud_base_backup.domain.keepalive import THREAD_NAME, KeepaliveTicker
from cloud_base_backup.entrypoints.cli import main
from cloud_base_backup.entrypoints.container import make_container
from cloud_base_backup.entrypoints.options import BackupOptions
from cloud_base_backup.entrypoints.providers.urls import parse_destination
from tests.fakes import RecordingLog
from tests.unit.test_take_backup import PREFIX, World

URL, SERVER = "s3://bkt/pg", "main"
LOST = "Connection to the Postgres server was lost during the backup."


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), {}, out, err)
    return code, err.getvalue()


def key_file(tmp_path, content, name="key"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


# -- §1.1 --zstd, §1.2 --keepalive-interval: argument errors ------------------------------------
@pytest.mark.parametrize("other", ["-z", "-j", "--snappy", "--lz4"])
def test_zstd_with_another_compression_is_an_argument_error(other):
    code, err = run(URL, SERVER, "--zstd", other)
    assert code == 3
    assert err.splitlines()[-1].endswith("not allowed with argument --zstd")


def test_zstd_with_a_snapshot_backup_exits_4():
    code, err = run(URL, SERVER, "--zstd", "--snapshot-instance", "i", "--snapshot-disk", "d")
    assert code == 4
    assert err.count("\n") == 1 and "Compression options cannot be used with snapshot backups" in err


@pytest.mark.parametrize("value", ["-1", "1.5", "x", ""])
def test_keepalive_interval_must_be_a_non_negative_integer(value):
    code, err = run(URL, SERVER, "--keepalive-interval", value)
    assert code == 3
    assert err.splitlines()[-1] == (
        f"barman-cloud-backup: error: argument --keepalive-interval: "
        f"'{value}' is not a valid non negative integer"
    )


# -- §1.3 --sse-customer-key ---------------------------------------------------------------------
GOOD = base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize("content,rule", [
    ("hello world!", "base64"),
    (base64.b64encode(b"\xfb\xff" * 16).decode().replace("+", "-").replace("/", "_"), "base64"),
    (GOOD[:20] + "\n" + GOOD[20:], "base64"),
    (base64.b64encode(os.urandom(16)).decode(), "got 16 bytes"),
    (base64.b64encode(os.urandom(33)).decode(), "got 33 bytes"),
    ("", "got 0 bytes"),
])
def test_a_bad_key_file_exits_4_naming_sse_c_the_path_and_the_rule_but_not_the_key(
    tmp_path, content, rule
):
    path = key_file(tmp_path, content)
    code, err = run(URL, SERVER, "--sse-customer-key", f"file://{path}")
    assert code == 4 and err.count("\n") == 1
    assert "SSE-C" in err and str(path) in err and rule in err
    assert not content.strip() or content.strip() not in err


@pytest.mark.parametrize("url,rule", [
    ("/abs/key", "file://"),
    ("FILE:///abs/key", "file://"),
    ("file://keys/k", "absolute"),
    ("file:///nonexistent/sse-c.key", "not found"),
])
def test_a_bad_key_url_exits_4_before_anything_is_read(url, rule):
    code, err = run(URL, SERVER, "--sse-customer-key", url)
    assert code == 4 and err.count("\n") == 1 and "SSE-C" in err and rule in err


def test_an_unreadable_key_file_exits_4(tmp_path):
    code, err = run(URL, SERVER, "--sse-customer-key", f"file://{tmp_path}")  # a directory
    assert code == 4 and "SSE-C" in err and str(tmp_path) in err and "not readable" in err


def test_a_key_file_is_stripped_and_may_be_a_symlink(tmp_path):
    path = key_file(tmp_path, f"  {GOOD}\n\n")
    (tmp_path / "link").symlink_to(path)
    from cloud_base_backup.adapters.sse import load_sse_customer_key

    assert load_sse_customer_key(f"file://{tmp_path / 'link'}") == bytes(range(32))


@pytest.mark.parametrize("flags,message", [
    (["--sse-kms-key-id", "k"], "Encryption type must be"),
    (["-e", "aws:kms", "--sse-kms-key-id", "k"], "--sse-kms-key-id"),
    (["-e", "AES256"], "-e/--encryption"),
    (["-e", "aws:kms"], "-e/--encryption"),
])
def test_conflicting_encryption_options_are_refused_in_order_before_the_key_is_read(flags, message):
    # the key file does not exist: the conflict must be reported, not the missing file
    code, err = run(URL, SERVER, *flags, "--sse-customer-key", "file:///nonexistent/key")
    assert code == 4 and err.count("\n") == 1 and message in err and "not found" not in err


@pytest.mark.parametrize("provider,url", [
    ("azure-blob-storage", "https://acct.blob.core.windows.net/container/path"),
    ("google-cloud-storage", "gs://bucket/path"),
])
def test_the_key_is_ignored_and_not_read_with_other_providers(provider, url):
    options = BackupOptions(
        destination_url=url, server_name=SERVER, cloud_provider=provider,
        sse_customer_key="file:///nonexistent/key", encryption="AES256",
    )
    store = make_container(options, {}, io.StringIO()).object_store()  # no error: never read
    assert store is not None


# -- §1.2 the heartbeat thread ------------------------------------------------------------------
class Session:
    """A keepalive() that counts, can fail a number of times, and is lost after `lost_after`."""

    def __init__(self, lost_after=None, errors=0):
        self.beats, self.lost_after, self.errors = 0, lost_after, errors
        self.threads = set()
        self.beat = threading.Event()

    def keepalive(self):
        self.beats += 1
        self.threads.add(threading.current_thread().name)
        self.beat.set()
        if self.errors:
            self.errors -= 1
            raise PostgresError("keepalive: canceling statement due to statement timeout")
        if self.lost_after is not None and self.beats > self.lost_after:
            raise PostgresConnectionError(LOST)


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_the_ticker_beats_at_once_then_from_its_own_thread_until_stopped():
    session, log = Session(), RecordingLog()
    ticker = KeepaliveTicker(session.keepalive, 0.01, log)
    ticker.start()
    assert session.beats == 1 and ticker.running
    wait_until(lambda: session.beats >= 4)
    ticker.stop()
    assert not ticker.running and THREAD_NAME in session.threads
    beats = session.beats
    time.sleep(0.05)
    assert session.beats == beats  # nothing after stop() returned
    ticker.check()
    assert "keepalive.sent" in log.events("debug")


def test_a_lost_session_is_recorded_by_the_thread_and_raised_by_check():
    session = Session(lost_after=2)
    ticker = KeepaliveTicker(session.keepalive, 0.01, RecordingLog())
    ticker.start()
    ticker.check()
    wait_until(lambda: not ticker.running)
    assert session.beats == 3  # the thread ends at the loss
    with pytest.raises(PostgresConnectionError, match="lost during the backup"):
        ticker.check()
    ticker.stop()


def test_other_heartbeat_errors_are_ignored():
    session = Session(errors=2)
    ticker = KeepaliveTicker(session.keepalive, 0.01, RecordingLog())
    ticker.start()
    wait_until(lambda: session.beats >= 4)
    ticker.stop()
    ticker.check()


def test_interval_zero_starts_nothing():
    session = Session()
    ticker = KeepaliveTicker(session.keepalive, 0, RecordingLog())
    ticker.start()
    assert session.beats == 0 and not ticker.running
    ticker.stop()


def test_a_session_lost_while_one_long_member_uploads_fails_the_backup_before_the_stop(world_with_slow_member):
    world, aborted_at = world_with_slow_member
    with pytest.raises(BackupFailed, match="lost during the backup"):
        world.run(keepalive_interval=0.01)
    info = metadata.parse(world.store.objects[PREFIX + "backup.info"].decode())
    assert info.status == "FAILED"
    assert info.error == f"failure uploading data ({LOST})"
    assert "stop_backup" not in world.pg.calls and world.pg.calls[-1] == "abort_backup"
    assert all(w.state != "closed" for w in world.sink.writers if "data" in w.key)
    assert aborted_at == [False]  # no heartbeat thread alive when the server-side abort ran


def test_the_heartbeat_is_stopped_before_the_stop(world_with_slow_member):
    world, _ = world_with_slow_member
    world.pg.lose_connection_after_keepalives = None
    seen = []
    original = world.pg.stop_backup

    def stop():
        seen.append(any(t.name == THREAD_NAME for t in threading.enumerate()))
        return original()

    world.pg.stop_backup = stop
    world.run(keepalive_interval=0.01)
    assert seen == [False] and world.pg.calls.count("keepalive") >= 2


@pytest.fixture
def world_with_slow_member():
    """A backup whose data file base/5/16384 takes until the heartbeat saw the session lost."""
    world = World()
    world.pg.lose_connection_after_keepalives = 1
    aborted_at = []
    original_open, original_abort = world.sink.open, world.pg.abort_backup

    def slow_open(key, checks=None):
        writer = original_open(key, checks)
        add = writer.add

        def slow_add(member):
            if member.name == "base/5/16384":
                wait_until(lambda: world.pg.calls.count("keepalive") >= 2)
            add(member)

        writer.add = slow_add
        return writer

    def abort():
        aborted_at.append(any(t.name == THREAD_NAME for t in threading.enumerate()))
        original_abort()

    world.sink.open = slow_open
    world.pg.abort_backup = abort
    return world, aborted_at


# -- §1.4 S3 access-point ARNs (checked against barman 3.20.1's own URL split) ------------------
@pytest.mark.parametrize("url,bucket,prefix", [
    ("s3://arn:aws:s3:us-east-1:123456789012:accesspoint/ap1/some/prefix",
     "arn:aws:s3:us-east-1:123456789012:accesspoint/ap1", "some/prefix"),
    ("s3://arn:aws:s3:us-east-1:123456789012:accesspoint:ap1/p",
     "arn:aws:s3:us-east-1:123456789012:accesspoint:ap1", "p"),
    ("s3://arn:aws:s3:us-east-1:123456789012:accesspoint/ap1",
     "arn:aws:s3:us-east-1:123456789012:accesspoint/ap1", ""),
    ("s3://arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/ap1/p",
     "arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/ap1", "p"),
    ("s3://arn:aws-us-gov:s3:us-gov-west-1:123456789012:accesspoint/ap1/p/q",
     "arn:aws-us-gov:s3:us-gov-west-1:123456789012:accesspoint/ap1", "p/q"),
    ("s3://arn:aws:s3-object-lambda:us-east-1:123456789012:accesspoint/olap/p",
     "arn:aws:s3-object-lambda:us-east-1:123456789012:accesspoint/olap", "p"),
    ("s3://arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-01234/accesspoint/name/p",
     "arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-01234/accesspoint/name", "p"),
    ("s3://arn:aws:s3:::bucket/p", "arn:aws:s3:::bucket", "p"),  # not an access point: 3.19 split
])
def test_access_point_arns_are_the_whole_bucket(url, bucket, prefix):
    destination = parse_destination("aws-s3", url)
    assert (destination.bucket, destination.prefix) == (bucket, prefix)
