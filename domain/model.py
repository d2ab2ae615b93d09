"""Frozen value objects of a backup: LSNs, ids, tablespaces, files, start and stop results."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

BACKUP_ID_RE = re.compile(r"^\d{8}T\d{6}$")


@dataclass(frozen=True, order=True)
class Lsn:
    """A PostgreSQL WAL location."""

    value: int

    @classmethod
    def parse(cls, text: str) -> Lsn:
        hi, sep, lo = text.strip().partition("/")
        if not sep:
            raise ValueError(f"not an LSN: {text!r}")
        return cls((int(hi, 16) << 32) | int(lo, 16))

    def __str__(self) -> str:
        return f"{self.value >> 32:X}/{self.value & 0xFFFFFFFF:X}"

    def wal_name(self, timeline: int, segment_size: int) -> str:
        """Name of the segment holding this LSN, computed client-side as barman does."""
        segno = (self.value & 0xFFFFFFFF) // segment_size
        return f"{timeline:08X}{self.value >> 32:08X}{segno:08X}"

    def offset(self, segment_size: int) -> int:
        return self.value % segment_size


@dataclass(frozen=True)
class BackupId:
    """A backup id: the client's local time as YYYYMMDDTHHMMSS."""

    value: str

    def __post_init__(self) -> None:
        if not BACKUP_ID_RE.match(self.value):
            raise ValueError(f"not a backup id: {self.value!r}")

    @classmethod
    def from_time(cls, when: datetime) -> BackupId:
        return cls(when.strftime("%Y%m%dT%H%M%S"))

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Tablespace:
    name: str
    oid: int
    location: str


class FileKind(enum.Enum):
    FILE = "file"
    DIRECTORY = "dir"
    SYMLINK = "symlink"
    # Kept as entries without data, as barman's tarfile does (a FIFO left in PGDATA by a tool).
    FIFO = "fifo"
    CHAR_DEVICE = "character device"
    BLOCK_DEVICE = "block device"


@dataclass(frozen=True)
class FileEntry:
    """One member of an archive: where it is on disk and how it is named in the tar."""

    path: str
    name: str
    kind: FileKind
    size: int = 0
    mode: int = 0o600
    uid: int = 0
    gid: int = 0
    uname: str = ""
    gname: str = ""
    mtime: float = 0.0
    linkname: str = ""
    device: int = 0  # st_rdev of a device node


@dataclass(frozen=True)
class MemoryFile:
    """A member whose content is held in memory (the backup_label)."""

    name: str
    data: bytes
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: float = 0.0


@dataclass(frozen=True)
class BufferedFile:
    """A member whose content is in a seekable buffer, read from its start (the backup_manifest,
    spooled to disk when large, so memory stays flat whatever the number of files)."""

    name: str
    buffer: BinaryIO
    size: int
    mode: int = 0o600
    uid: int = 0
    gid: int = 0
    mtime: float = 0.0


Member = FileEntry | MemoryFile | BufferedFile


@dataclass(frozen=True)
class PageCheck:
    """Verify the data-page checksums of relation files while they are read (the server has
    data_checksums on). Pages whose LSN is at or after `start_lsn` are not judged."""

    start_lsn: int
    block_size: int = 8192
    blocks_per_segment: int = 131072


@dataclass(frozen=True, slots=True)
class PageFailure:
    """One block whose checksum did not match, also when read a second time."""

    block: int  # within its file, as PostgreSQL's messages count it
    calculated: int
    expected: int


PageFailureReport = Callable[[str, PageFailure], None]


@dataclass(frozen=True)
class ReadChecks:
    """What an archive computes on the bytes it sends: the manifest checksum algorithm
    (pg_basebackup's names, `NONE` for none) and, optionally, page-checksum verification whose
    failures are reported, by the file's path, to `on_page_failure` (possibly a little after the
    file was sent: small files' pages are checked in batches, at the latest when the archive
    closes)."""

    algorithm: str = "CRC32C"
    pages: PageCheck | None = None
    on_page_failure: PageFailureReport | None = None


@dataclass(frozen=True, slots=True)
class SentFile:
    """What was sent for one file: its size in the archive and the checksum of those bytes
    (hex, empty when none was asked)."""

    size: int
    checksum: str = ""


@dataclass(frozen=True)
class ServerInfo:
    """What is read from PostgreSQL before the backup starts."""

    version: int
    major: str
    systemid: str | None
    pgdata: str
    xlog_segment_size: int
    config_file: str | None = None
    hba_file: str | None = None
    ident_file: str | None = None
    included_files: tuple[str, ...] | None = None
    tablespaces: tuple[Tablespace, ...] = ()
    data_checksums: str | None = None
    summarize_wal: str | None = None
    cluster_size: int | None = None
    block_size: int = 8192  # SHOW block_size
    segment_blocks: int = 131072  # SHOW segment_size / block_size (blocks per relation file)


@dataclass(frozen=True)
class BackupStart:
    lsn: Lsn
    time: datetime
    timeline: int


@dataclass(frozen=True)
class BackupStop:
    lsn: Lsn
    time: datetime
    timeline: int
    label: str


@dataclass(frozen=True)
class ArchiveResult:
    """An archive object that was written and completed."""

    key: str
    size: int
    members: int = 0


@dataclass(frozen=True)
class OpenUpload:
    """A multipart upload left open in a store; `last_activity` is its newest part (or its
    initiation when it has none): a running backup keeps adding parts, a dead one does not."""

    key: str
    upload_id: str
    initiated: datetime
    last_activity: datetime
