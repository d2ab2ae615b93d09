"""Stale multipart uploads under this server's base/ are aborted before the backup starts."""

from datetime import UTC, datetime, timedelta

import pytest

from cloud_base_backup.domain.errors import InvalidArgument, StorageError
from cloud_base_backup.domain.lifecycle import LifecycleHooks
from cloud_base_backup.domain.orphans import (
    DEFAULT_STALE_AFTER,
    AbortStaleUploads,
    abort_stale_uploads,
    parse_duration,
)
from cloud_base_backup.domain.services import BackupDeps, BackupRequest, take_backup
from tests.fakes import (
    FakeArchiveSink,
    FakeClock,
    FakeFileTree,
    FakePostgres,
    RecordingLog,
)
from tests.support.memory_store import MemoryObjectStore

BASE = "pg/main/base/"
HOUR = 3600.0


def _store_with(*keys: str) -> MemoryObjectStore:
    store = MemoryObjectStore("bkt")
    for key in keys:
        store.start_multipart(key).upload_part(1, b"part")
    return store


def test_durations():
    assert parse_duration("24h") == parse_duration("24") == parse_duration("1d") == 86400
    assert parse_duration("90m") == 5400 and parse_duration("30s") == 30
    assert parse_duration("0") == 0 and DEFAULT_STALE_AFTER == 86400
    with pytest.raises(InvalidArgument):
        parse_duration("yesterday")


def test_only_uploads_idle_past_the_threshold_are_aborted_and_each_is_logged():
    store = _store_with(BASE + "20261101T000000/data.tar")
    now = datetime.now(UTC)
    store.start_multipart(BASE + "20261130T000000/data.tar").upload_part(1, b"x")
    store.uploads[0].last_activity = now - timedelta(hours=25)  # a killed run's
    log = RecordingLog()
    aborted = abort_stale_uploads(store, BASE, 24 * HOUR, now, log)
    assert aborted == [BASE + "20261101T000000/data.tar"]
    assert [up.key for up in store.open_uploads] == [BASE + "20261130T000000/data.tar"]
    (record,) = [r for r in log.records if r[1] == "uploads.stale_aborted"]
    assert record[0] == "warning" and record[2]["key"] == aborted[0]


def test_zero_means_never():
    store = _store_with(BASE + "1/data.tar")
    assert (
        abort_stale_uploads(store, BASE, 0, datetime.now(UTC) + timedelta(days=99), RecordingLog())
        == []
    )
    assert len(store.open_uploads) == 1 and ("list_open_uploads", BASE) not in store.calls


def test_a_store_that_cannot_list_uploads_only_warns():
    store = _store_with(BASE + "1/data.tar")
    store.unreachable = True
    log = RecordingLog()
    assert abort_stale_uploads(store, BASE, HOUR, datetime.now(UTC) + timedelta(days=2), log) == []
    assert log.events("warning") == ["uploads.stale_check_skipped"]


def test_a_refused_abort_is_logged_and_the_others_go_on():
    class Refusing(MemoryObjectStore):
        def abort_open_upload(self, upload):
            if upload.key.endswith("1/data.tar"):
                raise StorageError("refused")
            super().abort_open_upload(upload)

    store = Refusing("bkt")
    for key in (BASE + "1/data.tar", BASE + "2/data.tar"):
        store.start_multipart(key).upload_part(1, b"x")
    log = RecordingLog()
    later = datetime.now(UTC) + timedelta(days=2)
    assert abort_stale_uploads(store, BASE, HOUR, later, log) == [BASE + "2/data.tar"]
    assert "uploads.stale_abort_failed" in log.events("warning")


def test_the_backup_aborts_its_servers_stale_uploads_before_the_server_side_start():
    store = _store_with(BASE + "20261101T000000/data.tar", "pg/other/base/20261101T000000/data.tar")
    pg = FakePostgres()
    started: list[list[str]] = []
    original = pg.start_backup

    def start(*args, **kwargs):
        started.append([up.key for up in store.open_uploads])
        return original(*args, **kwargs)

    pg.start_backup = start
    clock = FakeClock(start=datetime.now(UTC) + timedelta(days=2))
    log = RecordingLog()
    hooks = LifecycleHooks(before_start=(AbortStaleUploads(store, DEFAULT_STALE_AFTER, clock, log),))
    deps = BackupDeps(
        postgres=pg, files=FakeFileTree({"/pg/data/global/pg_control": 8192}), store=store,
        sink=FakeArchiveSink(store), clock=clock, log=log, hooks=hooks,
    )  # fmt: skip
    request = BackupRequest(
        server_name="main", prefix="pg", max_archive_size=1 << 40
    )
    take_backup(request, deps)
    assert started == [["pg/other/base/20261101T000000/data.tar"]]  # another server's: untouched
