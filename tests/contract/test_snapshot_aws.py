"""The SnapshotProvider contract on Ec2SnapshotProvider against moto's EC2; locking via Stubber."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from cloud_base_backup.adapters.snapshots.aws_ec2 import Ec2SnapshotProvider, device_candidates
from cloud_base_backup.domain.errors import InvalidInput, SnapshotProviderError

from .snapshot_suite import BACKUP_ID, SnapshotExists, SnapshotProviderContract, SnapshotWorld

pytestmark = pytest.mark.contract


@pytest.fixture(scope="session")
def ec2_admin(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client("ec2", endpoint_url=moto_endpoint, region_name="us-east-1")


def _tags(name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name}]}]


def make_instance(ec2: Any, name: str, volumes: dict[str, str]) -> tuple[str, dict[str, str]]:
    """An instance named `name` with one volume per (Name tag -> device); returns the ids."""
    image = ec2.describe_images()["Images"][0]["ImageId"]
    tag = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]
    inst = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=tag)["Instances"][0]
    zone = inst["Placement"]["AvailabilityZone"]
    ids = {}
    for vol_name, device in volumes.items():
        vol = ec2.create_volume(Size=1, AvailabilityZone=zone, TagSpecifications=_tags(vol_name))
        if device:
            ec2.attach_volume(VolumeId=vol["VolumeId"], InstanceId=inst["InstanceId"], Device=device)
        ids[vol_name] = vol["VolumeId"]
    return inst["InstanceId"], ids


class Ec2Fixtures:
    @pytest.fixture
    def sys_block(self, tmp_path: Path) -> str:
        # this "host" names the first volume xvdf (EC2's renaming of sdf) and the second sdg
        for block in ("xvdf", "sdg", "loop0"):
            (tmp_path / block).mkdir()
        return str(tmp_path)

    @pytest.fixture
    def world(self, ec2_admin: Any) -> SnapshotWorld:
        suffix = uuid.uuid4().hex[:8]
        pgdata, pgwal, spare = f"pgdata-{suffix}", f"pgwal-{suffix}", f"spare-{suffix}"
        instance_id, ids = make_instance(
            ec2_admin, f"pg-{suffix}", {pgdata: "/dev/sdf", pgwal: "/dev/sdg", spare: ""}
        )
        return SnapshotWorld(
            instance=f"pg-{suffix}",
            disks=(pgdata, ids[pgwal]),  # a Name tag and a volume id both name a disk
            devices={pgdata: ("/dev/xvdf", "xvdf"), ids[pgwal]: ("/dev/sdg", "sdg")},
            unattached=spare,
            provider="aws",
            provider_info={"account_id": "123456789012", "region": "us-east-1"},
            fields=("device_name", "snapshot_id", "snapshot_name", "snapshot_lock_mode"),
            missing_instance=f"i-{uuid.uuid4().hex[:17]}",
            extra={"instance_id": instance_id},
        )

    @pytest.fixture
    def subject(self, moto_endpoint: str, sys_block: str) -> Ec2SnapshotProvider:
        return Ec2SnapshotProvider(region="us-east-1", endpoint_url=moto_endpoint, sys_block=sys_block)

    @pytest.fixture
    def snapshot_exists(self, ec2_admin: Any) -> SnapshotExists:
        def exists(name: str) -> bool:
            found = ec2_admin.describe_snapshots(
                OwnerIds=["self"], Filters=[{"Name": "tag:Name", "Values": [name]}]
            )
            return bool(found["Snapshots"])

        return exists


class TestEc2SnapshotProvider(Ec2Fixtures, SnapshotProviderContract):
    pass


class TestEc2Specifics(Ec2Fixtures):
    def test_instance_by_id_and_snapshot_tags(
        self, subject: Ec2SnapshotProvider, world: SnapshotWorld, ec2_admin: Any, moto_endpoint: str
    ) -> None:
        tagged = Ec2SnapshotProvider(
            region="us-east-1", endpoint_url=moto_endpoint, tags=[("team", "db")],
            sys_block=subject.sys_block,
        )
        instance_id = world.extra["instance_id"]
        assert tagged.instance_exists(instance_id)
        taken = tagged.take_snapshots(instance_id, [world.disks[0]], BACKUP_ID)
        (snap,) = ec2_admin.describe_snapshots(SnapshotIds=[taken.snapshots[0].fields["snapshot_id"]])["Snapshots"]
        tags = {t["Key"]: t["Value"] for t in snap["Tags"]}
        assert tags == {"Name": f"{world.disks[0]}-20261126t041953", "team": "db"}
        assert taken.snapshots[0].fields["device_name"] == "/dev/sdf"

    def test_the_root_volume_reads_as_not_attached(
        self, subject: Ec2SnapshotProvider, world: SnapshotWorld, ec2_admin: Any
    ) -> None:
        (res,) = ec2_admin.describe_instances(InstanceIds=[world.extra["instance_id"]])["Reservations"]
        root = [m for m in res["Instances"][0]["BlockDeviceMappings"] if m["DeviceName"] == "/dev/sda1"]
        root_volume = root[0]["Ebs"]["VolumeId"]
        assert subject.attached_disks(world.instance, [root_volume]) == {}

    def test_no_region_at_all_is_invalid_input(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        with pytest.raises(InvalidInput, match="You must specify a region."):
            Ec2SnapshotProvider()


def test_device_candidates_nvme_serial(tmp_path: Path) -> None:
    (tmp_path / "nvme1n1" / "device").mkdir(parents=True)
    (tmp_path / "nvme1n1" / "device" / "serial").write_text("vol0123456789abcdef0\n")
    (tmp_path / "hdf").mkdir()
    found = device_candidates("/dev/sdf", "vol-0123456789abcdef0", False, str(tmp_path))
    assert found == ("/dev/nvme1n1", "nvme1n1")
    assert device_candidates("/dev/sdf", "vol-x", True, str(tmp_path)) == ("/dev/hdf", "hdf")
    assert device_candidates("/dev/sdz", "vol-x", False, str(tmp_path)) == ("/dev/sdz", "sdz")


class TestEc2Locking:
    """moto has no LockSnapshot (HTTP 500): the calls are checked with botocore's Stubber."""

    INSTANCE = {
        "InstanceId": "i-0123456789abcdef0",
        "RootDeviceName": "/dev/sda1",
        "VirtualizationType": "hvm",
        "BlockDeviceMappings": [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeId": "vol-1"}}],
    }
    VOLUME = {
        "VolumeId": "vol-1",
        "Attachments": [{"InstanceId": "i-0123456789abcdef0", "Device": "/dev/sdf"}],
    }

    def stubbed(self, provider: Ec2SnapshotProvider, lock_args: dict[str, Any], lock_error: str | None = None) -> Stubber:
        stub = Stubber(provider.client)
        stub.add_response("describe_instances", {"Reservations": [{"Instances": [self.INSTANCE]}]}, {"InstanceIds": ["i-0123456789abcdef0"], "Filters": ANY})
        stub.add_response("describe_volumes", {"Volumes": [self.VOLUME]}, {"Filters": ANY})
        stub.add_response(
            "create_snapshot",
            {"SnapshotId": "snap-1", "State": "pending", "OwnerId": "111122223333"},
            {"VolumeId": "vol-1", "TagSpecifications": ANY},
        )
        if lock_error:
            stub.add_client_error("lock_snapshot", lock_error, "no lock for you", expected_params=lock_args)
            return stub
        stub.add_response("lock_snapshot", {"SnapshotId": "snap-1", "LockState": "governance"}, lock_args)
        stub.add_response("describe_snapshots", {"Snapshots": [{"SnapshotId": "snap-1", "State": "completed"}]}, {"SnapshotIds": ["snap-1"]})
        return stub

    def test_each_snapshot_is_locked_right_after_its_creation(self) -> None:
        provider = Ec2SnapshotProvider(region="eu-west-1", lock_mode="governance", lock_duration=7)
        args = {"SnapshotId": "snap-1", "LockMode": "governance", "LockDuration": 7}
        with self.stubbed(provider, args) as stub:
            taken = provider.take_snapshots("i-0123456789abcdef0", ["vol-1"], BACKUP_ID)
            stub.assert_no_pending_responses()
        assert taken.snapshots[0].fields["snapshot_lock_mode"] == "governance"
        assert taken.provider_info == {"account_id": "111122223333", "region": "eu-west-1"}

    def test_compliance_with_cool_off_and_expiration_date(self) -> None:
        provider = Ec2SnapshotProvider(
            region="eu-west-1", lock_mode="compliance", lock_cool_off_period=2,
            lock_expiration_date="2030-01-01T00:00:00.000Z",
        )
        args = {"SnapshotId": "snap-1", "LockMode": "compliance", "CoolOffPeriod": 2, "ExpirationDate": ANY}
        with self.stubbed(provider, args) as stub:
            provider.take_snapshots("i-0123456789abcdef0", ["vol-1"], BACKUP_ID)
            stub.assert_no_pending_responses()

    def test_a_refused_lock_is_a_one_line_provider_error(self) -> None:
        provider = Ec2SnapshotProvider(region="eu-west-1", lock_mode="governance", lock_duration=1)
        args = {"SnapshotId": "snap-1", "LockMode": "governance", "LockDuration": 1}
        with self.stubbed(provider, args, lock_error="UnauthorizedOperation"), pytest.raises(
            SnapshotProviderError, match="Locking snapshot snap-1 failed: UnauthorizedOperation"
        ):
            provider.take_snapshots("i-0123456789abcdef0", ["vol-1"], BACKUP_ID)
