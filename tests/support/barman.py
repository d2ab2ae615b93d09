"""A real barman 3.19.1 server (from the oracle venv) in its own directory, for hook-mode e2e tests."""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path

from tests.support.moto_server import aws_env
from tests.support.oracle import Oracle
from tests.support.pgcluster import PgCluster, chown_to_postgres


class BarmanServer:
    """barman with `backup_method = postgres` (pg_basebackup) and WAL shipped by archive_command.

    The source keeps archiving to the bucket too (the cloud copy needs that WAL to recover); each
    segment is also copied into barman's incoming directory, which `barman backup --wait` drains.
    The hook's exit code and stderr land in `hook.rc` and `hook.err` under `root`. barman runs as
    the current user: the hook must be able to run the project's venv, whose python may live
    under /root.
    """

    def __init__(self, oracle: Oracle, root: Path, name: str) -> None:
        self.barman = str(oracle.root / "bin" / "barman")
        self.root = root
        self.name = name
        self.home = root / "barman"
        self.conf = root / "barman.conf"
        self.incoming = self.home / name / "incoming"

    def attach(self, source: PgCluster) -> BarmanServer:
        """Ship the source's WAL to barman as well (archive_command only needs a reload)."""
        self.incoming.mkdir(parents=True)
        chown_to_postgres(self.home)  # the archiver (postgres) writes into incoming/
        cloud = str(source.scalar("SHOW archive_command"))
        command = f"{cloud} && cp %p {self.incoming}/%f"
        quoted = command.replace("'", "''")
        source.sql(f"ALTER SYSTEM SET archive_command = '{quoted}'")  # utility: no bind params
        source.sql("SELECT pg_reload_conf()")
        self.source = source
        return self

    def configure(self, hook: str) -> None:
        """(Re)write barman.conf with `hook` as the post_backup_retry_script; barman reads it per run."""
        # barman retries any other code forever: the guard turns a failure into 63 (stop) so a
        # broken relay fails the test at once; hook.rc keeps the real code.
        wrapped = (
            f"{hook} 2>>{self.root}/hook.err; rc=$?; echo $rc >>{self.root}/hook.rc; "
            "case $rc in 0|63) exit $rc;; *) exit 63;; esac"
        )
        src = self.source
        self.conf.write_text(
            f"[barman]\nbarman_home = {self.home}\nbarman_user = {getpass.getuser()}\n"
            f"log_file = {self.root}/barman.log\nlog_level = INFO\n\n"
            f"[{self.name}]\ndescription = hook e2e\n"
            f"conninfo = host=127.0.0.1 port={src.port} user=postgres dbname=postgres\n"
            f"streaming_conninfo = host=127.0.0.1 port={src.port} user=postgres\n"
            f"backup_method = postgres\narchiver = on\npath_prefix = {src.bindir}\n"
            f"post_backup_retry_script = {wrapped}\n"
        )

    def run(self, *args: str, timeout: float = 600) -> str:
        argv = [self.barman, "-c", str(self.conf), *args]
        res = subprocess.run(argv, env=aws_env(), capture_output=True, text=True, timeout=timeout)
        assert res.returncode == 0, f"barman {args} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
        return res.stdout

    def backup(self, wait: bool = True) -> None:
        self.run("switch-wal", "--force", "--archive", self.name)  # barman's first backup needs WAL
        self.run("backup", *(["--wait"] if wait else []), self.name)

    def hook_codes(self) -> list[int]:
        return [int(line) for line in (self.root / "hook.rc").read_text().split()]

    def hook_errors(self) -> str:
        path = self.root / "hook.err"
        return path.read_text() if path.exists() else ""

    def hook_env(self, backup_id: str) -> dict[str, str]:
        """What barman exports to a post_backup_retry_script for a DONE backup."""
        return {
            "BARMAN_HOOK": "backup_retry_script",
            "BARMAN_PHASE": "post",
            "BARMAN_STATUS": "DONE",
            "BARMAN_SERVER": self.name,
            "BARMAN_BACKUP_ID": backup_id,
            "BARMAN_BACKUP_DIR": str(self.home / self.name / "base" / backup_id),
            "BARMAN_BACKUP_INFO_PATH": str(self.home / self.name / "meta" / f"{backup_id}-backup.info"),
        }
