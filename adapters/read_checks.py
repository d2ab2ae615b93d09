"""What is checked on a file's bytes as they flow into the tar: the manifest checksum of the
bytes sent and, for relation files of a cluster with data checksums, every page's checksum.

Page checks are batched across files and reads: one numpy pass costs about the same for one
page as for a hundred (the per-call overhead dominates), most relation files of a cluster are a
page or three, and bigger passes hold the GIL a smaller share of the time. The archive's
`PageBatch` keeps the chunks read (no copy on the reader's thread) and has them checked
`BATCH_PAGES` at a time; the worker joins runs of small files' pages and copies the batch once,
row-major, for the arithmetic. The checks run on the batch's worker thread while the reader
goes on (at most `IN_FLIGHT` batches behind; numpy releases the GIL inside its loops), and
every page is checked before the archive completes (`finish`). A failure is reported, with the
file's path, through `ReadChecks.on_page_failure` (from the worker thread).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from cloud_base_backup.adapters.digests import new_digest
from cloud_base_backup.adapters.page_checksums import suspect_pages
from cloud_base_backup.domain.manifest import first_block
from cloud_base_backup.domain.model import (
    PageCheck,
    PageFailure,
    PageFailureReport,
    ReadChecks,
    SentFile,
)

BATCH_PAGES = 512  # 4 MiB of pages at 8 kB (bench/page_checksum_speed.py: 1 MiB is slower)
DIRECT_PAGES = 64  # a chunk this big is copied as it is; smaller ones are joined first
IN_FLIGHT = 2  # batches queued on the worker: with the one filling, ~3 batches of reads held


@dataclass(frozen=True, slots=True)
class _Run:
    """Consecutive pages of one file in the batch."""

    path: str
    first_in_file: int  # block number within the file of the run's first page
    first_block: int  # the block number the checksum mixes in (segment * blocks + in file)
    count: int


class PageBatch:
    """Pages waiting to be checked, from one archive's files, in read order."""

    def __init__(
        self, check: PageCheck, report: PageFailureReport | None, threaded: bool = True
    ) -> None:
        self._check = check
        self._report = report
        self._pieces: list[memoryview] = []
        self._pages = 0
        self._runs: list[_Run] = []
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="pages") if threaded else None
        self._slots = threading.BoundedSemaphore(IN_FLIGHT)
        self._pending: list[Future[None]] = []

    def add(self, path: str, pages: memoryview, first_in_file: int, first_block: int) -> None:
        size = self._check.block_size
        count = len(pages) // size
        if not count:
            return
        self._pieces.append(pages[: count * size])  # read chunks are bytes: never changed
        self._runs.append(_Run(path, first_in_file, first_block, count))
        self._pages += count
        if self._pages >= BATCH_PAGES:
            self.flush()

    def flush(self) -> None:
        """Check every queued page now."""
        if not self._runs:
            return
        pieces, runs = self._pieces, self._runs
        self._pieces, self._runs, self._pages = [], [], 0
        self._submit(pieces, runs)

    def _submit(self, pieces: list[memoryview], runs: list[_Run]) -> None:
        """Check on the worker thread (the reader goes on), at most IN_FLIGHT behind."""
        if self._pool is None:
            self._verify(pieces, runs)
            return
        self._slots.acquire()
        try:
            future = self._pool.submit(self._verify, pieces, runs)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _f: self._slots.release())
        waiting = []
        for queued in [*self._pending, future]:
            if queued.done():
                queued.result()  # a check that raised raises here, on the reader's thread
            else:
                waiting.append(queued)
        self._pending = waiting

    def finish(self) -> None:
        """Before the archive completes: every queued page checked, its failures reported."""
        self.flush()
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()
        self.close()

    def close(self) -> None:
        """Drop what is queued and stop the worker (also after an aborted archive)."""
        self._pieces, self._runs, self._pages = [], [], 0
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _verify(self, pieces: list[memoryview], runs: list[_Run]) -> None:
        blocks = np.concatenate(
            [np.arange(r.first_block, r.first_block + r.count, dtype=np.int64) for r in runs]
        )
        size = self._check.block_size
        suspects = suspect_pages(_joined(pieces, size), blocks, self._check.start_lsn, size)
        if suspects:
            self._recheck(suspects, runs)

    def _recheck(self, suspects: list[tuple[int, int, int]], runs: list[_Run]) -> None:
        """Read each suspect page once more from its file: a page read while being written is
        whole (and newer than the start) the second time; a damaged one fails again."""
        size = self._check.block_size
        starts = np.cumsum([0] + [r.count for r in runs])
        for index, _calculated, _stored in suspects:
            run = runs[int(np.searchsorted(starts, index, side="right")) - 1]
            offset = index - int(starts[runs.index(run)])
            in_file = run.first_in_file + offset
            again = _pread(run.path, size, in_file * size)
            if again is None:
                continue  # gone or truncated meanwhile: WAL replay recreates or drops it
            still = suspect_pages(again, run.first_block + offset, self._check.start_lsn, size)
            if still and self._report is not None:
                _, calculated, stored = still[0]
                self._report(run.path, PageFailure(in_file, calculated, stored))


def _joined(pieces: list[memoryview], block_size: int) -> list[bytes | memoryview]:
    """`pieces` with each run of small ones (small files' pages) joined into one buffer: one
    copy per run rather than one per piece."""
    out: list[bytes | memoryview] = []
    small: list[memoryview] = []
    for piece in pieces:
        if len(piece) < DIRECT_PAGES * block_size:
            small.append(piece)
            continue
        if small:
            out.append(b"".join(small))
            small = []
        out.append(piece)
    if small:
        out.append(b"".join(small))
    return out


def _pread(path: str, size: int, offset: int) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.pread(fd, size, offset)
    finally:
        os.close(fd)
    return data if len(data) == size else None


class FileReadCheck:
    """One file being sent: feed it every chunk in order (`chunk`, then any `padding`)."""

    def __init__(
        self, checks: ReadChecks, name: str, path: str = "", batch: PageBatch | None = None
    ) -> None:
        self._digest = new_digest(checks.algorithm)
        pages = checks.pages
        self._first = first_block(name, pages.blocks_per_segment) if pages is not None else None
        self._block_size = pages.block_size if pages is not None else 0
        self._path = path
        self._batch = batch if self._first is not None else None

    def chunk(self, data: bytes, offset: int) -> bytes:
        """Checksum `data` (read at `offset`) and queue its whole pages for the page check."""
        if self._batch is not None and self._first is not None and offset % self._block_size == 0:
            in_file = offset // self._block_size
            self._batch.add(self._path, memoryview(data), in_file, self._first + in_file)
        self._digest.update(data)
        return data

    def padding(self, data: bytes) -> None:
        self._digest.update(data)

    def result(self, size: int) -> SentFile:
        return SentFile(size=size, checksum=self._digest.hexdigest())
