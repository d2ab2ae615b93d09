"""The embedding API of the backup domain: use cases, ports, the lifecycle's hooks, errors."""

from domain.archive_job import ArchiveDeps
from domain.errors import BackupError
from domain.exit_codes import ExitCode
from domain.lifecycle import BackupRun, LifecycleHooks, LifecycleObserver
from domain.metadata import BackupInfo
from domain.ports import (
    ArchiveSink,
    Clock,
    FileTree,
    Log,
    ObjectStore,
    PostgresServer,
    Progress,
)
from domain.services import BackupDeps, BackupRequest, check_connectivity, take_backup

__all__ = [
    "ArchiveDeps",
    "ArchiveSink",
    "BackupDeps",
    "BackupError",
    "BackupInfo",
    "BackupRequest",
    "BackupRun",
    "Clock",
    "ExitCode",
    "FileTree",
    "LifecycleHooks",
    "LifecycleObserver",
    "Log",
    "ObjectStore",
    "PostgresServer",
    "Progress",
    "check_connectivity",
    "take_backup",
]
