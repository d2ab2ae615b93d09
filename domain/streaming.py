"""ArchiveStreamer: feeds the plan's members into archives, rolling at -S, in barman's order."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from typing import Protocol

from cloud_base_backup.domain import layout
from cloud_base_backup.domain.copy_stats import CopyTimes
from cloud_base_backup.domain.errors import SourceReadError
from cloud_base_backup.domain.integrity import BackupIntegrity
from cloud_base_backup.domain.lifecycle import RunEvents
from cloud_base_backup.domain.model import Member
from cloud_base_backup.domain.plan import PG_CONTROL, ArchiveSpec, BackupPlan
from cloud_base_backup.domain.ports import (
    ArchiveSink,
    ArchiveWriter,
    Clock,
    FileTree,
    Log,
)
from cloud_base_backup.domain.splitting import must_roll


class StreamDeps(Protocol):
    """The ports the streamer uses (the use cases' deps carry them)."""

    files: FileTree
    sink: ArchiveSink
    clock: Clock
    log: Log


class ArchiveStreamer:
    """Owns the archives of one backup: opens, rolls, closes and, on failure, aborts them."""

    def __init__(
        self,
        deps: StreamDeps,
        prefix: str,
        max_archive_size: int,
        heartbeat_check: Callable[[], None],
        events: RunEvents,
        integrity: BackupIntegrity | None = None,
    ) -> None:
        self._deps = deps
        # Live backups: each file's checksum goes to the backup_manifest as it is sent, and its
        # pages are verified; a relayed barman backup has none (hook mode).
        self._integrity = integrity
        self._prefix = prefix
        self._limit = max_archive_size
        self._heartbeat_check = heartbeat_check  # raises when the session was lost
        self._events = events
        self._open: dict[str, ArchiveWriter] = {}
        self._parts: dict[str, int] = {}
        self.copy_times = CopyTimes()  # barman's copy_stats
        self.data_owner = (0, 0)  # PGDATA's uid, gid, seen while walking it

    # -- the plan ---------------------------------------------------------------------------
    def stream_plan(self, plan: BackupPlan) -> None:
        files = self._deps.files
        for spec in plan.tablespaces:
            self._timed(spec.base, files.walk(spec))
            self._close(spec.base)
        self._timed(plan.data.base, self._data_members(plan))

    def _data_members(self, plan: BackupPlan) -> Iterable[Member]:
        files = self._deps.files
        for entry in files.walk(plan.data):
            if entry.name in (".", "./"):
                self.data_owner = (entry.uid, entry.gid)
            yield entry
        control = files.entry(posixpath.join(plan.data.root, PG_CONTROL), PG_CONTROL)
        if control is None:
            raise SourceReadError(f"{PG_CONTROL} is missing from {plan.data.root}")
        yield control
        for path, required in plan.external_configs:
            config = files.entry(path, posixpath.basename(path))
            if config is None:
                if required:
                    raise SourceReadError(f"configuration file {path} does not exist")
                continue
            yield config

    def _timed(self, base: str, members: Iterable[Member]) -> None:
        clock = self._deps.clock
        began = clock.monotonic()
        for member in members:
            self._add(base, member)
        self.copy_times.add(base, clock.monotonic() - began)

    # -- archives ---------------------------------------------------------------------------
    def _writer(self, base: str) -> ArchiveWriter:
        writer = self._open.get(base)
        if writer is not None and must_roll(writer.written, writer.members, self._limit):
            self._close(base)
            self._parts[base] = self._parts.get(base, -1) + 1
            writer = None
        if writer is None:
            part = self._parts.setdefault(base, 0)
            key = layout.archive_key(self._prefix, base, part, self._deps.sink.suffix)
            self._deps.log.info("archive.open", key=key)
            checks = self._integrity.checks if self._integrity is not None else None
            writer = self._deps.sink.open(key, checks)
            self._open[base] = writer
        return writer

    def _add(self, base: str, member: Member) -> None:
        self._heartbeat_check()
        writer = self._writer(base)
        sent = writer.add(member)
        if self._integrity is not None:
            self._integrity.sent(base, member, sent)
        self._events.member_added(writer.key, member)

    def _close(self, base: str) -> None:
        self._heartbeat_check()  # a lost session: abort this archive rather than complete it
        writer = self._open.pop(base, None)
        if writer is not None:
            result = writer.close()
            self._deps.log.info("archive.closed", key=result.key, bytes=result.size)
            self._events.archive_closed(result)

    def add_to_data(self, member: Member) -> None:
        self._add(layout.DATA_ARCHIVE, member)

    def close_all(self) -> None:
        for base in list(self._open):
            self._close(base)
        self._deps.sink.close()

    def abort_all(self) -> None:
        for base in list(self._open):
            writer = self._open.pop(base)
            writer.abort()
        self._deps.sink.close()


__all__ = ["ArchiveStreamer", "ArchiveSpec"]
