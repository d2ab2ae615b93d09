"""The embedding API of the backup domain: use cases, ports, the lifecycle's hooks, errors."""

from cloud_base_backup.domain.archive_job import ArchiveDeps
from cloud_base_backup.domain.errors import BackupError
from cloud_base_backup.domain.exit_codes import ExitCode
from cloud_base_backup.domain.lifecycle import BackupRun, LifecycleHooks, LifecycleObserver
from cloud_base_backup.domain.metadata import BackupInfo
from cloud_base_backup.domain.ports import (
    ArchiveSink,
    ArchiveWriter,
    Clock,
    FileTree,
    Log,
    MultipartUpload,
    ObjectStore,
    PostgresServer,
)
from cloud_base_backup.domain.services import (
    BackupDeps,
    BackupRequest,
    check_connectivity,
    take_backup,
)
from cloud_base_backup.domain.splitting import ChunkPolicy

__all__ = [
    "ArchiveDeps",
    "ArchiveSink",
    "ArchiveWriter",
    "BackupDeps",
    "BackupError",
    "BackupInfo",
    "BackupRequest",
    "BackupRun",
    "ChunkPolicy",
    "Clock",
    "ExitCode",
    "FileTree",
    "LifecycleHooks",
    "LifecycleObserver",
    "Log",
    "MultipartUpload",
    "ObjectStore",
    "PostgresServer",
    "check_connectivity",
    "take_backup",
]
