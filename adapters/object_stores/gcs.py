"""GcsObjectStore: the ObjectStore port on a Google Cloud Storage bucket (or fake-gcs-server)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import requests
from google.api_core.exceptions import (
    Forbidden,
    GoogleAPICallError,
    GoogleAPIError,
    NotFound,
    PreconditionFailed,
    RetryError,
    Unauthorized,
)
from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError
from google.cloud.storage.blob import Blob
from google.cloud.storage.bucket import Bucket
from google.cloud.storage.client import Client
from google.cloud.storage.exceptions import DataCorruption, InvalidResponse
from google.cloud.storage.retry import DEFAULT_RETRY

from cloud_base_backup.adapters.object_stores.gcs_retries import (
    first_contact_retry,
    logged_default_retry,
)
from cloud_base_backup.adapters.system import NullLog
from cloud_base_backup.domain.errors import (
    BackupError,
    BucketNotFound,
    CloudConnectionError,
    InvalidInput,
    StorageError,
    first_line,
)
from cloud_base_backup.domain.model import OpenUpload
from cloud_base_backup.domain.ports import Log
from cloud_base_backup.domain.splitting import ChunkPolicy

from .gcs_upload import TEMP_MARK, GcsComposeUpload, GcsXmlMultipartUpload

# GCS's XML multipart limits (barman 3.20's too); the compose path keeps them
GCS_CHUNK_POLICY = ChunkPolicy(min_chunk=5 << 20, max_chunks=10_000)
S3_XML = "{http://s3.amazonaws.com/doc/2006-03-01/}"
XML = "xml"
COMPOSE = "compose"
SDK_ERRORS = (
    GoogleAPIError,
    GoogleAuthError,
    requests.RequestException,
    InvalidResponse,
    DataCorruption,
)
CHECK = "bucket check"


class GcsObjectStore:
    """One bucket; tags become custom metadata and --kms-key-name goes on every object."""

    chunk_policy = GCS_CHUNK_POLICY

    def __init__(
        self,
        bucket: str,
        kms_key_name: str | None = None,
        tags: list[tuple[str, str]] | None = None,
        client_options: dict[str, Any] | None = None,
        credentials: Any = None,
        project: str | None = None,
        retry: Any = DEFAULT_RETRY,
        log: Log | None = None,
        multipart: str | None = None,
        xml_endpoint: str | None = None,
        xml_checksum: str | None = "crc32c",
    ) -> None:
        """`multipart`: "xml" (GCS's XML multipart API, S3's protocol, at `xml_endpoint` or the
        client's API host) or "compose" (part objects joined by compose); by default compose
        when an emulator is targeted (STORAGE_EMULATOR_HOST or an api_endpoint), else xml."""
        self.bucket_name = bucket
        self.kms_key_name = kms_key_name
        self.metadata = dict(tags) if tags else None
        self._log: Log = log or NullLog()
        self.retry = logged_default_retry(self._log) if retry is DEFAULT_RETRY else retry
        self._client_args: dict[str, Any] = {
            "client_options": client_options,
            "credentials": credentials,
            "project": project,
        }
        self._client: Client | None = None
        self._client_lock = threading.Lock()
        emulated = bool(os.environ.get("STORAGE_EMULATOR_HOST")) or bool(
            (client_options or {}).get("api_endpoint")
        )
        self.multipart = multipart or (COMPOSE if emulated else XML)
        self._xml_endpoint = xml_endpoint
        # each part's CRC32C is checked against GCS's x-goog-hash (S3 stand-ins send none)
        self.xml_checksum = xml_checksum

    @property
    def description(self) -> str:
        return f"gs://{self.bucket_name}"

    @property
    def client(self) -> Client:
        if self._client is None:
            with self._client_lock, self.translated("client creation"):
                if self._client is None:
                    self._client = Client(**self._client_args)
        return self._client

    @property
    def bucket(self) -> Bucket:
        return self.client.bucket(self.bucket_name)

    def blob(self, key: str) -> Blob:
        blob = self.bucket.blob(key, kms_key_name=self.kms_key_name)
        if self.metadata:
            blob.metadata = dict(self.metadata)
        return blob

    def sdk_error(self, exc: BaseException, what: str, missing: str = "bucket") -> BackupError:
        """The domain error for `exc`; `missing` says what a 404 means for this call."""
        if isinstance(exc, DefaultCredentialsError):
            return InvalidInput(first_line(exc))  # barman: raised while building the client, exit 4
        if isinstance(
            exc, (RetryError, requests.ConnectionError, requests.Timeout, GoogleAuthError)
        ):
            return CloudConnectionError(
                f"Can't connect to cloud provider: {self.description}: {what}: {first_line(exc)}"
            )
        if isinstance(exc, (Unauthorized, Forbidden)):
            return CloudConnectionError(f"{self.description}: {what} refused: {first_line(exc)}")
        if missing == "bucket" and _status(exc) == 404:
            return BucketNotFound(f"Bucket {self.bucket_name} does not exist")
        return StorageError(f"{self.description}: {what} failed: {first_line(exc)}")

    @contextmanager
    def translated(self, what: str, missing: str = "bucket") -> Iterator[None]:
        try:
            yield
        except SDK_ERRORS as exc:
            raise self.sdk_error(exc, what, missing) from exc

    def check(self) -> None:
        # barman: bucket.exists(); False -> 1, any API error (403, retries exhausted) -> 2
        try:
            found = self.bucket.exists(retry=first_contact_retry(self._log, CHECK, self.retry))
        except GoogleAPIError as exc:
            raise CloudConnectionError(
                f"Can't connect to cloud provider: {self.description}: {first_line(exc)}"
            ) from exc
        except SDK_ERRORS as exc:
            raise self.sdk_error(exc, CHECK) from exc
        if not found:
            raise BucketNotFound(f"Bucket {self.bucket_name} does not exist")

    def bucket_exists(self) -> bool:
        with self.translated(CHECK):
            return bool(self.bucket.exists(retry=self.retry))

    def create_bucket(self) -> None:
        with self.translated("bucket creation"):
            self.client.create_bucket(self.bucket_name, retry=self.retry)

    def exists(self, key: str) -> bool:
        with self.translated(f"existence check of '{key}'", missing="key"):
            return bool(self.bucket.blob(key).exists(retry=self.retry))

    def put(self, key: str, data: bytes) -> None:
        with self.translated(f"upload of '{key}'"):
            self.blob(key).upload_from_string(
                bytes(data), content_type="application/octet-stream", retry=self.retry
            )
        self._log.debug("gcs.put", key=key, size=len(data))

    def put_if_absent(self, key: str, data: bytes) -> bool:
        try:
            self.blob(key).upload_from_string(
                bytes(data),
                content_type="application/octet-stream",
                if_generation_match=0,  # only if no live object has the name
                retry=self.retry,
            )
        except PreconditionFailed:
            return False
        except SDK_ERRORS as exc:
            raise self.sdk_error(exc, f"conditional upload of '{key}'") from exc
        self._log.debug("gcs.put_if_absent", key=key, size=len(data))
        return True

    def get(self, key: str) -> bytes:
        with self.translated(f"download of '{key}'", missing="key"):
            return bytes(self.bucket.blob(key).download_as_bytes(retry=self.retry))

    def list_keys(self, prefix: str) -> list[str]:
        """Objects under prefix; the compose path's part objects are not objects of the backup."""
        return [name for name in self.list_all(prefix) if TEMP_MARK not in name]

    def list_all(self, prefix: str) -> list[str]:
        with self.translated(f"listing of '{prefix}'"):
            blobs = self.client.list_blobs(self.bucket_name, prefix=prefix, retry=self.retry)
            return [blob.name for blob in blobs]

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self.bucket.blob(key).delete(retry=self.retry)
            except NotFound:
                continue
            except SDK_ERRORS as exc:
                raise self.sdk_error(exc, f"deletion of '{key}'") from exc

    @property
    def xml_endpoint(self) -> str:
        if self._xml_endpoint is None:
            connection = self.client._connection
            self._xml_endpoint = str(connection.get_api_base_url_for_mtls()).rstrip("/")
        return self._xml_endpoint

    def xml_headers(self) -> dict[str, str]:
        """Tags as custom metadata and the KMS key, on every XML multipart request."""
        headers = {f"x-goog-meta-{name}": value for name, value in (self.metadata or {}).items()}
        if self.kms_key_name and "cryptoKeyVersions" not in self.kms_key_name:
            headers["x-goog-encryption-kms-key-name"] = self.kms_key_name
        return headers

    def start_multipart(self, key: str) -> GcsXmlMultipartUpload | GcsComposeUpload:
        if self.multipart == XML:
            return GcsXmlMultipartUpload(self, key, self._log)
        return GcsComposeUpload(self, key, self._log)

    def _xml(self, method: str, url: str, what: str) -> ElementTree.Element | None:
        with self.translated(what):
            response = self.client._http.request(method, url, timeout=60)
        if response.status_code in (200, 204):
            return ElementTree.fromstring(response.content) if response.content else None
        if response.status_code == 404 and method == "DELETE":
            return None  # already aborted
        raise StorageError(f"{self.description}: {what} failed: HTTP {response.status_code}")

    def xml_uploads(self, prefix: str) -> list[tuple[str, str, str]]:
        """(key, upload id, initiation time) of the XML multipart uploads open under prefix."""
        found: list[tuple[str, str, str]] = []
        marker = ""
        while True:
            query = f"uploads&prefix={quote(prefix, safe='')}{marker}"
            root = self._xml(
                "GET",
                f"{self.xml_endpoint}/{self.bucket_name}?{query}",
                f"listing of multipart uploads under '{prefix}'",
            )
            if root is None:
                return found
            for upload in root.iter(f"{S3_XML}Upload"):
                found.append(
                    (
                        upload.findtext(f"{S3_XML}Key", ""),
                        upload.findtext(f"{S3_XML}UploadId", ""),
                        upload.findtext(f"{S3_XML}Initiated", ""),
                    )
                )
            if root.findtext(f"{S3_XML}IsTruncated") != "true":
                return found
            key_marker = quote(root.findtext(f"{S3_XML}NextKeyMarker", ""), safe="")
            id_marker = quote(root.findtext(f"{S3_XML}NextUploadIdMarker", ""), safe="")
            marker = f"&key-marker={key_marker}&upload-id-marker={id_marker}"

    def cancel_xml_upload(self, key: str, upload_id: str) -> None:
        url = f"{self.xml_endpoint}/{self.bucket_name}/{quote(key, safe='/~')}"
        self._xml("DELETE", f"{url}?uploadId={quote(upload_id, safe='')}", f"abort of '{key}'")

    def list_open_uploads(self, prefix: str) -> list[OpenUpload]:
        """XML uploads with their newest part, or (compose) each upload's part objects."""
        if self.multipart == XML:
            found = []
            for key, upload_id, initiated in self.xml_uploads(prefix):
                started = _iso(initiated)
                times = [_iso(t) for t in self._xml_part_times(key, upload_id)]
                found.append(OpenUpload(key, upload_id, started, max([started, *times])))
            return found
        with self.translated(f"listing of '{prefix}'"):
            blobs = [
                blob
                for blob in self.client.list_blobs(
                    self.bucket_name, prefix=prefix, retry=self.retry
                )
                if TEMP_MARK in blob.name
            ]
        stems: dict[str, list[Any]] = {}
        for blob in blobs:
            stems.setdefault(blob.name.rsplit("-", 1)[0] + "-", []).append(blob)
        return [
            OpenUpload(
                stem.rsplit(TEMP_MARK, 1)[0],
                stem,
                min(blob.time_created for blob in group),
                max(blob.updated for blob in group),
            )
            for stem, group in stems.items()
        ]

    def _xml_part_times(self, key: str, upload_id: str) -> list[str]:
        url = f"{self.xml_endpoint}/{self.bucket_name}/{quote(key, safe='/~')}"
        root = self._xml(
            "GET", f"{url}?uploadId={quote(upload_id, safe='')}", f"listing of parts of '{key}'"
        )
        if root is None:
            return []
        return [part.findtext(f"{S3_XML}LastModified", "") for part in root.iter(f"{S3_XML}Part")]

    def abort_open_upload(self, upload: OpenUpload) -> None:
        if self.multipart == XML:
            self.cancel_xml_upload(upload.key, upload.upload_id)
        else:
            self.delete(self.list_all(upload.upload_id))

    def open_multiparts(self, prefix: str) -> list[str]:
        """Keys with an XML multipart upload open, or (compose) part objects left under prefix."""
        if self.multipart == XML:
            return list(dict.fromkeys(key for key, _, _ in self.xml_uploads(prefix)))
        temps = [name for name in self.list_all(prefix) if TEMP_MARK in name]
        return list(dict.fromkeys(name.rsplit(TEMP_MARK, 1)[0] for name in temps))


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _status(exc: BaseException) -> int | None:
    if isinstance(exc, GoogleAPICallError):
        return exc.code
    if isinstance(exc, InvalidResponse):
        return getattr(exc.response, "status_code", None)
    return None
