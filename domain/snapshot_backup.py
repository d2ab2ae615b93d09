"""Use case: a backup made of disk snapshots taken between pg_backup_start and pg_backup_stop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain import layout, metadata
from domain.errors import BackupError, BackupExists, InvalidInput, SnapshotProviderError
from domain.keepalive import KeepaliveTicker
from domain.metadata import BackupInfo
from domain.model import BackupId, ServerInfo
from domain.ports import Clock, Log, MountInspector, ObjectStore, PostgresServer, SnapshotProvider
from domain.services import done_info, fail_backup, started_info
from domain.snapshots import AttachedDisk, Mount, SnapshotRequest, is_within, snapshots_info


@dataclass
class SnapshotDeps:
    postgres: PostgresServer
    store: ObjectStore
    # Built only after PostgreSQL answered, as barman does (its errors then exit 4, not 1).
    provider: Callable[[], SnapshotProvider]
    mounts: MountInspector
    clock: Clock
    log: Log


def _resolve(disk: AttachedDisk, mounts: MountInspector) -> Mount:
    """The disk's mount on this host; SnapshotProviderError saying why when there is none."""
    if disk.problem:
        raise SnapshotProviderError(disk.problem)
    for device in disk.devices:
        found = mounts.mount_of(device)
        if found is not None:
            return found
    raise SnapshotProviderError(f"Could not find device {disk.devices[0]} at any mount point")


def _check_disks(request: SnapshotRequest, provider: SnapshotProvider, deps: SnapshotDeps) -> dict[str, Mount]:
    instance = request.instance or ""
    if not provider.instance_exists(instance):
        raise SnapshotProviderError(f"Cannot find compute instance {instance}")
    attached = provider.attached_disks(instance, request.disks)
    missing = [d for d in request.disks if d not in attached]
    if missing:
        raise SnapshotProviderError(
            f"Cannot find disks attached to compute instance {instance}: {', '.join(missing)}"
        )
    mounts: dict[str, Mount] = {}
    for name in request.disks:
        try:
            mounts[name] = _resolve(attached[name], deps.mounts)
        except BackupError as exc:
            deps.log.warning(f"Error resolving mount point: {exc}")
    unmounted = [d for d in request.disks if d not in mounts]
    if unmounted:
        raise SnapshotProviderError(
            f"Cannot find disks mounted on compute instance {instance}: {', '.join(unmounted)}"
        )
    return mounts


def _check_data_on_disks(info: ServerInfo, mounts: dict[str, Mount], deps: SnapshotDeps) -> None:
    """Better than barman: refuse a backup whose PGDATA or a tablespace is on no snapshotted disk."""
    points = {m.point for m in mounts.values()}
    places = [("PGDATA", info.pgdata)] + [
        (f"tablespace {t.name}", t.location) for t in info.tablespaces
    ]
    for what, path in places:
        holder = deps.mounts.mount_point_of(path)
        if holder is None or holder not in points or not is_within(path, holder):
            raise InvalidInput(
                f"{what} ({path}) is on the filesystem mounted at {holder}, which is not on any "
                f"snapshotted disk ({', '.join(sorted(points))}): the backup could not be restored"
            )


def _strict_mounts(request: SnapshotRequest, provider: SnapshotProvider, deps: SnapshotDeps) -> dict[str, Mount]:
    attached = provider.attached_disks(request.instance or "", request.disks)
    missing = [d for d in request.disks if d not in attached]
    if missing:
        raise SnapshotProviderError(
            f"Disks not attached to instance {request.instance}: {', '.join(missing)}"
        )
    return {name: _resolve(disk, deps.mounts) for name, disk in attached.items()}


def take_snapshot_backup(request: SnapshotRequest, deps: SnapshotDeps) -> BackupInfo:
    """Check, start, record STARTED, snapshot the disks, stop, upload the label, write DONE last."""
    log, store, pg = deps.log, deps.store, deps.postgres
    store.check()  # better than barman: a missing bucket is found before anything starts
    info = pg.server_info()  # the first query: PostgreSQL unreachable exits 1, as barman does
    request.check_provider_options()
    provider = deps.provider()
    request.check_complete()
    _check_data_on_disks(info, _check_disks(request, provider, deps), deps)
    pg.check_backup_privileges()
    backup_id = BackupId.from_time(deps.clock.now())
    if store.list(layout.backup_prefix(request.prefix, request.server_name, backup_id)):
        raise BackupExists(
            f"Backup {backup_id} already exists at {store.description}: refusing to overwrite it"
        )
    info_key = layout.backup_info_key(request.prefix, request.server_name, backup_id)
    began = deps.clock.monotonic()
    log.info("snapshot_backup.starting", backup_id=str(backup_id), instance=request.instance)
    start = pg.start_backup(
        f"Barman backup {request.server_name} {backup_id}", request.immediate_checkpoint
    )
    # Unlike a tar backup (`cloud`), a snapshot backup records the server name it was given.
    backup_info = started_info(info, start).with_(server_name=request.server_name)
    stopped = False
    # barman 3.20: the session is kept alive while the snapshots are taken and awaited.
    keepalive = KeepaliveTicker(pg.keepalive, request.keepalive_interval, log)
    try:
        keepalive.start()
        keepalive.check()
        store.put(info_key, metadata.render(backup_info).encode())
        mounts = _strict_mounts(request, provider, deps)
        taken = provider.take_snapshots(request.instance or "", list(mounts), backup_id)
        backup_info = backup_info.with_(snapshots_info=snapshots_info(taken, mounts))
        keepalive.stop()
        keepalive.check()
        stop = pg.stop_backup()
        stopped = True
        pg.create_restore_point(f"barman_{backup_id}")
        label_key = layout.backup_label_key(request.prefix, request.server_name, backup_id)
        store.put(label_key, stop.label.encode())
        elapsed = round(deps.clock.monotonic() - began, 6)
        backup_info = done_info(
            backup_info,
            stop,
            info.xlog_segment_size,
            copy_stats={"copy_time": elapsed, "total_time": elapsed},
            backup_name=request.backup_name,
        )
        store.put(info_key, metadata.render(backup_info).encode())
    except BaseException as exc:  # noqa: BLE001 - every failure must leave a FAILED backup.info
        keepalive.stop()
        named = backup_info.with_(backup_name=request.backup_name)
        fail_backup(pg, store, log, named, info_key, exc, stopped)
    log.info("snapshot_backup.done", backup_id=str(backup_id), end_xlog=backup_info.end_xlog)
    return backup_info

