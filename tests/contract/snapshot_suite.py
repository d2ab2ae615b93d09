"""The SnapshotProvider contract: one suite every compute adapter and the in-memory one must pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from cloud_base_backup.domain.errors import SnapshotProviderError
from cloud_base_backup.domain.model import BackupId
from cloud_base_backup.domain.snapshots import Mount, snapshots_info
from tests.support.admin_ports import AdminSnapshotProvider

BACKUP_ID = BackupId("20261126T041953")
SnapshotExists = Callable[[str], bool]


@dataclass(frozen=True)
class SnapshotWorld:
    """What the fixtures set up (or what the cassettes recorded) for the subject."""

    instance: str
    disks: tuple[str, ...]  # attached, in the order the provider snapshots them
    devices: dict[str, tuple[str, ...]]  # the host paths each disk is resolved through
    unattached: str  # a disk that is not attached to the instance
    provider: str
    provider_info: dict[str, Any]
    fields: tuple[str, ...]  # provider keys of each snapshot, in barman's order
    missing_instance: str = "no-such-instance"
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.mark.contract
class SnapshotProviderContract:
    """Tests on a `subject` SnapshotProvider. A fixtures class provides `subject`, `world`
    (a SnapshotWorld) and `snapshot_exists` (is a snapshot of that name in the cloud?)."""

    def test_instance_exists(self, subject: AdminSnapshotProvider, world: SnapshotWorld) -> None:
        assert subject.instance_exists(world.instance)
        assert not subject.instance_exists(world.missing_instance)

    def test_attached_disks_in_order_with_their_devices(
        self, subject: AdminSnapshotProvider, world: SnapshotWorld
    ) -> None:
        asked = [world.unattached, *reversed(world.disks)]
        attached = subject.attached_disks(world.instance, asked)
        assert set(attached) == set(world.disks)
        for name, disk in attached.items():
            assert disk.name == name
            assert disk.devices == world.devices[name]
            assert disk.problem is None

    def test_a_missing_instance_is_a_one_line_provider_error(
        self, subject: AdminSnapshotProvider, world: SnapshotWorld
    ) -> None:
        with pytest.raises(SnapshotProviderError) as raised:
            subject.attached_disks(world.missing_instance, list(world.disks))
        assert world.missing_instance in str(raised.value)
        assert "\n" not in str(raised.value)

    def test_take_then_delete_snapshots(
        self, subject: AdminSnapshotProvider, world: SnapshotWorld, snapshot_exists: SnapshotExists
    ) -> None:
        taken = subject.take_snapshots(world.instance, list(world.disks), BACKUP_ID)
        assert taken.provider == world.provider
        assert taken.provider_info == world.provider_info
        assert [t.disk for t in taken.snapshots] == list(world.disks)
        names = [f"{disk}-20261126t041953" for disk in world.disks]
        assert [t.fields["snapshot_name"] for t in taken.snapshots] == names
        for snap in taken.snapshots:
            assert tuple(snap.fields) == world.fields
        assert all(snapshot_exists(name) for name in names)

        mounts = {disk: Mount(f"/mnt/{disk}", "rw,noatime") for disk in world.disks}
        info = snapshots_info(taken, mounts)
        subject.delete_snapshots(info)
        assert not any(snapshot_exists(name) for name in names)
        subject.delete_snapshots(info)  # already gone: nothing to do, no error

    def test_snapshotting_a_disk_not_attached_fails_before_any_snapshot(
        self, subject: AdminSnapshotProvider, world: SnapshotWorld, snapshot_exists: SnapshotExists
    ) -> None:
        with pytest.raises(SnapshotProviderError, match=world.unattached):
            subject.take_snapshots(world.instance, [world.unattached, *world.disks], BACKUP_ID)
        assert not snapshot_exists(f"{world.disks[0]}-20261126t041953")
