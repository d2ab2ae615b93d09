"""AzureComputeSnapshotProvider: incremental snapshots of a VM's managed data disks."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import CreationData, Snapshot, SnapshotProperties

from cloud_base_backup.adapters.snapshots.sdk_errors import translated
from cloud_base_backup.domain.errors import SnapshotProviderError
from cloud_base_backup.domain.model import BackupId
from cloud_base_backup.domain.snapshots import (
    AttachedDisk,
    SnapshotSet,
    TakenSnapshot,
    snapshot_name,
)


def _translated(what: str) -> AbstractContextManager[None]:
    return translated(what, (AzureError,))


def _succeeded(state: str | None) -> bool:
    return (state or "").lower() == "succeeded"


class AzureComputeSnapshotProvider:
    def __init__(
        self,
        subscription_id: str,
        resource_group: str | None,
        credential: Any,
        polling_interval: float | None = None,
        **client_options: Any,
    ) -> None:
        self.subscription_id = subscription_id
        self.resource_group = resource_group or ""
        if polling_interval is not None:
            client_options["polling_interval"] = polling_interval
        self.client = ComputeManagementClient(credential, subscription_id, **client_options)

    def _vm(self, instance: str) -> Any:
        with _translated(f"Cannot read compute instance {instance}"):
            try:
                return self.client.virtual_machines.get(self.resource_group, instance)
            except ResourceNotFoundError:
                return None

    def _existing(self, instance: str) -> Any:
        vm = self._vm(instance)
        if vm is None:
            raise SnapshotProviderError(
                f"Cannot find instance with name {instance} in resource group "
                f"{self.resource_group} in subscription {self.subscription_id}"
            )
        return vm

    def _disk(self, name: str) -> Any:
        with _translated(f"Cannot read disk {name}"):
            try:
                return self.client.disks.get(self.resource_group, name)
            except ResourceNotFoundError:
                raise SnapshotProviderError(
                    f"Cannot find disk with name {name} in resource group {self.resource_group} "
                    f"in subscription {self.subscription_id}"
                ) from None

    def instance_exists(self, instance: str) -> bool:
        return self._vm(instance) is not None

    def _data_disks(self, instance: str, disks: Sequence[str]) -> list[Any]:
        # only data disks count: the OS disk reads as "not attached", as in barman
        vm = self._existing(instance)
        return [d for d in vm.storage_profile.data_disks or [] if d.name in disks]

    def attached_disks(self, instance: str, disks: Sequence[str]) -> dict[str, AttachedDisk]:
        result = {}
        for attachment in self._data_disks(instance, disks):
            self._disk(attachment.name)  # the disk itself must be readable too
            # the Azure Linux agent's stable symlink to the LUN's device
            result[attachment.name] = AttachedDisk(
                attachment.name, (f"/dev/disk/azure/scsi1/lun{attachment.lun}",)
            )
        return result

    def take_snapshots(self, instance: str, disks: Sequence[str], backup_id: BackupId) -> SnapshotSet:
        attached = {d.name: d for d in self._data_disks(instance, disks)}
        taken = []
        for disk in disks:
            if disk not in attached:
                raise SnapshotProviderError(f"Disk {disk} not attached to instance {instance}")
            location = self._disk(disk).location
            name = snapshot_name(disk, backup_id)
            self._snapshot(name, location, attached[disk].managed_disk.id)
            fields = {"location": location, "lun": attached[disk].lun, "snapshot_name": name}
            taken.append(TakenSnapshot(disk, fields))
        info = {"subscription_id": self.subscription_id, "resource_group": self.resource_group}
        return SnapshotSet("azure", info, tuple(taken))

    def _snapshot(self, name: str, location: str, disk_id: str) -> None:
        # The ARM shape (properties.creationData.sourceResourceId) built from the SDK's models:
        # barman 3.19.1's flat snake_case dict is sent verbatim by azure-mgmt-compute >= 38 and
        # rejected by Azure (EnterpriseDB/barman#1186).
        creation = CreationData(create_option="Copy", source_resource_id=disk_id)
        body = Snapshot(
            location=location, properties=SnapshotProperties(incremental=True, creation_data=creation)
        )
        with _translated(f"Snapshot '{name}' failed"):
            poller = self.client.snapshots.begin_create_or_update(self.resource_group, name, body)
            result = poller.result()
        if not _succeeded(poller.status()) or not _succeeded(result.provisioning_state):
            raise SnapshotProviderError(
                f"Snapshot '{name}' failed with status {poller.status()}: {result.provisioning_state}"
            )

    def delete_snapshots(self, snapshots_info: dict[str, Any]) -> None:
        group = snapshots_info.get("provider_info", {}).get("resource_group") or self.resource_group
        for snapshot in snapshots_info.get("snapshots", []):
            name = snapshot["provider"]["snapshot_name"]
            with _translated(f"Deletion of snapshot {name} failed"):
                poller = self.client.snapshots.begin_delete(group, name)
                poller.wait()
            if not _succeeded(poller.status()):
                raise SnapshotProviderError(f"Deletion of snapshot {name} failed: {poller.status()}")
