"""Snapshot backup on moto (EC2 + S3) of a real cluster; the real barman list, show and delete it.

The disk check runs against this host's real mount table: the moto instance's volume is attached
under the name of the block device that holds the cluster's PGDATA, which the adapter then
resolves with /sys/block and findmnt exactly as on EC2 (B.4).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.moto_server import AWS_ENV, Destination, aws_env
from tests.support.oracle import Oracle
from tests.support.pgcluster import PgCluster

pytestmark = pytest.mark.e2e


def holding_device(path: Path) -> str:
    """The block device (`/dev/vda`) of the filesystem holding path; fail if there is none."""
    source = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE", "--target", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    name = source.removeprefix("/dev/")
    if not source.startswith("/dev/") or not Path("/sys/block", name).exists():
        pytest.fail(f"{path} is on {source!r}, not a whole block device listed in /sys/block")
    return source


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)


def ok(res: subprocess.CompletedProcess[str]) -> str:
    assert res.returncode == 0, f"exit {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res.stdout


@pytest.fixture
def ec2(dest: Destination) -> Any:
    return boto3.client(
        "ec2", endpoint_url=dest.moto.endpoint_url, region_name="us-east-1",
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"], aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def test_snapshot_backup_listed_shown_and_deleted_by_barman(
    backup_cmd: str, source: PgCluster, dest: Destination, oracle: Oracle, ec2: Any
) -> None:
    device = holding_device(Path(source.pgdata))
    suffix = uuid.uuid4().hex[:8]
    instance, disk = f"pg-{suffix}", f"pgdata-{suffix}"
    image = ec2.describe_images()["Images"][0]["ImageId"]
    name_tag = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": instance}]}]
    vm = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=name_tag)["Instances"][0]
    volume = ec2.create_volume(
        Size=10, AvailabilityZone=vm["Placement"]["AvailabilityZone"],
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": disk}]}],
    )
    ec2.attach_volume(VolumeId=volume["VolumeId"], InstanceId=vm["InstanceId"], Device=device)
    # EC2 ignores --endpoint-url (it is S3's), as in barman; botocore's per-service variable works
    env = aws_env() | {"AWS_ENDPOINT_URL_EC2": dest.moto.endpoint_url}
    endpoint = ["--endpoint-url", dest.moto.endpoint_url]
    conn = ["-h", str(source.sockdir), "-p", str(source.port), "-U", "postgres"]
    snap = ["--snapshot-instance", instance, "--snapshot-disk", disk, "--aws-region", "us-east-1"]

    # a disk that is not attached: exit 4, nothing uploaded, nothing snapshotted
    refused = run([backup_cmd, *endpoint, *conn, *snap, "--snapshot-disk", "ghost", dest.url, dest.server], env)
    assert refused.returncode == 4, refused.stderr
    assert "Cannot find disks attached to compute instance" in refused.stderr
    assert dest.keys("base/") == []

    ok(run([backup_cmd, *endpoint, *conn, "--immediate-checkpoint", *snap, "--tag", "team,db", dest.url, dest.server], env))

    tool = lambda name, *args: [oracle.tool(name), *endpoint, dest.url, dest.server, *args]  # noqa: E731
    listed = json.loads(ok(run(tool("barman-cloud-backup-list", "--format", "json"), env)))
    (backup,) = listed["backups_list"]
    assert backup["status"] == "DONE"
    backup_id = backup["backup_id"]
    assert sorted(k.rsplit("/", 1)[1] for k in dest.keys(f"base/{backup_id}/")) == ["backup.info", "backup_label"]

    shown = json.loads(ok(run(tool("barman-cloud-backup-show", backup_id, "--format", "json"), env)))
    info = shown[dest.server]  # a snapshot backup.info carries the server name it was given
    snapshots_info = info["snapshots_info"]
    assert snapshots_info["provider"] == "aws"
    assert snapshots_info["provider_info"] == {"account_id": "123456789012", "region": "us-east-1"}
    (snapshot,) = snapshots_info["snapshots"]
    assert snapshot["provider"]["device_name"] == device
    assert snapshot["provider"]["snapshot_name"] == f"{disk}-{backup_id.lower()}"
    assert snapshot["mount"]["mount_point"] == subprocess.run(
        ["findmnt", "-n", "-o", "TARGET", "--target", str(source.pgdata)], capture_output=True, text=True
    ).stdout.strip()
    found = ec2.describe_snapshots(SnapshotIds=[snapshot["provider"]["snapshot_id"]])["Snapshots"]
    tags = {t["Key"]: t["Value"] for t in found[0]["Tags"]}
    assert tags == {"Name": snapshot["provider"]["snapshot_name"], "team": "db"}
    console = ok(run(tool("barman-cloud-backup-show", backup_id), env))
    assert "Snapshot information:" in console and snapshot["provider"]["snapshot_id"] in console

    ok(run(tool("barman-cloud-backup-delete", "-b", backup_id), env))
    assert dest.keys(f"base/{backup_id}/") == []
    gone = ec2.describe_snapshots(Filters=[{"Name": "tag:Name", "Values": [snapshot["provider"]["snapshot_name"]]}])
    assert gone["Snapshots"] == []
