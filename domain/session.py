"""The server side of a run: PostgreSQL's start/stop with the keepalive, or none (hook mode)."""

from __future__ import annotations

from cloud_base_backup.domain.keepalive import KeepaliveTicker
from cloud_base_backup.domain.lifecycle import BackupRun
from cloud_base_backup.domain.model import BackupStart, BackupStop
from cloud_base_backup.domain.ports import Log, PostgresServer


class PostgresSession:
    """pg_backup_start .. pg_backup_stop on one session, kept alive in between (barman 3.20)."""

    def __init__(
        self, postgres: PostgresServer, log: Log, label: str, fast: bool, keepalive_interval: float
    ) -> None:
        """`label` is pg_backup_start's label, `{backup_id}` standing for the run's id."""
        self._pg, self._log = postgres, log
        self._label, self._fast = label, fast
        self._keepalive = KeepaliveTicker(postgres.keepalive, keepalive_interval, log)
        self._started = self._stopped = False

    def start(self, run: BackupRun) -> BackupStart:
        label = self._label.replace("{backup_id}", str(run.backup_id))
        start = self._pg.start_backup(label, self._fast)
        self._started = True
        self._keepalive.start()
        return start

    def heartbeat_check(self) -> None:
        self._keepalive.check()

    def stop(self, run: BackupRun) -> BackupStop:
        # No heartbeat may overlap the stop; a session lost meanwhile fails the backup here.
        self._keepalive.stop()
        self._keepalive.check()
        self._log.info("backup.stopping", backup_id=str(run.backup_id))
        stop = self._pg.stop_backup()
        self._stopped = True
        self._pg.create_restore_point(f"barman_{run.backup_id}")
        return stop

    def abort(self) -> None:
        self._keepalive.stop()
        if self._started and not self._stopped:
            self._pg.abort_backup()


class NoSession:
    """Hook mode relays a backup barman already took: nothing to start, keep alive or stop."""

    def start(self, run: BackupRun) -> None:
        return None

    def heartbeat_check(self) -> None:
        return None

    def stop(self, run: BackupRun) -> None:
        return None

    def abort(self) -> None:
        return None
