"""One GCS object streamed through a resumable upload, its parts written strictly in order."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from domain.errors import StorageError
from domain.ports import Log

if TYPE_CHECKING:
    from google.cloud.storage.fileio import BlobWriter

    from .gcs import GcsObjectStore

# A resumable upload sends 256 KiB multiples; 8 MiB per request is what Google advises as a floor.
REQUEST_SIZE = 8 << 20


class GcsResumableUpload:
    """The MultipartUpload port on GCS without XML multipart (fake-gcs-server lacks it).

    Parts arrive from -J worker threads in any order; each waits for its turn, so the object
    is one stream sent as it is produced: no temp file, and memory bounded by the parts in
    flight plus one request. The pipeline submits parts in order to a FIFO pool, so the part
    a thread waits for is always already being sent. Nothing is visible until complete().
    """

    def __init__(self, store: GcsObjectStore, key: str, log: Log) -> None:
        self.key = key
        self._store = store
        self._log = log
        self._writer: BlobWriter | None = None
        self._turn = threading.Condition()
        self._next = 1
        self._stopped: str | None = None
        self._finished = False

    def _open(self) -> BlobWriter:
        if self._writer is None:
            self._writer = self._store.blob(self.key).open(
                "wb",
                chunk_size=REQUEST_SIZE,
                ignore_flush=True,
                content_type="application/octet-stream",
                retry=self._store.retry,
            )
        return self._writer

    def _stop(self, why: str) -> None:
        with self._turn:
            self._stopped = self._stopped or why
            self._turn.notify_all()

    def _wait_for_turn(self, number: int) -> None:
        with self._turn:
            while self._next != number and self._stopped is None:
                self._turn.wait()
            if self._stopped is not None:
                raise StorageError(
                    f"{self._store.description}: upload of part {number} of '{self.key}' "
                    f"failed: {self._stopped}"
                )

    def upload_part(self, number: int, data: bytes | memoryview) -> None:
        self._wait_for_turn(number)
        try:
            with self._store.translated(f"upload of part {number} of '{self.key}'"):
                self._open().write(data)
        except BaseException:
            self._stop(f"part {number} failed")
            raise
        with self._turn:
            self._next += 1
            self._turn.notify_all()
        self._log.debug("gcs.part_uploaded", key=self.key, part=number, size=len(data))

    def complete(self) -> None:
        with self._store.translated(f"completion of '{self.key}'"):
            self._open().close()
        self._finished = True
        self._stop("the upload is completed")

    def abort(self) -> None:
        """Cancel the session; idempotent and never raises. Nothing was finalised, so no object."""
        if self._finished:
            return
        self._stop("the upload was aborted")
        self._finished = True
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            # terminate() also closes the buffer, so the writer's finaliser cannot commit it
            writer.terminate()
        except Exception as exc:
            self._log.debug("gcs.cancel_failed", key=self.key, error=str(exc).splitlines()[0])
            # the session expires by itself; what matters is that no finaliser can commit it
            buffer = getattr(writer, "_buffer", None)
            if buffer is not None and not buffer.closed:
                buffer.close()
