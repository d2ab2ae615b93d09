"""MemorySnapshotProvider: an in-memory compute API with instances, disks and snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cloud_base_backup.domain.errors import SnapshotProviderError
from cloud_base_backup.domain.model import BackupId
from cloud_base_backup.domain.snapshots import (
    AttachedDisk,
    SnapshotSet,
    TakenSnapshot,
    snapshot_name,
)


@dataclass
class MemoryDisk:
    name: str
    device: str


@dataclass
class MemorySnapshotProvider:
    """`instances` maps a VM name to its attached disks, in attachment order.

    `fail_on` names a call (`take_snapshots`, `attached_disks`, ...) that raises, after
    `fail_after` successful snapshots for `take_snapshots`; `calls` records every call.
    """

    instances: dict[str, list[MemoryDisk]] = field(default_factory=dict)
    provider: str = "aws"
    provider_info: dict[str, Any] = field(default_factory=lambda: {"account_id": "1", "region": "r"})
    fail_on: str | None = None
    fail_after: int = 0
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_on == name and name != "take_snapshots":
            raise SnapshotProviderError(f"{name}: simulated failure")

    def instance_exists(self, instance: str) -> bool:
        self._call("instance_exists")
        return instance in self.instances

    def _disks(self, instance: str) -> list[MemoryDisk]:
        if instance not in self.instances:
            raise SnapshotProviderError(f"Cannot find instance {instance}")
        return self.instances[instance]

    def attached_disks(self, instance: str, disks: Sequence[str]) -> dict[str, AttachedDisk]:
        self._call("attached_disks")
        return {
            d.name: AttachedDisk(d.name, (d.device,)) for d in self._disks(instance) if d.name in disks
        }

    def take_snapshots(self, instance: str, disks: Sequence[str], backup_id: BackupId) -> SnapshotSet:
        self._call("take_snapshots")
        attached = {d.name: d for d in self._disks(instance)}
        taken: list[TakenSnapshot] = []
        for disk in disks:
            if disk not in attached:
                raise SnapshotProviderError(f"Disk {disk} not attached to instance {instance}")
            if self.fail_on == "take_snapshots" and len(taken) >= self.fail_after:
                raise SnapshotProviderError(f"Snapshot of {disk} failed: simulated")
            name = snapshot_name(disk, backup_id)
            fields = {"device_name": attached[disk].device, "snapshot_name": name}
            self.snapshots[name] = {"disk": disk, **fields}
            taken.append(TakenSnapshot(disk, fields))
        return SnapshotSet(self.provider, dict(self.provider_info), tuple(taken))

    def delete_snapshots(self, snapshots_info: dict[str, Any]) -> None:
        self._call("delete_snapshots")
        for snapshot in snapshots_info.get("snapshots", []):
            self.snapshots.pop(snapshot["provider"]["snapshot_name"], None)
