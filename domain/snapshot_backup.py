"""Use case: a backup made of disk snapshots taken between pg_backup_start and pg_backup_stop."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cloud_base_backup.domain.errors import BackupError, InvalidInput, SnapshotProviderError
from cloud_base_backup.domain.lifecycle import BackupRun, RunDeps, RunEvents
from cloud_base_backup.domain.metadata import BackupInfo
from cloud_base_backup.domain.model import Member, ServerInfo
from cloud_base_backup.domain.ports import MountInspector, PostgresServer, SnapshotProvider
from cloud_base_backup.domain.records import CloudRecord
from cloud_base_backup.domain.session import PostgresSession
from cloud_base_backup.domain.snapshots import (
    AttachedDisk,
    Mount,
    SnapshotRequest,
    is_within,
    snapshots_info,
)


@dataclass(kw_only=True)
class SnapshotDeps(RunDeps):
    postgres: PostgresServer
    # Built only after PostgreSQL answered, as barman does (its errors then exit 4, not 1).
    provider: Callable[[], SnapshotProvider]
    mounts: MountInspector


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


class _SnapshotBackup:
    event = "snapshot_backup"
    expected_bytes: int | None = None  # nothing is read: the disks are snapshotted

    def __init__(self, request: SnapshotRequest, deps: SnapshotDeps) -> None:
        self._request, self._deps = request, deps
        self._provider: SnapshotProvider | None = None

    def check(self) -> ServerInfo:
        request, pg = self._request, self._deps.postgres
        info = pg.server_info()  # the first query: PostgreSQL unreachable exits 1, as barman does
        # The provider is built only now, as barman does (its option errors then exit 4, not 1).
        self._provider = self._deps.provider()
        request.check_complete()
        _check_data_on_disks(info, _check_disks(request, self._provider, self._deps), self._deps)
        pg.check_backup_privileges()
        return info

    def start_fields(self) -> dict[str, Any]:
        return {"instance": self._request.instance}

    def body(self, run: BackupRun, events: RunEvents) -> None:
        assert self._provider is not None and run.info is not None
        mounts = _strict_mounts(self._request, self._provider, self._deps)
        taken = self._provider.take_snapshots(self._request.instance or "", list(mounts), run.backup_id)
        run.info = run.info.with_(snapshots_info=snapshots_info(taken, mounts))

    def finish(self, run: BackupRun, final_members: Iterable[Member]) -> dict[str, Any]:
        """No data archive: the label is an object of its own; no final members are asked for."""
        assert run.stop is not None
        self._deps.store.put(run.prefix + "backup_label", run.stop.label.encode())
        elapsed = round(self._deps.clock.monotonic() - run.began, 6)
        return {
            "copy_stats": {"copy_time": elapsed, "total_time": elapsed},
            "backup_name": self._request.backup_name,
        }

    def abort(self) -> None:
        return None

    def end(self) -> None:
        return None


def take_snapshot_backup(request: SnapshotRequest, deps: SnapshotDeps) -> BackupInfo:
    """Check, start, record STARTED, snapshot the disks, stop, upload the label, write DONE last."""
    session = PostgresSession(
        deps.postgres,
        deps.log,
        label=f"Barman backup {request.server_name} {{backup_id}}",
        fast=request.immediate_checkpoint,
        keepalive_interval=request.keepalive_interval,  # barman 3.20: alive during the snapshots
    )
    # Unlike a tar backup (`cloud`), a snapshot backup records the server name it was given.
    record = CloudRecord(
        deps.store,
        deps.log,
        started_fields={"server_name": request.server_name},
        failed_fields={"backup_name": request.backup_name},
    )
    run = deps.lifecycle().run(
        _SnapshotBackup(request, deps),
        session,
        record,
        path=request.prefix,
        server_name=request.server_name,
    )
    assert run.info is not None
    return run.info
