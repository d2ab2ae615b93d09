"""How a run writes backup.info: STARTED, DONE (last) or FAILED of our own, or barman's as is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloud_base_backup.domain import metadata
from cloud_base_backup.domain.errors import BackupError
from cloud_base_backup.domain.lifecycle import (
    FAILED,
    FAILED_INFO,
    INFO_UPLOAD_FAILED,
    RELAY_FAILED,
    BackupRun,
)
from cloud_base_backup.domain.metadata import BackupInfo
from cloud_base_backup.domain.model import BackupStart, BackupStop, ServerInfo
from cloud_base_backup.domain.ports import Log, ObjectStore


def claimed_info(info: ServerInfo) -> BackupInfo:
    """STARTED with what is known before pg_backup_start (the backup-id claim)."""
    return BackupInfo(
        status=metadata.STARTED,
        cluster_size=info.cluster_size,
        config_file=info.config_file,
        data_checksums=info.data_checksums,
        hba_file=info.hba_file,
        ident_file=info.ident_file,
        included_files=list(info.included_files) if info.included_files else None,
        pgdata=info.pgdata,
        summarize_wal=info.summarize_wal,
        systemid=info.systemid,
        tablespaces=[(t.name, t.oid, t.location) for t in info.tablespaces] or None,
        version=info.version,
        xlog_segment_size=info.xlog_segment_size,
    )


def started_info(info: ServerInfo, start: BackupStart) -> BackupInfo:
    seg = info.xlog_segment_size
    return claimed_info(info).with_(
        begin_offset=start.lsn.offset(seg),
        begin_time=start.time,
        begin_wal=start.lsn.wal_name(start.timeline, seg),
        begin_xlog=str(start.lsn),
        timeline=start.timeline,
    )


def done_info(started: BackupInfo, stop: BackupStop, seg: int, **extra: object) -> BackupInfo:
    return started.with_(
        status=metadata.DONE,
        backup_label=stop.label,
        end_offset=stop.lsn.offset(seg),
        end_time=stop.time,
        end_wal=stop.lsn.wal_name(stop.timeline, seg),
        end_xlog=str(stop.lsn),
        **extra,
    )


class CloudRecord:
    """Our own backup.info: STARTED after the start, DONE last, FAILED on any failure."""

    failure = FAILED

    def __init__(
        self,
        store: ObjectStore,
        log: Log,
        started_fields: Mapping[str, Any] | None = None,
        failed_fields: Mapping[str, Any] | None = None,
    ) -> None:
        self._store, self._log = store, log
        self._started_fields = dict(started_fields or {})
        self._failed_fields = dict(failed_fields or {})

    def open(self, run: BackupRun, start: BackupStart | None) -> None:
        assert run.server is not None and start is not None, "a live backup has a session"
        run.info = started_info(run.server, start).with_(**self._started_fields)

    def started(self, run: BackupRun) -> None:
        self._put(run)

    def done(self, run: BackupRun, fields: Mapping[str, Any]) -> None:
        assert run.info is not None and run.server is not None and run.stop is not None
        run.info = done_info(run.info, run.stop, run.server.xlog_segment_size, **fields)
        self._put(run)

    def failed(self, run: BackupRun, reason: str) -> None:
        if run.info is None:
            return
        error = FAILED_INFO.format(reason=reason)
        run.info = run.info.with_(status=metadata.FAILED, error=error, **self._failed_fields)
        try:
            self._put(run)
        except BackupError as exc:
            self._log.error("backup.info.upload_failed", error=INFO_UPLOAD_FAILED.format(error=exc))

    def _put(self, run: BackupRun) -> None:
        assert run.info is not None
        self._store.put(run.info_key, metadata.render(run.info).encode())


class RelayedRecord:
    """Hook mode: barman's backup.info, uploaded unchanged and last; nothing on failure."""

    failure = RELAY_FAILED

    def __init__(self, store: ObjectStore, data: bytes) -> None:
        self._store, self._data = store, data

    def open(self, run: BackupRun, start: BackupStart | None) -> None:
        return None

    def started(self, run: BackupRun) -> None:
        return None

    def done(self, run: BackupRun, fields: Mapping[str, Any]) -> None:
        self._store.put(run.info_key, self._data)

    def failed(self, run: BackupRun, reason: str) -> None:
        return None
