"""Typed factories the container wires: each returns the port its adapter plugs into.

mypy checks every adapter against its port here (a renamed or re-typed adapter method fails
lint), which dependency-injector's providers alone cannot do.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TextIO, cast

from cloud_base_backup.adapters.filetree import LocalFileTree
from cloud_base_backup.adapters.mounts import FindmntMountInspector
from cloud_base_backup.adapters.object_stores.destination import Destination
from cloud_base_backup.adapters.reporting import RunReporter, reporter_for, terminal_for
from cloud_base_backup.adapters.system import SystemClock, make_logger
from cloud_base_backup.adapters.tar_sink import TarArchiveSink
from cloud_base_backup.domain.claim import ClaimBackupId
from cloud_base_backup.domain.integrity import IntegrityRequest
from cloud_base_backup.domain.lifecycle import LifecycleHooks
from cloud_base_backup.domain.orphans import AbortStaleUploads
from cloud_base_backup.domain.ports import (
    ArchiveSink,
    Clock,
    FileTree,
    Log,
    MountInspector,
    ObjectStore,
    PostgresServer,
    UploadJanitor,
)
from cloud_base_backup.domain.relay import RelayRequest
from cloud_base_backup.domain.services import BackupRequest
from cloud_base_backup.domain.snapshots import SnapshotRequest
from cloud_base_backup.domain.splitting import chunk_size
from cloud_base_backup.entrypoints.options import BackupOptions
from cloud_base_backup.entrypoints.providers.registry import provider_module
from cloud_base_backup.entrypoints.providers.urls import parse_destination


def terminal(stderr: TextIO, options: BackupOptions) -> TextIO:
    """stderr, shared by the log and the progress line on a terminal (TerminalLine writes as a
    text stream does)."""
    return cast(TextIO, terminal_for(stderr, options.quiet))


def logger(options: BackupOptions, terminal: TextIO) -> Log:
    log: Log = make_logger(options.log_level, terminal)
    return log


def reporter(
    terminal: TextIO, options: BackupOptions, env: Mapping[str, str], log: Log, clock: Clock
) -> RunReporter:
    """Progress and the end-of-run summary: a lifecycle observer (plugged in by hooks)."""
    return reporter_for(terminal, options.verbose, options.quiet, env, log, clock.monotonic)


def clock() -> Clock:
    return SystemClock()


def destination(options: BackupOptions) -> Destination:
    return parse_destination(options.cloud_provider, options.destination_url)


def postgres(options: BackupOptions, log: Log) -> Iterator[PostgresServer]:
    from cloud_base_backup.adapters.postgres import ConnParams, PsycopgPostgres

    params = ConnParams(host=options.host, port=options.port, user=options.user, dbname=options.dbname)
    server = PsycopgPostgres(params, log)
    try:
        yield server
    finally:
        server.close()


def file_tree(log: Log) -> FileTree:
    return LocalFileTree(log=log)


def mounts() -> MountInspector:
    return FindmntMountInspector()


def archive_sink(
    options: BackupOptions, store: ObjectStore, log: Log, reporter: RunReporter
) -> ArchiveSink:
    return TarArchiveSink(
        store=store,
        compression=options.compression,
        part_size=chunk_size(store.chunk_policy, options.max_archive_size, options.min_chunk_size),
        jobs=options.jobs,
        max_bandwidth=options.max_bandwidth,
        log=log,
        on_uploaded=reporter.uploaded,
        on_read=reporter.read,
    )


def hooks(
    options: BackupOptions,
    uploads: UploadJanitor,
    store: ObjectStore,
    clock: Clock,
    log: Log,
    reporter: RunReporter,
) -> LifecycleHooks:
    """The lifecycle's extension points the product plugs in."""
    stale = AbortStaleUploads(uploads, options.abort_stale_uploads_after, clock, log)
    # The claim comes last: a hook that fails after it would leave the claim behind.
    return LifecycleHooks(before_start=(stale, ClaimBackupId(store, log)), observers=(reporter,))


def backup_request(options: BackupOptions, destination: Destination) -> BackupRequest:
    return BackupRequest(
        server_name=options.server_name,
        prefix=destination.prefix,
        max_archive_size=options.max_archive_size,
        immediate_checkpoint=options.immediate_checkpoint,
        backup_name=options.backup_name,
        keepalive_interval=options.keepalive_interval,
        integrity=IntegrityRequest(options.manifest_checksums, options.verify_checksums),
    )


def relay_request(
    options: BackupOptions, destination: Destination, backup_dir: str, backup_id: str, backup_info: bytes
) -> RelayRequest:
    """Hook mode: the options plus barman's backup dir, id and backup.info bytes (from hook.py)."""
    return RelayRequest(
        server_name=options.server_name,
        prefix=destination.prefix,
        max_archive_size=options.max_archive_size,
        backup_dir=backup_dir,
        backup_id=backup_id,
        backup_info=backup_info,
    )


def snapshot_request(options: BackupOptions, destination: Destination) -> SnapshotRequest:
    required = provider_module(options.cloud_provider).SNAPSHOT_REQUIRED
    return SnapshotRequest(
        server_name=options.server_name,
        prefix=destination.prefix,
        instance=options.snapshot_instance,
        disks=tuple(options.snapshot_disks),
        provider_required=tuple((name, getattr(options, name)) for name in required),
        immediate_checkpoint=options.immediate_checkpoint,
        backup_name=options.backup_name,
        keepalive_interval=options.keepalive_interval,
    )
