"""PostgreSQL's backup_manifest format (what pg_basebackup writes and pg_verifybackup checks).

The text is rendered byte for byte as PostgreSQL's server renders it (backup_manifest.c):

    { "PostgreSQL-Backup-Manifest-Version": 1,
    "Files": [
    { "Path": "backup_label", "Size": 225, "Last-Modified": "2026-11-30 23:40:01 GMT",
      "Checksum-Algorithm": "CRC32C", "Checksum": "c7a4a38c" },        <- one line per file
    ...
    ],
    "WAL-Ranges": [
    { "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }
    ],
    "Manifest-Checksum": "<sha-256 of every byte before this line>"}

Version 2 (PostgreSQL 17 and later) adds `"System-Identifier": <n>,` after the version line;
pg_verifybackup 17+ then checks it against the backup's pg_control, and older
pg_verifybackups refuse version 2. A server of major N writes version 1 before 17 and 2 from
17 on, so the manifest of a backup is the one its own server's pg_basebackup would get.

Files are appended one rendered line at a time to a binary sink (a spooled buffer), so memory
stays flat whatever the number of files: nothing is kept per file.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from cloud_base_backup.domain.model import Lsn

MANIFEST_NAME = "backup_manifest"
# pg_basebackup's --manifest-checksums names; CRC32C is its default.
CHECKSUM_ALGORITHMS = ("NONE", "CRC32C", "SHA224", "SHA256", "SHA384", "SHA512")
DEFAULT_CHECKSUM = "CRC32C"
FIRST_VERSION_2_MAJOR = 17


def manifest_version(server_version: int) -> int:
    """1 before PostgreSQL 17, 2 from 17 (server_version_num, e.g. 170002)."""
    return 2 if server_version // 10000 >= FIRST_VERSION_2_MAJOR else 1


def header(version: int, system_identifier: int | None) -> str:
    if version == 1:
        return '{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": ['
    if system_identifier is None:
        raise ValueError("a version 2 manifest needs the system identifier")
    return (
        f'{{ "PostgreSQL-Backup-Manifest-Version": {version},\n'
        f'"System-Identifier": {system_identifier},\n"Files": ['
    )


def path_field(name: bytes) -> str:
    """`"Path": "<json>"` for a UTF-8 name, else `"Encoded-Path": "<hex>"` (PostgreSQL's rule)."""
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        return f'"Encoded-Path": "{name.hex()}"'
    # json.dumps escapes exactly what PostgreSQL's escape_json does for valid UTF-8: \" \\ \b
    # \f \n \r \t, other control characters as \u00xx, everything else (DEL, non-ASCII) raw.
    return f'"Path": {json.dumps(text, ensure_ascii=False)}'


def last_modified(mtime: float) -> str:
    """The file's modification time in whole seconds, as GMT (strftime "%Y-%m-%d %H:%M:%S %Z")."""
    return time.strftime("%Y-%m-%d %H:%M:%S GMT", time.gmtime(int(mtime // 1)))


def file_line(name: bytes, size: int, mtime: float, algorithm: str, checksum: str) -> str:
    """One file's object, without the separator PostgreSQL puts before it."""
    line = f'{{ {path_field(name)}, "Size": {size}, "Last-Modified": "{last_modified(mtime)}"'
    if algorithm != "NONE":
        line += f', "Checksum-Algorithm": "{algorithm}", "Checksum": "{checksum}"'
    return line + " }"


@dataclass(frozen=True)
class WalRange:
    timeline: int
    start: Lsn
    end: Lsn


def wal_ranges_text(ranges: Sequence[WalRange]) -> str:
    body = ",\n".join(
        f'{{ "Timeline": {r.timeline}, "Start-LSN": "{r.start}", "End-LSN": "{r.end}" }}'
        for r in ranges
    )
    return f'\n],\n"WAL-Ranges": [\n{body}\n],\n'


def checksum_line(digest_hex: str) -> str:
    return f'"Manifest-Checksum": "{digest_hex}"}}\n'


def relation_name_rule(name: str) -> re.Match[str] | None:
    """Whether an archive member is a relation segment whose pages carry checksums.

    `base/<db>/<relfilenode>[_fsm|_vm|_init][.<segment>]`, `global/<relfilenode>...` in the
    data archive, `PG_<major>_<catversion>/<db>/<relfilenode>...` in a tablespace archive.
    pg_control, pg_filenode.map, PG_VERSION and anything else is not page-checksummed.
    """
    return _RELATION.match(name)


_RELATION = re.compile(
    r"^(?:base/\d+/|global/|PG_[^/]+/\d+/)\d+(?:_(?:fsm|vm|init))?(?:\.(?P<segment>\d+))?$"
)


def first_block(name: str, blocks_per_segment: int) -> int | None:
    """Block number of a relation segment's first page (checksums mix it in); None if not one."""
    match = relation_name_rule(name)
    if match is None:
        return None
    return int(match["segment"] or 0) * blocks_per_segment


def manifest_path(archive_base: str, name: str, data_base: str) -> str:
    """A member's path as PostgreSQL writes it: tablespace files under `pg_tblspc/<oid>/`."""
    return name if archive_base == data_base else f"pg_tblspc/{archive_base}/{name}"


class ManifestWriter:
    """Renders a backup_manifest into `out` as files are sent; `finish` adds the WAL ranges and
    the manifest's own SHA-256. Only the running hash and a counter are kept in memory."""

    def __init__(
        self,
        out: BinaryIO,
        algorithm: str,
        version: int,
        system_identifier: int | None = None,
    ) -> None:
        if algorithm not in CHECKSUM_ALGORITHMS:
            raise ValueError(f"unknown manifest checksum algorithm {algorithm!r}")
        self.algorithm = algorithm
        self._out = out
        self._sha = hashlib.sha256()
        self._files = 0
        self.size = 0
        self._finished = False
        self._emit(header(version, system_identifier))

    @property
    def files(self) -> int:
        return self._files

    def _emit(self, text: str, hashed: bool = True) -> None:
        data = text.encode("utf-8")
        if hashed:
            self._sha.update(data)
        self._out.write(data)
        self.size += len(data)

    def add(self, path: str, size: int, mtime: float, checksum: str) -> None:
        """One sent file; `path` may hold surrogate escapes (non-UTF-8 names from the disk)."""
        if self._finished:
            raise ValueError(f"the manifest is finished: {path!r} cannot be added")
        raw = path.encode("utf-8", "surrogateescape")
        separator = "\n" if self._files == 0 else ",\n"
        self._emit(separator + file_line(raw, size, mtime, self.algorithm, checksum))
        self._files += 1

    def finish(self, ranges: Sequence[WalRange]) -> int:
        """Close the file list, add the WAL ranges and the checksum; return the total size."""
        self._finished = True
        self._emit(wal_ranges_text(ranges))
        self._emit(checksum_line(self._sha.hexdigest()), hashed=False)
        return self.size


def wal_ranges(start_timeline: int, start: Lsn, stop_timeline: int, stop: Lsn) -> list[WalRange]:
    """The backup's WAL range. A timeline switch during the backup (a standby promoted) cannot
    be split without the history file: the whole range is then given on the stop's timeline,
    which is where PostgreSQL's own last range ends."""
    del start_timeline
    return [WalRange(stop_timeline, start, stop)]
