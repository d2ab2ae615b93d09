"""What is checked on a file's bytes as they flow into the tar: the manifest checksum of the
bytes sent and, for relation files of a cluster with data checksums, every page's checksum."""

from __future__ import annotations

import os

from adapters.digests import new_digest
from adapters.page_checksums import suspect_pages
from domain.manifest import first_block
from domain.model import PageFailure, ReadChecks, SentFile

# Like PostgreSQL's base backup: the first failures of a file are named, then only counted.
MAX_REPORTED_PER_FILE = 5


class FileReadCheck:
    """One file being sent: feed it every chunk in order (`chunk`, then any `padding`)."""

    def __init__(self, checks: ReadChecks, name: str) -> None:
        self._digest = new_digest(checks.algorithm)
        self._pages = checks.pages
        self._first = (
            first_block(name, self._pages.blocks_per_segment) if self._pages is not None else None
        )
        self._failures: list[PageFailure] = []
        self._count = 0

    def chunk(self, data: bytes, offset: int, fd: int | None) -> bytes:
        """The bytes to send for `data` read at `offset`: a page that failed and read back
        differently is sent as read the second time (the bytes checksummed are those sent)."""
        if self._first is not None and fd is not None:
            data = self._verify(data, offset, fd)
        self._digest.update(data)
        return data

    def padding(self, data: bytes) -> None:
        self._digest.update(data)

    def result(self, size: int) -> SentFile:
        return SentFile(
            size=size,
            checksum=self._digest.hexdigest(),
            page_failures=tuple(self._failures),
            failure_count=self._count,
        )

    def _verify(self, data: bytes, offset: int, fd: int) -> bytes:
        pages = self._pages
        assert pages is not None and self._first is not None
        size = pages.block_size
        whole = len(data) - len(data) % size  # a partial last page is not judged
        if offset % size or not whole:
            return data
        in_file = offset // size
        suspects = suspect_pages(
            memoryview(data)[:whole], self._first + in_file, pages.start_lsn, size
        )
        if not suspects:
            return data
        fixed = bytearray(data)
        for index, calculated, stored in suspects:
            # Read once more: a page being written can be read torn; a real corruption stays.
            again = os.pread(fd, size, offset + index * size)
            if len(again) != size:
                continue  # truncated meanwhile: WAL replay recreates or drops it
            fixed[index * size : (index + 1) * size] = again
            still = suspect_pages(again, self._first + in_file + index, pages.start_lsn, size)
            if not still:
                continue
            _, calculated, stored = still[0]
            self._count += 1
            if len(self._failures) < MAX_REPORTED_PER_FILE:
                self._failures.append(PageFailure(in_file + index, calculated, stored))
        return bytes(fixed)
