"""PsycopgPostgres: the PostgresServer port over one psycopg 3 session, PostgreSQL 13 to 18."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from cloud_base_backup.domain.errors import (
    InvalidInput,
    PostgresConnectionError,
    PostgresError,
    PrivilegeError,
    UnsupportedServer,
    first_line,
)
from cloud_base_backup.domain.model import BackupStart, BackupStop, Lsn, ServerInfo, Tablespace
from cloud_base_backup.domain.ports import Log
from cloud_base_backup.domain.redaction import credentials_in, redact

LOST = "Connection to the Postgres server was lost during the backup."
_FILES = (
    "SELECT name, setting FROM pg_settings WHERE name IN ('config_file', 'hba_file', 'ident_file')"
)
_SOURCES = "SELECT DISTINCT sourcefile FROM pg_settings WHERE sourcefile IS NOT NULL"
_TABLESPACES = (
    "SELECT spcname, oid, pg_tablespace_location(oid) FROM pg_tablespace "
    "WHERE pg_tablespace_location(oid) <> ''"
)
_SEGMENT_SIZE = "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'"
_CLUSTER_SIZE = "SELECT sum(pg_tablespace_size(oid))::bigint FROM pg_tablespace"
# Page size and relation segment size (fixed at build time): page checksums mix in the block
# number counted across a relation's segment files.
_PAGE_GEOMETRY = (
    "SELECT current_setting('block_size')::int,"
    " (SELECT setting::bigint * pg_size_bytes(unit) FROM pg_settings WHERE name = 'segment_size')"
)
_END_TIMELINE = (
    "SELECT CASE WHEN pg_is_in_recovery() THEN min_recovery_end_timeline ELSE timeline_id END "
    "FROM pg_control_checkpoint(), pg_control_recovery()"
)
_READ_ALL = ("pg_read_all_settings", "pg_read_all_stats")
_PRIVILEGES = "SELECT current_user, rolsuper, " + ", ".join(
    f"pg_has_role('{role}', 'USAGE')" for role in ("pg_monitor", *_READ_ALL)
)
# The signatures barman tests: 15+ vs 13-14 (keyed by "is 15 or later").
_FUNCTIONS = {
    True: ("pg_backup_start(text,bool)", "pg_backup_stop(bool)"),
    False: ("pg_start_backup(text,bool,bool)", "pg_stop_backup(bool,bool)"),
}
_TIMEOUTS = (
    ("statement_timeout", 0),
    ("idle_session_timeout", 140000),
    ("transaction_timeout", 170000),
)


@dataclass(frozen=True)
class ConnParams:
    """The -h, -p, -U and -d options as given."""

    host: str | None = None
    port: str | None = None
    user: str | None = None
    dbname: str | None = "postgres"


def build_conninfo(params: ConnParams, application_name: str) -> str:
    """Parse -d with libpq's rules (keyword string or URI) and let explicit -h/-p/-U win."""
    dbname = params.dbname or ""
    try:
        if "=" in dbname or dbname.startswith(("postgresql://", "postgres://")):
            parts = conninfo_to_dict(dbname)
        else:
            parts = {"dbname": dbname} if dbname else {}
        parts.update({k: v for k, v in vars(params).items() if k != "dbname" and v})
        parts.setdefault("application_name", application_name)
        return make_conninfo("", **parts)
    except psycopg.Error as exc:
        raise _conninfo_error(dbname, exc) from None


def _conninfo_error(dbname: str, exc: psycopg.Error) -> InvalidInput | PostgresConnectionError:
    """libpq's reason, every password in `dbname` masked, with barman's exit code.

    barman rejects a conninfo token without `=` itself (exit 4); every other malformed
    conninfo fails inside psycopg2's connect, as `invalid dsn: <libpq's reason>` (exit 1).
    """
    reason = redact(_first_line(exc), extra=credentials_in(dbname))
    if reason.startswith('missing "=" after'):
        return InvalidInput(f"Cannot connect to postgres: invalid connection string: {reason}")
    return PostgresConnectionError(f"Cannot connect to postgres: invalid dsn: {reason}")


def _first_line(exc: BaseException) -> str:
    """PostgreSQL's primary message when the server sent one, else the exception's first line."""
    diag = getattr(exc, "diag", None)
    primary = diag.message_primary if diag is not None else None
    return first_line(Exception(primary) if primary else exc).strip()


class PsycopgPostgres:
    """One autocommit session, opened on first use; never reopened inside the backup window."""

    def __init__(
        self, conninfo_parts: ConnParams, log: Log, application_name: str = "barman_cloud_backup"
    ) -> None:
        self._conninfo = build_conninfo(conninfo_parts, application_name)
        self._password = str(conninfo_to_dict(self._conninfo).get("password") or "")
        self._log = log
        self._conn: psycopg.Connection[Any] | None = None
        self._version = 0
        self._in_backup = False
        self.in_recovery = False

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        if self._in_backup:
            raise PostgresConnectionError(LOST)
        try:
            self._conn = psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise PostgresConnectionError(
                f"Cannot connect to postgres: {self._scrub(exc)}"
            ) from None
        self._conn.add_notice_handler(self._notice)
        self._version = self._conn.info.server_version
        return self._conn

    def _scrub(self, exc: BaseException) -> str:
        return redact(_first_line(exc), extra=(self._password, os.environ.get("PGPASSWORD", "")))

    def _notice(self, diag: psycopg.errors.Diagnostic) -> None:
        message = diag.message_primary or ""
        loud = diag.severity_nonlocalized == "WARNING" or "archiving is not enabled" in message
        (self._log.warning if loud else self._log.debug)(
            "postgres notice", severity=diag.severity, message=message
        )

    def _exec(self, sql: str, params: tuple[Any, ...] = (), *, what: str) -> psycopg.Cursor[Any]:
        try:
            return self._connection().execute(sql, params)
        except psycopg.Error as exc:
            lost = self._conn is None or self._conn.closed
            error = PostgresConnectionError if lost else PostgresError
            raise error(f"{what}: {self._scrub(exc)}") from None

    def _one(self, sql: str, params: tuple[Any, ...] = (), *, what: str) -> tuple[Any, ...]:
        row = self._exec(sql, params, what=what).fetchone()
        assert row is not None, sql
        return row

    def _optional(self, sql: str) -> Any:
        """A value barman records as None when the role may not read it."""
        try:
            return self._one(sql, what="reading server settings")[0]
        except PostgresError as exc:
            self._log.debug("postgres query failed", query=sql, error=str(exc))
            return None

    @property
    def _pg15(self) -> bool:
        # 15 renamed the functions and removed exclusive mode (and its third start argument).
        return (self._version or self._connection().info.server_version) >= 150000

    def server_info(self) -> ServerInfo:
        version = self._connection().info.server_version
        if version < 130000:
            major = f"{version // 10000}" + (f".{version // 100 % 100}" if version < 100000 else "")
            raise UnsupportedServer(
                f"unsupported PostgreSQL version {major}. Expecting 13 or above."
            )
        pgdata = self._optional("SHOW data_directory")
        if pgdata is None:
            raise PrivilegeError(
                f"Postgres user '{self._connection().info.user}' cannot read data_directory: "
                "it needs membership of pg_monitor (or of pg_read_all_settings)"
            )
        what = "reading server settings"
        files = dict(self._exec(_FILES, what=what).fetchall())
        sources = {r[0] for r in self._exec(_SOURCES, what=what)} - {files.get("config_file")}
        spaces = tuple(Tablespace(n, int(o), p) for n, o, p in self._exec(_TABLESPACES, what=what))
        for space in spaces:
            if not os.path.isabs(space.location):
                raise UnsupportedServer(
                    f"in-place tablespace {space.name} ({space.location}) cannot be backed up"
                )
        size = None if self._missing_privileges()[1] else self._optional(_CLUSTER_SIZE)
        block_size, segment_bytes = self._one(_PAGE_GEOMETRY, what=what)
        return ServerInfo(
            version=version,
            major=str(version // 10000),
            systemid=self._optional("SELECT system_identifier::text FROM pg_control_system()"),
            pgdata=pgdata,
            xlog_segment_size=int(self._one(_SEGMENT_SIZE, what=what)[0]),
            config_file=files.get("config_file"),
            hba_file=files.get("hba_file"),
            ident_file=files.get("ident_file"),
            included_files=tuple(sorted(sources)) or None,
            tablespaces=spaces,
            data_checksums=self._optional("SHOW data_checksums"),
            summarize_wal=self._optional("SHOW summarize_wal") if version >= 170000 else None,
            cluster_size=None if size is None else int(size),
            block_size=int(block_size),
            segment_blocks=int(segment_bytes) // int(block_size),
        )

    def _missing_privileges(self) -> tuple[str, list[str]]:
        functions = (*_FUNCTIONS[self._pg15], "pg_switch_wal()", "pg_create_restore_point(text)")
        sql = _PRIVILEGES + ", has_function_privilege(%s, 'EXECUTE')" * len(functions)
        user, superuser, monitor, settings, stats, *execute = self._one(
            sql + " FROM pg_roles WHERE rolname = current_user", functions, what="privileges"
        )
        if superuser:
            return user, []
        missing = [f"EXECUTE on {f}" for f, ok in zip(functions, execute, strict=True) if not ok]
        roles = [r for r, ok in zip(_READ_ALL, (settings, stats), strict=True) if not ok]
        if not monitor and roles:
            missing.append(f"membership of pg_monitor (or of {' and '.join(roles)})")
        return user, missing

    def check_backup_privileges(self) -> None:
        user, missing = self._missing_privileges()
        if missing:
            raise PrivilegeError(
                f"Postgres user '{user}' is missing required privileges: " + ", ".join(missing)
            )
        if self._one("SHOW wal_level", what="wal_level")[0] == "minimal":
            raise PostgresError("wal_level is minimal: set it to replica to take a backup")
        self.in_recovery = bool(self._one("SELECT pg_is_in_recovery()", what="recovery")[0])

    def start_backup(self, label: str, fast: bool) -> BackupStart:
        what = "pg_backup_start command" if self._pg15 else "pg_start_backup command"
        # A long upload or a stop waiting on the archiver must not be cut by a session timeout;
        # idle_session_timeout exists from 14 and transaction_timeout from 17.
        for setting, since in _TIMEOUTS:
            if self._version >= since:
                self._exec(f"SET {setting} TO 0", what=what)
        call = "pg_backup_start(%s, %s)" if self._pg15 else "pg_start_backup(%s, %s, false)"
        time, lsn = self._one(f"SELECT now(), {call}::text", (label, fast), what=what)
        self._in_backup = True
        (timeline,) = self._one("SELECT timeline_id FROM pg_control_checkpoint()", what=what)
        return BackupStart(lsn=Lsn.parse(lsn), time=time, timeline=int(timeline))

    def keepalive(self) -> None:
        """SELECT 1; may run from the heartbeat thread (psycopg serializes use of a connection)."""
        try:
            self._connection().execute("SELECT 1")
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise PostgresConnectionError(LOST) from None
        except psycopg.Error as exc:  # the session is still there: barman ignores these
            raise PostgresError(f"keepalive: {self._scrub(exc)}") from None

    def stop_backup(self) -> BackupStop:
        what = f"Error issuing {'pg_backup_stop' if self._pg15 else 'pg_stop_backup'} command"
        if self._conn is None or self._conn.closed:
            raise PostgresConnectionError(f"{what}: Connection lost, reconnection not allowed")
        if self._version >= 140000:
            self._exec("RESET idle_session_timeout", what=what)
        # 13-14: the one false is `exclusive`; wait_for_archive keeps its default on every major.
        call = "pg_backup_stop()" if self._pg15 else "pg_stop_backup(false)"
        # spcmapfile is not read: like barman's cloud backup, only backup_label is stored.
        time, lsn, label = self._one(f"SELECT now(), lsn::text, labelfile FROM {call}", what=what)
        self._in_backup = False
        (timeline,) = self._one(_END_TIMELINE, what=what)
        return BackupStop(Lsn.parse(lsn), time, int(timeline), label)

    def create_restore_point(self, name: str) -> None:
        try:
            if not self.in_recovery:  # read by check_backup_privileges, before the start
                self._exec("SELECT pg_switch_wal()::text", what="pg_switch_wal")
                self._exec(
                    "SELECT pg_create_restore_point(%s)::text", (name,), what="restore point"
                )
        except (PostgresError, PostgresConnectionError) as exc:
            self._log.debug("restore point not created", name=name, error=str(exc))

    def abort_backup(self) -> None:
        conn, self._in_backup = self._conn, False
        if conn is None or conn.closed:
            return
        # wait_for_archive=false ends the backup at once; 13-14 also take exclusive=false first.
        call = "pg_backup_stop(false)" if self._pg15 else "pg_stop_backup(false, false)"
        try:
            conn.execute(f"SELECT lsn::text FROM {call}")
        except Exception as exc:  # best effort: the session may already be gone
            self._log.debug("backup abort failed", error=_first_line(exc))

    def close(self) -> None:
        conn, self._conn, self._in_backup = self._conn, None, False
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()
