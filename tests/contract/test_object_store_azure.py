"""The ObjectStore contract on AzureBlobObjectStore against Azurite, plus Azure-only behaviour."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from cloud_base_backup.adapters.object_stores.azure_blob import AzureBlobObjectStore
from cloud_base_backup.adapters.object_stores.azure_credentials import container_client
from cloud_base_backup.domain.errors import BucketNotFound, CloudConnectionError
from cloud_base_backup.domain.ports import ObjectStore
from cloud_base_backup.entrypoints.providers.urls import parse_destination
from tests.support.azurite import ACCOUNT, Azurite
from tests.support.ports import free_port

from .object_store_suite import ObjectStoreContract, ReadOpenParts, ReadTags

pytestmark = pytest.mark.contract


class _Log:
    def debug(self, event: str, **fields: Any) -> None: ...

    info = warning = error = debug


def connection_string(endpoint: str, key: str | None = None) -> str:
    from tests.support.azurite import ACCOUNT_KEY

    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key or ACCOUNT_KEY};"
        f"BlobEndpoint={endpoint};"
    )


def make_store(
    endpoint: str,
    container: str,
    key: str | None = None,
    sent: list[Any] | None = None,
    **options: Any,
) -> AzureBlobObjectStore:
    """A store built the way the CLI builds it: emulator URL + AZURE_STORAGE_CONNECTION_STRING."""
    destination = parse_destination("azure-blob-storage", f"{endpoint}/{container}/prefix")
    client_options: dict[str, Any] = {"retry_total": 0, "connection_timeout": 5}
    if sent is not None:
        client_options["raw_request_hook"] = lambda request: sent.append(request.http_request)
    env = {"AZURE_STORAGE_CONNECTION_STRING": connection_string(endpoint, key)}
    client = container_client(destination, env, _Log(), **client_options)
    return AzureBlobObjectStore(client, prefix=destination.prefix, **options)


class AzureFixtures:
    @pytest.fixture
    def make(self, azurite: Azurite) -> Callable[..., AzureBlobObjectStore]:
        return lambda container, **options: make_store(azurite.endpoint, container, **options)

    @pytest.fixture
    def subject(self, make: Any, azure_container: str, store_tags: Any) -> ObjectStore:
        return make(azure_container, tags=store_tags)

    @pytest.fixture
    def missing_bucket_subject(self, make: Any) -> ObjectStore:
        return make(f"missing-{uuid.uuid4().hex[:16]}")

    @pytest.fixture
    def unreachable_subject(self) -> ObjectStore:
        return make_store(f"http://127.0.0.1:{free_port()}/{ACCOUNT}", "anything")

    @pytest.fixture
    def min_part_size(self) -> int:
        return 0

    @pytest.fixture
    def read_tags(self, azurite: Azurite, azure_container: str) -> ReadTags:
        container = azurite.service().get_container_client(azure_container)
        return lambda key: dict(container.get_blob_client(key).get_blob_tags())


    @pytest.fixture
    def read_open_parts(self, azurite: Azurite, azure_container: str) -> ReadOpenParts:
        container = azurite.service().get_container_client(azure_container)

        def read(key: str) -> dict[int, int]:
            _, uncommitted = container.get_blob_client(key).get_block_list("uncommitted")
            return {int(block["id"]): block["size"] for block in uncommitted}

        return read


    @pytest.fixture
    def keeps_open_uploads(self) -> bool:
        return False  # Azure discards uncommitted blocks itself after 7 days


class TestAzureBlobObjectStore(AzureFixtures, ObjectStoreContract):
    pass


class TestAzureSpecifics(AzureFixtures):
    def test_blocks_carry_barmans_five_digit_ids(
        self, make: Any, azure_container: str, azurite: Azurite
    ) -> None:
        store = make(azure_container)
        upload = store.start_multipart("data.tar")
        upload.upload_part(2, b"two")
        upload.upload_part(1, b"one")
        blob = azurite.service().get_container_client(azure_container).get_blob_client("data.tar")
        _, uncommitted = blob.get_block_list("uncommitted")
        assert sorted(block["id"] for block in uncommitted) == ["00001", "00002"]
        upload.complete()
        committed, _ = blob.get_block_list("committed")
        assert [block["id"] for block in committed] == ["00001", "00002"]
        assert store.get("data.tar") == b"onetwo"
        assert store.chunk_policy.min_chunk == 64 << 10
        assert store.chunk_policy.max_chunks == 50_000

    def test_encryption_scope_goes_on_every_write(
        self, azurite: Azurite, azure_container: str
    ) -> None:
        sent: list[Any] = []
        store = make_store(
            azurite.endpoint, azure_container, sent=sent, encryption_scope="backups-scope"
        )
        store.put("backup.info", b"info")
        upload = store.start_multipart("data.tar")
        upload.upload_part(1, b"data")
        upload.complete()
        writes = [r for r in sent if r.method == "PUT"]
        assert len(writes) == 3  # Put Blob, Put Block, Put Block List
        for request in writes:
            assert request.headers.get("x-ms-encryption-scope") == "backups-scope", request.url

    def test_a_refused_key_is_a_connection_error(
        self, azurite: Azurite, azure_container: str
    ) -> None:
        # barman's -t maps every HTTP error but "not found" (auth failures included) to exit 2
        wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="
        store = make_store(azurite.endpoint, azure_container, key=wrong)
        with pytest.raises(CloudConnectionError) as raised:
            store.check()
        assert "\n" not in str(raised.value)

    def test_abort_of_a_failed_upload_leaves_nothing(
        self, make: Any, azure_container: str, azurite: Azurite
    ) -> None:
        store = make(azure_container)
        upload = store.start_multipart("data.tar")
        upload.upload_part(1, b"one")
        azurite.service().delete_container(azure_container)
        with pytest.raises(BucketNotFound):
            upload.upload_part(2, b"two")
        upload.abort()  # never raises, even with the container gone


def test_a_closed_port_fails_after_the_first_contact_budget_with_a_warning_per_retry() -> None:
    from cloud_base_backup.adapters.object_stores.azure_retries import FIRST_CONTACT_ATTEMPTS
    from tests.fakes import RecordingLog

    log = RecordingLog()
    endpoint = f"http://127.0.0.1:{free_port()}/{ACCOUNT}"
    destination = parse_destination("azure-blob-storage", f"{endpoint}/anything/prefix")
    env = {"AZURE_STORAGE_CONNECTION_STRING": connection_string(endpoint)}
    store = AzureBlobObjectStore(container_client(destination, env, log), prefix="prefix", log=log)
    with pytest.raises(CloudConnectionError, match="Can't connect to cloud provider"):
        store.check()
    retries = [fields for _, event, fields in log.records if event == "store.retry"]
    assert [r["attempt"] for r in retries] == list(range(2, FIRST_CONTACT_ATTEMPTS + 1))
    assert all(r["cause"].startswith("ServiceRequestError") for r in retries)
    assert all(r["request"].startswith("GET /") for r in retries)
