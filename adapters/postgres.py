"""PsycopgPostgres: the PostgresServer port over one psycopg 3 session, PostgreSQL 13 to 18."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from domain.errors import (
    InvalidInput,
    PostgresConnectionError,
    PostgresError,
    PrivilegeError,
    UnsupportedServer,
)
from domain.model import BackupStart, BackupStop, Lsn, ServerInfo, Tablespace
from domain.ports import Log

LOST = "Connection to the Postgres server was lost during the backup."
_SECRETS = (
    re.compile(r"((?<!\w)password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s']\S*)", re.IGNORECASE),
    re.compile(r"(://[^:/?#@]*:)([^@]*)(?=@)"),
    re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE),
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
    except psycopg.Error:
        raise InvalidInput(f"Cannot connect to postgres: {_parse_error(dbname)}") from None


def _parse_error(text: str) -> str:
    """libpq's complaint about `text`, worked out on a copy whose passwords are masked."""
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    try:
        conninfo_to_dict(text)
    except psycopg.Error as exc:
        return f"invalid connection string: {_first_line(exc)}"
    return "invalid connection string"


def _first_line(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    text = (diag.message_primary if diag is not None else None) or str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0].strip()


class PsycopgPostgres:
    """One autocommit session, opened on first use; never reopened inside the backup window."""

    def __init__(self, conninfo_parts: ConnParams, log: Log,
                 application_name: str = "barman_cloud_backup") -> None:
        self._conninfo = build_conninfo(conninfo_parts, application_name)
        self._password = conninfo_to_dict(self._conninfo).get("password")
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
            raise PostgresConnectionError(f"Cannot connect to postgres: {self._scrub(exc)}") from None
        self._conn.add_notice_handler(self._notice)
        self._version = self._conn.info.server_version
        return self._conn

    def _scrub(self, exc: BaseException) -> str:
        text = _first_line(exc)
        for secret in (self._password, os.environ.get("PGPASSWORD")):
            text = text.replace(secret, "***") if secret else text
        return text

    def _notice(self, diag: psycopg.errors.Diagnostic) -> None:
        message = diag.message_primary or ""
        if diag.severity_nonlocalized == "WARNING" or "archiving is not enabled" in message:
            self._log.warning("postgres notice", severity=diag.severity, message=message)
        else:
            self._log.debug("postgres notice", severity=diag.severity, message=message)

    def _row(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        row = self._connection().execute(sql, params).fetchone()
        assert row is not None, sql
        return row

    def _query(self, sql: str, what: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        try:
            return self._row(sql, params)
        except psycopg.Error as exc:
            lost = self._conn is None or self._conn.closed
            raise (PostgresConnectionError if lost else PostgresError)(
                f"{what}: {self._scrub(exc)}") from None

    def _optional(self, sql: str) -> Any:
        try:
            return self._row(sql)[0]
        except psycopg.Error as exc:
            if self._conn is None or self._conn.closed:
                raise PostgresConnectionError(f"Lost connection to postgres: {self._scrub(exc)}") from None
            self._log.debug("postgres query failed", query=sql, error=self._scrub(exc))
            return None

    def _functions(self) -> tuple[str, str]:
        if not self._version:
            self._connection()
        # 15 renamed the functions and removed exclusive mode (and its third start argument).
        if self._version >= 150000:
            return "pg_backup_start(text,bool)", "pg_backup_stop(bool)"
        return "pg_start_backup(text,bool,bool)", "pg_stop_backup(bool,bool)"

    def server_info(self) -> ServerInfo:
        version = self._connection().info.server_version
        major = str(version // 10000) if version >= 100000 else f"{version // 10000}.{version // 100 % 100}"
        if version < 130000:
            raise UnsupportedServer(f"unsupported PostgreSQL version {major}. Expecting 13 or above.")
        pgdata = self._optional("SHOW data_directory")
        if pgdata is None:
            raise PrivilegeError("cannot read data_directory: the Postgres user needs membership "
                                 "of pg_monitor (or pg_read_all_settings)")
        conn = self._connection()
        try:
            files = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                                      "('config_file', 'hba_file', 'ident_file')").fetchall())
            sources = sorted({r[0] for r in conn.execute(
                "SELECT DISTINCT sourcefile FROM pg_settings WHERE sourcefile IS NOT NULL")}
                - {files.get("config_file")})
            spaces = tuple(Tablespace(n, int(o), loc) for n, o, loc in conn.execute(
                "SELECT spcname, oid, pg_tablespace_location(oid) FROM pg_tablespace "
                "WHERE pg_tablespace_location(oid) <> ''"))
        except psycopg.Error as exc:
            raise PostgresError(f"reading server settings: {self._scrub(exc)}") from None
        for space in spaces:
            if not os.path.isabs(space.location):
                raise UnsupportedServer(f"tablespace {space.name} is an in-place tablespace "
                                        f"({space.location}), which cannot be backed up")
        size = self._optional("SELECT sum(pg_tablespace_size(oid))::bigint FROM pg_tablespace") \
            if not self._missing_privileges()[1] else None
        return ServerInfo(
            version=version, major=major,
            systemid=self._optional("SELECT system_identifier::text FROM pg_control_system()"),
            pgdata=pgdata,
            xlog_segment_size=int(self._query(
                "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'", "wal_segment_size")[0]),
            config_file=files.get("config_file"), hba_file=files.get("hba_file"),
            ident_file=files.get("ident_file"), included_files=tuple(sources) or None,
            tablespaces=spaces, data_checksums=self._optional("SHOW data_checksums"),
            summarize_wal=self._optional("SHOW summarize_wal") if version >= 170000 else None,
            cluster_size=None if size is None else int(size),
        )

    def _missing_privileges(self) -> tuple[str, list[str]]:
        functions = (*self._functions(), "pg_switch_wal()", "pg_create_restore_point(text)")
        user, superuser, monitor, settings, stats, *execute = self._query(
            "SELECT current_user, rolsuper, pg_has_role('pg_monitor', 'USAGE'), "
            "pg_has_role('pg_read_all_settings', 'USAGE'), pg_has_role('pg_read_all_stats', 'USAGE'), "
            + ", ".join(["has_function_privilege(%s, 'EXECUTE')"] * len(functions))
            + " FROM pg_roles WHERE rolname = current_user", "checking privileges", functions)
        if superuser:
            return user, []
        missing = [f"EXECUTE on {f}" for f, ok in zip(functions, execute, strict=True) if not ok]
        roles = [r for r, ok in (("pg_read_all_settings", settings), ("pg_read_all_stats", stats)) if not ok]
        if not monitor and roles:
            missing.append(f"membership of pg_monitor (or of {' and '.join(roles)})")
        return user, missing

    def check_backup_privileges(self) -> None:
        user, missing = self._missing_privileges()
        if missing:
            raise PrivilegeError(f"Postgres user '{user}' is missing required privileges: "
                                 + ", ".join(missing))
        if self._query("SHOW wal_level", "reading wal_level")[0] == "minimal":
            raise PostgresError("wal_level is minimal: set it to replica or logical to take a backup")
        self.in_recovery = bool(self._query("SELECT pg_is_in_recovery()", "checking recovery")[0])

    def start_backup(self, label: str, fast: bool) -> BackupStart:
        start, _ = self._functions()
        name = start.partition("(")[0]
        # A long upload and an archive wait in the stop must not be cut by a session timeout;
        # idle_session_timeout exists from 14, transaction_timeout from 17.
        setup = ["SET statement_timeout TO 0"]
        setup += ["SET idle_session_timeout TO 0"] if self._version >= 140000 else []
        setup += ["SET transaction_timeout TO 0"] if self._version >= 170000 else []
        for statement in setup:
            self._query(statement, f"{name} command")
        call = "pg_backup_start(%s, %s)" if name == "pg_backup_start" else "pg_start_backup(%s, %s, false)"
        time, lsn = self._query(f"SELECT now(), {call}::text", f"{name} command", (label, fast))
        self._in_backup = True
        (timeline,) = self._query("SELECT timeline_id FROM pg_control_checkpoint()", f"{name} command")
        return BackupStart(lsn=Lsn.parse(lsn), time=time, timeline=int(timeline))

    def keepalive(self) -> None:
        try:
            self._row("SELECT 1")
        except psycopg.Error:
            raise PostgresConnectionError(LOST) from None

    def stop_backup(self) -> BackupStop:
        stop = self._functions()[1].partition("(")[0]
        what = f"Error issuing {stop} command"
        if self._conn is None or self._conn.closed:
            raise PostgresConnectionError(f"{what}: Connection lost, reconnection not allowed")
        if self._version >= 140000:
            self._query("RESET idle_session_timeout", what)
        # On 13-14 the single false argument means non-exclusive; wait_for_archive stays true.
        args = "" if stop == "pg_backup_stop" else "false"
        time, lsn, label, spcmap = self._query(
            f"SELECT now(), lsn::text, labelfile, spcmapfile FROM {stop}({args})", what)
        self._in_backup = False
        (timeline,) = self._query(
            "SELECT CASE WHEN pg_is_in_recovery() THEN min_recovery_end_timeline ELSE timeline_id END "
            "FROM pg_control_checkpoint(), pg_control_recovery()", what)
        return BackupStop(lsn=Lsn.parse(lsn), time=time, timeline=int(timeline), label=label,
                          tablespace_map=spcmap or None)

    def create_restore_point(self, name: str) -> None:
        try:
            if not self._row("SELECT pg_is_in_recovery()")[0]:
                self._row("SELECT pg_switch_wal()::text")
                self._row("SELECT pg_create_restore_point(%s)::text", (name,))
        except (psycopg.Error, PostgresConnectionError) as exc:
            self._log.debug("restore point not created", name=name, error=_first_line(exc))

    def abort_backup(self) -> None:
        conn, self._in_backup = self._conn, False
        if conn is None or conn.closed:
            return
        # wait_for_archive=false: end the backup now; 13-14 also need exclusive=false.
        call = "pg_backup_stop(false)" if self._version >= 150000 else "pg_stop_backup(false, false)"
        try:
            conn.execute(f"SELECT lsn::text FROM {call}")
        except Exception as exc:  # best effort: the session may already be gone
            self._log.debug("backup abort failed", error=_first_line(exc))

    def close(self) -> None:
        conn, self._conn, self._in_backup = self._conn, None, False
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass
