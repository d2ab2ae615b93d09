"""The body shared by the archive use cases (live backup, hook-mode relay): stream the plan."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cloud_base_backup.domain.integrity import BackupIntegrity
from cloud_base_backup.domain.lifecycle import BackupRun, RunDeps, RunEvents
from cloud_base_backup.domain.model import Member
from cloud_base_backup.domain.plan import BackupPlan
from cloud_base_backup.domain.ports import ArchiveSink, FileTree
from cloud_base_backup.domain.splitting import capped
from cloud_base_backup.domain.streaming import ArchiveStreamer


@dataclass(kw_only=True)
class ArchiveDeps(RunDeps):
    """The ports of a run that streams archives."""

    files: FileTree
    sink: ArchiveSink


class ArchiveJob:
    expected_bytes: int | None = None
    """Streams `plan` into archives; after the stop adds the final members to the data archive
    and completes every upload; on failure aborts them. Subclasses make the plan in `check`."""

    def __init__(
        self,
        deps: ArchiveDeps,
        max_archive_size: int,
        heartbeat_check: Callable[[], None],
    ) -> None:
        self._deps = deps
        self._limit, was_capped = capped(max_archive_size)
        if was_capped:
            deps.log.warning("max-archive-size too big. Capping it to 1.0 TiB")
        self._heartbeat_check = heartbeat_check
        self.plan: BackupPlan | None = None
        self.streamer: ArchiveStreamer | None = None

    def integrity(self, run: BackupRun) -> BackupIntegrity | None:
        """What checks and records the bytes sent (live backups: the manifest); none here."""
        return None

    def body(self, run: BackupRun, events: RunEvents) -> None:
        assert self.plan is not None, "check() makes the plan"
        self.streamer = ArchiveStreamer(
            self._deps,
            run.prefix,
            self._limit,
            self._heartbeat_check,
            events,
            self.integrity(run),
        )
        self.streamer.stream_plan(self.plan)
        run.data_owner = self.streamer.data_owner

    def finish(self, run: BackupRun, final_members: Iterable[Member]) -> dict[str, Any]:
        assert self.streamer is not None
        for member in final_members:
            self.streamer.add_to_data(member)
        self.streamer.close_all()
        return {}

    def abort(self) -> None:
        if self.streamer is not None:
            self.streamer.abort_all()
        else:
            self._deps.sink.close()

    def end(self) -> None:
        return None
