"""What a backup proves about itself: its backup_manifest and the page checksums checked on read.

`BackupIntegrity` is fed each member as it is sent (with what the archive computed on its
bytes); it renders the manifest line at once into a spooled buffer (memory stays flat with
millions of files), reports page-checksum failures as PostgreSQL's base backup does (a few per
file, then a count), and at the end gives the manifest as the data archive's last member.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from cloud_base_backup.domain.layout import DATA_ARCHIVE
from cloud_base_backup.domain.manifest import (
    DEFAULT_CHECKSUM,
    MANIFEST_NAME,
    ManifestWriter,
    manifest_path,
    manifest_version,
    wal_ranges,
)
from cloud_base_backup.domain.model import (
    BackupStart,
    BackupStop,
    BufferedFile,
    Member,
    PageCheck,
    PageFailure,
    ReadChecks,
    SentFile,
    ServerInfo,
)
from cloud_base_backup.domain.ports import Log

# Like PostgreSQL's base backup: the first failures of a file are named, then only counted.
MAX_NAMED_PER_FILE = 5
# A manifest line is ~150 bytes: up to ~50,000 files stay in memory, more go to a temp file.
SPOOL_IN_MEMORY = 8 << 20


@dataclass(frozen=True)
class IntegrityRequest:
    """The options: --manifest-checksums and --no-verify-checksums (pg_basebackup's names)."""

    manifest_checksums: str = DEFAULT_CHECKSUM
    verify_checksums: bool = True


def page_check(info: ServerInfo, start: BackupStart, verify: bool) -> PageCheck | None:
    """Page verification for this backup: only when asked and the server has data checksums."""
    if not verify or (info.data_checksums or "off") != "on":
        return None
    return PageCheck(
        start_lsn=start.lsn.value,
        block_size=info.block_size,
        blocks_per_segment=info.segment_blocks,
    )


class BackupIntegrity:
    def __init__(
        self, request: IntegrityRequest, info: ServerInfo, start: BackupStart, log: Log
    ) -> None:
        self._log = log
        self._start = start
        self.checks = ReadChecks(
            request.manifest_checksums,
            page_check(info, start, request.verify_checksums),
            self.page_failed,
        )
        self._buffer = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        system_identifier = int(info.systemid) if info.systemid else None
        # Version 2 needs the system identifier; a role that may not read pg_control_system()
        # gets version 1, which pg_verifybackup 17+ accepts too (without that one check).
        version = manifest_version(info.version) if system_identifier is not None else 1
        self._manifest = ManifestWriter(
            self._buffer,  # type: ignore[arg-type]
            request.manifest_checksums,
            version,
            system_identifier,
        )
        self.failures = 0
        self._per_file: dict[str, int] = {}  # only files with failures

    @property
    def verifying_pages(self) -> bool:
        return self.checks.pages is not None

    def sent(self, base: str, member: Member, sent: SentFile | None) -> None:
        """Record one member of archive `base` (`data` or a tablespace oid) as it was sent."""
        if sent is None or isinstance(member, BufferedFile):  # the manifest does not list itself
            return
        path = manifest_path(base, member.name, DATA_ARCHIVE)
        self._manifest.add(path, sent.size, member.mtime, sent.checksum)

    def page_failed(self, path: str, failure: PageFailure) -> None:
        """A page of the file at `path` failed its checksum twice: the first few of a file are
        named, as PostgreSQL's base backup does, the others counted (see `report_totals`)."""
        count = self._per_file.get(path, 0) + 1
        self._per_file[path] = count
        self.failures += 1
        if count <= MAX_NAMED_PER_FILE:
            self._log.warning(
                "checksum.failed",
                message=(
                    f'checksum verification failed in file "{path}", block {failure.block}: '
                    f"calculated {failure.calculated:X} but expected {failure.expected:X}"
                ),
                file=path,
                block=failure.block,
                calculated=f"{failure.calculated:X}",
                expected=f"{failure.expected:X}",
            )

    def report_totals(self) -> None:
        """Each file with more failures than were named: its total."""
        for path, count in self._per_file.items():
            if count > MAX_NAMED_PER_FILE:
                self._log.warning(
                    "checksum.file_total",
                    message=f'file "{path}" has a total of {count} checksum verification failures',
                    file=path,
                    failures=count,
                )

    def manifest_member(self, stop: BackupStop, uid: int, gid: int) -> BufferedFile:
        """The finished backup_manifest (WAL range from the start to the stop LSN)."""
        ranges = wal_ranges(self._start.timeline, self._start.lsn, stop.timeline, stop.lsn)
        size = self._manifest.finish(ranges)
        self._buffer.flush()
        return BufferedFile(
            name=MANIFEST_NAME,
            buffer=self._buffer,  # type: ignore[arg-type]
            size=size,
            mode=0o600,
            uid=uid,
            gid=gid,
            mtime=stop.time.timestamp(),
        )

    def outcome(self) -> str | None:
        """The problem the run ends with when pages failed (the backup itself is DONE)."""
        if not self.failures:
            return None
        self.report_totals()
        return (
            f"checksum verification failure during base backup: {self.failures} page(s) in "
            f"{len(self._per_file)} file(s) failed their checksum (see the warnings)"
        )

    def close(self) -> None:
        self._buffer.close()
