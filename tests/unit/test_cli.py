"""main(argv, env): every exit code, through the container with fakes for every port."""

import io
from datetime import timedelta

import pytest
from dependency_injector import providers

from cloud_base_backup.domain import metadata
from cloud_base_backup.entrypoints.cli import main
from tests.fakes import FakeClock, FakeFileTree, FakePostgres
from tests.support.memory_store import MemoryObjectStore

URL, SERVER = "s3://bkt/pg", "main"
FILES = {"/pg/data/PG_VERSION": 3, "/pg/data/global/pg_control": 8192, "/pg/data/postgresql.conf": 10,
         "/pg/data/pg_hba.conf": 10, "/pg/data/pg_ident.conf": 10, "/pg/tbs/PG_15_1/5/1": 10}


class Run:
    def __init__(self, store=None, pg=None):
        self.store = store or MemoryObjectStore("bkt")
        self.pg = pg or FakePostgres()
        self.out, self.err = io.StringIO(), io.StringIO()

    def configure(self, container):
        container.object_store.override(providers.Object(self.store))
        container.postgres.override(providers.Object(self.pg))
        container.clock.override(providers.Object(FakeClock()))
        container.files.override(providers.Object(_MemoryBackedTree(FILES)))

    def __call__(self, *argv, env=None):
        return main(list(argv), env or {}, self.out, self.err, configure=self.configure)


class _MemoryBackedTree(FakeFileTree):
    """The fake tree, with files the real tar sink can read: entries point at /dev/zero-like data."""

    def _entry(self, path, name):
        entry = super()._entry(path, name)
        if entry.kind.value == "file":
            return entry.__class__(**{**entry.__dict__, "path": "/dev/zero"})
        return entry


@pytest.fixture
def run():
    return Run()


def test_a_backup_exits_0_with_no_output_at_all(run):
    assert run(URL, SERVER, "-z") == 0
    assert run.out.getvalue() == "" and run.err.getvalue() == ""
    keys = sorted(run.store.objects)
    assert keys == [f"pg/main/base/20261126T041850/{k}" for k in ("16385.tar.gz", "backup.info", "data.tar.gz")]
    info = metadata.parse(run.store.objects[keys[1]].decode())
    assert info.status == "DONE"


def test_version_and_help_go_to_stdout_and_exit_0(run):
    assert run("-V") == 0 and run.out.getvalue().splitlines()[0] == "barman-cloud-backup 3.20.1"
    assert run("--help") == 0 and "--immediate-checkpoint" in run.out.getvalue()


@pytest.mark.parametrize("argv", [
    [URL],
    [URL, SERVER, "-J", "0"],
    [URL, SERVER, "-J", "x"],
    [URL, SERVER, "-S", "0"],
    [URL, SERVER, "-S", ""],
    [URL, SERVER, "-S", "infKB"],
    [URL, SERVER, "--min-chunk-size", "5M"],
    [URL, SERVER, "-n", "latest"],
    [URL, SERVER, "-n", "20250101T000000"],
    [URL, SERVER, "-n", ""],
    [URL, SERVER, "-v", "-q"],
    [URL, SERVER, "-z", "-j"],
    [URL, SERVER, "--lz4", "--zstd"],
    [URL, SERVER, "--ver"],
    [URL, SERVER, "--cloud-provider", "dropbox"],
    [URL, SERVER, "--tag", "aws:k,v"],
    [URL, SERVER, "--tag", "k,v!"],
    [URL, SERVER, "--tag", "a,b", "--tags", "c,d"],
    [URL, SERVER, "--tags", "a,b,c"],
    ["--tags", "a,b", URL, SERVER],
    [URL, SERVER, "--keepalive-interval", "-1"],
    [URL, SERVER, "--abort-stale-uploads-after", "yesterday"],
    [URL, SERVER, "--read-timeout", "x"],
    [URL, SERVER, "-e", "AES128"],
    [URL, SERVER, "--aws-snapshot-lock-duration", "0"],
    [URL, SERVER, "--aws-snapshot-lock-expiration-date", "tomorrow"],
    [URL, SERVER, "--bogus"],
])
def test_bad_arguments_exit_3_with_one_error_line(run, argv):
    assert run(*argv) == 3
    lines = run.err.getvalue().strip().splitlines()
    assert lines and "Traceback" not in run.err.getvalue()
    assert "error" in lines[-1] or lines[-1].startswith("Invalid tag format")
    assert run.store.objects == {} and run.pg.calls == []


@pytest.mark.parametrize("argv,message", [
    (["gs://bkt/x", SERVER], "Invalid s3 URL address: gs://bkt/x: the URL looks like it needs --cloud-provider google-cloud-storage"),
    ([URL, SERVER, "--snapshot-instance", "i1", "-z"], "Compression options cannot be used"),
    ([URL, SERVER, *sum([["--tag", f"k{i},v"] for i in range(11)], [])], "Maximum number of tags"),
    ([URL, SERVER, "--tags", "a,1", "a,2"], "Duplicate tag keys found: a"),
    ([URL, SERVER, "--aws-snapshot-lock-mode", "governance", "--aws-snapshot-lock-cool-off-period", "2",
      "--snapshot-instance", "i"], "cannot be used with 'aws_snapshot_lock_cool_off_period'"),
])
def test_semantic_errors_exit_4_before_anything_starts(argv, message):
    run = Run()
    assert main(argv, {}, run.out, run.err) == 4
    assert message in run.err.getvalue()
    assert len(run.err.getvalue().strip().splitlines()) == 1


def test_s3_encryption_option_rules_exit_4(tmp_path):
    run = Run()
    assert main([URL, SERVER, "--sse-kms-key-id", "k"], {}, run.out, run.err) == 4
    assert 'Encryption type must be' in run.err.getvalue() and 'aws:kms' in run.err.getvalue()
    key = tmp_path / "key"
    key.write_text("not base64!")
    run = Run()
    assert main([URL, SERVER, "--sse-customer-key", f"file://{key}"], {}, run.out, run.err) == 4
    assert "SSE-C" in run.err.getvalue() and "not base64" not in run.err.getvalue()


@pytest.mark.parametrize("store,code", [
    (MemoryObjectStore("bkt"), 0),
    (MemoryObjectStore("bkt", missing_bucket=True), 1),
    (MemoryObjectStore("bkt", unreachable=True), 2),
])
def test_connectivity_check_codes_and_no_postgres(store, code):
    run = Run(store=store)
    assert run(URL, SERVER, "-t") == code
    assert run.pg.calls == []
    assert (run.err.getvalue() == "") == (code == 0)


def test_a_failed_backup_exits_1_with_one_error_line(run):
    run.pg.fail_on = "stop_backup"
    assert run(URL, SERVER) == 1
    err = run.err.getvalue().strip().splitlines()
    assert len(err) == 1 and "Backup failed uploading data (stop_backup command: simulated failure)" in err[0]
    info = metadata.parse(run.store.objects["pg/main/base/20261126T041850/backup.info"].decode())
    assert info.status == "FAILED"


def test_an_unreachable_store_exits_2_and_starts_nothing():
    run = Run(store=MemoryObjectStore("bkt", unreachable=True))
    assert run(URL, SERVER) == 2
    assert "start_backup" not in run.pg.calls


def test_unexpected_errors_exit_4_without_traceback(run):
    def boom():
        raise RuntimeError("something odd\nsecond line")

    run.pg.server_info = boom
    assert run(URL, SERVER) == 4
    assert "Traceback" not in run.err.getvalue()
    assert "Barman cloud backup exception: something odd" in run.err.getvalue()


def test_azure_emulator_url_without_connection_string_exits_4_on_one_line(run):
    argv = ["--cloud-provider", "azure-blob-storage", "http://127.0.0.1:1/acct/cont/p", SERVER, "-t"]
    assert main(argv, {}, run.out, run.err) == 4
    err = run.err.getvalue().strip().splitlines()
    assert len(err) == 1 and "connection string" in err[0].lower()
    assert "Traceback" not in run.err.getvalue()


def test_hook_mode_is_detected_from_the_environment(run):
    code = run(URL, SERVER, env={"BARMAN_HOOK": "backup_retry_script", "BARMAN_PHASE": "post"})
    assert code != 0 and run.pg.calls == []


@pytest.mark.parametrize("flags,idle_hours,state", [
    (["--abort-stale-uploads-after", "4h"], 3, "open"),
    (["--abort-stale-uploads-after", "2h"], 3, "aborted"),
    (["--abort-stale-uploads-after", "0"], 999, "open"),
    ([], 23, "open"),
    ([], 25, "aborted"),
])
def test_a_backup_aborts_its_servers_uploads_idle_past_the_threshold(flags, idle_hours, state):
    store = MemoryObjectStore("bkt")
    left = store.start_multipart("pg/main/base/20261101T000000/data.tar")
    left.upload_part(1, b"x")
    left.last_activity = FakeClock().now() - timedelta(hours=idle_hours)
    assert Run(store=store)(URL, SERVER, *flags) == 0
    assert left.state == state
