"""Object keys of a backup, exactly as barman lays them out in the bucket."""

from __future__ import annotations

import posixpath

from domain.model import BackupId

# Suffix of each codec's archives; readers infer the compression from it.
ARCHIVE_SUFFIXES: dict[str | None, str] = {
    None: ".tar",
    "gz": ".tar.gz",
    "bz2": ".tar.bz2",
    "snappy": ".tar.snappy",
    "lz4": ".tar.lz4",
    "zst": ".tar.zst",
}

DATA_ARCHIVE = "data"


def server_prefix(path: str, server_name: str) -> str:
    """`<path>/<server>` joined as barman joins it (os.path.join semantics)."""
    return posixpath.join(path, server_name)


def base_prefix(path: str, server_name: str) -> str:
    """The folder holding every backup of the server, with a trailing slash."""
    return f"{server_prefix(path, server_name)}/base/"


def backup_prefix(path: str, server_name: str, backup_id: BackupId) -> str:
    """The folder of one backup, with a trailing slash."""
    return f"{server_prefix(path, server_name)}/base/{backup_id}/"


def backup_info_key(path: str, server_name: str, backup_id: BackupId) -> str:
    return backup_prefix(path, server_name, backup_id) + "backup.info"


def backup_label_key(path: str, server_name: str, backup_id: BackupId) -> str:
    return backup_prefix(path, server_name, backup_id) + "backup_label"


def archive_key(prefix: str, base: str, part: int, compression: str | None) -> str:
    """`<base>.tar<sfx>` for the first archive, `<base>_0001.tar<sfx>` for the next ones."""
    stem = base if part == 0 else f"{base}_{part:04d}"
    return f"{prefix}{stem}{ARCHIVE_SUFFIXES[compression]}"
