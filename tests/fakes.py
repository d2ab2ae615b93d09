"""In-memory fakes of every port: small real classes that record what happened."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cloud_base_backup.domain.errors import (
    BucketNotFound,
    CloudConnectionError,
    PostgresConnectionError,
    PostgresError,
    StorageError,
)
from cloud_base_backup.domain.lifecycle import LifecycleObserver
from cloud_base_backup.domain.model import (
    ArchiveResult,
    BackupStart,
    BackupStop,
    BufferedFile,
    FileEntry,
    FileKind,
    Lsn,
    Member,
    MemoryFile,
    PageFailure,
    ReadChecks,
    SentFile,
    ServerInfo,
    Tablespace,
)
from cloud_base_backup.domain.plan import ArchiveSpec
from cloud_base_backup.domain.splitting import ChunkPolicy

UTC = UTC


class FakeClock:
    def __init__(self, start: datetime | None = None, step: float = 0.25) -> None:
        self._now = start or datetime(2026, 11, 26, 4, 18, 50, tzinfo=UTC)
        self._mono = 1000.0
        self.step = step

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        self._mono += self.step
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class RecordingLog:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def _log(self, level: str, event: str, **fields: Any) -> None:
        self.records.append((level, event, fields))

    def debug(self, event: str, **fields: Any) -> None:
        self._log("debug", event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log("error", event, **fields)

    def events(self, level: str | None = None) -> list[str]:
        return [e for lvl, e, _ in self.records if level is None or lvl == level]


def server_info(**overrides: Any) -> ServerInfo:
    values: dict[str, Any] = dict(
        version=150018,
        major="15",
        systemid="7345678901234567890",
        pgdata="/pg/data",
        xlog_segment_size=16 * 1024 * 1024,
        config_file="/pg/data/postgresql.conf",
        hba_file="/pg/data/pg_hba.conf",
        ident_file="/pg/data/pg_ident.conf",
        included_files=("/pg/data/postgresql.auto.conf",),
        tablespaces=(Tablespace("tbs", 16385, "/pg/tbs"),),
        data_checksums="on",
        summarize_wal=None,
        cluster_size=123456,
    )
    values.update(overrides)
    return ServerInfo(**values)


@dataclass
class FakePostgres:
    info: ServerInfo = field(default_factory=server_info)
    fail_on: str | None = None
    lose_connection_after_keepalives: int | None = None
    calls: list[str] = field(default_factory=list)
    in_backup: bool = False

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_on == name:
            raise PostgresError(f"{name} command: simulated failure")

    def server_info(self) -> ServerInfo:
        self._call("server_info")
        return self.info

    def check_backup_privileges(self) -> None:
        self._call("check_backup_privileges")

    def start_backup(self, label: str, fast: bool) -> BackupStart:
        self._call("start_backup")
        self.in_backup = True
        self.label = label
        return BackupStart(Lsn(0x2000028), datetime(2026, 11, 26, 4, 18, 50, 935795, tzinfo=UTC), 1)

    def keepalive(self) -> None:
        self.calls.append("keepalive")
        limit = self.lose_connection_after_keepalives
        if limit is not None and self.calls.count("keepalive") > limit:
            raise PostgresConnectionError(
                "Connection to the Postgres server was lost during the backup."
            )

    def stop_backup(self) -> BackupStop:
        self._call("stop_backup")
        self.in_backup = False
        label = f"START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nLABEL: {self.label}\n"
        return BackupStop(Lsn(0x3000100), datetime(2026, 11, 26, 4, 19, 1, tzinfo=UTC), 1, label)

    def create_restore_point(self, name: str) -> None:
        self._call(f"create_restore_point:{name}")

    def abort_backup(self) -> None:
        self.calls.append("abort_backup")
        self.in_backup = False

    def close(self) -> None:
        self.calls.append("close")


class FakeFileTree:
    """Files by absolute path with their sizes; walk() applies the spec's exclusions."""

    def __init__(self, files: dict[str, int], dirs: set[str] | None = None) -> None:
        self.files = files
        self.dirs = set(dirs or ())
        for path in files:
            parent = path.rsplit("/", 1)[0]
            while parent and parent != "/":
                self.dirs.add(parent)
                parent = parent.rsplit("/", 1)[0]

    def _entry(self, path: str, name: str) -> FileEntry:
        if path in self.files:
            return FileEntry(path, name, FileKind.FILE, size=self.files[path], mode=0o600)
        return FileEntry(path, name, FileKind.DIRECTORY, mode=0o700)

    def walk(self, spec: ArchiveSpec) -> Iterator[FileEntry]:
        root = spec.root.rstrip("/")
        if spec.root_entry:
            yield self._entry(root, "./")
        pruned: list[str] = []
        for path in sorted(p for p in self.files.keys() | self.dirs if p.startswith(root + "/")):
            rel = path[len(root) + 1 :]
            if any(rel.startswith(p + "/") for p in pruned):
                continue
            if spec.excluded(rel):
                pruned.append(rel)
                continue
            yield self._entry(path, rel)

    def entry(self, path: str, name: str) -> FileEntry | None:
        if path not in self.files:
            return None
        return self._entry(path, name)


class FakeArchiveWriter:
    def __init__(self, sink: FakeArchiveSink, key: str, checks: ReadChecks | None = None) -> None:
        self.key = key
        self.sink = sink
        self.checks = checks
        self.added: list[Member] = []
        self.state = "open"

    @property
    def written(self) -> int:
        return sum(_member_size(m) for m in self.added)

    @property
    def members(self) -> int:
        return len(self.added)

    def add(self, member: Member) -> SentFile | None:
        if self.sink.fail_on_member == member.name:
            raise StorageError(f"Upload of {self.key} failed: simulated")
        self.added.append(member)
        if isinstance(member, BufferedFile):
            member.buffer.seek(0)
            self.sink.contents[member.name] = member.buffer.read(member.size)
            return SentFile(member.size)
        if isinstance(member, FileEntry) and member.kind is not FileKind.FILE:
            return None
        checks = self.checks
        if checks and checks.pages and checks.on_page_failure and isinstance(member, FileEntry):
            for failure in self.sink.page_failures.get(member.name, ()):
                checks.on_page_failure(member.path, failure)
        checksum = f"sum:{member.name}" if checks and checks.algorithm != "NONE" else ""
        return SentFile(_member_size(member), checksum)

    def close(self) -> ArchiveResult:
        self.state = "closed"
        self.sink.store.put(self.key, b"".join(_member_bytes(m) for m in self.added))
        return ArchiveResult(self.key, self.written, len(self.added))

    def abort(self) -> None:
        self.state = "aborted"


def _member_size(member: Member) -> int:
    if isinstance(member, MemoryFile):
        return len(member.data)
    return member.size


def _member_bytes(member: Member) -> bytes:
    if isinstance(member, MemoryFile):
        return member.name.encode() + b"\n"
    return f"{member.name}\n".encode()


class FakeArchiveSink:
    """Records the members of each archive; a closed archive is put in the store as a listing."""

    def __init__(
        self,
        store: Any,
        fail_on_member: str | None = None,
        page_failures: dict[str, list[PageFailure]] | None = None,
    ) -> None:
        self.store = store
        self.fail_on_member = fail_on_member
        # member name -> the page failures its pages show when checked
        self.page_failures = page_failures or {}
        self.contents: dict[str, bytes] = {}  # buffered members (the manifest), as added
        self.writers: list[FakeArchiveWriter] = []
        self.closed = False

    suffix = ".tar"  # the codec's key suffix: no codec here
    workers = 2

    def open(self, key: str, checks: ReadChecks | None = None) -> FakeArchiveWriter:
        writer = FakeArchiveWriter(self, key, checks)
        self.writers.append(writer)
        return writer

    def close(self) -> None:
        self.closed = True

    def members(self, key: str) -> list[str]:
        return [m.name for w in self.writers if w.key == key for m in w.added]


class RecordingObserver(LifecycleObserver):
    """A lifecycle observer that records what it is told, as the progress reporter is."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.file_bytes = 0

    def started(self, run: Any) -> None:
        self.events.append("started")

    def member_added(self, run: Any, key: str, member: Any) -> None:
        if getattr(member, "kind", None) is FileKind.FILE:  # walked files, not built ones
            self.file_bytes += member.size

    def done(self, run: Any) -> None:
        self.events.append("done")

    def failed(self, run: Any, error: Any) -> None:
        self.events.append("failed")


def is_complete(info: Any) -> bool:
    """What barman's readers take as a usable backup: DONE, with its end recorded."""
    return info.status == "DONE" and info.end_xlog is not None


__all__ = [
    "is_complete",
    "BucketNotFound",
    "ChunkPolicy",
    "CloudConnectionError",
    "RecordingObserver",
    "FakeArchiveSink",
    "FakeClock",
    "FakeFileTree",
    "FakePostgres",
    "RecordingLog",
    "server_info",
    "threading",
]
