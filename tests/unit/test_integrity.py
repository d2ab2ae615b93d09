"""The live backup's backup_manifest and page-checksum outcome, through the in-memory fakes."""

from __future__ import annotations

import hashlib
import json

import pytest

from cloud_base_backup.domain import metadata
from cloud_base_backup.domain.errors import CompletedWithProblems
from cloud_base_backup.domain.exit_codes import ExitCode
from cloud_base_backup.domain.integrity import IntegrityRequest
from cloud_base_backup.domain.model import PageFailure
from tests.fakes import FakeArchiveSink, server_info
from tests.unit.test_take_backup import PREFIX, World


@pytest.fixture(name="world")
def world_fixture() -> World:
    return World()


def manifest(world: World) -> dict:
    text = world.sink.contents["backup_manifest"]
    body, _, _ = text.rpartition(b'"Manifest-Checksum"')
    parsed = json.loads(text)
    assert parsed["Manifest-Checksum"] == hashlib.sha256(body).hexdigest()
    return parsed


def test_the_manifest_lists_every_file_sent_under_postgresqls_paths(world):
    world.run()
    parsed = manifest(world)
    assert parsed["PostgreSQL-Backup-Manifest-Version"] == 1  # a 15 server
    paths = [f["Path"] for f in parsed["Files"]]
    assert "pg_tblspc/16385/PG_15_202209061/5/16400" in paths
    assert "base/5/16384" in paths and "global/pg_control" in paths
    assert paths[-1] == "backup_label"
    # excluded files, directories and the manifest itself are not listed
    assert not [p for p in paths if p.startswith("pg_wal") or p == "postmaster.pid"]
    assert "base" not in paths and "backup_manifest" not in paths
    # every listed file is a member of an archive, and every file member is listed
    sent = {m for w in world.sink.writers for m in world.sink.members(w.key)}
    assert "pg_tblspc/16385/other/file" not in paths and "other/file" not in sent
    by_path = {f["Path"]: f for f in parsed["Files"]}
    assert by_path["base/5/16384"] == {
        "Path": "base/5/16384", "Size": 8192, "Last-Modified": "1970-01-01 00:00:00 GMT",
        "Checksum-Algorithm": "CRC32C", "Checksum": "sum:base/5/16384",
    }  # fmt: skip
    assert parsed["WAL-Ranges"] == [
        {"Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/3000100"}
    ]


def test_the_manifest_ends_with_its_checksum_line(world):
    world.run()
    assert world.sink.contents["backup_manifest"].endswith(b'"}\n')
    assert world.sink.contents["backup_manifest"].count(b'"Manifest-Checksum"') == 1


def test_the_manifest_is_the_last_member_of_the_last_data_archive():
    world = World()
    world.run(max_archive_size=10_000)  # -S small: several data archives
    data_keys = [w.key for w in world.sink.writers if "/data" in w.key]
    assert len(data_keys) > 1
    assert world.sink.members(data_keys[-1])[-2:] == ["backup_label", "backup_manifest"]


def test_version_2_from_postgresql_17_names_the_system_identifier():
    world = World()
    world.pg.info = server_info(version=170002, major="17")
    world.run()
    parsed = manifest(world)
    assert parsed["PostgreSQL-Backup-Manifest-Version"] == 2
    assert parsed["System-Identifier"] == 7345678901234567890


def test_without_a_readable_system_identifier_17_gets_version_1():
    world = World()
    world.pg.info = server_info(version=170002, major="17", systemid=None)
    world.run()
    assert manifest(world)["PostgreSQL-Backup-Manifest-Version"] == 1


def test_manifest_checksums_none_lists_files_without_checksums(world):
    world.run(integrity=IntegrityRequest(manifest_checksums="NONE"))
    assert all("Checksum" not in f for f in manifest(world)["Files"])


FAILURES = [PageFailure(block, 0x1234, 0xBEEF) for block in range(7)]


def _corrupt_world(**info) -> World:
    world = World()
    world.sink = FakeArchiveSink(world.store, page_failures={"base/5/16384": FAILURES})
    world.deps.sink = world.sink
    if info:
        world.pg.info = server_info(**info)
    return world


def test_page_failures_are_warned_and_end_the_run_with_exit_1_but_the_backup_is_done():
    world = _corrupt_world()
    with pytest.raises(CompletedWithProblems) as err:
        world.run()
    assert err.value.exit_code == ExitCode.FAILED == 1
    assert "is DONE but 1 problem(s) were reported: checksum verification failure during base " \
        "backup: 7 page(s) in 1 file(s)" in str(err.value)
    assert "\n" not in str(err.value)
    assert world.info().status == metadata.DONE
    assert PREFIX + "data.tar" in world.store.objects
    warnings = [f for lvl, e, f in world.log.records if e == "checksum.failed"]
    assert len(warnings) == 5  # the first five of a file are named, then its total
    assert warnings[0]["file"] == "/pg/data/base/5/16384" and warnings[0]["block"] == 0
    assert warnings[0]["calculated"] == "1234" and warnings[0]["expected"] == "BEEF"
    totals = [f for lvl, e, f in world.log.records if e == "checksum.file_total"]
    assert totals == [{"message": 'file "/pg/data/base/5/16384" has a total of 7 checksum '
                       "verification failures", "file": "/pg/data/base/5/16384", "failures": 7}]  # fmt: skip


def test_no_verify_checksums_asks_no_page_check():
    world = _corrupt_world()
    world.run(integrity=IntegrityRequest(verify_checksums=False))
    assert all(w.checks.pages is None for w in world.sink.writers)
    assert "checksum.failed" not in world.log.events()


def test_a_server_without_data_checksums_gets_no_page_check():
    world = _corrupt_world(data_checksums="off")
    world.run()
    assert all(w.checks.pages is None for w in world.sink.writers)


def test_the_page_check_starts_at_the_backup_start_lsn(world):
    world.run()
    pages = {w.checks.pages for w in world.sink.writers}
    assert len(pages) == 1
    (check,) = pages
    assert check.start_lsn == 0x2000028 and check.block_size == 8192


def test_the_manifest_keeps_nothing_per_file_in_memory():
    """The rendered lines go to the spooled buffer: at most 8 MiB in memory, then a temp file;
    once there, 100,000 more files add far less than one Python object per file."""
    import tracemalloc
    from datetime import UTC, datetime

    from cloud_base_backup.domain.integrity import BackupIntegrity
    from cloud_base_backup.domain.model import (
        BackupStart,
        BackupStop,
        FileEntry,
        FileKind,
        Lsn,
        SentFile,
    )
    from tests.fakes import RecordingLog

    start = BackupStart(Lsn(0x2000028), datetime(2026, 11, 26, tzinfo=UTC), 1)
    integrity = BackupIntegrity(IntegrityRequest(), server_info(), start, RecordingLog())
    entry = FileEntry("/pg/data/base/5/1", "base/5/1", FileKind.FILE, size=8192, mtime=1.0)
    for n in range(100_000):
        integrity.sent("data", entry, SentFile(8192, f"{n:08x}"))
    assert integrity._buffer._rolled  # past SPOOL_IN_MEMORY: spooled out of memory
    tracemalloc.start()
    try:
        for n in range(100_000):
            integrity.sent("data", entry, SentFile(8192, f"{n:08x}"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # bytes: 100,000 per-file objects would take several MiB
    stop = BackupStop(Lsn(0x3000100), datetime(2026, 11, 26, tzinfo=UTC), 1, "label")
    member = integrity.manifest_member(stop, 0, 0)
    assert member.size > 25 << 20  # ~130 bytes a line, 200,000 lines
    member.buffer.seek(0)
    assert member.buffer.read(41) == b"{ \"PostgreSQL-Backup-Manifest-Version\": 1"
    integrity.close()
