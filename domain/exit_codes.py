"""Process exit codes, the same numbers barman-cloud-backup uses."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    CLOUD_CONNECTION = 2
    BAD_ARGUMENTS = 3
    INVALID_INPUT = 4
    HOOK_BACKUP_NOT_DONE = 63
