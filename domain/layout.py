"""Object keys of a backup, exactly as barman lays them out in the bucket."""

from __future__ import annotations

import posixpath

from cloud_base_backup.domain.model import BackupId

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


def archive_key(prefix: str, base: str, part: int, suffix: str) -> str:
    """`<base><suffix>` for the first archive, `<base>_0001<suffix>` for the next ones; the
    suffix (`.tar`, `.tar.gz`, ...) is the sink's, naming its codec."""
    stem = base if part == 0 else f"{base}_{part:04d}"
    return f"{prefix}{stem}{suffix}"
