"""The SnapshotProvider contract on GceSnapshotProvider, replayed from cassettes."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from google.api_core.exceptions import NotFound
from google.auth.credentials import AnonymousCredentials

from cloud_base_backup.adapters.snapshots.gcp_compute import GceSnapshotProvider
from cloud_base_backup.domain.errors import InvalidInput
from tests.support.cassettes import RECORD, use_cassette

from .snapshot_suite import SnapshotExists, SnapshotProviderContract, SnapshotWorld

pytestmark = pytest.mark.contract

PROJECT, ZONE = "my-project", "europe-west1-b"


class GceFixtures:
    @pytest.fixture
    def world(self) -> SnapshotWorld:
        return SnapshotWorld(
            instance="pg-vm",
            disks=("pgdata", "pgwal"),  # attachment order
            devices={
                "pgdata": ("/dev/disk/by-id/google-pgdata-dev",),
                "pgwal": ("/dev/disk/by-id/google-pgwal-dev",),
            },
            unattached="spare",
            provider="gcp",
            provider_info={"project": PROJECT},
            fields=("device_name", "snapshot_name", "snapshot_project"),
        )

    @pytest.fixture
    def subject(self, request: pytest.FixtureRequest) -> Iterator[GceSnapshotProvider]:
        project = os.environ.get("CASSETTE_GCP_PROJECT", PROJECT) if RECORD else PROJECT
        zone = os.environ.get("CASSETTE_GCP_ZONE", ZONE) if RECORD else ZONE
        # a test seam: replay needs no credentials at all; recording uses ADC
        credentials = None if RECORD else AnonymousCredentials()
        with use_cassette(request, {project: PROJECT, zone: ZONE}):
            yield GceSnapshotProvider(project, zone, credentials=credentials)

    @pytest.fixture
    def snapshot_exists(self, subject: GceSnapshotProvider) -> SnapshotExists:
        def exists(name: str) -> bool:
            try:
                subject.snapshots.get(project=subject.project, snapshot=name)
            except NotFound:
                return False
            return True

        return exists


class TestGceSnapshotProvider(GceFixtures, SnapshotProviderContract):
    pass


def test_missing_project_is_refused() -> None:
    # The rule moved out of the adapter to the provider's option checks (one place per option).
    from cloud_base_backup.entrypoints.options import BackupOptions
    from cloud_base_backup.entrypoints.providers.google import check_snapshot_options

    options = BackupOptions(
        destination_url="gs://bucket/path", server_name="pg",
        cloud_provider="google-cloud-storage", gcp_zone=ZONE,
    )
    with pytest.raises(InvalidInput, match="--gcp-project"):
        check_snapshot_options(options)
