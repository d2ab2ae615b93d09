"""The ObjectStore contract: one suite every object-store adapter and the in-memory store must pass."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from cloud_base_backup.adapters.tar_sink import TarArchiveSink
from cloud_base_backup.domain.errors import (
    BucketNotFound,
    CloudConnectionError,
    SourceReadError,
    StorageError,
)
from cloud_base_backup.domain.model import FileEntry, FileKind, MemoryFile
from cloud_base_backup.domain.orphans import abort_stale_uploads
from tests.fakes import RecordingLog
from tests.support.admin_ports import AdminObjectStore

ReadTags = Callable[[str], dict[str, str]]
# The sizes, by part number, of the parts of `key`'s open multipart upload, as the store reports them.
ReadOpenParts = Callable[[str], dict[int, int]]


class _PartRecorder:
    """Wraps a store: records each part's size as sent and, before completion, as stored."""

    def __init__(self, store: AdminObjectStore, read_open_parts: ReadOpenParts | None) -> None:
        self._store = store
        self._read = read_open_parts
        self.sent: dict[int, int] = {}
        self.stored: dict[int, int] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def start_multipart(self, key: str) -> Any:
        upload = self._store.start_multipart(key)
        recorder = self

        class Upload:
            def __init__(self) -> None:
                self.key = key

            def upload_part(self, number: int, data: bytes | memoryview) -> None:
                recorder.sent[number] = len(data)
                upload.upload_part(number, data)

            def complete(self) -> None:
                if recorder._read is not None:
                    recorder.stored = recorder._read(key)
                upload.complete()

            def abort(self) -> None:
                upload.abort()

        return Upload()


@pytest.mark.contract
class ObjectStoreContract:
    """Tests on a `subject` ObjectStore whose bucket exists and is empty.

    A fixtures class provides, besides `subject` (built with the `store_tags` tags):
    - `missing_bucket_subject`: the same store on a bucket that does not exist;
    - `unreachable_subject`: the same store pointed at an endpoint nothing listens on;
    - `min_part_size`: the smallest non-last part the backend accepts (0: no minimum);
    - `read_tags`: a callable giving an object's tags as the backend reports them, or None
      when the stand-in cannot read tags back.
    It may override `lists_open_uploads` (False: the backend has no way to list unfinished
    uploads, so `open_multiparts` is always empty), and
    `read_open_parts` (a ReadOpenParts, or None when the store cannot list an open upload's
    parts).
    """

    @pytest.fixture
    def lists_open_uploads(self) -> bool:
        return True

    @pytest.fixture
    def read_open_parts(self) -> ReadOpenParts | None:
        return None

    @pytest.fixture
    def keeps_open_uploads(self) -> bool:
        """False: the store has no open uploads to abort (Azure drops uncommitted blocks)."""
        return True

    @pytest.fixture
    def store_tags(self) -> list[tuple[str, str]]:
        # only characters every provider accepts in tag values, several needing URL-encoding
        return [("purpose", "contract test"), ("odd", "a b=c/d+e:f_g")]

    @pytest.fixture
    def prefix(self) -> str:
        return f"contract/{uuid.uuid4().hex}/"

    @pytest.fixture
    def part_size(self, min_part_size: int) -> int:
        return max(min_part_size, 1024)

    def test_describes_itself_and_its_chunking(self, subject: AdminObjectStore) -> None:
        assert subject.description
        assert subject.chunk_policy.min_chunk > 0
        assert subject.chunk_policy.max_chunks > 0

    def test_put_get_exists_round_trip(self, subject: AdminObjectStore, prefix: str) -> None:
        key = prefix + "base/backup.info"
        assert not subject.exists(key)
        subject.put(key, bytes(range(256)) * 4)
        assert subject.exists(key)
        assert subject.get(key) == bytes(range(256)) * 4
        subject.put(key, b"second version")
        assert subject.get(key) == b"second version"

    def test_put_if_absent_creates_once_and_never_overwrites(
        self, subject: AdminObjectStore, prefix: str
    ) -> None:
        key = prefix + "srv/base/20261130T000000/backup.info"
        assert subject.put_if_absent(key, b"first") is True
        assert subject.put_if_absent(key, b"second") is False
        assert subject.get(key) == b"first"
        subject.put(key, b"overwritten by its owner")
        assert subject.put_if_absent(key, b"third") is False
        assert subject.get(key) == b"overwritten by its owner"

    def test_put_if_absent_has_one_winner_among_simultaneous_writers(
        self, subject: AdminObjectStore, prefix: str
    ) -> None:
        """The backup-id claim: writers released together by a barrier, over a few rounds."""
        writers = 6
        for round_ in range(3):
            key = f"{prefix}srv/base/round{round_}/backup.info"
            barrier = threading.Barrier(writers)

            def claim(n: int, key: str = key, barrier: threading.Barrier = barrier) -> bool:
                barrier.wait()
                return subject.put_if_absent(key, f"writer {n}".encode())

            with ThreadPoolExecutor(writers) as pool:
                won = list(pool.map(claim, range(writers)))
            assert won.count(True) == 1, won
            assert subject.get(key) == f"writer {won.index(True)}".encode()

    def test_get_of_a_missing_key_names_the_store_and_the_key(
        self, subject: AdminObjectStore, prefix: str
    ) -> None:
        key = prefix + "nothing-here"
        with pytest.raises(StorageError) as raised:
            subject.get(key)
        assert not isinstance(raised.value, (BucketNotFound, CloudConnectionError))
        assert key in str(raised.value)
        assert "\n" not in str(raised.value)

    def test_list_by_prefix_excludes_other_prefixes(
        self, subject: AdminObjectStore, prefix: str
    ) -> None:
        inside = [prefix + "srv/a", prefix + "srv/b/c.tar"]
        outside = [prefix + "srv2/a", prefix + "other/srv/a"]
        for key in inside + outside:
            subject.put(key, key.encode())
        assert sorted(subject.list_keys(prefix + "srv/")) == sorted(inside)
        assert sorted(subject.list_keys(prefix)) == sorted(inside + outside)
        assert subject.list_keys(prefix + "absent/") == []

    def test_delete_removes_only_the_given_keys(self, subject: AdminObjectStore, prefix: str) -> None:
        keys = [prefix + name for name in ("a", "b", "c")]
        for key in keys:
            subject.put(key, b"x")
        subject.delete([keys[0], keys[2], prefix + "never-existed"])
        subject.delete([])
        assert subject.list_keys(prefix) == [keys[1]]
        assert not subject.exists(keys[0])

    def test_parts_uploaded_out_of_order_from_threads_join_in_part_order(
        self, subject: AdminObjectStore, prefix: str, part_size: int
    ) -> None:
        key = prefix + "data.tar.gz"
        parts = {1: b"1" * part_size, 2: b"2" * part_size, 3: b"3" * 10}
        upload = subject.start_multipart(key)
        assert upload.key == key
        barrier = threading.Barrier(len(parts))

        def send(number: int) -> None:
            barrier.wait()
            upload.upload_part(number, memoryview(parts[number]))

        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            list(pool.map(send, [3, 1, 2]))
        upload.complete()
        assert subject.get(key) == parts[1] + parts[2] + parts[3]
        assert key not in subject.open_multiparts(prefix)

    def test_an_archive_is_cut_in_equal_parts(
        self,
        subject: AdminObjectStore,
        prefix: str,
        min_part_size: int,
        read_open_parts: ReadOpenParts | None,
    ) -> None:
        part = max(min_part_size, 64 << 10) + 17  # odd: tar's and the codec's writes never align
        recorder = _PartRecorder(subject, read_open_parts)
        sink = TarArchiveSink(recorder, None, part_size=part, jobs=3)  # type: ignore[arg-type]
        writer = sink.open(prefix + "data.tar")
        payload = os.urandom(part // 3 + 1001)
        for n in range(11):
            writer.add(MemoryFile(f"f{n}", payload))
        result = writer.close()
        sink.close()
        sizes = [recorder.sent[n] for n in sorted(recorder.sent)]
        assert len(sizes) >= 3 and sorted(recorder.sent) == list(range(1, len(sizes) + 1))
        assert set(sizes[:-1]) == {part} and 0 < sizes[-1] <= part
        assert sum(sizes) == result.size == len(subject.get(prefix + "data.tar"))
        if read_open_parts is not None:  # what the store holds, not only what was sent
            assert recorder.stored == recorder.sent

    def test_a_failed_archive_leaves_no_parts_and_no_objects(
        self, subject: AdminObjectStore, prefix: str, min_part_size: int, tmp_path: Any
    ) -> None:
        part = max(min_part_size, 64 << 10)
        sink = TarArchiveSink(subject, None, part_size=part, jobs=2)
        writer = sink.open(prefix + "base/id/data.tar")
        with pytest.raises(SourceReadError):
            writer.add(MemoryFile("big", os.urandom(3 * part)))  # parts are in the store now
            unreadable = tmp_path / "dir"
            unreadable.mkdir()
            writer.add(FileEntry(str(unreadable), "dir", FileKind.FILE, size=10))
        writer.abort()
        sink.close()
        assert subject.list_keys(prefix) == []
        assert subject.open_multiparts(prefix) == []

    def test_a_stale_upload_is_aborted_and_a_fresh_one_left(
        self, subject: AdminObjectStore, prefix: str, keeps_open_uploads: bool
    ) -> None:
        base = prefix + "srv/base/"
        upload = subject.start_multipart(base + "20261101T000000/data.tar")
        upload.upload_part(1, b"part")
        other = subject.start_multipart(prefix + "other/base/20261101T000000/data.tar")
        other.upload_part(1, b"part")
        janitor: Any = subject
        listed = janitor.list_open_uploads(base)
        if not keeps_open_uploads:
            assert listed == []
            upload.abort()
            other.abort()
            return
        (found,) = listed
        assert found.key == base + "20261101T000000/data.tar"
        assert found.initiated <= found.last_activity
        log = RecordingLog()
        # the clock, not a sleep: an hour after its last part it is fresh, a day after stale
        fresh = found.last_activity + timedelta(hours=1)
        assert abort_stale_uploads(janitor, base, 2 * 3600, fresh, log) == []
        assert subject.open_multiparts(base) == [found.key]
        stale = found.last_activity + timedelta(hours=25)
        assert abort_stale_uploads(janitor, base, 24 * 3600, stale, log) == [found.key]
        assert subject.open_multiparts(base) == [] and not subject.exists(found.key)
        assert subject.open_multiparts(prefix + "other/") == [other.key]  # another server's
        other.abort()
        upload.abort()  # already gone: still no error

    def test_a_small_part_is_accepted_only_as_the_last(
        self, subject: AdminObjectStore, prefix: str, part_size: int, min_part_size: int
    ) -> None:
        key = prefix + "too-small"
        upload = subject.start_multipart(key)
        if not min_part_size:
            # The capability the other way round: small parts anywhere are fine here.
            upload.upload_part(1, b"x")
            upload.upload_part(2, b"y")
            upload.complete()
            assert subject.get(key) == b"xy"
            return
        with pytest.raises(StorageError):
            upload.upload_part(1, b"x" * (min_part_size - 1))
            upload.upload_part(2, b"y")
            upload.complete()
        upload.abort()
        assert not subject.exists(key)

    def test_abort_leaves_no_object_and_no_open_upload(
        self, subject: AdminObjectStore, prefix: str, part_size: int, lists_open_uploads: bool
    ) -> None:
        key = prefix + "aborted.tar"
        upload = subject.start_multipart(key)
        upload.upload_part(1, b"a" * part_size)
        upload.upload_part(2, b"b")
        assert (key in subject.open_multiparts(prefix)) is lists_open_uploads
        upload.abort()
        upload.abort()  # idempotent: failure paths may abort twice
        assert not subject.exists(key)
        assert subject.open_multiparts(prefix) == []
        assert subject.list_keys(prefix) == []

    def test_open_multiparts_lists_only_unfinished_uploads_under_the_prefix(
        self, subject: AdminObjectStore, prefix: str, lists_open_uploads: bool
    ) -> None:
        open_key, done_key = prefix + "srv/open.tar", prefix + "srv/done.tar"
        unfinished = subject.start_multipart(open_key)
        unfinished.upload_part(1, b"part")
        finished = subject.start_multipart(done_key)
        finished.upload_part(1, b"part")
        finished.complete()
        # A backend that cannot list unfinished uploads reports none; either way an unfinished
        # upload is never visible as an object.
        expected = [open_key] if lists_open_uploads else []
        assert subject.open_multiparts(prefix + "srv/") == expected
        assert subject.list_keys(prefix + "srv/") == [done_key] and not subject.exists(open_key)
        assert subject.open_multiparts(prefix + "elsewhere/") == []
        unfinished.abort()
        finished.abort()  # after complete: a no-op that leaves the object alone
        assert subject.get(done_key) == b"part"

    def test_complete_without_parts_gives_an_empty_object(
        self, subject: AdminObjectStore, prefix: str
    ) -> None:
        key = prefix + "empty.tar"
        subject.start_multipart(key).complete()
        assert subject.exists(key)
        assert subject.get(key) == b""

    def test_objects_carry_the_tags(
        self,
        subject: AdminObjectStore,
        prefix: str,
        read_tags: ReadTags | None,
        store_tags: list[tuple[str, str]],
    ) -> None:
        if read_tags is None:
            pytest.skip("the stand-in cannot read tags back")
        subject.put(prefix + "backup.info", b"info")
        upload = subject.start_multipart(prefix + "data.tar")
        upload.upload_part(1, b"data")
        upload.complete()
        assert read_tags(prefix + "backup.info") == dict(store_tags)
        assert read_tags(prefix + "data.tar") == dict(store_tags)

    def test_check_and_bucket_exists_on_an_existing_bucket(self, subject: AdminObjectStore) -> None:
        subject.check()
        assert subject.bucket_exists()

    def test_a_missing_bucket(self, missing_bucket_subject: AdminObjectStore, prefix: str) -> None:
        assert not missing_bucket_subject.bucket_exists()
        with pytest.raises(BucketNotFound):
            missing_bucket_subject.check()
        with pytest.raises(BucketNotFound):
            missing_bucket_subject.put(prefix + "backup.info", b"info")

    def test_create_bucket_makes_a_missing_bucket_usable(
        self, missing_bucket_subject: AdminObjectStore, prefix: str
    ) -> None:
        missing_bucket_subject.create_bucket()
        missing_bucket_subject.check()
        missing_bucket_subject.put(prefix + "k", b"v")
        assert missing_bucket_subject.get(prefix + "k") == b"v"

    def test_an_unreachable_endpoint(self, unreachable_subject: AdminObjectStore, prefix: str) -> None:
        with pytest.raises(CloudConnectionError) as raised:
            unreachable_subject.check()
        assert "\n" not in str(raised.value)
        with pytest.raises(CloudConnectionError):
            unreachable_subject.put(prefix + "backup.info", b"info")
