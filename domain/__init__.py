"""The embedding API of the backup domain: use cases, ports, options and errors."""

from domain.errors import BackupError
from domain.exit_codes import ExitCode
from domain.metadata import BackupInfo
from domain.options import BackupOptions
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
    "ArchiveSink",
    "BackupDeps",
    "BackupError",
    "BackupInfo",
    "BackupOptions",
    "BackupRequest",
    "Clock",
    "ExitCode",
    "FileTree",
    "Log",
    "ObjectStore",
    "PostgresServer",
    "Progress",
    "check_connectivity",
    "take_backup",
]
