"""Claiming a new backup id atomically, before the server-side backup starts.

The claim is the backup's first object, its backup.info (STARTED, with what is known before
pg_backup_start), created with the store's conditional write (S3 If-None-Match: *, GCS
ifGenerationMatch=0, Azure If-None-Match: *). Two runs of one server that start in the same
second (cron and a retrying CronJob, a hook and a manual run) compute the same id: exactly one
creates it. The other stops there, before pg_backup_start, with barman's exit code for an
existing backup (1) and the lifecycle's "already exists" message: nothing started on the
server, nothing written or overwritten in the bucket. A second backup of the same second would
only duplicate the first; one clear failure is what the operator can act on.

If pg_backup_start then fails, the claim is deleted (the bucket is left as it was). A run
killed between the claim and the start leaves a STARTED backup.info without begin fields:
barman-cloud-backup-list shows it as STARTED (as it shows a barman run killed mid-backup),
-show prints it, -delete removes it, and -restore refuses it as not DONE.
"""

from __future__ import annotations

from collections.abc import Callable

from cloud_base_backup.domain import metadata
from cloud_base_backup.domain.errors import BackupExists
from cloud_base_backup.domain.lifecycle import EXISTS, BackupRun
from cloud_base_backup.domain.ports import Log, ObjectStore
from cloud_base_backup.domain.records import claimed_info

TAKEN = " (another run claimed it first)"


class ClaimBackupId:
    """The lifecycle's before_start hook that claims a new id (hook mode relays barman's)."""

    def __init__(self, store: ObjectStore, log: Log) -> None:
        self._store, self._log = store, log

    def __call__(self, run: BackupRun) -> Callable[[], None] | None:
        if not run.new_id or run.server is None:
            return None
        content = metadata.render(claimed_info(run.server)).encode()
        if not self._store.put_if_absent(run.info_key, content):
            where = f"{self._store.description}/{run.prefix}"
            raise BackupExists(EXISTS.format(backup_id=run.backup_id, where=where) + TAKEN)
        self._log.debug("backup.id_claimed", backup_id=str(run.backup_id), key=run.info_key)

        def release() -> None:
            self._store.delete([run.info_key])

        return release
