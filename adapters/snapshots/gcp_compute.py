"""GceSnapshotProvider: snapshots of the persistent disks attached to a Compute Engine VM."""

from __future__ import annotations

import posixpath
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlparse

from google.api_core.exceptions import GoogleAPIError, NotFound
from google.auth.exceptions import GoogleAuthError
from google.cloud import compute_v1

from cloud_base_backup.adapters.snapshots.sdk_errors import translated
from cloud_base_backup.domain.errors import InvalidInput, SnapshotProviderError, first_line
from cloud_base_backup.domain.model import BackupId
from cloud_base_backup.domain.snapshots import (
    AttachedDisk,
    SnapshotSet,
    TakenSnapshot,
    snapshot_name,
)

DEVICE_PREFIX = "/dev/disk/by-id/google-"


def _translated(what: str) -> AbstractContextManager[None]:
    return translated(what, (GoogleAPIError, GoogleAuthError))


class GceSnapshotProvider:
    def __init__(
        self,
        project: str,
        zone: str | None,
        credentials: Any = None,
        timeout: float = 900.0,
        client_options: Any = None,
    ) -> None:
        self.project, self.zone, self.timeout = project, zone or "", timeout
        kwargs = {"credentials": credentials, "client_options": client_options}
        try:
            self.instances = compute_v1.InstancesClient(**kwargs)
            self.disks = compute_v1.DisksClient(**kwargs)
            self.snapshots = compute_v1.SnapshotsClient(**kwargs)
            # The operation is polled on the same endpoint as the calls (the SDK's own poller
            # ignores client_options), with the server-side `wait` so nothing sleeps here.
            self.operations = compute_v1.GlobalOperationsClient(**kwargs)
        except GoogleAuthError as exc:
            raise InvalidInput(first_line(exc)) from None

    def _instance(self, instance: str) -> Any:
        with _translated(f"Cannot read compute instance {instance}"):
            try:
                return self.instances.get(project=self.project, zone=self.zone, instance=instance)
            except NotFound:
                return None

    def _existing(self, instance: str) -> Any:
        found = self._instance(instance)
        if found is None:
            raise SnapshotProviderError(
                f"Cannot find instance with name {instance} in zone {self.zone} "
                f"for project {self.project}"
            )
        return found

    def instance_exists(self, instance: str) -> bool:
        return self._instance(instance) is not None

    def _attachments(self, instance: str, disks: Sequence[str]) -> dict[str, Any]:
        """disk name -> attachment, in the VM's attachment order (the boot disk counts)."""
        found = {}
        for attachment in self._existing(instance).disks:
            name = posixpath.basename(urlparse(attachment.source).path)
            if name in disks:
                found[name] = attachment
        return found

    def attached_disks(self, instance: str, disks: Sequence[str]) -> dict[str, AttachedDisk]:
        result = {}
        for name, attachment in self._attachments(instance, disks).items():
            with _translated(f"Cannot read disk {name}"):
                self.disks.get(project=self.project, zone=self.zone, disk=name)
            result[name] = AttachedDisk(name, (DEVICE_PREFIX + attachment.device_name,))
        return result

    def take_snapshots(self, instance: str, disks: Sequence[str], backup_id: BackupId) -> SnapshotSet:
        attached = self._attachments(instance, disks)
        taken = []
        for disk in disks:
            if disk not in attached:
                raise SnapshotProviderError(f"Disk {disk} not attached to instance {instance}")
            name = snapshot_name(disk, backup_id)
            source = f"projects/{self.project}/zones/{self.zone}/disks/{disk}"
            resource = compute_v1.Snapshot(name=name, source_disk=source)
            with _translated(f"Snapshot '{name}' failed"):
                operation = self.snapshots.insert_unary(project=self.project, snapshot_resource=resource)
                self._wait(operation, f"Snapshot '{name}'", self.project)
            fields = {
                "device_name": attached[disk].device_name,
                "snapshot_name": name,
                "snapshot_project": self.project,
            }
            taken.append(TakenSnapshot(disk, fields))
        return SnapshotSet("gcp", {"project": self.project}, tuple(taken))

    def _wait(self, operation: Any, what: str, project: str) -> None:
        deadline = time.monotonic() + self.timeout
        while operation.status != compute_v1.Operation.Status.DONE:
            if time.monotonic() > deadline:
                raise SnapshotProviderError(f"{what} did not complete within {self.timeout:.0f} s")
            operation = self.operations.wait(project=project, operation=operation.name)
        if operation.error and operation.error.errors:
            errors = ", ".join(f"{e.code}: {e.message}" for e in operation.error.errors)
            raise SnapshotProviderError(f"{what} failed with error {errors}")

    def delete_snapshots(self, snapshots_info: dict[str, Any]) -> None:
        project = snapshots_info.get("provider_info", {}).get("project") or self.project
        for snapshot in snapshots_info.get("snapshots", []):
            name = snapshot["provider"]["snapshot_name"]
            with _translated(f"Deletion of snapshot {name} failed"):
                try:
                    operation = self.snapshots.delete_unary(project=project, snapshot=name)
                except NotFound:
                    continue
                self._wait(operation, f"Deletion of snapshot {name}", project)
