"""The ObjectStore contract on GcsObjectStore against fake-gcs-server, plus GCS-only behaviour."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage.retry import DEFAULT_RETRY

from cloud_base_backup.adapters.object_stores.gcs import GcsObjectStore
from cloud_base_backup.adapters.object_stores.gcs_upload import TEMP_MARK
from cloud_base_backup.adapters.uploads import PartUploader, Throttle, UploadPool
from cloud_base_backup.domain.errors import InvalidInput
from cloud_base_backup.domain.ports import ObjectStore
from tests.support.fake_gcs import FakeGcs
from tests.support.in_flight import parts_in_flight
from tests.support.ports import free_port

from .object_store_suite import ObjectStoreContract, ReadOpenParts, ReadTags

pytestmark = pytest.mark.contract

KMS_KEY = "projects/p/locations/global/keyRings/r/cryptoKeys/backups"


def make_store(endpoint: str, bucket: str, **options: Any) -> GcsObjectStore:
    return GcsObjectStore(
        bucket,
        client_options={"api_endpoint": endpoint},
        credentials=AnonymousCredentials(),
        project="test",
        retry=DEFAULT_RETRY.with_deadline(3),
        **options,
    )


class GcsFixtures:
    @pytest.fixture
    def subject(self, fake_gcs: FakeGcs, gcs_bucket: str, store_tags: Any) -> ObjectStore:
        return make_store(fake_gcs.endpoint, gcs_bucket, tags=store_tags)

    @pytest.fixture
    def missing_bucket_subject(self, fake_gcs: FakeGcs) -> ObjectStore:
        return make_store(fake_gcs.endpoint, f"missing-{uuid.uuid4().hex[:16]}")

    @pytest.fixture
    def unreachable_subject(self) -> ObjectStore:
        return make_store(f"http://127.0.0.1:{free_port()}", "anything")

    @pytest.fixture
    def min_part_size(self) -> int:
        return 0

    @pytest.fixture
    def read_open_parts(self, fake_gcs: FakeGcs, gcs_bucket: str) -> ReadOpenParts:
        """The compose path's part objects, <key>.part-<token>-<number>, before the compose."""

        def read(key: str) -> dict[int, int]:
            blobs = fake_gcs.client().list_blobs(gcs_bucket, prefix=key + TEMP_MARK)
            return {int(blob.name.rsplit("-", 1)[1]): blob.size for blob in blobs}

        return read

    @pytest.fixture
    def read_tags(self, fake_gcs: FakeGcs, gcs_bucket: str) -> ReadTags:
        bucket = fake_gcs.client().bucket(gcs_bucket)
        return lambda key: dict(bucket.get_blob(key).metadata or {})


class TestGcsObjectStore(GcsFixtures, ObjectStoreContract):
    pass


class TestGcsSpecifics(GcsFixtures):
    @pytest.fixture
    def store_tags(self) -> list[tuple[str, str]]:
        return []

    def test_the_emulator_gets_the_compose_path_and_gcs_the_xml_path(
        self, subject: GcsObjectStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert subject.multipart == "compose"  # an api_endpoint: an emulator
        monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
        real = GcsObjectStore("bucket", credentials=AnonymousCredentials(), project="p")
        assert real.multipart == "xml"
        assert real.xml_endpoint == "https://storage.googleapis.com"
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:1")
        assert GcsObjectStore("bucket").multipart == "compose"

    def test_compose_joins_more_parts_than_one_compose_takes(
        self, subject: GcsObjectStore, fake_gcs: FakeGcs, gcs_bucket: str
    ) -> None:
        parts = [bytes([n]) * (100 + n) for n in range(70)]  # 70 > 32: two levels of compose
        upload = subject.start_multipart("data.tar")
        for number, part in enumerate(parts, start=1):
            upload.upload_part(number, part)
        assert not subject.exists("data.tar")  # nothing visible before completion
        upload.complete()
        assert subject.get("data.tar") == b"".join(parts)
        assert fake_gcs.keys(gcs_bucket) == ["data.tar"]  # no part object left

    def test_compose_parts_go_in_parallel(
        self, subject: GcsObjectStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        pool = UploadPool(3)
        uploader = PartUploader(subject, "data.tar", 64 << 10, pool, Throttle(None))
        data = os.urandom(6 * (64 << 10))  # six parts: they meet three by three
        is_part = lambda method, url: method == "POST" and "uploadType=multipart" in url  # noqa: E731
        with parts_in_flight(monkeypatch, is_part, meet=3) as flight:
            uploader.write(data)
            uploader.finish()
        pool.shutdown()
        assert flight.seen == 6 and flight.most == 3
        assert subject.get("data.tar") == data

    def test_the_composed_object_carries_the_tags_and_kms_key(
        self, fake_gcs: FakeGcs, gcs_bucket: str
    ) -> None:
        store = make_store(fake_gcs.endpoint, gcs_bucket, kms_key_name=KMS_KEY, tags=[("a", "b c")])
        upload = store.start_multipart("data.tar")
        upload.upload_part(1, b"one")
        upload.upload_part(2, b"two")
        upload.complete()
        blob = fake_gcs.client().bucket(gcs_bucket).get_blob("data.tar")
        assert blob.metadata == {"a": "b c"}
        assert blob.content_type == "application/octet-stream"

    def test_kms_key_and_tags_go_on_every_blob(self, fake_gcs: FakeGcs, gcs_bucket: str) -> None:
        store = make_store(fake_gcs.endpoint, gcs_bucket, kms_key_name=KMS_KEY, tags=[("a", "b")])
        blob = store.blob("backup.info")
        assert blob.kms_key_name == KMS_KEY
        assert blob.metadata == {"a": "b"}
        assert store.description == f"gs://{gcs_bucket}"

    def test_missing_credentials_are_invalid_input(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
    ) -> None:
        for name in ("GOOGLE_APPLICATION_CREDENTIALS", "STORAGE_EMULATOR_HOST", "CLOUDSDK_CONFIG"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud ADC file
        monkeypatch.setenv("NO_GCE_CHECK", "True")  # never ask a metadata server
        store = GcsObjectStore("bucket")
        with pytest.raises(InvalidInput):
            store.check()


def test_a_closed_port_fails_after_the_first_contact_budget_with_a_warning_per_retry() -> None:
    from cloud_base_backup.adapters.object_stores.gcs_retries import FIRST_CONTACT_ATTEMPTS
    from cloud_base_backup.domain.errors import CloudConnectionError
    from tests.fakes import RecordingLog

    log = RecordingLog()
    store = GcsObjectStore(
        "anything",
        client_options={"api_endpoint": f"http://127.0.0.1:{free_port()}"},
        credentials=AnonymousCredentials(),
        project="test",
        log=log,
    )
    with pytest.raises(CloudConnectionError, match="Can't connect to cloud provider"):
        store.check()
    retries = [fields for _, event, fields in log.records if event == "store.retry"]
    assert [r["attempt"] for r in retries] == list(range(2, FIRST_CONTACT_ATTEMPTS + 1))
    assert all(r["cause"].startswith("ConnectionError") for r in retries)
