"""The real barman-cloud-restore --snapshot-recovery-instance accepts a snapshot backup of ours.

On moto EC2: a volume is made from the backup's snapshot and attached to a recovery instance
under the name of the block device that holds the cluster's PGDATA on this host, so barman's own
checks (the volumes attached to the recovery instance come from the backup's snapshots; each is
mounted where the backup.info says, with the same options: /sys/block and findmnt on this host's
real mount table) run for real. The "cloned disk" is this host's disk: the recovery directory is
a copy of PGDATA made on it, which barman-cloud-restore then completes with the backup_label;
PostgreSQL recovers from it with WAL from the archive, and the data is compared.
"""

from __future__ import annotations

import ast
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_snapshot_aws import ec2, holding_device, ok, run  # noqa: F401 (fixture)
from tests.support.moto_server import Destination, aws_env
from tests.support.oracle import Oracle
from tests.support.pgcluster import PgCluster, chown_to_postgres

pytestmark = pytest.mark.e2e


def _instance(ec2: Any, name: str) -> dict[str, Any]:  # noqa: F811
    image = ec2.describe_images()["Images"][0]["ImageId"]
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]
    return ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=tags)["Instances"][0]


def test_barman_restores_our_snapshot_backup_on_a_recovery_instance(
    backup_cmd: str, source: PgCluster, dest: Destination, oracle: Oracle, ec2: Any, workdir: Path  # noqa: F811
) -> None:
    device = holding_device(Path(source.pgdata))
    suffix = uuid.uuid4().hex[:8]
    instance, disk = f"pg-{suffix}", f"pgdata-{suffix}"
    vm = _instance(ec2, instance)
    zone = vm["Placement"]["AvailabilityZone"]
    volume = ec2.create_volume(
        Size=10, AvailabilityZone=zone,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": disk}]}],
    )  # fmt: skip
    ec2.attach_volume(VolumeId=volume["VolumeId"], InstanceId=vm["InstanceId"], Device=device)
    env = aws_env() | {"AWS_ENDPOINT_URL_EC2": dest.moto.endpoint_url}
    endpoint = ["--endpoint-url", dest.moto.endpoint_url]
    conn = ["-h", str(source.sockdir), "-p", str(source.port), "-U", "postgres"]
    snap = ["--snapshot-instance", instance, "--snapshot-disk", disk, "--aws-region", "us-east-1"]
    ok(run([backup_cmd, *endpoint, *conn, "--immediate-checkpoint", *snap, dest.url, dest.server], env))
    expected = source.fingerprint()

    tool = lambda name, *args: [oracle.tool(name), *endpoint, dest.url, dest.server, *args]  # noqa: E731
    (backup,) = json.loads(ok(run(tool("barman-cloud-backup-list", "--format", "json"), env)))["backups_list"]
    backup_id = backup["backup_id"]
    shown = json.loads(ok(run(tool("barman-cloud-backup-show", backup_id, "--format", "json"), env)))
    (snapshot,) = shown[dest.server]["snapshots_info"]["snapshots"]

    # The recovery instance, with a disk made from the backup's snapshot at the same device name.
    recovery = f"recovery-{suffix}"
    rvm = _instance(ec2, recovery)
    clone = ec2.create_volume(
        Size=10, AvailabilityZone=zone, SnapshotId=snapshot["provider"]["snapshot_id"]
    )
    ec2.attach_volume(VolumeId=clone["VolumeId"], InstanceId=rvm["InstanceId"], Device=device)

    # The cloned disk's content: PGDATA as the snapshot saw it (nothing was written since).
    source.stop()
    target = workdir / "restored" / "pgdata"
    target.parent.mkdir(parents=True)
    chown_to_postgres(target.parent, recursive=False)
    shutil.copytree(source.pgdata, target, symlinks=True)
    (target / "postmaster.pid").unlink(missing_ok=True)
    (target / "backup_label").unlink(missing_ok=True)

    # A recovery instance without the snapshot's disk is refused by barman's own check.
    bare = f"bare-{suffix}"
    _instance(ec2, bare)
    refused = run(tool("barman-cloud-restore", "--snapshot-recovery-instance", bare, backup_id, str(target)), env)
    assert refused.returncode != 0 and "not attached to recovery instance" in refused.stderr, refused.stderr

    ok(run(tool("barman-cloud-restore", "--snapshot-recovery-instance", recovery, backup_id, str(target)), env))
    label = (target / "backup_label").read_text()
    # backup.info keeps the label as a Python literal; barman wrote it out as the file
    assert label == ast.literal_eval(shown[dest.server]["backup_label"])
    assert f"LABEL: Barman backup {dest.server} {backup_id}" in label
    chown_to_postgres(target)
    restored = PgCluster(workdir / "restored", bindir=source.bindir, pgdata=target)
    restore_command = oracle.shell_command("barman-cloud-wal-restore", dest, "%f", "%p")
    restored.recover(restore_command, immediate=True)
    try:
        assert restored.fingerprint() == expected
    finally:
        restored.stop()
