"""Snapshot backups' value objects and pure rules: options, disks, names and snapshots_info."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloud_base_backup.domain.errors import InvalidInput
from cloud_base_backup.domain.model import BackupId


@dataclass(frozen=True)
class Mount:
    """Where a disk is mounted on this host, as findmnt reports it."""

    point: str
    options: str


@dataclass(frozen=True)
class AttachedDisk:
    """A disk attached to the instance, as named on the command line.

    `devices` are the host paths to hand to findmnt, in order; `problem` says why the disk
    cannot be resolved on this host at all (e.g. an AWS root volume).
    """

    name: str
    devices: tuple[str, ...]
    problem: str | None = None


@dataclass(frozen=True)
class TakenSnapshot:
    """One snapshot made; `fields` are the provider's snapshots_info keys, in barman's order."""

    disk: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class SnapshotSet:
    """Every snapshot of one backup, with the provider-level keys of snapshots_info."""

    provider: str
    provider_info: dict[str, Any]
    snapshots: tuple[TakenSnapshot, ...] = field(default=())


@dataclass(frozen=True)
class SnapshotRequest:
    """What the snapshot use case needs from the options.

    `provider_required` are the options the compute provider needs on top of the instance and
    the disks, as (option name, value) in barman's order; the provider's module gives them.
    """

    server_name: str
    prefix: str
    instance: str | None
    disks: tuple[str, ...]
    provider_required: tuple[tuple[str, str | None], ...] = ()
    immediate_checkpoint: bool = False
    backup_name: str | None = None
    keepalive_interval: float = 60

    def check_complete(self) -> None:
        """barman lists every missing option by its attribute name, in its order."""
        values = [("snapshot_disks", self.disks), ("snapshot_instance", self.instance)]
        missing = [name for name, value in [*values, *self.provider_required] if not value]
        if missing:
            raise InvalidInput(
                f"Incomplete options for snapshot backup - missing: {', '.join(missing)}"
            )


def snapshot_name(disk: str, backup_id: BackupId) -> str:
    """`<disk>-<backup id lower-cased>`: barman 3.20's delete refuses any other name."""
    return f"{disk}-{backup_id.value.lower()}"


def parse_findmnt(output: str) -> Mount | None:
    """findmnt -o TARGET,OPTIONS -n: nothing = not mounted; two fields; anything else fails."""
    fields = output.split()
    if not fields:
        return None
    if len(fields) != 2:
        raise ValueError(f"Unexpected findmnt output: {output.strip()}")
    return Mount(point=fields[0], options=fields[1])


def snapshots_info(taken: SnapshotSet, mounts: dict[str, Mount]) -> dict[str, Any]:
    """The backup.info literal barman's readers load: provider, provider_info, snapshots."""
    return {
        "provider": taken.provider,
        "provider_info": dict(taken.provider_info),
        "snapshots": [
            {
                "mount": {
                    "mount_options": mounts[snap.disk].options,
                    "mount_point": mounts[snap.disk].point,
                },
                "provider": dict(snap.fields),
            }
            for snap in taken.snapshots
        ],
    }


def is_within(path: str, mount_point: str) -> bool:
    if mount_point == "/":
        return path.startswith("/")
    return path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
