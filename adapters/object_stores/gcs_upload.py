"""GCS uploads in parallel parts: XML multipart on GCS itself, compose on fake-gcs-server."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from google.cloud.storage._media import _helpers
from google.cloud.storage._media.requests.upload import XMLMPUContainer, XMLMPUPart

from cloud_base_backup.domain.errors import first_line
from cloud_base_backup.domain.ports import Log

if TYPE_CHECKING:
    from .gcs import GcsObjectStore

COMPOSE_LIMIT = 32  # sources per compose request
TEMP_MARK = ".part-"  # compose path: part objects are named <key>.part-<token>-<number>


class _MemoryPart(XMLMPUPart):  # type: ignore[misc]
    """An XML multipart part sent from memory: the SDK's part reads a file (a temp file)."""

    def __init__(self, url: str, upload_id: str, number: int, data: bytes, **kwargs: Any) -> None:
        super().__init__(url, upload_id, None, 0, len(data), number, **kwargs)
        self._payload = data

    def _prepare_upload_request(self) -> tuple[str, str, bytes, dict[str, str]]:
        if self.finished:
            raise ValueError("This part has already been uploaded.")
        self._checksum_object = _helpers._get_checksum_object(self._checksum_type)
        if self._checksum_object is not None:
            self._checksum_object.update(self._payload)
        query = f"?partNumber={self._part_number}&uploadId={self._upload_id}"
        return "PUT", self.upload_url + query, self._payload, self._headers


class GcsXmlMultipartUpload:
    """One object through GCS's XML multipart API (S3's protocol), parts sent concurrently.

    The tags (x-goog-meta-*) and the KMS key go on the initiate request, as the SDK's transfer
    manager does; the object exists only after complete().
    """

    def __init__(self, store: GcsObjectStore, key: str, log: Log) -> None:
        self.key = key
        self._store = store
        self._log = log
        self._url = f"{store.xml_endpoint}/{store.bucket_name}/{quote(key, safe='/~')}"
        self._container = XMLMPUContainer(
            self._url, None, headers=store.xml_headers(), retry=store.retry
        )
        self._etags: dict[int, str] = {}
        self._lock = threading.Lock()
        self._finished = False
        with store.translated(f"multipart upload start of '{key}'"):
            self._container.initiate(store.client._http, "application/octet-stream")

    @property
    def upload_id(self) -> str:
        return str(self._container.upload_id)

    def upload_part(self, number: int, data: bytes | memoryview) -> None:
        store = self._store
        part = _MemoryPart(
            self._url,
            self.upload_id,
            number,
            bytes(data),
            headers=store.xml_headers(),
            checksum=store.xml_checksum,
            retry=store.retry,
        )
        with store.translated(f"upload of part {number} of '{self.key}'"):
            part.upload(store.client._http)
        with self._lock:
            self._etags[number] = part.etag
        self._log.debug("gcs.part_uploaded", key=self.key, part=number, size=len(data))

    def complete(self) -> None:
        if not self._etags:
            self.upload_part(1, b"")
        with self._lock:
            for number in sorted(self._etags):
                self._container.register_part(number, self._etags[number])
        with self._store.translated(f"completion of '{self.key}'"):
            self._container.finalize(self._store.client._http)
        self._finished = True

    def abort(self) -> None:
        """Drop the upload and its parts; idempotent and never raises; a no-op after complete()."""
        if self._finished:
            return
        try:
            self._store.cancel_xml_upload(self.key, self.upload_id)
        except Exception as exc:
            self._log.warning("gcs.abort_failed", key=self.key, error=first_line(exc))
            return
        self._finished = True


class GcsComposeUpload:
    """One object from part objects joined by compose (fake-gcs-server has no XML multipart).

    Parts are uploaded concurrently as `<key>.part-<token>-<n>`; complete() composes them 32 at a
    time into further part objects until one compose makes the object, with the tags and KMS
    key; every part object is deleted on success, failure and abort.
    """

    def __init__(self, store: GcsObjectStore, key: str, log: Log) -> None:
        self.key = key
        self._store = store
        self._log = log
        self._stem = f"{key}{TEMP_MARK}{uuid.uuid4().hex[:12]}-"
        self._numbers: set[int] = set()
        self._lock = threading.Lock()
        self._finished = False

    def _name(self, number: int | str) -> str:
        return f"{self._stem}{number:05d}" if isinstance(number, int) else self._stem + number

    def upload_part(self, number: int, data: bytes | memoryview) -> None:
        store = self._store
        with store.translated(f"upload of part {number} of '{self.key}'"):
            store.bucket.blob(self._name(number)).upload_from_string(
                bytes(data), content_type="application/octet-stream", retry=store.retry
            )
        with self._lock:
            self._numbers.add(number)
        self._log.debug("gcs.part_uploaded", key=self.key, part=number, size=len(data))

    def complete(self) -> None:
        if not self._numbers:
            self.upload_part(1, b"")
        store = self._store
        names = [self._name(n) for n in sorted(self._numbers)]
        level = 0
        try:
            with store.translated(f"completion of '{self.key}'"):
                while len(names) > COMPOSE_LIMIT:
                    level += 1
                    groups = [
                        names[i : i + COMPOSE_LIMIT] for i in range(0, len(names), COMPOSE_LIMIT)
                    ]
                    targets = [self._name(f"c{level}-{i:05d}") for i in range(len(groups))]
                    with ThreadPoolExecutor(max_workers=4) as pool:
                        list(pool.map(self._compose, groups, targets))
                    names = targets
                self._compose(names, None)
            self._finished = True
        finally:
            self._cleanup()

    def _compose(self, names: list[str], target: str | None) -> None:
        store = self._store
        bucket = store.bucket
        destination = store.blob(self.key) if target is None else bucket.blob(target)
        destination.content_type = "application/octet-stream"
        destination.compose([bucket.blob(name) for name in names], retry=store.retry)

    def _cleanup(self) -> None:
        store = self._store
        try:
            store.delete(store.list_all(self._stem))
        except Exception as exc:
            self._log.warning("gcs.cleanup_failed", key=self.key, error=first_line(exc))

    def abort(self) -> None:
        """Delete the part objects; idempotent and never raises; a no-op after complete()."""
        if self._finished:
            return
        self._cleanup()
        self._finished = True
