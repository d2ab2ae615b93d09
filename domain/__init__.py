"""The embedding API of the backup domain: use cases, ports, the lifecycle's hooks, errors."""

from domain.archive_job import ArchiveDeps
from domain.errors import BackupError
from domain.exit_codes import ExitCode
from domain.lifecycle import BackupRun, LifecycleHooks, LifecycleObserver
from domain.metadata import BackupInfo
from domain.ports import (
    ArchiveSink,
    ArchiveWriter,
    Clock,
    FileTree,
    Log,
    MultipartUpload,
    ObjectStore,
    PostgresServer,
    Progress,
)
from domain.services import BackupDeps, BackupRequest, check_connectivity, take_backup
from domain.splitting import ChunkPolicy

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
    "Progress",
    "check_connectivity",
    "take_backup",
]
