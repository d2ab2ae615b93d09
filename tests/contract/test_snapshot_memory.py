"""The SnapshotProvider contract on the in-memory provider."""

from __future__ import annotations

import pytest

from tests.support.memory_snapshots import MemoryDisk, MemorySnapshotProvider

from .snapshot_suite import SnapshotExists, SnapshotProviderContract, SnapshotWorld

pytestmark = pytest.mark.contract


class MemoryFixtures:
    @pytest.fixture
    def world(self) -> SnapshotWorld:
        return SnapshotWorld(
            instance="pg-vm",
            disks=("pgdata", "pgwal"),
            devices={"pgdata": ("/dev/sdf",), "pgwal": ("/dev/sdg",)},
            unattached="spare",
            provider="aws",
            provider_info={"account_id": "1", "region": "r"},
            fields=("device_name", "snapshot_name"),
        )

    @pytest.fixture
    def subject(self, world: SnapshotWorld) -> MemorySnapshotProvider:
        disks = [MemoryDisk(d, world.devices[d][0]) for d in world.disks]
        return MemorySnapshotProvider(instances={world.instance: disks, "other": [MemoryDisk("spare", "/dev/x")]})

    @pytest.fixture
    def snapshot_exists(self, subject: MemorySnapshotProvider) -> SnapshotExists:
        return lambda name: name in subject.snapshots


class TestMemorySnapshotProvider(MemoryFixtures, SnapshotProviderContract):
    pass
