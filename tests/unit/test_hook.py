"""Hook mode through main(argv, env): barman's hook table, each exit code, and what is relayed.

A barman backup directory is built on disk (real LocalFileTree and tar sink); the object store is
the in-memory one and PostgreSQL a recording fake that hook mode must never touch.
"""

import io
import tarfile

import pytest
from dependency_injector import providers

from cloud_base_backup.adapters.reporting import RunReporter
from cloud_base_backup.adapters.system import NullLog
from cloud_base_backup.domain.relay import read_backup_info
from cloud_base_backup.entrypoints.cli import main
from tests.fakes import FakeClock, FakePostgres
from tests.support.memory_store import MemoryObjectStore

URL, SERVER, BID = "s3://bkt/pg", "main", "20261126T041850"
PREFIX = f"pg/main/base/{BID}/"
INFO = (
    "backup_label='START WAL LOCATION: 0/3000028 (file 000000010000000000000003)\\n'\n"
    "compression=None\nmode=postgres\npgdata=/pg/data\nserver_name=pg\nstatus=DONE\n"
    "systemid=7712355353551965163\n"
    "tablespaces=[('tbs', 16385, '/pg/tbs'), ('inner', 16390, '/pg/data/inner')]\n"
    "version=150018\n"
)
FILES = {
    "data/PG_VERSION": b"15\n", "data/backup_label": b"label", "data/backup_manifest": b"{}",
    "data/global/pg_control": b"c" * 64, "data/global/1260": b"r", "data/base/1/1234": b"x" * 10,
    "data/pg_wal/000000010000000000000003": b"w", "data/pg_wal/archive_status/x.done": b"",
    "data/postmaster.pid": b"1", "data/inner/PG_15_202209061/1/2": b"i",
    "data/pg_tblspc/16385/PG_15_202209061/5/1": b"dup",
    "16385/PG_15_202209061/5/16386": b"t" * 5, "16385/PG_16_202307071/5/1": b"other major",
    "16385/stray/file": b"s",
}


class Hook:
    def __init__(self, tmp_path, store=None, info=INFO):
        self.dir = tmp_path / "base" / BID
        for rel, data in FILES.items():
            (self.dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.dir / rel).write_bytes(data)
        self.info_path = tmp_path / "meta" / f"{BID}-backup.info"
        self.info_path.parent.mkdir()
        self.info_path.write_text(info)
        self.store = store or MemoryObjectStore("bkt")
        self.pg = FakePostgres()
        self.out, self.err = io.StringIO(), io.StringIO()

    def env(self, **overrides):
        env = {"BARMAN_HOOK": "backup_retry_script", "BARMAN_PHASE": "post", "BARMAN_STATUS": "DONE",
               "BARMAN_BACKUP_DIR": str(self.dir), "BARMAN_BACKUP_ID": BID,
               "BARMAN_BACKUP_INFO_PATH": str(self.info_path), "BARMAN_SERVER": "pg"}
        env.update(overrides)
        return {k: v for k, v in env.items() if v is not None}

    def configure(self, container):
        container.object_store.override(providers.Object(self.store))
        container.postgres.override(providers.Object(self.pg))
        container.clock.override(providers.Object(FakeClock()))

    def __call__(self, *argv, env=None):
        return main([*argv, URL, SERVER], self.env() if env is None else env, self.out, self.err,
                    configure=self.configure)

    def error(self):
        lines = self.err.getvalue().strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in lines[0], lines
        return lines[0]

    def members(self, name):
        with tarfile.open(fileobj=io.BytesIO(self.store.objects[PREFIX + name]), mode="r:*") as tar:
            return [m.name for m in tar]


@pytest.fixture
def hook(tmp_path):
    return Hook(tmp_path)


@pytest.mark.parametrize("name", ["backup_retry_script", "backup_script"])
def test_relays_barmans_backup_with_its_backup_info_unchanged_and_last(hook, name):
    assert hook(env=hook.env(BARMAN_HOOK=name)) == 0
    assert hook.out.getvalue() == hook.err.getvalue() == "" and hook.pg.calls == []
    assert sorted(hook.store.objects) == [PREFIX + k for k in ("16385.tar", "backup.info", "data.tar")]
    assert hook.store.objects[PREFIX + "backup.info"] == INFO.encode()
    assert hook.store.calls[-1] == ("put", PREFIX + "backup.info")
    data = hook.members("data.tar")
    assert data[-1] == "global/pg_control" and data.count("global/pg_control") == 1
    assert {"backup_label", "backup_manifest", "base/1/1234", "pg_wal", "pg_tblspc"} <= set(data)
    assert not [m for m in data if m.startswith(("pg_wal/", "inner", "pg_tblspc/")) or "postmaster" in m]
    # Only PG_<major>_* of the tablespace; the missing 16390 directory is skipped silently.
    assert hook.members("16385.tar") == ["PG_15_202209061", "PG_15_202209061/5", "PG_15_202209061/5/16386"]


def test_compression_and_splitting_apply_as_in_a_live_backup(hook):
    (hook.dir / "data/base/1/big").write_bytes(b"\0" * (3 << 20))
    assert hook("-z", "-S", "1MB") == 0
    names = {k.removeprefix(PREFIX) for k in hook.store.objects}
    assert {"data.tar.gz", "16385.tar.gz", "backup.info"} <= names
    assert hook("-S", "1MB", env=hook.env(BARMAN_BACKUP_ID="20261126T041851")) == 0
    second = {k.rsplit("/", 1)[1] for k in hook.store.objects if "041851" in k}
    assert {"data.tar", "data_0001.tar"} <= second


def test_the_man_pages_unprefixed_names_are_a_fallback(hook):
    env = hook.env(BARMAN_BACKUP_DIR=None, BARMAN_BACKUP_ID=None, BACKUP_DIR=str(hook.dir), BACKUP_ID=BID)
    assert hook(env=env) == 0 and PREFIX + "backup.info" in hook.store.objects
    env = hook.env(BACKUP_DIR="/nowhere", BACKUP_ID="20000101T000000")  # BARMAN_ names win
    assert hook(env=env) == 0


@pytest.mark.parametrize("env", [
    {"BARMAN_HOOK": "backup_retry_script"},
    {"BARMAN_PHASE": "post"},
    {"BACKUP_DIR": "/x", "BACKUP_ID": BID, "BARMAN_STATUS": "DONE"},
])
def test_without_both_hook_and_phase_it_is_a_live_backup(hook, env):
    hook(env=env)  # the fake server's PGDATA is not on disk: only the path taken matters
    assert hook.pg.calls[0] == "server_info"
    assert INFO.encode() not in hook.store.objects.values()


@pytest.mark.parametrize("hook_name,phase", [
    ("backup_script", "pre"), ("backup_retry_script", "pre"), ("archive_script", "post"),
    ("archive_retry_script", "post"), ("", ""), ("backup_retry_script", "POST"),
])
def test_unsupported_hook_phase_pairs_exit_4(hook, hook_name, phase):
    assert hook(env=hook.env(BARMAN_HOOK=hook_name, BARMAN_PHASE=phase)) == 4
    assert f"unsupported hook script: {phase}_{hook_name}" in hook.error()
    assert hook.store.objects == {} and hook.pg.calls == []


@pytest.mark.parametrize("overrides,argv,message", [
    ({}, ["-n", "nightly"], "Cannot set backup name when running as a hook script"),
    ({"BARMAN_BACKUP_DIR": None, "BARMAN_STATUS": "FAILED"}, [], "BARMAN_BACKUP_DIR is not set"),
    ({"BARMAN_BACKUP_ID": None}, [], "BARMAN_BACKUP_ID is not set"),
    ({"BARMAN_BACKUP_INFO_PATH": None}, [], "BARMAN_BACKUP_INFO_PATH is not set"),
    ({"BARMAN_BACKUP_INFO_PATH": ""}, [], "BARMAN_BACKUP_INFO_PATH is empty"),
    ({"BARMAN_BACKUP_INFO_PATH": "/nonexistent/backup.info"}, [], "No such file or directory"),
    ({"BARMAN_BACKUP_ID": "latest"}, [], "not a barman backup id"),
])
def test_misuse_exits_4_with_one_line_saying_what_is_wrong(hook, overrides, argv, message):
    assert hook(*argv, env=hook.env(**overrides)) == 4
    assert message in hook.error()
    assert hook.store.objects == {} and hook.pg.calls == []


@pytest.mark.parametrize("status", [None, "WAITING_FOR_WALS", "FAILED", "STARTED", "done", ""])
def test_a_backup_not_done_exits_63_so_barman_stops_retrying(hook, status):
    assert hook(env=hook.env(BARMAN_STATUS=status)) == 63
    line = hook.error()
    assert f"has status '{status}' (status should be: DONE)" in line
    assert ("barman backup --wait" in line) == (status == "WAITING_FOR_WALS")
    assert hook.store.objects == {} and hook.store.calls == []


@pytest.mark.parametrize("info,message", [
    (INFO.replace("compression=None", "compression=gzip"), "Compressed backups are not supported"),
    (INFO + "garbage\n", "invalid line 'garbage'"),
    (INFO.replace("version=150018\n", ""), "lacks a valid version"),
])
def test_unusable_backup_info_exits_4_before_any_upload(tmp_path, info, message):
    hook = Hook(tmp_path, info=info)
    assert hook() == 4 and message in hook.error()
    assert hook.store.calls == []


def test_test_mode_wins_over_the_hook_variables(hook):
    assert hook("-t", env=hook.env(BARMAN_PHASE="pre", BARMAN_STATUS=None)) == 0
    assert hook.store.calls == [("check", "")] and hook.err.getvalue() == ""


@pytest.mark.parametrize("store,code", [
    (MemoryObjectStore("bkt", unreachable=True), 2),
    (MemoryObjectStore("bkt", missing_bucket=True), 1),
])
def test_the_store_is_checked_before_any_upload(tmp_path, store, code):
    hook = Hook(tmp_path, store=store)
    assert hook() == code
    assert [op for op, _ in store.calls] == ["check"]


def test_a_failed_upload_exits_1_aborts_uploads_and_never_writes_backup_info(tmp_path):
    hook = Hook(tmp_path, store=MemoryObjectStore("bkt", fail_on_part="data.tar", fail_on_part_number=2))
    (hook.dir / "data/base/1/big").write_bytes(b"\0" * (12 << 20))  # several 5 MiB parts at -S 1GB
    assert hook("-S", "1GB") == 1
    assert "Backup upload failed uploading data (" in hook.error()
    assert PREFIX + "backup.info" not in hook.store.objects
    assert hook.store.open_uploads == [] and PREFIX + "data.tar" in hook.store.aborted


def test_a_missing_pg_control_fails_the_upload(hook):
    (hook.dir / "data/global/pg_control").unlink()
    (hook.dir / "data/base/1/big").write_bytes(b"\0" * (12 << 20))  # data.tar's upload is open
    assert hook("-S", "1GB") == 1 and "global/pg_control is missing" in hook.error()
    assert PREFIX + "backup.info" not in hook.store.objects
    assert hook.store.open_uploads == [] and PREFIX + "data.tar" in hook.store.aborted


def test_backup_info_is_read_tolerantly_and_major_follows_barman():
    info = read_backup_info(b"# comment\n\nversion = 90624\npgdata=/d\nsome_future_key=1\n")
    assert (info.major, info.pgdata, info.tablespaces, info.compression) == ("9.6", "/d", (), None)
    assert read_backup_info(INFO.encode()).major == "15"


def test_the_progress_total_in_hook_mode_is_barmans_backup_size(tmp_path):
    """Live backups take PostgreSQL's cluster_size as the progress total; a relay takes the
    `size` barman recorded for its copy (no size recorded: no percentage, as before)."""
    for info, total in ((INFO + "size=123456789\n", 123456789), (INFO, None)):
        hook = Hook(tmp_path / str(total), info=info)
        reporter = RunReporter(None, NullLog())

        def configure(container, hook=hook, reporter=reporter):
            hook.configure(container)
            container.reporter.override(providers.Object(reporter))

        assert main([URL, SERVER], hook.env(), hook.out, hook.err, configure=configure) == 0
        assert reporter.counters.total == total
        assert reporter.counters.read > 0  # the same reporter heard the relay's reads
