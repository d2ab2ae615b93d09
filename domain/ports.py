"""Every port of the domain, as typing.Protocol; adapters conform without inheriting."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from cloud_base_backup.domain.model import (
    ArchiveResult,
    BackupId,
    BackupStart,
    BackupStop,
    FileEntry,
    Member,
    OpenUpload,
    ReadChecks,
    SentFile,
    ServerInfo,
)
from cloud_base_backup.domain.plan import ArchiveSpec
from cloud_base_backup.domain.snapshots import AttachedDisk, Mount, SnapshotSet
from cloud_base_backup.domain.splitting import ChunkPolicy


class PostgresServer(Protocol):
    """The PostgreSQL server being backed up, over one session."""

    def server_info(self) -> ServerInfo: ...

    def check_backup_privileges(self) -> None:
        """Raise PrivilegeError naming what is missing; nothing has started yet."""

    def start_backup(self, label: str, fast: bool) -> BackupStart: ...

    def keepalive(self) -> None:
        """A cheap round trip that keeps the session alive; raise PostgresConnectionError if lost."""

    def stop_backup(self) -> BackupStop: ...

    def create_restore_point(self, name: str) -> None:
        """After the stop: switch WAL and create the restore point (primary only, best effort)."""

    def abort_backup(self) -> None:
        """End a started backup on the server without waiting for WAL archiving."""

    def close(self) -> None: ...


class FileTree(Protocol):
    """The local files of PGDATA and the tablespaces."""

    def walk(self, spec: ArchiveSpec) -> Iterator[FileEntry]:
        """Entries under spec.root in tar order, pruning what spec.excluded() rejects."""

    def entry(self, path: str, name: str) -> FileEntry | None:
        """One file by absolute path, to be stored as `name`; None if it does not exist."""


class ArchiveWriter(Protocol):
    """One tar archive being streamed: tar -> codec -> multipart upload."""

    key: str

    @property
    def written(self) -> int:
        """Compressed bytes produced so far (what -S is compared with)."""

    @property
    def members(self) -> int: ...

    def add(self, member: Member) -> SentFile | None:
        """Append a member; for file content, what was sent (None for directories, links and
        files that vanished since the walk)."""

    def close(self) -> ArchiveResult:
        """Finish the tar and the codec, complete the upload; the object is then visible."""

    def abort(self) -> None:
        """Drop the archive: abort its upload so nothing of it stays in the store."""


class ArchiveSink(Protocol):
    @property
    def suffix(self) -> str:
        """The archives' key suffix, naming their codec (`.tar`, `.tar.gz`, ...)."""

    @property
    def workers(self) -> int:
        """Parts uploaded in parallel (barman's copy_stats number_of_workers)."""

    def open(self, key: str, checks: ReadChecks | None = None) -> ArchiveWriter:
        """A new archive; with `checks`, each file's bytes are checksummed (and its pages
        verified) as they are read."""

    def close(self) -> None:
        """Release workers; abort whatever is still open."""


class MultipartUpload(Protocol):
    key: str

    def upload_part(self, number: int, data: bytes | memoryview) -> None:
        """Upload part `number` (1-based); thread-safe, called from worker threads."""

    def complete(self) -> None: ...

    def abort(self) -> None: ...


class ObjectStore(Protocol):
    """A bucket (or container) of an object store, with the destination's credentials.

    Only what the use cases call; the operations tests need as well (create the bucket, read
    objects back, list unfinished uploads) are on tests/support/admin_ports.py."""

    @property
    def description(self) -> str:
        """Where this store points, for messages (e.g. `s3://bucket`)."""

    @property
    def chunk_policy(self) -> ChunkPolicy: ...

    def check(self) -> None:
        """Raise CloudConnectionError if unreachable, BucketNotFound if the bucket is missing."""

    def put(self, key: str, data: bytes) -> None: ...

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create `key` only if no object holds it, atomically (the store's conditional write:
        S3 If-None-Match: *, GCS ifGenerationMatch=0, Azure If-None-Match: *). False, with
        nothing written, if it exists or another writer is creating it at the same moment."""

    def list_keys(self, prefix: str) -> list[str]:
        """Every key under prefix (completed objects only)."""

    def delete(self, keys: list[str]) -> None: ...

    def start_multipart(self, key: str) -> MultipartUpload: ...

class Clock(Protocol):
    def now(self) -> datetime:
        """Local time, timezone-aware."""

    def monotonic(self) -> float: ...


class Log(Protocol):
    def debug(self, event: str, **fields: Any) -> Any: ...

    def info(self, event: str, **fields: Any) -> Any: ...

    def warning(self, event: str, **fields: Any) -> Any: ...

    def error(self, event: str, **fields: Any) -> Any: ...


class SnapshotProvider(Protocol):
    """A compute API that snapshots the disks attached to one instance (EC2, Azure, GCE)."""

    def instance_exists(self, instance: str) -> bool: ...

    def attached_disks(self, instance: str, disks: Sequence[str]) -> dict[str, AttachedDisk]:
        """Those of `disks` attached to the instance, keyed by name, in the order barman
        snapshots them; raise SnapshotProviderError if the instance cannot be read."""

    def take_snapshots(
        self, instance: str, disks: Sequence[str], backup_id: BackupId
    ) -> SnapshotSet:
        """Snapshot each disk as `<disk>-<backup id>`, wait for completion (and lock if asked)."""


class MountInspector(Protocol):
    """The mount table of this host."""

    def mount_of(self, device: str) -> Mount | None:
        """Where `device` is mounted; None if it is not; MountError if that cannot be told."""

    def mount_point_of(self, path: str) -> str | None:
        """The mount point of the filesystem holding `path`."""


class UploadJanitor(Protocol):
    """The multipart uploads a store holds open: listed with their age, aborted one by one.

    Azure has no such uploads (uncommitted blocks are discarded by the service after 7 days),
    so its store lists none.
    """

    def list_open_uploads(self, prefix: str) -> list[OpenUpload]: ...

    def abort_open_upload(self, upload: OpenUpload) -> None: ...
