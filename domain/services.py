"""Use cases: take a live base backup, and check connectivity to the object store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from cloud_base_backup.domain.archive_job import ArchiveDeps, ArchiveJob
from cloud_base_backup.domain.integrity import BackupIntegrity, IntegrityRequest
from cloud_base_backup.domain.lifecycle import BackupRun
from cloud_base_backup.domain.metadata import BackupInfo
from cloud_base_backup.domain.model import BackupStart, Lsn, Member, ServerInfo
from cloud_base_backup.domain.plan import make_plan
from cloud_base_backup.domain.ports import ObjectStore, PostgresServer
from cloud_base_backup.domain.records import CloudRecord
from cloud_base_backup.domain.session import PostgresSession

__all__ = ["BackupDeps", "BackupRequest", "check_connectivity", "take_backup"]


@dataclass(frozen=True)
class BackupRequest:
    """What the live backup use case needs from the options."""

    server_name: str
    prefix: str
    max_archive_size: int
    immediate_checkpoint: bool = False
    backup_name: str | None = None
    keepalive_interval: float = 60
    integrity: IntegrityRequest = IntegrityRequest()


@dataclass(kw_only=True)
class BackupDeps(ArchiveDeps):
    postgres: PostgresServer


def check_connectivity(store: ObjectStore) -> None:
    """`-t`: the store answers and the bucket exists (raises the matching error otherwise)."""
    store.check()


class _LiveBackup(ArchiveJob):
    event = "backup"

    def __init__(self, request: BackupRequest, deps: BackupDeps, session: PostgresSession) -> None:
        super().__init__(
            deps, request.max_archive_size, session.heartbeat_check
        )
        self._request, self._pg, self._clock = request, deps.postgres, deps.clock
        self._log = deps.log
        self._info: ServerInfo | None = None
        self._integrity: BackupIntegrity | None = None

    def check(self) -> ServerInfo:
        self._info = self._pg.server_info()
        self._pg.check_backup_privileges()
        self.plan = make_plan(self._info)
        self.expected_bytes = self._info.cluster_size  # PostgreSQL's estimate, read for backup.info
        return self._info

    def start_fields(self) -> dict[str, Any]:
        return {"tablespaces": len(self._info.tablespaces) if self._info else 0}

    def integrity(self, run: BackupRun) -> BackupIntegrity:
        """The backup_manifest, and page checks from the start LSN (run.info is STARTED)."""
        assert run.server is not None and run.info is not None and run.info.begin_time
        start = BackupStart(
            Lsn.parse(str(run.info.begin_xlog)), run.info.begin_time, int(run.info.timeline or 1)
        )
        self._integrity = BackupIntegrity(self._request.integrity, run.server, start, self._log)
        return self._integrity

    def finish(self, run: BackupRun, final_members: Iterable[Member]) -> dict[str, Any]:
        assert run.stop is not None and self.streamer is not None
        label = run.final_file("backup_label", run.stop.label.encode())
        super().finish(run, chain([label], final_members, self._manifest(run)))
        if self._integrity is not None and (problem := self._integrity.outcome()):
            run.report_problem(problem)  # DONE all the same, then exit 1 (as pg_basebackup)
        total = self._clock.monotonic() - run.began
        return {
            "backup_name": self._request.backup_name,
            "copy_stats": self.streamer.copy_times.stats(total, self._deps.sink.workers),
        }


    def _manifest(self, run: BackupRun) -> Iterator[Member]:
        """The backup_manifest, built once every other member has been sent: the very last."""
        if self._integrity is not None and run.stop is not None:
            yield self._integrity.manifest_member(run.stop, *run.data_owner)

    def end(self) -> None:
        super().end()
        if self._integrity is not None:
            self._integrity.close()


def take_backup(request: BackupRequest, deps: BackupDeps) -> BackupInfo:
    """Check, start, record STARTED, stream the archives, stop, add the label, write DONE last."""
    session = PostgresSession(
        deps.postgres,
        deps.log,
        label="Barman backup cloud {backup_id}",
        fast=request.immediate_checkpoint,
        keepalive_interval=request.keepalive_interval,
    )
    run = deps.lifecycle().run(
        _LiveBackup(request, deps, session),
        session,
        CloudRecord(deps.store, deps.log),
        path=request.prefix,
        server_name=request.server_name,
    )
    assert run.info is not None
    return run.info
