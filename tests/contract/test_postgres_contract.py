"""Contract of the PostgresServer port, run against PsycopgPostgres on real throwaway clusters."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cloud_base_backup.adapters.postgres import ConnParams, PsycopgPostgres
from cloud_base_backup.domain.errors import (
    BackupError,
    PostgresConnectionError,
    PostgresError,
    PrivilegeError,
    UnsupportedServer,
)
from cloud_base_backup.domain.ports import PostgresServer
from tests.fakes import FakePostgres, RecordingLog
from tests.support.pgbins import MAJORS, bindir_for
from tests.support.pgcluster import PgCluster, chown_to_postgres
from tests.support.ports import free_port

pytestmark = pytest.mark.contract

PASSWORD = "S3cretPassw0rd"


def logged(log: RecordingLog, level: str) -> str:
    return "\n".join(f"{event} {fields}" for lvl, event, fields in log.records if lvl == level)


def _workdir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="pg-contract-"))
    chown_to_postgres(root, recursive=False)
    return root


def _cluster(bindir: str, **settings: object) -> Iterator[PgCluster]:
    root = _workdir()
    cluster = PgCluster(root, Path(bindir)).initdb("--data-checksums")
    hba = cluster.pgdata / "pg_hba.conf"
    hba.write_text(f"host all pwuser 127.0.0.1/32 scram-sha-256\n{hba.read_text()}")
    # PG 13 still hashes new passwords with md5, which the scram-sha-256 hba line rejects.
    cluster.configure(archive_mode="off", password_encryption="scram-sha-256", **settings)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", params=MAJORS, ids=lambda major: f"pg{major}")
def cluster(request: pytest.FixtureRequest) -> Iterator[PgCluster]:
    yield from _cluster(str(bindir_for(request.param)))


def connect(cluster: PgCluster, log: RecordingLog | None = None, **kw: Any) -> PsycopgPostgres:
    params = {"host": "127.0.0.1", "port": str(cluster.port), "user": "postgres"} | kw
    return PsycopgPostgres(ConnParams(**params), log or RecordingLog())


@pytest.fixture
def log() -> RecordingLog:
    return RecordingLog()


@pytest.fixture
def role(cluster: PgCluster) -> Iterator[str]:
    name = f"u{uuid.uuid4().hex[:8]}"
    cluster.sql(f"CREATE ROLE {name} LOGIN")
    yield name
    cluster.sql(f"DROP OWNED BY {name}")
    cluster.sql(f"DROP ROLE {name}")


def server_version(cluster: PgCluster) -> int:
    return int(cluster.scalar("SHOW server_version_num"))  # type: ignore[call-overload]


def start_stop_names(cluster: PgCluster) -> tuple[str, str]:
    if server_version(cluster) >= 150000:
        return "pg_backup_start(text, boolean)", "pg_backup_stop(boolean)"
    return "pg_start_backup(text, boolean, boolean)", "pg_stop_backup(boolean, boolean)"


class PostgresServerContract:
    """What every PostgresServer must do; `subject` is a fresh server with nothing started."""

    def test_server_info(self, subject: PostgresServer) -> None:
        info = subject.server_info()
        assert info.version >= 130000 and info.major == str(info.version // 10000)
        assert info.pgdata and os.path.isabs(info.pgdata)
        assert info.xlog_segment_size & (info.xlog_segment_size - 1) == 0
        assert all(isinstance(t.oid, int) for t in info.tablespaces)

    def test_start_stop_round_trip(self, subject: PostgresServer, log: RecordingLog) -> None:
        subject.check_backup_privileges()
        start = subject.start_backup("Barman backup cloud 20250101T000000", fast=True)
        subject.keepalive()
        stop = subject.stop_backup()
        assert start.lsn < stop.lsn
        assert start.time.tzinfo is not None and start.time <= stop.time
        assert start.timeline == stop.timeline == 1
        assert "LABEL: Barman backup cloud 20250101T000000" in stop.label
        assert stop.label.startswith("START WAL LOCATION: ")
        subject.create_restore_point("barman_20250101T000000")
        assert "restore point not created" not in logged(log, "debug")

    def test_label_is_a_bound_parameter(self, subject: PostgresServer) -> None:
        subject.start_backup("it's a label; --", fast=True)
        assert "LABEL: it's a label; --" in subject.stop_backup().label

    def test_abort_then_new_start(self, subject: PostgresServer) -> None:
        subject.start_backup("first", fast=True)
        subject.abort_backup()
        subject.start_backup("second", fast=True)
        assert "LABEL: second" in subject.stop_backup().label
        subject.abort_backup()  # nothing in progress: still quiet

    def test_close_is_idempotent(self, subject: PostgresServer) -> None:
        subject.keepalive()
        subject.close()
        subject.close()


class PsycopgFixtures:
    @pytest.fixture
    def subject(self, cluster: PgCluster, log: RecordingLog) -> Iterator[PostgresServer]:
        pg = connect(cluster, log)
        yield pg
        pg.abort_backup()
        pg.close()


class TestPsycopgPostgresContract(PsycopgFixtures, PostgresServerContract):
    pass


class FakeFixtures:
    @pytest.fixture
    def subject(self) -> PostgresServer:
        return FakePostgres()


class TestFakePostgresContract(FakeFixtures, PostgresServerContract):
    pass


class TestPsycopgPostgres(PsycopgFixtures):
    """Behaviour that needs a real cluster: exact values, roles, sessions, conninfo."""

    def test_server_info_values(self, subject: PsycopgPostgres, cluster: PgCluster) -> None:
        info = subject.server_info()
        assert info.version == server_version(cluster)
        assert info.systemid and info.systemid.isdigit()
        assert info.pgdata == os.path.realpath(cluster.pgdata)
        assert info.xlog_segment_size == 16 * 1024 * 1024
        assert info.config_file == os.path.join(info.pgdata, "postgresql.conf")
        assert info.hba_file == os.path.join(info.pgdata, "pg_hba.conf")
        assert info.ident_file == os.path.join(info.pgdata, "pg_ident.conf")
        assert info.included_files is None and info.tablespaces == ()
        assert info.data_checksums == "on"
        assert (info.summarize_wal is not None) == (info.version >= 170000)
        assert isinstance(info.cluster_size, int) and info.cluster_size > 0

    def test_second_start_in_session_fails(self, subject: PostgresServer) -> None:
        subject.start_backup("first", fast=True)
        with pytest.raises(PostgresError, match=r"^pg_(backup_start|start_backup) command: "):
            subject.start_backup("second", fast=True)

    def test_archiving_off_is_a_logged_warning(
        self, subject: PsycopgPostgres, log: RecordingLog
    ) -> None:
        subject.start_backup("no archiving", fast=True)
        subject.stop_backup()
        assert "WAL archiving is not enabled" in logged(log, "warning")

    def test_idle_session_timeout_is_lifted_for_the_backup(self, cluster: PgCluster) -> None:
        # 13 has no idle_session_timeout: there the adapter must not SET it (the SET would fail).
        has_it = cluster.sql("SELECT 1 FROM pg_settings WHERE name = 'idle_session_timeout'")
        assert bool(has_it) == (server_version(cluster) >= 140000)
        options = "options='-c idle_session_timeout=300'" if has_it else ""
        pg = connect(cluster, dbname=f"dbname=postgres {options}")
        pg.start_backup("idle", fast=True)
        time.sleep(1)
        pg.keepalive()
        assert "LABEL: idle" in pg.stop_backup().label
        pg.close()

    def test_tablespaces_outside_pgdata(self, subject: PsycopgPostgres, cluster: PgCluster) -> None:
        location = _workdir() / "tbs"
        cluster.create_tablespace("contract_tbs", location)
        try:
            (space,) = subject.server_info().tablespaces
            assert space.name == "contract_tbs" and space.location == str(location)
            assert isinstance(space.oid, int)
            assert space.oid == cluster.scalar(
                "SELECT oid FROM pg_tablespace WHERE spcname = 'contract_tbs'"
            )
        finally:
            cluster.sql("DROP TABLESPACE contract_tbs")
            shutil.rmtree(location.parent, ignore_errors=True)

    def test_included_files_after_alter_system(
        self, subject: PsycopgPostgres, cluster: PgCluster
    ) -> None:
        cluster.sql("ALTER SYSTEM SET work_mem = '5MB'")
        cluster.sql("SELECT pg_reload_conf()")
        try:
            info = subject.server_info()
            assert info.included_files == (os.path.join(info.pgdata, "postgresql.auto.conf"),)
        finally:
            cluster.sql("ALTER SYSTEM RESET work_mem")
            cluster.sql("SELECT pg_reload_conf()")

    def test_in_place_tablespace_is_refused(
        self, subject: PsycopgPostgres, cluster: PgCluster
    ) -> None:
        # allow_in_place_tablespaces is a 15 feature that was back-patched to 13 and 14 too.
        with psycopg.connect(**cluster.conninfo, dbname="postgres", autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute("SET allow_in_place_tablespaces = on")
            conn.execute("CREATE TABLESPACE contract_inplace LOCATION ''")
        try:
            with pytest.raises(UnsupportedServer, match="contract_inplace"):
                subject.server_info()
        finally:
            cluster.sql("DROP TABLESPACE contract_inplace")

    def test_unprivileged_user_is_told_what_is_missing(self, cluster: PgCluster, role: str) -> None:
        start, stop = (
            n.replace("boolean", "bool").replace(" ", "") for n in start_stop_names(cluster)
        )
        pg = connect(cluster, user=role)
        with pytest.raises(PrivilegeError) as err:
            pg.check_backup_privileges()
        message = str(err.value)
        assert message.startswith(f"Postgres user '{role}' is missing required privileges: ")
        for missing in (
            start,
            stop,
            "pg_switch_wal()",
            "pg_create_restore_point(text)",
            "membership of pg_monitor",
        ):
            assert missing in message
        with pytest.raises(PrivilegeError, match="data_directory"):
            pg.server_info()
        pg.close()

    def test_partial_roles_name_the_missing_one(self, cluster: PgCluster, role: str) -> None:
        cluster.sql(f"GRANT pg_read_all_settings TO {role}")
        pg = connect(cluster, user=role)
        with pytest.raises(PrivilegeError, match=r"pg_monitor \(or of pg_read_all_stats\)"):
            pg.check_backup_privileges()
        assert pg.server_info().cluster_size is None
        pg.close()

    def test_granted_user_can_back_up(self, cluster: PgCluster, role: str) -> None:
        cluster.sql(f"GRANT pg_monitor TO {role}")
        for function in (
            *start_stop_names(cluster),
            "pg_switch_wal()",
            "pg_create_restore_point(text)",
        ):
            cluster.sql(f"GRANT EXECUTE ON FUNCTION {function} TO {role}")
        pg = connect(cluster, user=role)
        pg.check_backup_privileges()
        assert pg.server_info().cluster_size
        pg.start_backup("granted", fast=True)
        assert "LABEL: granted" in pg.stop_backup().label
        pg.close()

    def test_password_user(self, cluster: PgCluster) -> None:
        cluster.sql(f"CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        try:
            wrong = connect(
                cluster, user="pwuser", dbname=f"dbname=postgres password=wrong{PASSWORD}"
            )
            with pytest.raises(
                PostgresConnectionError, match="^Cannot connect to postgres: "
            ) as err:
                wrong.server_info()
            assert PASSWORD not in str(err.value) and "password authentication failed" in str(
                err.value
            )
            right = connect(cluster, user="pwuser", dbname=f"postgresql://x:{PASSWORD}@/postgres")
            assert right.server_info().pgdata
            right.close()
        finally:
            cluster.sql("DROP ROLE pwuser")

    @pytest.mark.parametrize(
        ("dbname", "code", "reason"),
        [
            # barman rejects a token without "=" itself (exit 4); libpq's other parse errors
            # reach it through psycopg2.connect as "invalid dsn: <reason>" (exit 1).
            (f"host=h password={PASSWORD} junk", 4, 'invalid connection string: missing "=" after "junk"'),
            (f"password='{PASSWORD} more' junk", 4, 'invalid connection string: missing "=" after "junk"'),
            (f"dbname=x password='{PASSWORD}", 1, "invalid dsn: unterminated quoted string"),
            (f"postgresql://u:{PASSWORD}@[::1/db", 1, 'invalid dsn: end of string reached when looking for matching "]"'),
            (f"postgresql://u:{PASSWORD}%zz@h/db", 1, "invalid dsn: invalid percent-encoded token"),
            (f"postgresql://u@h/db?password={PASSWORD}&bogus=1", 1, 'invalid dsn: invalid URI query parameter: "bogus"'),
            ("nosuchkey=1", 1, 'invalid dsn: invalid connection option "nosuchkey"'),
        ],
    )
    def test_bad_conninfo_keeps_libpq_reason_without_password(
        self, dbname: str, code: int, reason: str
    ) -> None:
        with pytest.raises(BackupError) as err:
            PsycopgPostgres(ConnParams(dbname=dbname), RecordingLog())
        assert str(err.value).startswith(f"Cannot connect to postgres: {reason}")
        assert int(err.value.exit_code) == code
        assert PASSWORD not in str(err.value) and "\n" not in str(err.value)

    def test_connection_refused(self) -> None:
        pg = PsycopgPostgres(ConnParams("127.0.0.1", str(free_port()), "postgres"), RecordingLog())
        with pytest.raises(PostgresConnectionError, match="^Cannot connect to postgres: .*refused"):
            pg.server_info()
        pg.close()
        pg.close()

    def test_explicit_options_override_conninfo(self, cluster: PgCluster) -> None:
        for dbname in (
            "host=/nonexistent port=1 user=nobody dbname=postgres",
            "postgresql://nobody@/postgres?host=/nonexistent&port=1",
        ):
            pg = connect(cluster, dbname=dbname)
            assert pg.server_info().version
            pg.close()

    def test_conninfo_fills_what_options_leave_out(self, cluster: PgCluster) -> None:
        pg = PsycopgPostgres(
            ConnParams(dbname=f"host=127.0.0.1 port={cluster.port} user=postgres"), RecordingLog()
        )
        assert pg.server_info().version
        pg.close()

    def test_database_name_with_spaces(self, cluster: PgCluster) -> None:
        cluster.sql('CREATE DATABASE "my db"')
        try:
            pg = connect(cluster, dbname="my db")
            pg.server_info()
            pg.close()
        finally:
            cluster.sql('DROP DATABASE "my db"')

    def test_application_name(self, cluster: PgCluster) -> None:
        default = connect(cluster)
        default.keepalive()
        custom = connect(cluster, dbname="dbname=postgres application_name=mine")
        custom.keepalive()
        names = {r[0] for r in cluster.sql("SELECT application_name FROM pg_stat_activity")}
        assert {"barman_cloud_backup", "mine"} <= names
        default.close()
        custom.close()

    def test_lost_session_during_backup(self, cluster: PgCluster) -> None:
        app = f"contract-{uuid.uuid4().hex[:8]}"
        pg = PsycopgPostgres(
            ConnParams("127.0.0.1", str(cluster.port), "postgres"), RecordingLog(), app
        )
        pg.start_backup("doomed", fast=True)
        cluster.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            app,
        )
        with pytest.raises(PostgresConnectionError, match="lost during the backup"):
            pg.keepalive()
        with pytest.raises(
            PostgresConnectionError, match="^Error issuing pg_(backup_stop|stop_backup) command"
        ):
            pg.stop_backup()
        pg.abort_backup()
        pg.close()
        assert not cluster.sql("SELECT 1 FROM pg_stat_activity WHERE application_name = %s", app)

    def test_wal_level_minimal_is_refused(self, cluster: PgCluster) -> None:
        bindir = str(cluster.bindir)
        for minimal in _cluster(bindir, wal_level="minimal", max_wal_senders=0):
            pg = connect(minimal)
            with pytest.raises(PostgresError, match="wal_level is minimal"):
                pg.check_backup_privileges()
            pg.close()
