"""The SnapshotProvider contract on AzureComputeSnapshotProvider, replayed from cassettes."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ResourceNotFoundError

from cloud_base_backup.adapters.snapshots.azure_compute import AzureComputeSnapshotProvider
from tests.support.cassettes import RECORD, use_cassette

from .snapshot_suite import BACKUP_ID, SnapshotExists, SnapshotProviderContract, SnapshotWorld

pytestmark = pytest.mark.contract

SUBSCRIPTION, GROUP = "00000000-0000-0000-0000-000000000000", "pg-rg"


class StaticToken:
    """A test seam: replay needs a bearer token of some kind, never a real one."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("replay-token", int(time.time()) + 3600)


class AzureFixtures:
    @pytest.fixture
    def world(self) -> SnapshotWorld:
        return SnapshotWorld(
            instance="pg-vm",
            disks=("pgdata", "pgwal"),  # data-disk (LUN) order
            devices={"pgdata": ("/dev/disk/azure/scsi1/lun0",), "pgwal": ("/dev/disk/azure/scsi1/lun1",)},
            unattached="pg-vm_OsDisk_1",  # the OS disk never counts as attached
            provider="azure",
            provider_info={"subscription_id": SUBSCRIPTION, "resource_group": GROUP},
            fields=("location", "lun", "snapshot_name"),
        )

    @pytest.fixture
    def subject(self, request: pytest.FixtureRequest) -> Iterator[AzureComputeSnapshotProvider]:
        real_sub = os.environ.get("CASSETTE_AZURE_SUBSCRIPTION", SUBSCRIPTION) if RECORD else SUBSCRIPTION
        real_group = os.environ.get("CASSETTE_AZURE_RESOURCE_GROUP", GROUP) if RECORD else GROUP
        if RECORD:
            from azure.identity import DefaultAzureCredential

            credential: Any = DefaultAzureCredential()
        else:
            credential = StaticToken()
        with use_cassette(request, {real_sub: SUBSCRIPTION, real_group: GROUP}):
            provider = AzureComputeSnapshotProvider(
                real_sub, real_group, credential, polling_interval=None if RECORD else 0
            )
            yield provider

    @pytest.fixture
    def snapshot_exists(self, subject: AzureComputeSnapshotProvider) -> SnapshotExists:
        def exists(name: str) -> bool:
            try:
                subject.client.snapshots.get(subject.resource_group, name)
            except ResourceNotFoundError:
                return False
            return True

        return exists


class TestAzureComputeSnapshotProvider(AzureFixtures, SnapshotProviderContract):
    pass


class TestAzureRequestShape(AzureFixtures):
    def test_snapshot_body_is_the_arm_shape(self, request: pytest.FixtureRequest) -> None:
        """barman 3.19.1's flat snake_case body is rejected by Azure (#1186): send properties.creationData."""
        sent: list[dict[str, Any]] = []

        def capture(pipeline_request: Any) -> None:
            if pipeline_request.http_request.method == "PUT":
                sent.append(json.loads(pipeline_request.http_request.body))

        with use_cassette(request, {}):
            subject = AzureComputeSnapshotProvider(
                SUBSCRIPTION, GROUP, StaticToken(), polling_interval=0, raw_request_hook=capture
            )
            subject.take_snapshots("pg-vm", ["pgdata"], BACKUP_ID)
        assert sent == [
            {
                "location": "westeurope",
                "properties": {
                    "incremental": True,
                    "creationData": {
                        "createOption": "Copy",
                        "sourceResourceId": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}"
                        "/providers/Microsoft.Compute/disks/pgdata",
                    },
                },
            }
        ]
