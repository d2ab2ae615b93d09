"""Throwaway PostgreSQL clusters: initdb, start, SQL, pgbench, tablespaces, recovery and checks."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg

from tests.support.pgbins import client_tool
from tests.support.ports import free_port

DEFAULT_BINDIR = Path(os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin"))
IS_ROOT = os.geteuid() == 0


def chown_to_postgres(path: Path, recursive: bool = True) -> None:
    """Give a path (a tree by default) to the postgres OS user; the server refuses to run as root."""
    if IS_ROOT:
        flags = ["-R"] if recursive else []
        subprocess.run(["chown", *flags, "postgres:postgres", str(path)], check=True)


class PgCluster:
    """One cluster under `root` (pgdata, socket dir, log), listening on 127.0.0.1 only.

    `root` must be traversable by the postgres OS user (pytest's tmp_path under /tmp/pytest-of-root
    is not), so use `workdir()` from tests/e2e/conftest.py or a directory chowned to postgres.
    """

    def __init__(self, root: Path, bindir: Path = DEFAULT_BINDIR, pgdata: Path | None = None):
        self.root = root
        self.bindir = Path(bindir)
        self.pgdata = pgdata or root / "pgdata"
        self.sockdir = root / "sock"
        self.logfile = root / "postgres.log"
        self.port: int | None = None
        self._load: subprocess.Popen[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def initdb(self, *extra: str) -> PgCluster:
        self._make_root()
        self._as_postgres(
            "initdb",
            "-D",
            self.pgdata,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
            *extra,
        )
        return self

    def configure(self, **settings: object) -> None:
        """Append settings to postgresql.conf (later lines win; copied into base backups)."""
        lines = [f"{k} = {_quote(v)}\n" for k, v in settings.items()]
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.writelines(lines)

    def start(self) -> PgCluster:
        self._make_root()
        self.port = free_port()
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockdir}"
        try:
            self._as_postgres(
                "pg_ctl",
                "-D",
                self.pgdata,
                "-l",
                self.logfile,
                "-o",
                opts,
                "-w",
                "-t",
                "120",
                "start",
            )
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"pg_ctl start failed:\n{self.log_tail()}") from exc
        return self

    def stop(self) -> None:
        """Stop fast if running; safe to call twice (fixture teardown)."""
        self.stop_load()
        if (self.pgdata / "postmaster.pid").exists():
            res = self._as_postgres(
                "pg_ctl", "-D", self.pgdata, "-m", "fast", "-w", "-t", "60", "stop", check=False
            )
            if res.returncode != 0:
                self._as_postgres(
                    "pg_ctl", "-D", self.pgdata, "-m", "immediate", "stop", check=False
                )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    # -- SQL and tools -----------------------------------------------------------------------

    @property
    def conninfo(self) -> dict[str, object]:
        return {"host": "127.0.0.1", "port": self.port, "user": "postgres"}

    def sql(self, query: str, *params: object, dbname: str = "postgres") -> list[tuple]:
        with psycopg.connect(**self.conninfo, dbname=dbname, autocommit=True) as conn:
            cur = conn.execute(query, params or None)
            return cur.fetchall() if cur.description else []

    def scalar(self, query: str, *params: object, dbname: str = "postgres") -> object:
        return self.sql(query, *params, dbname=dbname)[0][0]

    def create_tablespace(self, name: str, location: Path) -> None:
        location.mkdir(parents=True, exist_ok=True)
        chown_to_postgres(location)
        location.chmod(0o700)
        self.sql(f"CREATE TABLESPACE {name} LOCATION '{location}'")

    def tool(self, name: str, *args: object, **kw) -> subprocess.CompletedProcess[bytes]:
        """Run a client tool (bindir's, else Debian 15's) against this cluster, as the current user."""
        argv = [
            str(client_tool(self.bindir, name)),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
        ]
        return subprocess.run(
            [*argv, *map(str, args)], check=kw.pop("check", True), capture_output=True, **kw
        )

    def pgbench_init(self, scale: int = 2, dbname: str = "postgres") -> None:
        self.tool("pgbench", "-i", "-q", "-s", scale, dbname)

    def start_load(self, clients: int = 2, rate: int = 200, dbname: str = "postgres") -> None:
        """Background pgbench TPC-B load (rate-limited so the WAL archiver keeps up)."""
        argv = [
            str(client_tool(self.bindir, "pgbench")),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-n",
            "-c",
            str(clients),
            "-R",
            str(rate),
            "-T",
            "3600",
            dbname,
        ]
        self._load = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop_load(self) -> None:
        if self._load is None:
            return
        if self._load.poll() is None:
            self._load.send_signal(signal.SIGINT)
            try:
                self._load.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._load.kill()
                self._load.wait()
        self._load = None

    def switch_wal_and_wait_archived(self, timeout: float = 120) -> str:
        """Close the current segment and wait until the archiver has shipped it."""
        segment = str(self.scalar("SELECT pg_walfile_name(pg_current_wal_lsn())"))
        self.sql("SELECT pg_switch_wal()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.scalar("SELECT last_archived_wal FROM pg_stat_archiver")
            if last and str(last)[:24] >= segment:
                return segment
            time.sleep(0.2)
        raise TimeoutError(f"{segment} not archived in {timeout}s:\n{self.log_tail()}")

    def amcheck(self) -> str:
        """Run pg_amcheck on every database; raise with its output if it finds anything."""
        if int(self.scalar("SHOW server_version_num")) < 140000:  # type: ignore[call-overload]
            return self._btree_check()
        res = self.tool("pg_amcheck", "--all", "--install-missing", "--heapallindexed", check=False)
        out = (res.stdout + res.stderr).decode(errors="replace")
        if res.returncode != 0 or out.strip():
            raise AssertionError(f"pg_amcheck exit {res.returncode}:\n{out}")
        return out

    def _btree_check(self) -> str:
        """PG 13's amcheck has no verify_heapam (pg_amcheck needs it): check every btree index,
        with heapallindexed, in every database; an inconsistency raises."""
        checked = 0
        for (db,) in self.sql("SELECT datname FROM pg_database WHERE datallowconn"):
            self.sql("CREATE EXTENSION IF NOT EXISTS amcheck", dbname=db)
            checked += len(self.sql(_BTREE_CHECK, dbname=db))
        return f"{checked} btree indexes checked"

    def fingerprint(self) -> dict[str, str]:
        """md5 of every user table's rows, in every connectable database: {'db.schema.tbl': md5}."""
        result: dict[str, str] = {}
        dbs = self.sql("SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1")
        for (db,) in dbs:
            tables = self.sql(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(relname) FROM pg_stat_user_tables"
                " ORDER BY 1",
                dbname=db,
            )
            for (table,) in tables:
                q = f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
                result[f"{db}.{table}"] = str(self.scalar(q, dbname=db))
        return result

    # -- recovery ----------------------------------------------------------------------------

    def recover(self, restore_command: str, immediate: bool, timeout: float = 300) -> PgCluster:
        """Start a restored PGDATA (barman-cloud-restore output) in archive recovery.

        immediate=True stops at the backup's consistency point (`recovery_target='immediate'`);
        False replays all archived WAL. Either way the server promotes at the end, and this waits
        until pg_is_in_recovery() is false. Archiving is switched off so the restored copy never
        writes into the source's archive.
        """
        settings: dict[str, object] = {"restore_command": restore_command, "archive_mode": "off"}
        if immediate:
            settings |= {"recovery_target": "immediate", "recovery_target_action": "promote"}
        self.configure(**settings)
        (self.pgdata / "recovery.signal").touch()
        chown_to_postgres(self.pgdata)
        self.pgdata.chmod(0o700)
        self.start()
        deadline = time.monotonic() + timeout
        while self.scalar("SELECT pg_is_in_recovery()"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"still in recovery after {timeout}s:\n{self.log_tail()}")
            time.sleep(0.2)
        return self

    # -- internals ---------------------------------------------------------------------------

    def _make_root(self) -> None:
        for path in (self.root, self.sockdir):
            path.mkdir(parents=True, exist_ok=True)
            chown_to_postgres(path, recursive=False)

    def _as_postgres(self, tool: str, *args: object, check: bool = True):
        argv = [str(self.bindir / tool), *map(str, args)]
        kw: dict[str, object] = {"cwd": self.root, "capture_output": True}
        if IS_ROOT:
            kw |= {"user": "postgres", "group": "postgres", "extra_groups": []}
        res = subprocess.run(argv, **kw)  # type: ignore[call-overload]
        if check and res.returncode != 0:
            raise subprocess.CalledProcessError(res.returncode, argv, res.stdout, res.stderr)
        return res


_BTREE_CHECK = (
    "SELECT bt_index_check(i.indexrelid, true) FROM pg_index i"
    " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
    " WHERE a.amname = 'btree' AND c.relpersistence <> 't' AND i.indisready AND i.indisvalid"
)


def _quote(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
