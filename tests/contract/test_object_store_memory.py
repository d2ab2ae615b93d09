"""The ObjectStore contract on the in-memory store, plus its failure-injection switches."""

from __future__ import annotations

import pytest

from cloud_base_backup.domain.errors import CloudConnectionError, StorageError
from cloud_base_backup.domain.ports import ObjectStore
from tests.support.memory_store import MemoryObjectStore

from .object_store_suite import ObjectStoreContract, ReadOpenParts, ReadTags

pytestmark = pytest.mark.contract

MIN_PART = 1024


class MemoryFixtures:
    @pytest.fixture
    def subject(self, store_tags: list[tuple[str, str]]) -> MemoryObjectStore:
        return MemoryObjectStore("contract", tags=store_tags, min_part_size=MIN_PART)

    @pytest.fixture
    def missing_bucket_subject(self) -> ObjectStore:
        return MemoryObjectStore("missing", missing_bucket=True)

    @pytest.fixture
    def unreachable_subject(self) -> ObjectStore:
        return MemoryObjectStore("unreachable", unreachable=True)

    @pytest.fixture
    def min_part_size(self) -> int:
        return MIN_PART

    @pytest.fixture
    def read_tags(self, subject: MemoryObjectStore) -> ReadTags:
        return lambda key: dict(subject.object_tags[key])


    @pytest.fixture
    def read_open_parts(self, subject: MemoryObjectStore) -> ReadOpenParts:
        def read(key: str) -> dict[int, int]:
            (upload,) = [up for up in subject.open_uploads if up.key == key]
            return {number: len(data) for number, data in upload.parts.items()}

        return read


class TestMemoryObjectStore(MemoryFixtures, ObjectStoreContract):
    pass


class TestMemoryFailureSwitches:
    def test_fail_on_put_matches_part_of_the_key(self) -> None:
        store = MemoryObjectStore(fail_on_put="backup.info")
        store.put("srv/base/id/data.tar", b"x")
        with pytest.raises(StorageError, match="backup.info"):
            store.put("srv/base/id/backup.info", b"x")
        assert store.list_keys("") == ["srv/base/id/data.tar"]

    def test_fail_on_part_from_a_part_number_on(self) -> None:
        store = MemoryObjectStore(
            fail_on_part=lambda key: key.endswith(".tar"), fail_on_part_number=2
        )
        upload = store.start_multipart("data.tar")
        upload.upload_part(1, b"one")
        with pytest.raises(StorageError, match="part 2"):
            upload.upload_part(2, b"two")
        upload.abort()
        assert store.aborted == ["data.tar"]
        assert store.open_uploads == []

    def test_fail_on_complete_keeps_the_upload_open(self) -> None:
        store = MemoryObjectStore(fail_on_complete="data")
        upload = store.start_multipart("data.tar")
        upload.upload_part(1, b"one")
        with pytest.raises(StorageError):
            upload.complete()
        assert store.open_multiparts("") == ["data.tar"]

    def test_switches_can_flip_mid_run(self) -> None:
        store = MemoryObjectStore()
        upload = store.start_multipart("data.tar")
        store.unreachable = True
        with pytest.raises(CloudConnectionError):
            upload.upload_part(1, b"one")
        upload.abort()  # never raises, even when the store is unreachable
        assert ("abort", "data.tar") in store.calls

    def test_records_calls_in_order(self) -> None:
        store = MemoryObjectStore()
        store.put("a", b"1")
        upload = store.start_multipart("b")
        upload.upload_part(1, b"2")
        upload.complete()
        assert store.calls == [
            ("put", "a"),
            ("start_multipart", "b"),
            ("upload_part", "b"),
            ("complete", "b"),
        ]
        assert store.completed == ["b"]
        assert store.uploads[0].parts == {1: b"2"}
