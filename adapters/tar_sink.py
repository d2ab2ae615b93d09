"""TarArchiveSink: members -> tar (pax) -> codec -> parallel multipart upload, no temp files."""

from __future__ import annotations

import contextlib
import errno
import io
import tarfile

from adapters.compression import StreamWriter, open_writer
from adapters.uploads import PartUploader, Throttle, UploadPool
from domain.errors import BackupError, SourceReadError
from domain.model import ArchiveResult, FileEntry, FileKind, Member, MemoryFile
from domain.ports import ObjectStore

_COPY_BUFSIZE = 1 << 20


class TarStream:
    """A pax tar stream written straight to the codec: headers from TarInfo, data unbuffered.

    tarfile's own stream mode re-buffers and re-slices every byte; this writes each block once.
    The output is what tarfile writes: pax headers, 512-byte blocks, two zero blocks at the end,
    zero padding to a multiple of 10240 bytes.
    """

    def __init__(self, out: StreamWriter) -> None:
        self._out = out
        self.offset = 0

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self.offset += len(data)

    def header(self, info: tarfile.TarInfo) -> None:
        self._write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def data_from(self, handle: io.RawIOBase, size: int) -> None:
        """Exactly `size` bytes: a file that grew is cut, one that shrank is zero-padded."""
        left = size
        while left:
            chunk = handle.read(min(left, _COPY_BUFSIZE)) or b""
            if not chunk:
                self._write(bytes(left))
                break
            self._write(chunk)
            left -= len(chunk)
        self._pad()

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


def _tarinfo(member: Member) -> tarfile.TarInfo:
    info = tarfile.TarInfo(member.name)
    info.mode = member.mode & 0o7777
    info.uid, info.gid = member.uid, member.gid
    info.mtime = member.mtime  # type: ignore[assignment]
    if isinstance(member, MemoryFile):
        info.size = len(member.data)
        return info
    info.uname, info.gname = member.uname, member.gname
    if member.kind is FileKind.DIRECTORY:
        info.type = tarfile.DIRTYPE
    elif member.kind is FileKind.SYMLINK:
        info.type = tarfile.SYMTYPE
        info.linkname = member.linkname
    else:
        info.size = member.size
    return info


class TarArchiveWriter:
    """One archive object; `written` is the compressed size so far (what -S compares)."""

    def __init__(self, key: str, parts: PartUploader, compression: str | None) -> None:
        self.key = key
        self._parts = parts
        self._codec = open_writer(compression, parts)
        self._tar = TarStream(self._codec)
        self._members = 0
        self._closed = False

    @property
    def written(self) -> int:
        return self._parts.total

    @property
    def members(self) -> int:
        return self._members

    def add(self, member: Member) -> None:
        info = _tarinfo(member)
        if isinstance(member, MemoryFile):
            self._tar.header(info)
            self._tar.data(member.data)
        elif member.kind is FileKind.FILE:
            self._add_file(member, info)
        else:
            self._tar.header(info)
        self._members += 1

    def _add_file(self, entry: FileEntry, info: tarfile.TarInfo) -> None:
        try:
            handle = open(entry.path, "rb", buffering=0)  # noqa: SIM115
        except FileNotFoundError:
            return  # vanished since the walk (dropped table): PostgreSQL replays it from WAL
        except OSError as exc:
            raise SourceReadError(f"Cannot read {entry.path}: {exc.strerror}") from exc
        with handle:
            self._tar.header(info)
            try:
                self._tar.data_from(handle, entry.size)
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EACCES, errno.EPERM):
                    raise SourceReadError(f"Cannot read {entry.path}: {exc.strerror}") from exc
                raise

    def close(self) -> ArchiveResult:
        try:
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
    ) -> None:
        self._store = store
        self._compression = compression
        self._part_size = part_size
        self._jobs = jobs
        self._max_bandwidth = max_bandwidth
        self._pool: UploadPool | None = None

    def open(self, key: str) -> TarArchiveWriter:
        if self._pool is None:
            self._pool = UploadPool(self._jobs)
        parts = PartUploader(
            self._store, key, self._part_size, self._pool, Throttle(self._max_bandwidth)
        )
        return TarArchiveWriter(key, parts, self._compression)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
