"""Ec2SnapshotProvider: EBS snapshots of the volumes attached to an EC2 instance, with boto3."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from cloud_base_backup.adapters.snapshots.sdk_errors import translated
from cloud_base_backup.domain.errors import InvalidInput, SnapshotProviderError
from cloud_base_backup.domain.model import BackupId
from cloud_base_backup.domain.snapshots import (
    AttachedDisk,
    SnapshotSet,
    TakenSnapshot,
    snapshot_name,
)

_LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]
_ROOT_DEVICES = ("/dev/sda1", "/dev/xvda")
_WAIT_DELAY = 15


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return str(exc)


def _translated(what: str) -> AbstractContextManager[None]:
    return translated(what, (ClientError, BotoCoreError, WaiterError), _describe)


def device_candidates(device: str, volume_id: str, paravirtual: bool, sys_block: str) -> tuple[str, ...]:
    """Host names of an EBS attachment: exact, /dev/sdX renamed by EC2, or the NVMe serial."""
    name = device
    renamed = device.replace("/dev/sd", "/dev/hd" if paravirtual else "/dev/xvd", 1)
    for block in sorted(os.listdir(sys_block)):
        path = f"/dev/{block}"
        if path == device:
            break
        if device.startswith("/dev/sd") and renamed == path:
            name = renamed
            break
        serial = os.path.join(sys_block, block, "device", "serial")
        if "nvme" in block and os.path.isfile(serial):
            with open(serial) as handle:
                if handle.readline().strip().replace("vol", "vol-", 1) == volume_id:
                    name = path
                    break
    # NVMe volumes attached at launch appear without /dev/ (barman 3.20 strips the prefix)
    return (name, name.removeprefix("/dev/")) if name.startswith("/dev/") else (name,)


class Ec2SnapshotProvider:
    def __init__(
        self,
        profile: str | None = None,
        region: str | None = None,
        await_timeout: int = 3600,
        lock_mode: str | None = None,
        lock_duration: int | None = None,
        lock_cool_off_period: int | None = None,
        lock_expiration_date: str | None = None,
        tags: Sequence[tuple[str, str]] | None = None,
        sys_block: str = "/sys/block",
        endpoint_url: str | None = None,
        log: Any = None,
    ) -> None:
        try:
            session = boto3.Session(profile_name=profile)
        except BotoCoreError as exc:
            raise InvalidInput(str(exc)) from None
        # --aws-region wins over the profile's region; EC2 never uses the S3 --endpoint-url
        self.region = region or session.region_name
        if not self.region:
            raise InvalidInput("You must specify a region.")
        config = Config(retries={"mode": "standard", "max_attempts": 10})
        self.client = session.client(
            "ec2", region_name=self.region, endpoint_url=endpoint_url, config=config
        )
        self.await_timeout = await_timeout
        self.lock = {
            "LockMode": lock_mode,
            "LockDuration": lock_duration,
            "CoolOffPeriod": lock_cool_off_period,
            "ExpirationDate": lock_expiration_date,
        }
        self.tags = list(tags or [])
        self.sys_block = sys_block
        self.log = log

    def _instance(self, instance: str) -> dict[str, Any] | None:
        state = {"Name": "instance-state-name", "Values": _LIVE_STATES}
        resp = None
        with _translated(f"Cannot describe EC2 instance {instance}"):
            if instance.startswith("i-"):
                try:
                    resp = self.client.describe_instances(InstanceIds=[instance], Filters=[state])
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "")
                    if code == "InvalidInstanceID.NotFound":
                        return None
                    if code != "InvalidInstanceID.Malformed":  # else: it may be a Name tag
                        raise
            if resp is None:
                name = {"Name": "tag:Name", "Values": [instance]}
                resp = self.client.describe_instances(Filters=[name, state])
        reservations = resp["Reservations"]
        if len(reservations) > 1:
            raise SnapshotProviderError(f"Cannot find a unique EC2 reservation containing instance {instance}")
        if not reservations or not reservations[0]["Instances"]:
            return None
        if len(reservations[0]["Instances"]) > 1:
            raise SnapshotProviderError(f"Cannot find a unique EC2 instance matching {instance}")
        found: dict[str, Any] = reservations[0]["Instances"][0]
        return found

    def _existing(self, instance: str) -> dict[str, Any]:
        found = self._instance(instance)
        if found is None:
            raise SnapshotProviderError(f"Cannot find instance {instance}")
        return found

    def instance_exists(self, instance: str) -> bool:
        return self._instance(instance) is not None

    def _volumes(self, meta: dict[str, Any], disks: Sequence[str]) -> dict[str, tuple[str, str]]:
        """disk -> (volume id, device) for the requested non-root volumes, in disks order."""
        where = {"Name": "attachment.instance-id", "Values": [meta["InstanceId"]]}
        with _translated(f"Cannot describe the volumes of {meta['InstanceId']}"):
            volumes = self.client.describe_volumes(Filters=[where])["Volumes"]
        found: dict[str, tuple[str, str]] = {}
        for disk in disks:
            matches = [v for v in volumes if v["VolumeId"] == disk] or [
                v for v in volumes if {"Key": "Name", "Value": disk} in v.get("Tags", [])
            ]
            if len(matches) > 1:
                ids = ", ".join(v["VolumeId"] for v in matches)
                raise SnapshotProviderError(f"Duplicate volumes found matching {disk}: {ids}")
            for attachment in matches[0]["Attachments"] if matches else []:
                # the root volume reads as "not attached", as in barman
                if attachment["InstanceId"] == meta["InstanceId"] and attachment["Device"] != meta.get("RootDeviceName"):
                    found[disk] = (matches[0]["VolumeId"], attachment["Device"])
        return found

    def attached_disks(self, instance: str, disks: Sequence[str]) -> dict[str, AttachedDisk]:
        meta = self._existing(instance)
        paravirtual = meta.get("VirtualizationType") == "paravirtual"
        result = {}
        for disk, (volume_id, device) in self._volumes(meta, disks).items():
            if device in _ROOT_DEVICES:
                problem = f"'{device}' is a root volume. EBS volumes involved in the snapshot backup must be non-root."
                result[disk] = AttachedDisk(disk, (device,), problem)
            else:
                devices = device_candidates(device, volume_id, paravirtual, self.sys_block)
                result[disk] = AttachedDisk(disk, devices)
        return result

    def take_snapshots(self, instance: str, disks: Sequence[str], backup_id: BackupId) -> SnapshotSet:
        meta = self._existing(instance)
        volumes = self._volumes(meta, disks)
        mapped = {m["Ebs"]["VolumeId"]: m["DeviceName"] for m in meta.get("BlockDeviceMappings", []) if "Ebs" in m}
        taken, owner = [], None
        for disk in disks:
            if disk not in volumes or volumes[disk][0] not in mapped:
                raise SnapshotProviderError(f"Disk {disk} not attached to instance {instance}")
            volume_id = volumes[disk][0]
            name = snapshot_name(disk, backup_id)
            tags = [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in self.tags]
            extra = {"OutpostArn": meta["OutpostArn"]} if meta.get("OutpostArn") else {}
            with _translated(f"Snapshot '{name}' of {volume_id} failed"):
                resp = self.client.create_snapshot(
                    VolumeId=volume_id,
                    TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}],
                    **extra,
                )
            if resp.get("State") == "error":
                raise SnapshotProviderError(f"Snapshot '{name}' failed: {resp.get('StateMessage')}")
            if self.lock["LockMode"]:
                self._lock(resp["SnapshotId"], outpost=bool(extra))
            owner = resp.get("OwnerId")
            fields = {
                "device_name": mapped[volume_id],
                "snapshot_id": resp["SnapshotId"],
                "snapshot_name": name,
                "snapshot_lock_mode": self.lock["LockMode"],
            }
            taken.append(TakenSnapshot(disk, fields))
        self._wait([t.fields["snapshot_id"] for t in taken])
        return SnapshotSet("aws", {"account_id": owner, "region": self.region}, tuple(taken))

    def _lock(self, snapshot_id: str, outpost: bool) -> None:
        if outpost:  # barman 3.20: EBS snapshot locks do not exist on Outposts
            raise SnapshotProviderError(f"Cannot lock snapshot {snapshot_id}: the instance is on an AWS Outpost")
        args = {k: v for k, v in self.lock.items() if v}
        with _translated(f"Locking snapshot {snapshot_id} failed"):
            resp = self.client.lock_snapshot(SnapshotId=snapshot_id, **args)
        shown = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in resp.items() if k != "ResponseMetadata"}
        if self.log is not None:
            self.log.info("Snapshot locked", snapshot=json.dumps(shown, default=str))

    def _wait(self, snapshot_ids: list[str]) -> None:
        attempts = max(math.ceil(self.await_timeout / _WAIT_DELAY), 1)
        with _translated(f"Waiting for snapshots {', '.join(snapshot_ids)} failed"):
            self.client.get_waiter("snapshot_completed").wait(
                SnapshotIds=snapshot_ids, WaiterConfig={"Delay": _WAIT_DELAY, "MaxAttempts": attempts}
            )

    def delete_snapshots(self, snapshots_info: dict[str, Any]) -> None:
        for snapshot in snapshots_info.get("snapshots", []):
            snapshot_id = snapshot["provider"]["snapshot_id"]
            try:
                self.client.delete_snapshot(SnapshotId=snapshot_id)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "InvalidSnapshot.NotFound":
                    continue
                if code == "SnapshotLocked":
                    raise SnapshotProviderError(f"Locked snapshot: {snapshot_id}; it can be deleted once the lock expires") from None
                raise SnapshotProviderError(f"Deletion of snapshot {snapshot_id} failed: {code}") from None
            except BotoCoreError as exc:
                raise SnapshotProviderError(f"Deletion of snapshot {snapshot_id} failed: {exc}") from None
