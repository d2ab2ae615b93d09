"""Option values barman parses the same way for every provider: sizes and backup names."""

from __future__ import annotations

from cloud_base_backup.domain.errors import InvalidArgument
from cloud_base_backup.domain.model import BACKUP_ID_RE

DEFAULT_MAX_ARCHIVE_SIZE = 100 * 1024**3
RESERVED_BACKUP_NAMES = frozenset(
    {"latest", "last", "oldest", "first", "last-failed", "latest-full", "last-full", "auto"}
)
_SIZE_LETTERS = "KMGTPEZY"


def parse_size(text: str) -> int:
    """barman's size syntax: `5MB` = 5*1024**2, `5MiB` = 5*1000**2 (sic), bare int = bytes."""
    value = text.upper()
    try:
        if not value.endswith("B"):
            number = int(value)
        else:
            body = value[:-1]
            base = 1024
            if body.endswith("I"):
                base, body = 1000, body[:-1]
            exponent = 0
            if body and body[-1] in _SIZE_LETTERS:
                exponent = _SIZE_LETTERS.index(body[-1]) + 1
                body = body[:-1]
            if not body:
                raise ValueError(value)
            number = int(float(body) * base**exponent) if exponent else int(body)
    except (ValueError, OverflowError):
        raise InvalidArgument(f"'{value}' is not a valid size string") from None
    if number < 1:
        raise InvalidArgument(f"'{value}' is not a valid size string")
    return number


def validate_backup_name(name: str) -> str:
    if not name:
        raise InvalidArgument("Backup name cannot be empty")
    if BACKUP_ID_RE.match(name):
        raise InvalidArgument(f"Backup name '{name}' is not allowed: backup ID")
    if name in RESERVED_BACKUP_NAMES:
        raise InvalidArgument(f"Backup name '{name}' is not allowed: reserved word")
    return name
