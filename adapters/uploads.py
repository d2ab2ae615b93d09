"""Parts of one archive object: buffered to the part size, uploaded by a bounded thread pool."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

from cloud_base_backup.domain.errors import BackupError, StorageError
from cloud_base_backup.domain.ports import MultipartUpload, ObjectStore


class UploadPool:
    """At most `jobs` parts are being uploaded at once; submitting blocks when all are busy.

    Memory is therefore bounded by (jobs + open archives) x part size, whatever the data size.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="upload")
        self._slots = threading.BoundedSemaphore(jobs)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        self._slots.acquire()
        try:
            future = self._pool.submit(fn, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _f: self._slots.release())
        return future

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class Throttle:
    """--max-bandwidth: before each part, wait until the previous part's share of time passed."""

    def __init__(self, bytes_per_second: int | None, sleep: Callable[[float], None] = time.sleep) -> None:
        self._rate = bytes_per_second
        self._sleep = sleep
        self._last: tuple[float, int] | None = None

    def before_part(self, size: int) -> None:
        if not self._rate:
            return
        now = time.monotonic()
        if self._last is not None:
            since, prev = self._last
            wait = prev / self._rate - (now - since)
            if wait > 0:
                self._sleep(wait)
                now = time.monotonic()
        self._last = (now, size)


class PartUploader:
    """The byte sink behind a codec: cuts its output into parts and uploads them in parallel.

    Every part but the last is exactly `part_size` bytes, whatever sizes the codec writes:
    a write that crosses a part boundary is sliced there (one copy per byte, when the part
    is joined). More than `max_parts` parts is refused before the store would refuse it.
    """

    def __init__(
        self,
        store: ObjectStore,
        key: str,
        part_size: int,
        pool: UploadPool,
        throttle: Throttle,
        on_uploaded: Callable[[int], None] | None = None,
    ) -> None:
        self.key = key
        self._on_uploaded = on_uploaded  # told the size of every part the store accepted
        self.total = 0
        self._store = store
        self._part_size = part_size
        self._max_parts = store.chunk_policy.max_chunks
        self._pool = pool
        self._throttle = throttle
        self._chunks: deque[bytes | memoryview] = deque()
        self._buffered = 0
        self._number = 0
        self._upload: MultipartUpload | None = None
        self._futures: list[Future[Any]] = []

    def write(self, data: bytes | bytearray | memoryview) -> int:
        size = len(data)
        if size:
            self._chunks.append(data if isinstance(data, bytes) else bytes(data))
            self._buffered += size
            self.total += size
        while self._buffered >= self._part_size:
            self._send_part(self._take(self._part_size))
        return size

    def _take(self, size: int) -> bytes:
        """The first `size` buffered bytes, as one bytes object."""
        pieces: list[bytes | memoryview] = []
        wanted = size
        while wanted:
            chunk = self._chunks[0]
            if len(chunk) <= wanted:
                pieces.append(self._chunks.popleft())
                wanted -= len(chunk)
            else:
                view = memoryview(chunk)
                pieces.append(view[:wanted])
                self._chunks[0] = view[wanted:]
                wanted = 0
        self._buffered -= size
        return b"".join(pieces)

    def _send_part(self, data: bytes) -> None:
        self._raise_failed()
        if self._number >= self._max_parts:
            raise StorageError(
                f"Upload of {self.key} needs more than {self._max_parts} parts of "
                f"{self._part_size} bytes: raise --min-chunk-size or -S"
            )
        if self._upload is None:
            self._upload = self._store.start_multipart(self.key)
        self._number += 1
        self._throttle.before_part(len(data))
        future = self._pool.submit(self._upload.upload_part, self._number, data)
        if self._on_uploaded is not None:
            size, report = len(data), self._on_uploaded
            future.add_done_callback(
                lambda done: done.cancelled() or done.exception() or report(size)
            )
        self._futures.append(future)

    def _raise_failed(self) -> None:
        pending = []
        for future in self._futures:
            if not future.done():
                pending.append(future)
            elif future.exception() is not None:
                self._fail(future.exception())
        self._futures = pending

    def _fail(self, exc: BaseException | None) -> None:
        if isinstance(exc, BackupError):
            raise exc
        raise StorageError(f"Upload of {self.key} failed: {exc}") from exc

    def finish(self) -> None:
        """Upload what is left and complete the object; small archives go as one PUT."""
        if self._upload is None:
            size = self._buffered
            self._store.put(self.key, self._take(size))
            if self._on_uploaded is not None:
                self._on_uploaded(size)
            return
        if self._buffered:
            self._send_part(self._take(self._buffered))
        wait_futures(self._futures)
        self._raise_failed()
        self._upload.complete()

    def abort(self) -> None:
        for future in self._futures:
            future.cancel()
        wait_futures(self._futures)
        self._futures = []
        self._chunks.clear()
        self._buffered = 0
        if self._upload is not None:
            self._upload.abort()
