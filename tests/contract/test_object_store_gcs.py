"""The ObjectStore contract on GcsObjectStore against fake-gcs-server, plus GCS-only behaviour."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage.retry import DEFAULT_RETRY

from adapters.object_stores.gcs import GcsObjectStore
from domain.errors import InvalidInput, StorageError
from domain.ports import ObjectStore
from tests.support.fake_gcs import FakeGcs
from tests.support.ports import free_port

from .object_store_suite import ObjectStoreContract, ReadTags

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
    def lists_open_uploads(self) -> bool:
        return False  # resumable sessions cannot be listed; they never become objects

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

    def test_parts_stream_over_several_requests(self, subject: GcsObjectStore) -> None:
        parts = [os.urandom(6 << 20) for _ in range(3)]  # 18 MiB: three 8 MiB requests
        upload = subject.start_multipart("data.tar")
        for number, part in enumerate(parts, start=1):
            upload.upload_part(number, part)
        assert not subject.exists("data.tar")  # nothing visible before completion
        upload.complete()
        assert subject.get("data.tar") == b"".join(parts)

    def test_abort_releases_a_part_waiting_for_its_turn(self, subject: GcsObjectStore) -> None:
        upload = subject.start_multipart("data.tar")
        errors: list[BaseException] = []

        def second() -> None:
            try:
                upload.upload_part(2, b"two")
            except BaseException as exc:
                errors.append(exc)

        waiter = threading.Thread(target=second)
        waiter.start()  # part 1 never comes, so part 2 waits
        upload.abort()
        waiter.join(timeout=10)
        assert not waiter.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], StorageError)
        assert "aborted" in str(errors[0])
        assert not subject.exists("data.tar")

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
    from adapters.object_stores.gcs_retries import FIRST_CONTACT_ATTEMPTS
    from domain.errors import CloudConnectionError
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
