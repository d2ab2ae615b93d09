"""TarArchiveSink: members -> tar (pax) -> codec -> parallel multipart upload, no temp files."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tarfile
from collections.abc import Callable
from functools import partial
from typing import BinaryIO

from cloud_base_backup.adapters.compression import SUFFIXES, StreamWriter, open_writer
from cloud_base_backup.adapters.read_checks import FileReadCheck, PageBatch
from cloud_base_backup.adapters.system import NullLog
from cloud_base_backup.adapters.uploads import PartUploader, Throttle, UploadPool
from cloud_base_backup.domain.errors import BackupError, SourceReadError
from cloud_base_backup.domain.manifest import relation_name_rule
from cloud_base_backup.domain.model import (
    ArchiveResult,
    BufferedFile,
    FileEntry,
    FileKind,
    Member,
    MemoryFile,
    ReadChecks,
    SentFile,
)
from cloud_base_backup.domain.ports import Log, ObjectStore

_COPY_BUFSIZE = 1 << 20


class TarStream:
    """A pax tar stream written straight to the codec: headers from TarInfo, data unbuffered.

    tarfile's own stream mode re-buffers and re-slices every byte; this writes each block once.
    The output is what tarfile writes: pax headers, 512-byte blocks, two zero blocks at the end,
    zero padding to a multiple of 10240 bytes.
    """

    def __init__(self, out: StreamWriter, on_read: Callable[[int], None] | None = None) -> None:
        self._out = out
        self._on_read = on_read  # told the size of every chunk read from a file
        self.offset = 0

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self.offset += len(data)

    def header(self, info: tarfile.TarInfo) -> None:
        self._write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def data_from(
        self, handle: io.RawIOBase | BinaryIO, size: int, check: FileReadCheck | None = None
    ) -> int:
        """Exactly `size` bytes: a file that grew is cut, one that shrank is zero-padded.

        With `check`, each chunk is checksummed (and its pages verified) before it is written.
        Returns how many bytes were missing (0 unless the file shrank while it was read).
        """
        missing = 0
        left = size
        offset = 0
        while left:
            chunk = _read_full(handle, min(left, _COPY_BUFSIZE))
            if not chunk:
                missing = left
                padding = bytes(left)
                if check is not None:
                    check.padding(padding)
                self._write(padding)
                break
            if check is not None:
                chunk = check.chunk(chunk, offset)
            self._write(chunk)
            if self._on_read is not None:
                self._on_read(len(chunk))
            left -= len(chunk)
            offset += len(chunk)
        self._pad()
        return missing

    def data(self, payload: bytes) -> None:
        self._write(payload)
        self._pad()

    def _pad(self) -> None:
        remainder = self.offset % tarfile.BLOCKSIZE
        if remainder:
            self._write(bytes(tarfile.BLOCKSIZE - remainder))

    def close(self) -> None:
        self._write(bytes(2 * tarfile.BLOCKSIZE))
        remainder = self.offset % tarfile.RECORDSIZE
        if remainder:
            self._write(bytes(tarfile.RECORDSIZE - remainder))


def _read_full(handle: io.RawIOBase | BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the file (a raw read may return less)."""
    chunk = handle.read(size) or b""
    if len(chunk) in (0, size):
        return chunk
    pieces = [chunk]
    got = len(chunk)
    while got < size:
        more = handle.read(size - got)
        if not more:
            break
        pieces.append(more)
        got += len(more)
    return b"".join(pieces)


_SPECIAL_TYPES = {
    FileKind.FIFO: tarfile.FIFOTYPE,
    FileKind.CHAR_DEVICE: tarfile.CHRTYPE,
    FileKind.BLOCK_DEVICE: tarfile.BLKTYPE,
}


def _tarinfo(member: Member) -> tarfile.TarInfo:
    info = tarfile.TarInfo(member.name)
    info.mode = member.mode & 0o7777
    info.uid, info.gid = member.uid, member.gid
    info.mtime = member.mtime  # type: ignore[assignment]
    if isinstance(member, MemoryFile):
        info.size = len(member.data)
        return info
    if isinstance(member, BufferedFile):
        info.size = member.size
        return info
    info.uname, info.gname = member.uname, member.gname
    if member.kind is FileKind.DIRECTORY:
        info.type = tarfile.DIRTYPE
    elif member.kind is FileKind.SYMLINK:
        info.type = tarfile.SYMTYPE
        info.linkname = member.linkname
    elif member.kind in _SPECIAL_TYPES:
        info.type = _SPECIAL_TYPES[member.kind]
        info.devmajor, info.devminor = os.major(member.device), os.minor(member.device)
    else:
        info.size = member.size
    return info


class TarArchiveWriter:
    """One archive object; `written` is the compressed size so far (what -S compares)."""

    def __init__(
        self,
        key: str,
        parts: PartUploader,
        compression: str | None,
        checks: ReadChecks | None = None,
        log: Log | None = None,
        on_read: Callable[[str, int], None] | None = None,
    ) -> None:
        self.key = key
        self._log: Log = log or NullLog()
        self._checks = checks
        pages = checks.pages if checks is not None else None
        self._pages = PageBatch(pages, checks.on_page_failure) if pages and checks else None
        self._parts = parts
        self._codec = open_writer(compression, parts)
        self._tar = TarStream(self._codec, partial(on_read, key) if on_read else None)
        self._members = 0
        self._closed = False

    @property
    def written(self) -> int:
        return self._parts.total

    @property
    def members(self) -> int:
        return self._members

    def _check(self, member: Member) -> FileReadCheck | None:
        if self._checks is None:
            return None
        path = member.path if isinstance(member, FileEntry) else ""
        return FileReadCheck(self._checks, member.name, path, self._pages)

    def add(self, member: Member) -> SentFile | None:
        info = _tarinfo(member)
        sent: SentFile | None = None
        if isinstance(member, MemoryFile):
            check = self._check(member)
            data = check.chunk(member.data, 0) if check is not None else member.data
            self._tar.header(info)
            self._tar.data(data)
            sent = check.result(len(data)) if check is not None else SentFile(len(data))
        elif isinstance(member, BufferedFile):  # the manifest, which does not list itself
            member.buffer.seek(0)
            self._tar.header(info)
            self._tar.data_from(member.buffer, member.size)
            sent = SentFile(member.size)
        elif member.kind is FileKind.FILE:
            sent = self._add_file(member, info, self._check(member))
            if sent is None:
                return None
        else:
            self._tar.header(info)
        self._members += 1
        return sent

    def _add_file(
        self, entry: FileEntry, info: tarfile.TarInfo, check: FileReadCheck | None
    ) -> SentFile | None:
        try:
            handle = open(entry.path, "rb", buffering=0)  # noqa: SIM115
        except FileNotFoundError:
            return None  # vanished since the walk (dropped table): PostgreSQL replays it from WAL
        except OSError as exc:
            raise SourceReadError(f"Cannot read {entry.path}: {exc.strerror}") from exc
        with handle:
            self._tar.header(info)
            try:
                missing = self._tar.data_from(handle, entry.size, check)
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EACCES, errno.EPERM):
                    raise SourceReadError(f"Cannot read {entry.path}: {exc.strerror}") from exc
                raise
        if missing:
            # Zero-padded to the size the header announced, as barman does. A relation file
            # (a truncated or dropped table) is repaired by WAL replay; anything else is not.
            relation = relation_name_rule(entry.name) is not None
            (self._log.debug if relation else self._log.warning)(
                "file shrank while it was read: zero-padded",
                path=entry.path,
                expected=entry.size,
                read=entry.size - missing,
            )
        return check.result(entry.size) if check is not None else SentFile(entry.size)

    def close(self) -> ArchiveResult:
        try:
            if self._pages is not None:
                self._pages.finish()  # every page is judged before the archive is complete
            self._tar.close()
            self._codec.close()
            self._parts.finish()
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return ArchiveResult(key=self.key, size=self._parts.total, members=self._members)

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pages is not None:
            self._pages.close()
        with contextlib.suppress(BackupError):
            self._parts.abort()


class TarArchiveSink:
    """Opens archive writers that share one bounded upload pool."""

    def __init__(
        self,
        store: ObjectStore,
        compression: str | None,
        part_size: int,
        jobs: int,
        max_bandwidth: int | None = None,
        log: Log | None = None,
        on_uploaded: Callable[[int], None] | None = None,
        on_read: Callable[[str, int], None] | None = None,
    ) -> None:
        self._log = log
        # for the progress display: bytes the store accepted, and (archive key, bytes) read
        self._on_uploaded = on_uploaded
        self._on_read = on_read
        self._store = store
        self._compression = compression
        self._part_size = part_size
        self._jobs = jobs
        self._max_bandwidth = max_bandwidth
        self._pool: UploadPool | None = None

    @property
    def suffix(self) -> str:
        return SUFFIXES[self._compression]

    @property
    def workers(self) -> int:
        return self._jobs

    def open(self, key: str, checks: ReadChecks | None = None) -> TarArchiveWriter:
        if self._pool is None:
            self._pool = UploadPool(self._jobs)
        parts = PartUploader(
            self._store,
            key,
            self._part_size,
            self._pool,
            Throttle(self._max_bandwidth),
            self._on_uploaded,
        )
        return TarArchiveWriter(
            key, parts, self._compression, checks, self._log, self._on_read
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
