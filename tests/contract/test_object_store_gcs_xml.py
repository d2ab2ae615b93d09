"""GCS's XML multipart path (the one real GCS gets) against moto, which speaks the same protocol.

fake-gcs-server has no XML multipart API, so the JSON calls of the store cannot run here; these
tests drive the multipart calls and read the result back with a plain S3 client.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage.retry import DEFAULT_RETRY

from cloud_base_backup.adapters.object_stores.gcs import GcsObjectStore
from cloud_base_backup.adapters.tar_sink import TarArchiveSink
from cloud_base_backup.adapters.uploads import PartUploader, Throttle, UploadPool
from cloud_base_backup.domain.errors import StorageError
from cloud_base_backup.domain.model import MemoryFile
from cloud_base_backup.domain.orphans import abort_stale_uploads
from tests.fakes import RecordingLog
from tests.support.in_flight import parts_in_flight

pytestmark = pytest.mark.contract
PART = 5 << 20


@pytest.fixture
def store(moto_endpoint: str, s3_bucket: str) -> GcsObjectStore:
    return GcsObjectStore(
        s3_bucket,
        client_options={"api_endpoint": moto_endpoint},
        credentials=AnonymousCredentials(),
        project="test",
        retry=DEFAULT_RETRY.with_deadline(3),
        multipart="xml",
        xml_endpoint=moto_endpoint,
        xml_checksum=None,  # moto sends no x-goog-hash to check a part's CRC32C against
        tags=[("purpose", "contract test")],
        kms_key_name="projects/p/locations/global/keyRings/r/cryptoKeys/k",
    )


def _open_parts(s3_admin: Any, bucket: str, key: str) -> dict[int, int]:
    (upload,) = s3_admin.list_multipart_uploads(Bucket=bucket, Prefix=key)["Uploads"]
    parts = s3_admin.list_parts(Bucket=bucket, Key=key, UploadId=upload["UploadId"])["Parts"]
    return {part["PartNumber"]: part["Size"] for part in parts}


def test_parts_go_in_parallel_in_equal_sizes_and_join_in_order(
    store: GcsObjectStore, s3_admin: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "srv/base/20261130T000000/data.tar"
    data = os.urandom(3 * PART + 12345)  # four parts: they meet two by two
    pool = UploadPool(2)
    uploader = PartUploader(store, key, PART, pool, Throttle(None))
    is_part = lambda method, url: method == "PUT" and "partNumber=" in url  # noqa: E731
    with parts_in_flight(monkeypatch, is_part, meet=2) as flight:
        for start in range(0, len(data), 777_777):
            uploader.write(data[start : start + 777_777])
        uploader.finish()
    pool.shutdown()
    assert flight.seen == 4 and flight.most == 2  # never one at a time, never more than -J
    assert s3_admin.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == data
    assert store.open_multiparts("srv/") == []


def test_equal_parts_read_back_before_completion(
    store: GcsObjectStore, s3_admin: Any, s3_bucket: str
) -> None:
    key = "srv/base/x/data.tar"
    upload = store.start_multipart(key)
    upload.upload_part(2, b"b" * 10)
    upload.upload_part(1, b"a" * PART)
    assert _open_parts(s3_admin, s3_bucket, key) == {1: PART, 2: 10}
    assert store.open_multiparts("srv/") == [key] and store.open_multiparts("other/") == []
    upload.complete()
    assert s3_admin.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == b"a" * PART + b"b" * 10


def test_a_failed_archive_leaves_no_upload_and_no_object(
    store: GcsObjectStore, s3_admin: Any, s3_bucket: str
) -> None:
    sink = TarArchiveSink(store, None, part_size=PART, jobs=2)
    writer = sink.open("srv/base/x/data.tar")
    writer.add(MemoryFile("big", os.urandom(2 * PART)))
    writer.abort()
    writer.abort()
    sink.close()
    assert s3_admin.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    assert s3_admin.list_objects_v2(Bucket=s3_bucket)["KeyCount"] == 0


def test_an_empty_upload_completes_as_an_empty_object(
    store: GcsObjectStore, s3_admin: Any, s3_bucket: str
) -> None:
    store.start_multipart("empty.tar").complete()
    assert s3_admin.get_object(Bucket=s3_bucket, Key="empty.tar")["Body"].read() == b""


def test_the_service_refusing_a_part_is_a_storage_error(store: GcsObjectStore) -> None:
    upload = store.start_multipart("data.tar")
    store.cancel_xml_upload("data.tar", upload.upload_id)  # gone under its feet
    with pytest.raises(StorageError) as raised:
        upload.upload_part(1, b"x")
    assert "\n" not in str(raised.value)
    upload.abort()


def test_a_stale_upload_is_aborted_and_a_fresh_one_left(store: GcsObjectStore) -> None:
    upload = store.start_multipart("srv/base/20261101T000000/data.tar")
    upload.upload_part(1, b"part")
    (found,) = store.list_open_uploads("srv/base/")
    assert found.key == upload.key and found.upload_id == upload.upload_id
    fresh = found.last_activity + timedelta(hours=1)
    assert abort_stale_uploads(store, "srv/base/", 2 * 3600, fresh, RecordingLog()) == []
    assert store.open_multiparts("srv/") == [upload.key]
    stale = found.last_activity + timedelta(hours=25)
    assert abort_stale_uploads(store, "srv/base/", 24 * 3600, stale, RecordingLog()) == [upload.key]
    assert store.open_multiparts("srv/") == []
