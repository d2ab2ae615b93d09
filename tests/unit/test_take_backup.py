"""The live backup use case, driven end to end through in-memory fakes of every port."""

import pytest

from cloud_base_backup.domain import metadata
from cloud_base_backup.domain.errors import (
    BackupExists,
    BackupFailed,
    BucketNotFound,
    CloudConnectionError,
    Interrupted,
    PrivilegeError,
)
from cloud_base_backup.domain.exit_codes import ExitCode
from cloud_base_backup.domain.lifecycle import LifecycleHooks
from cloud_base_backup.domain.services import BackupDeps, BackupRequest, take_backup
from tests.fakes import (
    FakeArchiveSink,
    FakeClock,
    FakeFileTree,
    FakePostgres,
    RecordingLog,
    RecordingObserver,
    is_complete,
)
from tests.support.memory_store import MemoryObjectStore

PREFIX = "pg/main/base/20261126T041850/"

FILES = {
    "/pg/data/PG_VERSION": 3,
    "/pg/data/postgresql.conf": 100,
    "/pg/data/pg_hba.conf": 100,
    "/pg/data/pg_ident.conf": 10,
    "/pg/data/base/5/16384": 8192,
    "/pg/data/base/5/16390": 8192,
    "/pg/data/global/1262": 8192,
    "/pg/data/global/pg_control": 8192,
    "/pg/data/pg_wal/000000010000000000000001": 16 << 20,
    "/pg/data/postmaster.pid": 80,
    "/pg/tbs/PG_15_202209061/5/16400": 8192,
    "/pg/tbs/other/file": 5,
}


class World:
    def __init__(self, **store_kwargs):
        self.store = MemoryObjectStore("bkt", **store_kwargs)
        self.pg = FakePostgres()
        self.files = FakeFileTree(dict(FILES), dirs={"/pg/data/pg_tblspc"})
        self.sink = FakeArchiveSink(self.store)
        self.log = RecordingLog()
        self.observer = RecordingObserver()
        self.deps = BackupDeps(
            postgres=self.pg, files=self.files, sink=self.sink, store=self.store,
            clock=FakeClock(), log=self.log,
            hooks=LifecycleHooks(observers=[self.observer]),
        )

    def run(self, **request):
        values = dict(server_name="main", prefix="pg", max_archive_size=1 << 40)
        values.update(request)
        return take_backup(BackupRequest(**values), self.deps)

    def info(self):
        return metadata.parse(self.store.objects[PREFIX + "backup.info"].decode())

    def info_puts(self):
        return [k for op, k in self.store.calls if op == "put" and k.endswith("backup.info")]


@pytest.fixture
def world():
    return World()


def test_a_backup_writes_tablespace_then_data_archives_and_a_done_backup_info(world):
    result = world.run(backup_name="nightly")
    assert sorted(world.store.objects) == sorted(
        [PREFIX + "16385.tar", PREFIX + "data.tar", PREFIX + "backup.info"]
    )
    info = world.info()
    assert info == result
    assert info.status == "DONE" and is_complete(info)
    assert info.backup_name == "nightly"
    assert info.begin_wal == "000000010000000000000002" and info.begin_offset == 0x28
    assert info.end_xlog == "0/3000100" and info.end_wal == "000000010000000000000003"
    assert info.tablespaces == [("tbs", 16385, "/pg/tbs")]
    assert info.server_name == "cloud" and info.compression is None
    assert "LABEL: Barman backup cloud 20261126T041850" in info.backup_label
    assert set(info.copy_stats["copy_time_per_item"]) == {"16385", "data"}
    assert world.pg.calls[-2:] == ["stop_backup", "create_restore_point:barman_20261126T041850"]
    # the reporter (a lifecycle observer) hears every file read and the end of the run
    assert world.sink.closed and world.observer.events == ["started", "done"]
    not_sent = ("/pg/data/postmaster.pid", "/pg/data/pg_wal/000000010000000000000001", "/pg/tbs/other/file")
    assert world.observer.file_bytes == sum(FILES.values()) - sum(FILES[p] for p in not_sent)


def test_members_are_in_barman_order_with_pg_control_and_label_last(world):
    world.run()
    data = world.sink.members(PREFIX + "data.tar")
    assert data[0] == "./"
    # barman's order, then the backup_manifest (ours only) as the very last member
    assert data[-3:] == ["global/pg_control", "backup_label", "backup_manifest"]
    assert "pg_wal" in data and not any(m.startswith("pg_wal/") for m in data)
    assert "postmaster.pid" not in data and "pg_tblspc" in data
    assert world.sink.members(PREFIX + "16385.tar") == [
        "PG_15_202209061", "PG_15_202209061/5", "PG_15_202209061/5/16400"
    ]


def test_backup_info_is_written_started_first_then_done_last(world):
    seen = []
    original = world.store.put

    def spy(key, data):
        if key.endswith("backup.info"):
            seen.append(metadata.parse(data.decode()))
        original(key, data)

    world.store.put = spy
    world.run(backup_name="n")
    assert [i.status for i in seen] == ["STARTED", "DONE"]
    assert seen[0].backup_name is None and seen[0].end_xlog is None and seen[0].backup_label is None
    assert world.store.calls[-1] == ("put", PREFIX + "backup.info")


def test_split_archives_roll_at_max_archive_size(world):
    world.run(max_archive_size=8192)
    keys = sorted(k for k in world.store.objects if "data" in k)
    assert keys[0] == PREFIX + "data.tar" and PREFIX + "data_0001.tar" in keys
    # every member in exactly one archive
    members = [m for w in world.sink.writers if "data" in w.key for m in (x.name for x in w.added)]
    assert len(members) == len(set(members))
    for writer in world.sink.writers:
        before_last = sum(getattr(m, "size", 0) for m in writer.added[:-1])
        assert before_last <= 8192


def test_a_failure_while_streaming_leaves_a_failed_backup_and_aborts_everything(world):
    world.sink.fail_on_member = "global/1262"
    with pytest.raises(BackupFailed) as err:
        world.run()
    assert err.value.exit_code == ExitCode.FAILED
    assert "Backup failed uploading data" in str(err.value)
    info = world.info()
    assert info.status == "FAILED" and not is_complete(info)
    assert info.error.startswith("failure uploading data (Upload of")
    assert [w.state for w in world.sink.writers if "data" in w.key] == ["aborted"]
    assert "abort_backup" in world.pg.calls and "stop_backup" not in world.pg.calls
    assert PREFIX + "data.tar" not in world.store.objects


def test_a_lost_postgres_session_ends_the_backup_failed(world):
    world.pg.lose_connection_after_keepalives = 0  # the first heartbeat, right after the start
    with pytest.raises(BackupFailed):
        world.run(keepalive_interval=60)
    assert world.info().error == (
        "failure uploading data (Connection to the Postgres server was lost during the backup.)"
    )
    assert "stop_backup" not in world.pg.calls


def test_keepalive_zero_sends_none(world):
    world.run(keepalive_interval=0)
    assert "keepalive" not in world.pg.calls


def test_interrupt_writes_failed_and_raises_interrupted(world):
    def interrupt(member):
        raise KeyboardInterrupt

    world.sink.open = lambda key, checks=None, _o=world.sink.open: _patch(_o(key, checks), interrupt)
    with pytest.raises(Interrupted):
        world.run()
    assert world.info().error == "failure uploading data (KeyboardInterrupt)"


def _patch(writer, add):
    writer.add = add
    return writer


@pytest.mark.parametrize("flag,error", [("unreachable", CloudConnectionError), ("missing_bucket", BucketNotFound)])
def test_store_problems_are_found_before_the_server_starts_a_backup(flag, error):
    world = World(**{flag: True})
    with pytest.raises(error):
        world.run()
    assert "start_backup" not in world.pg.calls
    assert world.store.objects == {}


def test_missing_privileges_stop_everything_before_start(world):
    def refuse():
        raise PrivilegeError("Postgres user 'bob' is missing required privileges: pg_monitor")

    world.pg.check_backup_privileges = refuse
    with pytest.raises(PrivilegeError):
        world.run()
    assert "start_backup" not in world.pg.calls and world.store.objects == {}


def test_an_existing_backup_id_is_never_overwritten(world):
    world.store.objects[PREFIX + "backup.info"] = b"status=DONE\n"
    with pytest.raises(BackupExists):
        world.run()
    assert world.store.objects[PREFIX + "backup.info"] == b"status=DONE\n"
    assert "start_backup" not in world.pg.calls


def test_when_the_failed_backup_info_cannot_be_written_the_error_is_logged(world):
    world.sink.fail_on_member = "global/1262"
    world.store.fail_on_put = lambda key: key.endswith("backup.info") and world.pg.calls.count("abort_backup")
    with pytest.raises(BackupFailed):
        world.run()
    assert any("Backup failed uploading backup.info file" in f.get("error", "") for _, _, f in world.log.records)
    assert world.info().status == "STARTED"  # the first write; a reader never sees it as DONE


def test_missing_required_config_file_outside_pgdata_fails(world):
    world.pg.info = world.pg.info.__class__(**{**world.pg.info.__dict__, "config_file": "/etc/pg/postgresql.conf"})
    with pytest.raises(BackupFailed, match="postgresql.conf does not exist"):
        world.run()
    assert world.info().status == "FAILED"
