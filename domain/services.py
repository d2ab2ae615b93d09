"""Use cases: take a live base backup, and check connectivity to the object store."""

from __future__ import annotations

from dataclasses import dataclass

from domain import layout, metadata
from domain.errors import (
    BackupError,
    BackupExists,
    BackupFailed,
    Interrupted,
    PostgresConnectionError,
    first_line,
)
from domain.metadata import BackupInfo
from domain.model import BackupId, BackupStart, BackupStop, MemoryFile, ServerInfo
from domain.plan import make_plan
from domain.ports import ArchiveSink, Clock, FileTree, Log, ObjectStore, PostgresServer, Progress
from domain.streaming import ArchiveStreamer


@dataclass(frozen=True)
class BackupRequest:
    """What the live backup use case needs from the options."""

    server_name: str
    prefix: str
    compression: str | None
    max_archive_size: int
    jobs: int = 2
    immediate_checkpoint: bool = False
    backup_name: str | None = None
    keepalive_interval: float = 60


@dataclass
class BackupDeps:
    postgres: PostgresServer
    files: FileTree
    sink: ArchiveSink
    store: ObjectStore
    clock: Clock
    log: Log
    progress: Progress


def check_connectivity(store: ObjectStore) -> None:
    """`-t`: the store answers and the bucket exists (raises the matching error otherwise)."""
    store.check()


def started_info(info: ServerInfo, start: BackupStart) -> BackupInfo:
    seg = info.xlog_segment_size
    return BackupInfo(
        status=metadata.STARTED,
        begin_offset=start.lsn.offset(seg),
        begin_time=start.time,
        begin_wal=start.lsn.wal_name(start.timeline, seg),
        begin_xlog=str(start.lsn),
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
        timeline=start.timeline,
        version=info.version,
        xlog_segment_size=seg,
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


def take_backup(request: BackupRequest, deps: BackupDeps) -> BackupInfo:
    """Check, start, record STARTED, stream the archives, stop, add the label, write DONE last."""
    log, store, pg = deps.log, deps.store, deps.postgres
    # Better than barman: a missing bucket or a dead endpoint is found before the server starts.
    store.check()
    info = pg.server_info()
    pg.check_backup_privileges()
    plan = make_plan(info)
    backup_id = BackupId.from_time(deps.clock.now())
    prefix = layout.backup_prefix(request.prefix, request.server_name, backup_id)
    if store.list(prefix):
        raise BackupExists(
            f"Backup {backup_id} already exists at {store.description}/{prefix}: "
            "refusing to overwrite it"
        )
    info_key = layout.backup_info_key(request.prefix, request.server_name, backup_id)
    started_at = deps.clock.monotonic()
    log.info("backup.starting", backup_id=str(backup_id), tablespaces=len(info.tablespaces))
    start = pg.start_backup(f"Barman backup cloud {backup_id}", request.immediate_checkpoint)
    backup_info = started_info(info, start)
    streamer = ArchiveStreamer(
        deps=deps,
        prefix=prefix,
        compression=request.compression,
        max_archive_size=request.max_archive_size,
        keepalive_interval=request.keepalive_interval,
    )
    stopped = False
    try:
        streamer.start_keepalive()
        store.put(info_key, metadata.render(backup_info).encode())
        streamer.stream_plan(plan)
        streamer.stop_keepalive()
        log.info("backup.stopping", backup_id=str(backup_id))
        stop = pg.stop_backup()
        stopped = True
        pg.create_restore_point(f"barman_{backup_id}")
        streamer.add_to_data(
            MemoryFile(name="backup_label", data=stop.label.encode(), **streamer.label_owner())
        )
        streamer.close_all()
        copy_stats = streamer.copy_stats(deps.clock.monotonic() - started_at, request.jobs)
        backup_info = done_info(
            backup_info,
            stop,
            info.xlog_segment_size,
            backup_name=request.backup_name,
            copy_stats=copy_stats,
        )
        store.put(info_key, metadata.render(backup_info).encode())
    except BaseException as exc:  # noqa: BLE001 - every failure must leave a FAILED backup.info
        _fail(deps, streamer, backup_info, info_key, exc, stopped)
    finally:
        deps.progress.finish()
    log.info(
        "backup.done",
        backup_id=str(backup_id),
        end_xlog=backup_info.end_xlog,
        seconds=round(deps.clock.monotonic() - started_at, 3),
    )
    return backup_info


def _fail(
    deps: BackupDeps,
    streamer: ArchiveStreamer,
    backup_info: BackupInfo,
    info_key: str,
    exc: BaseException,
    stopped: bool,
) -> None:
    """Abort the uploads, end the server-side backup, and write FAILED; then raise."""
    streamer.abort_all()
    fail_backup(deps.postgres, deps.store, deps.log, backup_info, info_key, exc, stopped)


def fail_backup(
    postgres: PostgresServer,
    store: ObjectStore,
    log: Log,
    backup_info: BackupInfo,
    info_key: str,
    exc: BaseException,
    stopped: bool,
) -> None:
    """End the server-side backup (unless stopped), write FAILED backup.info; then raise."""
    if not stopped:
        postgres.abort_backup()
    reason = first_line(exc)
    if isinstance(exc, PostgresConnectionError) and "lost" in reason:
        reason = "Connection to the Postgres server was lost during the backup."
    failed = backup_info.with_(status=metadata.FAILED, error=f"failure uploading data ({reason})")
    try:
        store.put(info_key, metadata.render(failed).encode())
    except BackupError as info_exc:
        log.error(
            "backup.info.upload_failed", error=f"Backup failed uploading backup.info file ({info_exc})"
        )
    message = f"Backup failed uploading data ({reason})"
    if isinstance(exc, KeyboardInterrupt | Interrupted):
        raise Interrupted(message) from exc
    raise BackupFailed(message) from exc
