"""The snapshot backup use case and its CLI path, with an in-memory compute API and mount table."""

from __future__ import annotations

import io
from typing import Any

import pytest
from dependency_injector import providers

from cloud_base_backup.adapters.object_stores.destination import Destination
from cloud_base_backup.domain import metadata
from cloud_base_backup.domain.errors import (
    BackupFailed,
    InvalidInput,
    MountError,
    SnapshotProviderError,
)
from cloud_base_backup.domain.model import Tablespace
from cloud_base_backup.domain.snapshot_backup import SnapshotDeps, take_snapshot_backup
from cloud_base_backup.domain.snapshots import Mount, parse_findmnt
from cloud_base_backup.entrypoints.cli import main
from cloud_base_backup.entrypoints.factories import snapshot_request
from cloud_base_backup.entrypoints.options import BackupOptions
from cloud_base_backup.entrypoints.providers.registry import provider_module
from tests.fakes import FakeClock, FakePostgres, RecordingLog, server_info
from tests.support.memory_snapshots import MemoryDisk, MemorySnapshotProvider
from tests.support.memory_store import MemoryObjectStore

PREFIX = "pg/main/base/20261126T041850/"


class StaticMounts:
    """A mount table: device -> Mount, and mount points (longest prefix holds a path)."""

    def __init__(self, devices: dict[str, Mount | Exception]) -> None:
        self.devices = devices

    def mount_of(self, device: str) -> Mount | None:
        found = self.devices.get(device)
        if isinstance(found, Exception):
            raise found
        return found

    def mount_point_of(self, path: str) -> str | None:
        points = [m.point for m in self.devices.values() if isinstance(m, Mount)] + ["/"]
        return max((p for p in points if path == p or path.startswith(p.rstrip("/") + "/")), key=len)


def world(**overrides: Any) -> dict[str, Any]:
    provider = MemorySnapshotProvider(
        instances={"vm": [MemoryDisk("pgdata", "/dev/sdf"), MemoryDisk("pgtbs", "/dev/sdg")]},
        provider_info={"account_id": "123456789012", "region": "us-east-1"},
    )
    mounts = StaticMounts({"/dev/sdf": Mount("/pg", "rw,noatime"), "/dev/sdg": Mount("/tbs", "rw")})
    pg = FakePostgres(info=server_info(pgdata="/pg/data", tablespaces=(Tablespace("tbs", 16385, "/tbs/t"),)))
    values = dict(provider=provider, mounts=mounts, pg=pg, store=MemoryObjectStore("bkt"), log=RecordingLog())
    values.update(overrides)
    return values


def run_use_case(w: dict[str, Any], **request: Any) -> Any:
    """The use case with the request and the provider's option checks built as the CLI builds
    them from the options (the provider's own module), and the in-memory compute API."""
    req = dict(server_name="main", prefix="pg", cloud_provider="aws-s3", instance="vm", disks=("pgdata", "pgtbs"))
    req.update(request)
    options = BackupOptions(
        destination_url=f"s3://bkt/{req.pop('prefix')}", snapshot_instance=req.pop("instance"),
        snapshot_disks=list(req.pop("disks")), **req,
    )

    def provider() -> Any:  # the provider module's checks, then (here) the in-memory API
        provider_module(options.cloud_provider).check_snapshot_options(options)
        return w["provider"]

    deps = SnapshotDeps(
        postgres=w["pg"], store=w["store"], provider=provider, mounts=w["mounts"],
        clock=FakeClock(), log=w["log"],
    )
    request_ = snapshot_request(options, Destination("aws-s3", "bkt", "pg"))
    return take_snapshot_backup(request_, deps)


def test_snapshots_between_start_and_stop_and_records_them() -> None:
    w = world()
    run_use_case(w, backup_name="nightly")
    store, pg = w["store"], w["pg"]
    assert sorted(store.objects) == [PREFIX + "backup.info", PREFIX + "backup_label"]
    assert [c for c in store.calls if c[0] == "put"] == [
        ("put", PREFIX + "backup.info"), ("put", PREFIX + "backup_label"), ("put", PREFIX + "backup.info"),
    ]
    # barman 3.20: the session is kept alive from the start until the snapshots are taken
    assert pg.calls[:5] == [
        "server_info", "check_backup_privileges", "start_backup", "keepalive", "stop_backup"
    ]
    assert pg.label == "Barman backup main 20261126T041850"
    assert store.objects[PREFIX + "backup_label"].decode().startswith("START WAL LOCATION")
    info = metadata.parse(store.objects[PREFIX + "backup.info"].decode())
    assert (info.status, info.server_name, info.backup_name) == ("DONE", "main", "nightly")
    assert info.compression is None and info.mode is None and info.size is None
    assert set(info.copy_stats or {}) == {"copy_time", "total_time"}
    assert info.snapshots_info == {
        "provider": "aws",
        "provider_info": {"account_id": "123456789012", "region": "us-east-1"},
        "snapshots": [
            {"mount": {"mount_options": "rw,noatime", "mount_point": "/pg"},
             "provider": {"device_name": "/dev/sdf", "snapshot_name": "pgdata-20261126t041850"}},
            {"mount": {"mount_options": "rw", "mount_point": "/tbs"},
             "provider": {"device_name": "/dev/sdg", "snapshot_name": "pgtbs-20261126t041850"}},
        ],
    }
    assert set(w["provider"].snapshots) == {"pgdata-20261126t041850", "pgtbs-20261126t041850"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(instance="nope"), "Cannot find compute instance nope"),
        (dict(disks=("pgdata", "ghost", "pgtbs")), "Cannot find disks attached to compute instance vm: ghost"),
        (dict(disks=("pgdata",)), r"tablespace tbs \(/tbs/t\) is on the filesystem mounted at /tbs"),
        (dict(disks=(), instance="vm"), "Incomplete options for snapshot backup - missing: snapshot_disks"),
        (dict(cloud_provider="google-cloud-storage", gcp_project="p"),
         "Incomplete options for snapshot backup - missing: gcp_zone"),
        (dict(cloud_provider="google-cloud-storage"), "--gcp-project option must be set"),
        (dict(cloud_provider="azure-blob-storage", azure_subscription_id="s"),
         "missing: azure_resource_group"),
        (dict(cloud_provider="azure-blob-storage"), "--azure-subscription-id option must be set"),
    ],
)
def test_precondition_failures_exit_4_and_start_nothing(change: dict[str, Any], message: str) -> None:
    w = world()
    with pytest.raises(InvalidInput, match=message) as raised:
        run_use_case(w, **change)
    assert raised.value.exit_code == 4
    assert w["store"].objects == {} and "start_backup" not in w["pg"].calls
    assert w["provider"].snapshots == {}


def test_an_unmounted_disk_warns_per_disk_then_fails() -> None:
    mounts = StaticMounts({"/dev/sdf": Mount("/pg", "rw"), "/dev/sdg": MountError("Unexpected findmnt output: a b c")})
    w = world(mounts=mounts)
    with pytest.raises(SnapshotProviderError, match="Cannot find disks mounted on compute instance vm: pgtbs"):
        run_use_case(w)
    assert w["log"].events("warning") == ["Error resolving mount point: Unexpected findmnt output: a b c"]


def test_a_failed_snapshot_after_the_start_writes_failed_and_exits_1() -> None:
    w = world()
    w["provider"].fail_on, w["provider"].fail_after = "take_snapshots", 1
    with pytest.raises(BackupFailed, match=r"Backup failed uploading data \(Snapshot of pgtbs failed") as raised:
        run_use_case(w, backup_name="nightly")
    assert raised.value.exit_code == 1
    info = metadata.parse(w["store"].objects[PREFIX + "backup.info"].decode())
    assert (info.status, info.backup_name, info.snapshots_info) == ("FAILED", "nightly", None)
    assert info.error == "failure uploading data (Snapshot of pgtbs failed: simulated)"
    assert "abort_backup" in w["pg"].calls and PREFIX + "backup_label" not in w["store"].objects


def test_findmnt_output_rules() -> None:
    assert parse_findmnt("") is None
    assert parse_findmnt("/var/lib/postgresql rw,noatime\n") == Mount("/var/lib/postgresql", "rw,noatime")
    with pytest.raises(ValueError, match="Unexpected findmnt output"):
        parse_findmnt("/a rw\n/b rw\n")


def test_cli_snapshot_backup_exits_0_and_bad_combinations_exit_4() -> None:
    w = world()

    def configure(container: Any) -> None:
        container.object_store.override(providers.Object(w["store"]))
        container.postgres.override(providers.Object(w["pg"]))
        container.clock.override(providers.Object(FakeClock()))
        container.snapshot_provider.override(providers.Object(w["provider"]))
        container.mounts.override(providers.Object(w["mounts"]))

    out, err = io.StringIO(), io.StringIO()
    argv = ["s3://bkt/pg", "main", "--snapshot-instance", "vm", "--snapshot-disk", "pgdata", "--snapshot-disk", "pgtbs"]
    assert main(argv, {}, out, err, configure=configure) == 0, err.getvalue()
    assert metadata.parse(w["store"].objects[PREFIX + "backup.info"].decode()).status == "DONE"
    assert main([*argv, "-z"], {}, out, err, configure=configure) == 4
    assert main(["s3://bkt/pg", "main", "--snapshot-instance", "vm"], {}, out, err, configure=configure) == 4
    assert "missing: snapshot_disks" in err.getvalue()


def test_keepalive_interval_zero_sends_no_heartbeat() -> None:
    w = world()
    run_use_case(w, keepalive_interval=0)
    assert "keepalive" not in w["pg"].calls and "stop_backup" in w["pg"].calls


def test_a_session_lost_during_the_snapshots_ends_failed() -> None:
    w = world()
    w["pg"].lose_connection_after_keepalives = 0
    with pytest.raises(BackupFailed):
        run_use_case(w)
    info = metadata.parse(w["store"].objects[PREFIX + "backup.info"].decode())
    assert info.status == "FAILED" and "Connection to the Postgres server was lost" in (info.error or "")
    assert "stop_backup" not in w["pg"].calls
