"""Claiming a backup id atomically, before the server-side backup starts.

The claim is the backup's first object, its backup.info (STARTED, without begin fields yet),
created with the store's conditional write. Two runs of one server that start in the same
second (cron and a retrying CronJob, a hook and a manual run) compute the same id: exactly one
creates the backup.info; the other takes the next free second, so both backups complete and
neither overwrites a byte of the other. An id whose folder already holds objects (written by a
tool that does not claim, such as barman itself, or left by a killed run) is skipped the same
way. A claim left by a run killed before it started reads as a STARTED backup with no data,
which barman-cloud-backup-list and -show print and -delete removes, as they do for a barman run
killed mid-backup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import layout
from domain.errors import BackupExists
from domain.model import BackupId
from domain.ports import Log, ObjectStore

# A minute of consecutive seconds taken means something else is wrong: stop rather than spin.
MAX_ATTEMPTS = 60


@dataclass(frozen=True)
class Claim:
    backup_id: BackupId
    prefix: str
    info_key: str


def claim_backup_id(
    store: ObjectStore,
    path: str,
    server_name: str,
    when: datetime,
    content: Callable[[BackupId], bytes],
    log: Log,
) -> Claim:
    """The first id at or after `when` that this run could claim; never overwrites anything."""
    wanted = BackupId.from_time(when)
    for step in range(MAX_ATTEMPTS):
        backup_id = BackupId.from_time(when + timedelta(seconds=step))
        prefix = layout.backup_prefix(path, server_name, backup_id)
        info_key = layout.backup_info_key(path, server_name, backup_id)
        if not store.list(prefix) and store.put_if_absent(info_key, content(backup_id)):
            if step:
                log.warning(
                    "backup id already taken by another backup: using the next free second",
                    wanted=str(wanted),
                    backup_id=str(backup_id),
                )
            return Claim(backup_id, prefix, info_key)
        log.debug("backup.id_taken", backup_id=str(backup_id), prefix=prefix)
    raise BackupExists(
        f"Backup ids {wanted} to {backup_id} are all taken at {store.description}/"
        f"{layout.server_prefix(path, server_name)}/base: refusing to overwrite any of them"
    )
