"""AzureBlobObjectStore: the ObjectStore port on an Azure Blob Storage container (or Azurite)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobBlock, ContainerClient

from cloud_base_backup.adapters.system import NullLog
from cloud_base_backup.domain.errors import (
    BackupError,
    BucketNotFound,
    CloudConnectionError,
    StorageError,
    first_line,
)
from cloud_base_backup.domain.model import OpenUpload
from cloud_base_backup.domain.ports import Log
from cloud_base_backup.domain.splitting import ChunkPolicy

from .azure_retries import credential_summary

AZURE_CHUNK_POLICY = ChunkPolicy(min_chunk=64 << 10, max_chunks=50_000)
DELETE_BATCH = 256  # a blob batch request holds at most 256 sub-requests
CHECK = "container check"


def block_id(number: int) -> str:
    """barman's block ids: the part number, 5 digits zero-padded (the SDK base64-encodes them)."""
    return f"{number:05d}"


class AzureBlobObjectStore:
    """One container; tags become blob index tags, --encryption-scope goes on every write."""

    chunk_policy = AZURE_CHUNK_POLICY

    def __init__(
        self,
        container: ContainerClient,
        prefix: str = "",
        encryption_scope: str | None = None,
        tags: list[tuple[str, str]] | None = None,
        log: Log | None = None,
    ) -> None:
        self.container = container
        self.prefix = prefix
        self._log: Log = log or NullLog()
        self.write_args: dict[str, Any] = {}
        if encryption_scope:
            self.write_args["encryption_scope"] = encryption_scope
        self.tags = dict(tags) if tags else None

    @property
    def description(self) -> str:
        return f"azure container {self.container.url}"

    def sdk_error(self, exc: Exception, what: str) -> BackupError:
        if isinstance(exc, ResourceNotFoundError) and _code(exc) == "ContainerNotFound":
            return BucketNotFound(f"Container {self.container.container_name} does not exist")
        if isinstance(exc, (ServiceRequestError, ServiceResponseError, ClientAuthenticationError)):
            return CloudConnectionError(
                f"Can't connect to cloud provider: {self.description}: {what}: {_line(exc)}"
            )
        return StorageError(f"{self.description}: {what} failed: {_line(exc)}")

    @contextmanager
    def translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except AzureError as exc:
            raise self.sdk_error(exc, what) from exc

    def check(self) -> None:
        # barman lists under the prefix rather than reading the container: it works with SAS
        # tokens scoped to the container. Any answer but "not found" counts as unreachable (2).
        try:
            pages = self.container.list_blobs(name_starts_with=self.prefix, results_per_page=1)
            next(iter(pages.by_page()), None)
        except ResourceNotFoundError as exc:
            raise BucketNotFound(
                f"Container {self.container.container_name} does not exist"
            ) from exc
        except (HttpResponseError, ServiceRequestError) as exc:
            raise CloudConnectionError(
                f"Can't connect to cloud provider: {self.description}: {_line(exc)}"
            ) from exc
        except AzureError as exc:
            raise self.sdk_error(exc, CHECK) from exc

    def bucket_exists(self) -> bool:
        with self.translated(CHECK):
            return bool(self.container.exists())

    def create_bucket(self) -> None:
        with self.translated("container creation"):
            self.container.create_container()

    def exists(self, key: str) -> bool:
        with self.translated(f"existence check of '{key}'"):
            return bool(self.container.get_blob_client(key).exists())

    def put(self, key: str, data: bytes) -> None:
        with self.translated(f"upload of '{key}'"):
            self.container.upload_blob(
                key, data, overwrite=True, tags=self.tags, max_concurrency=8, **self.write_args
            )
        self._log.debug("azure.put", key=key, size=len(data))

    def put_if_absent(self, key: str, data: bytes) -> bool:
        try:
            # overwrite=False sends If-None-Match: *: the service refuses an existing blob.
            self.container.upload_blob(
                key, data, overwrite=False, tags=self.tags, **self.write_args
            )
        except ResourceExistsError:
            return False
        except HttpResponseError as exc:
            if _code(exc) in ("BlobAlreadyExists", "ConditionNotMet"):
                return False
            raise self.sdk_error(exc, f"conditional upload of '{key}'") from exc
        except AzureError as exc:
            raise self.sdk_error(exc, f"conditional upload of '{key}'") from exc
        self._log.debug("azure.put_if_absent", key=key, size=len(data))
        return True

    def get(self, key: str) -> bytes:
        with self.translated(f"download of '{key}'"):
            return bytes(self.container.download_blob(key).readall())

    def list_keys(self, prefix: str) -> list[str]:
        with self.translated(f"listing of '{prefix}'"):
            return list(self.container.list_blob_names(name_starts_with=prefix))

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            with self.translated(f"deletion of '{batch[0]}'"):
                answers = self.container.delete_blobs(*batch, raise_on_any_failure=False)
                failed = [
                    (key, answer.status_code)
                    for key, answer in zip(batch, answers, strict=True)
                    if answer.status_code not in (200, 202, 404)
                ]
            if failed:
                raise StorageError(
                    f"{self.description}: deletion of '{failed[0][0]}' failed: "
                    f"HTTP {failed[0][1]} ({len(failed)} failed)"
                )

    def start_multipart(self, key: str) -> AzureBlockUpload:
        return AzureBlockUpload(self, key, self._log)

    def list_open_uploads(self, prefix: str) -> list[OpenUpload]:
        """None to abort: Azure discards uncommitted blocks by itself after 7 days."""
        return []

    def abort_open_upload(self, upload: OpenUpload) -> None:
        """Nothing is ever listed (see list_open_uploads)."""

    def open_multiparts(self, prefix: str) -> list[str]:
        """Blobs under prefix holding only uncommitted blocks (staged, never committed)."""
        with self.translated(f"listing of uncommitted blobs under '{prefix}'"):
            every = self.container.list_blobs(name_starts_with=prefix, include=["uncommittedblobs"])
            names = [blob.name for blob in every]
            committed = set(self.container.list_blob_names(name_starts_with=prefix))
        return [name for name in dict.fromkeys(names) if name not in committed]


class AzureBlockUpload:
    """A block blob built by stage_block (any order, any thread) and one commit_block_list."""

    def __init__(self, store: AzureBlobObjectStore, key: str, log: Log) -> None:
        self.key = key
        self._store = store
        self._blob = store.container.get_blob_client(key)
        self._log = log
        self._numbers: set[int] = set()
        self._lock = threading.Lock()
        self._finished = False
        self._attempted = False

    def upload_part(self, number: int, data: bytes | memoryview) -> None:
        store = self._store
        self._attempted = True  # a failed stage may still have left a block on the server
        with store.translated(f"upload of part {number} of '{self.key}'"):
            self._blob.stage_block(block_id(number), bytes(data), **store.write_args)
        with self._lock:
            self._numbers.add(number)
        self._log.debug("azure.block_staged", key=self.key, part=number, size=len(data))

    def complete(self) -> None:
        with self._lock:
            blocks = [BlobBlock(block_id(n)) for n in sorted(self._numbers)]
        store = self._store
        with store.translated(f"completion of '{self.key}'"):
            self._blob.commit_block_list(blocks, tags=store.tags, **store.write_args)
        self._finished = True

    def abort(self) -> None:
        """Discard the staged blocks as barman does: commit an empty list, then delete the blob.

        Idempotent and never raises (it runs on failure paths); a no-op after complete().
        """
        if self._finished:
            return
        try:
            if self._attempted:
                self._blob.commit_block_list([], **self._store.write_args)
                self._blob.delete_blob()
        except ResourceNotFoundError:
            pass
        except Exception as exc:
            self._log.warning("azure.abort_failed", key=self.key, error=_line(exc))
            return
        self._finished = True


def _code(exc: HttpResponseError) -> str:
    return str(getattr(exc, "error_code", "") or "")


def _line(exc: BaseException) -> str:
    """The SDK's messages span several lines (request id, XML body): keep the first."""
    if isinstance(exc, ClientAuthenticationError):
        return credential_summary(exc)
    return first_line(exc)
