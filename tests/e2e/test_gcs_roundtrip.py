"""Our CLI -> fake-gcs-server (STORAGE_EMULATOR_HOST) -> the real barman-cloud-restore."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from cloud_base_backup.adapters.object_stores.gcs_upload import TEMP_MARK
from tests.support.cloud_roundtrip import (
    CloudDest,
    restore_and_compare,
    take_backup,
    the_done_backup,
)
from tests.support.counting_proxy import counting_proxy
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


def _is_part(method: str, path: str, body: bytes) -> bool:
    return method == "POST" and "uploadType=multipart" in path and TEMP_MARK.encode() in body


def test_split_archives_uploaded_in_parallel_parts(
    backup_cmd, source, dest, cloud, oracle, workdir, tablespace, fake_gcs
):
    # 12 MiB archives over 5 MiB parts, -J 3: our CLI goes through a proxy that counts the
    # part uploads in flight at fake-gcs-server; barman's tools talk to it directly.
    with counting_proxy(fake_gcs.endpoint, _is_part) as (proxy, parts):
        ours = replace(cloud, env={"STORAGE_EMULATOR_HOST": proxy})
        take_backup(backup_cmd, source, ours, "-S", "12MB", "-J", "3")
    assert parts.seen >= 6 and parts.most >= 2  # parts overlap: never one at a time
    assert parts.most <= 3  # -J bounds the parts in flight
    expected = source.fingerprint()
    backup_id = the_done_backup(oracle, cloud, tablespace)
    assert {"data.tar", "data_0001.tar"} <= cloud.names(backup_id)
    assert not [key for key in cloud.list_keys("") if TEMP_MARK in key]  # no part object left
    restore_and_compare(oracle, cloud, dest, backup_id, workdir, source, tablespace, expected)
