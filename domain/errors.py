"""Domain errors: each carries the exit code the entrypoint returns for it."""

from cloud_base_backup.domain.exit_codes import ExitCode


class BackupError(Exception):
    """Base of every error the product reports; the message is one line."""

    exit_code: ExitCode = ExitCode.INVALID_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class InvalidArgument(BackupError):
    """A command-line value that fails validation (argparse stage)."""

    exit_code = ExitCode.BAD_ARGUMENTS


class InvalidInput(BackupError):
    """A semantic problem with the inputs, found before anything starts."""

    exit_code = ExitCode.INVALID_INPUT


class BackupFailed(BackupError):
    """The backup was attempted and did not succeed."""

    exit_code = ExitCode.FAILED


class PostgresConnectionError(BackupFailed):
    """PostgreSQL could not be reached, or the connection was lost."""


class PostgresError(BackupFailed):
    """PostgreSQL refused a statement the backup needs."""


class PrivilegeError(BackupFailed):
    """The PostgreSQL role lacks a privilege the backup needs."""


class UnsupportedServer(InvalidInput):
    """The server is too old, or in a state where no backup can be taken."""


class StorageError(BackupFailed):
    """The object store refused or failed an operation."""


class BucketNotFound(StorageError):
    """The destination bucket or container does not exist."""


class CloudConnectionError(StorageError):
    """The object store could not be reached (or refused our credentials)."""

    exit_code = ExitCode.CLOUD_CONNECTION


class BackupExists(BackupFailed):
    """A backup with the same id already holds objects at the destination."""


class SourceReadError(BackupFailed):
    """A file under PGDATA or a tablespace could not be read."""


class Interrupted(BackupFailed):
    """The run was interrupted by a signal (SIGINT / SIGTERM)."""


class HookBackupNotDone(BackupError):
    """Hook mode: the barman backup is not DONE, so barman must stop retrying."""

    exit_code = ExitCode.HOOK_BACKUP_NOT_DONE


class SnapshotProviderError(InvalidInput):
    """The compute API refused or failed a snapshot-backup call (exit 4 before the start)."""


class MountError(InvalidInput):
    """This host's mount table cannot tell where a disk is mounted."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    if isinstance(exc, KeyboardInterrupt):
        return "KeyboardInterrupt"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class CompletedWithProblems(BackupFailed):
    """The backup is DONE, but the run reported problems that must not pass silently (exit 1)."""
