"""Our CLI -> fake-gcs-server (STORAGE_EMULATOR_HOST) -> the real barman-cloud-restore."""

from __future__ import annotations

import uuid

import pytest

from tests.support.cloud_roundtrip import (
    CloudDest,
    restore_and_compare,
    take_backup,
    the_done_backup,
)
from tests.support.fake_gcs import FakeGcs

pytestmark = pytest.mark.e2e


@pytest.fixture
def cloud(fake_gcs: FakeGcs) -> CloudDest:
    bucket, path = fake_gcs.create_bucket(), f"e2e/{uuid.uuid4().hex[:8]}"
    return CloudDest(
        "google-cloud-storage",
        f"gs://{bucket}/{path}",
        "pg",
        fake_gcs.env,
        lambda under: fake_gcs.keys(bucket, f"{path}/{under}"),
    )


def test_gzip_backup(backup_cmd, source, dest, cloud, oracle, workdir, tablespace):
    take_backup(backup_cmd, source, cloud, "-z", "--tag", "purpose,e2e test")
    expected = source.fingerprint()
    backup_id = the_done_backup(oracle, cloud, tablespace)
    assert {"backup.info", "data.tar.gz"} <= cloud.names(backup_id)
    restore_and_compare(oracle, cloud, dest, backup_id, workdir, source, tablespace, expected)


def test_split_archives_streamed_in_parts(
    backup_cmd, source, dest, cloud, oracle, workdir, tablespace
):
    # 12 MiB archives over 5 MiB parts: each archive is a resumable stream of several parts
    take_backup(backup_cmd, source, cloud, "-S", "12MB", "-J", "3")
    expected = source.fingerprint()
    backup_id = the_done_backup(oracle, cloud, tablespace)
    assert {"data.tar", "data_0001.tar"} <= cloud.names(backup_id)
    restore_and_compare(oracle, cloud, dest, backup_id, workdir, source, tablespace, expected)
