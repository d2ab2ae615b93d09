"""Stale multipart uploads: what a killed run (SIGKILL, OOM killer) leaves open, aborted later."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cloud_base_backup.domain.errors import BackupError, InvalidArgument, first_line
from cloud_base_backup.domain.ports import Clock, Log, UploadJanitor

if TYPE_CHECKING:
    from cloud_base_backup.domain.lifecycle import BackupRun

DEFAULT_STALE_AFTER = 24 * 3600.0  # seconds; 0 = never
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """`--abort-stale-uploads-after`: seconds from a number with s, m, h or d (hours if bare)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise InvalidArgument(f"'{text}' is not a valid duration (e.g. 24h, 90m, 2d; 0 = never)")
    return float(match.group(1)) * _UNITS[match.group(2) or "h"]


def abort_stale_uploads(
    store: UploadJanitor, prefix: str, stale_after_seconds: float, now: datetime, log: Log
) -> list[str]:
    """Abort the uploads under `prefix` idle for at least `stale_after`; never a younger one.

    Runs before the server-side backup starts. It must not fail a backup: a store or a policy
    that does not allow listing uploads only gets a warning.
    """
    if stale_after_seconds <= 0:
        return []
    stale_after = timedelta(seconds=stale_after_seconds)
    aborted: list[str] = []
    try:
        uploads = store.list_open_uploads(prefix)
    except BackupError as exc:
        log.warning("uploads.stale_check_skipped", prefix=prefix, error=first_line(exc))
        return aborted
    for upload in uploads:
        idle = now - upload.last_activity
        if idle < stale_after:
            log.debug("uploads.open_kept", key=upload.key, idle_seconds=int(idle.total_seconds()))
            continue
        try:
            store.abort_open_upload(upload)
        except BackupError as exc:
            log.warning("uploads.stale_abort_failed", key=upload.key, error=first_line(exc))
            continue
        log.warning(
            "uploads.stale_aborted",
            key=upload.key,
            upload_id=upload.upload_id,
            initiated=upload.initiated.isoformat(),
            idle_hours=round(idle.total_seconds() / 3600, 1),
        )
        aborted.append(upload.key)
    return aborted


@dataclass(frozen=True)
class AbortStaleUploads:
    """The lifecycle's before_start hook: stale uploads under the run's `<server>/base/`."""

    uploads: UploadJanitor
    stale_after_seconds: float
    clock: Clock
    log: Log

    def __call__(self, run: BackupRun) -> None:
        base = run.prefix[: -len(f"{run.backup_id}/")]
        abort_stale_uploads(self.uploads, base, self.stale_after_seconds, self.clock.now(), self.log)
