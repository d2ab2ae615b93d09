"""TarArchiveSink: members -> tar (pax) -> codec -> parallel multipart upload, no temp files."""

from __future__ import annotations

import contextlib
import errno
import io
import tarfile

from adapters.compression import open_writer
from adapters.uploads import PartUploader, Throttle, UploadPool
from domain.errors import BackupError, SourceReadError
from domain.model import ArchiveResult, FileEntry, FileKind, Member, MemoryFile
from domain.ports import ObjectStore

_COPY_BUFSIZE = 1 << 20
_TAR_BUFSIZE = 1 << 20


class _SizedFile:
    """Reads exactly `size` bytes: a file that grew is cut, one that shrank is zero-padded."""

    def __init__(self, handle: io.BufferedReader, size: int) -> None:
        self._handle = handle
        self._left = size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        data = self._handle.read(n)
        if len(data) < n:
            data += bytes(n - len(data))
        self._left -= n
        return data


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
        self._tar = tarfile.open(  # type: ignore[call-overload]  # noqa: SIM115
            fileobj=self._codec,
            mode="w|",
            format=tarfile.PAX_FORMAT,
            bufsize=_TAR_BUFSIZE,
        )
        self._tar.copybufsize = _COPY_BUFSIZE
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
            self._tar.addfile(info, io.BytesIO(member.data))
        elif member.kind is FileKind.FILE:
            self._add_file(member, info)
        else:
            self._tar.addfile(info)
        self._members += 1

    def _add_file(self, entry: FileEntry, info: tarfile.TarInfo) -> None:
        try:
            handle = open(entry.path, "rb", buffering=0)  # noqa: SIM115
        except FileNotFoundError:
            return  # vanished since the walk (dropped table): PostgreSQL replays it from WAL
        except OSError as exc:
            raise SourceReadError(f"Cannot read {entry.path}: {exc.strerror}") from exc
        with handle:
            try:
                self._tar.addfile(info, _SizedFile(handle, entry.size))  # type: ignore[arg-type]
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
