"""MemoryObjectStore: the in-memory ObjectStore the unit and contract tests use (never installed)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cloud_base_backup.domain.errors import BucketNotFound, CloudConnectionError, StorageError
from cloud_base_backup.domain.model import OpenUpload
from cloud_base_backup.domain.splitting import ChunkPolicy

# A str matches keys that contain it; a callable decides; None matches nothing.
KeyMatcher = str | Callable[[str], bool] | None
DEFAULT_POLICY = ChunkPolicy(min_chunk=5 << 20, max_chunks=10_000)


def _matches(matcher: KeyMatcher, key: str) -> bool:
    if matcher is None:
        return False
    if isinstance(matcher, str):
        return matcher in key
    return matcher(key)


@dataclass
class MemoryMultipartUpload:
    """An upload's parts by number and its state: "open", "completed" or "aborted"."""

    store: MemoryObjectStore = field(repr=False)
    key: str
    upload_id: int
    parts: dict[int, bytes] = field(default_factory=dict)
    state: str = "open"
    initiated: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_activity: datetime = field(default_factory=lambda: datetime.now(UTC))

    def upload_part(self, number: int, data: bytes | memoryview) -> None:
        self.store._part(self, number, bytes(data))

    def complete(self) -> None:
        self.store._complete(self)

    def abort(self) -> None:
        self.store._abort(self)


class MemoryObjectStore:
    """A bucket in a dict. Flip `unreachable`, `missing_bucket` or a `fail_on_*` to inject failures.

    `min_part_size` > 0 makes complete() refuse a part smaller than it that is not the last,
    as S3 does.
    """

    def __init__(
        self,
        bucket: str = "memory",
        *,
        tags: list[tuple[str, str]] | None = None,
        chunk_policy: ChunkPolicy = DEFAULT_POLICY,
        min_part_size: int = 0,
        fail_on_put: KeyMatcher = None,
        fail_on_part: KeyMatcher = None,
        fail_on_part_number: int = 1,
        fail_on_complete: KeyMatcher = None,
        unreachable: bool = False,
        missing_bucket: bool = False,
    ) -> None:
        self.bucket = bucket
        self.tags = list(tags or [])
        self.chunk_policy = chunk_policy
        self.min_part_size = min_part_size
        self.fail_on_put = fail_on_put
        self.fail_on_part = fail_on_part
        self.fail_on_part_number = fail_on_part_number
        self.fail_on_complete = fail_on_complete
        self.unreachable = unreachable
        self.missing_bucket = missing_bucket
        self.objects: dict[str, bytes] = {}
        self.object_tags: dict[str, list[tuple[str, str]]] = {}
        self.uploads: list[MemoryMultipartUpload] = []
        self.calls: list[tuple[str, str]] = []  # (operation, key), in call order
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    @property
    def description(self) -> str:
        return f"memory://{self.bucket}"

    @property
    def open_uploads(self) -> list[MemoryMultipartUpload]:
        return [up for up in self.uploads if up.state == "open"]

    @property
    def completed(self) -> list[str]:
        return [up.key for up in self.uploads if up.state == "completed"]

    @property
    def aborted(self) -> list[str]:
        return [up.key for up in self.uploads if up.state == "aborted"]

    def _enter(self, operation: str, key: str = "", bucket_needed: bool = True) -> None:
        self.calls.append((operation, key))
        if self.unreachable:
            raise CloudConnectionError(
                f"Can't connect to cloud provider: {self.description} is unreachable"
            )
        if bucket_needed and self.missing_bucket:
            raise BucketNotFound(f"Bucket {self.bucket} does not exist")

    def _injected(self, what: str, key: str) -> StorageError:
        return StorageError(f"{self.description}: {what} of '{key}' failed: injected failure")

    def check(self) -> None:
        with self._lock:
            self._enter("check")

    def bucket_exists(self) -> bool:
        with self._lock:
            self._enter("bucket_exists", bucket_needed=False)
            return not self.missing_bucket

    def create_bucket(self) -> None:
        with self._lock:
            self._enter("create_bucket", bucket_needed=False)
            self.missing_bucket = False

    def exists(self, key: str) -> bool:
        with self._lock:
            self._enter("exists", key)
            return key in self.objects

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            self._enter("put", key)
            if _matches(self.fail_on_put, key):
                raise self._injected("upload", key)
            self._store(key, bytes(data))

    def put_if_absent(self, key: str, data: bytes) -> bool:
        with self._lock:
            self._enter("put", key)
            if key in self.objects:
                return False
            if _matches(self.fail_on_put, key):
                raise self._injected("upload", key)
            self._store(key, bytes(data))
            return True

    def _store(self, key: str, data: bytes) -> None:
        self.objects[key] = data
        self.object_tags[key] = list(self.tags)

    def get(self, key: str) -> bytes:
        with self._lock:
            self._enter("get", key)
            if key not in self.objects:
                raise StorageError(f"{self.description}: download of '{key}' failed: no such key")
            return self.objects[key]

    def list_keys(self, prefix: str) -> list[str]:
        with self._lock:
            self._enter("list", prefix)
            return sorted(key for key in self.objects if key.startswith(prefix))

    def delete(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._enter("delete", key)
                self.objects.pop(key, None)
                self.object_tags.pop(key, None)

    def start_multipart(self, key: str) -> MemoryMultipartUpload:
        with self._lock:
            self._enter("start_multipart", key)
            upload = MemoryMultipartUpload(self, key, next(self._ids))
            self.uploads.append(upload)
            return upload

    def open_multiparts(self, prefix: str) -> list[str]:
        with self._lock:
            self._enter("open_multiparts", prefix)
            keys = [up.key for up in self.open_uploads if up.key.startswith(prefix)]
            return list(dict.fromkeys(keys))

    def list_open_uploads(self, prefix: str) -> list[OpenUpload]:
        with self._lock:
            self._enter("list_open_uploads", prefix)
            return [
                OpenUpload(up.key, str(up.upload_id), up.initiated, up.last_activity)
                for up in self.open_uploads
                if up.key.startswith(prefix)
            ]

    def abort_open_upload(self, upload: OpenUpload) -> None:
        with self._lock:
            for candidate in self.open_uploads:
                if str(candidate.upload_id) == upload.upload_id:
                    self._abort(candidate)

    def _part(self, upload: MemoryMultipartUpload, number: int, data: bytes) -> None:
        with self._lock:
            self._enter("upload_part", upload.key)
            if upload.state != "open":
                raise StorageError(
                    f"{self.description}: upload of part {number} of '{upload.key}' failed: "
                    f"the upload is {upload.state}"
                )
            if number >= self.fail_on_part_number and _matches(self.fail_on_part, upload.key):
                raise self._injected(f"upload of part {number}", upload.key)
            upload.parts[number] = data
            upload.last_activity = datetime.now(UTC)

    def _complete(self, upload: MemoryMultipartUpload) -> None:
        with self._lock:
            self._enter("complete", upload.key)
            if upload.state != "open":
                raise StorageError(
                    f"{self.description}: completion of '{upload.key}' failed: "
                    f"the upload is {upload.state}"
                )
            if _matches(self.fail_on_complete, upload.key):
                raise self._injected("completion", upload.key)
            numbers = sorted(upload.parts)
            too_small = [n for n in numbers[:-1] if len(upload.parts[n]) < self.min_part_size]
            if too_small:
                raise StorageError(
                    f"{self.description}: completion of '{upload.key}' failed: part "
                    f"{too_small[0]} is smaller than {self.min_part_size} bytes"
                )
            self._store(upload.key, b"".join(upload.parts[n] for n in numbers))
            upload.state = "completed"

    def _abort(self, upload: MemoryMultipartUpload) -> None:
        with self._lock:
            self.calls.append(("abort", upload.key))
            if upload.state == "open":
                upload.state = "aborted"
                upload.parts.clear()
