"""The parts of one run: BackupRun, the extension points (hooks, observers) and what a use case
plugs into the lifecycle (Job, Session, Record); domain/lifecycle.py says when each is called."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cloud_base_backup.domain.errors import BackupError
from cloud_base_backup.domain.metadata import BackupInfo
from cloud_base_backup.domain.model import (
    ArchiveResult,
    BackupId,
    BackupStart,
    BackupStop,
    Member,
    MemoryFile,
    ServerInfo,
)


@dataclass
class BackupRun:
    """One run as it goes: what the job, the hooks and the observers are handed."""

    backup_id: BackupId
    prefix: str  # the backup's key prefix, `<path>/<server>/base/<id>/`
    new_id: bool  # True: the id was made here (live backups); False: barman's (hook mode)
    server: ServerInfo | None = None  # None in hook mode: there is no PostgreSQL session
    info: BackupInfo | None = None  # backup.info as last written (None in hook mode)
    stop: BackupStop | None = None
    began: float = 0.0  # Clock.monotonic() at the start
    data_owner: tuple[int, int] = (0, 0)  # PGDATA's uid, gid (set by the body that walks it)
    # what the body expects to read, for a progress percentage (the job's `expected_bytes`)
    expected_bytes: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def info_key(self) -> str:
        return self.prefix + "backup.info"

    def report_problem(self, message: str) -> None:
        """A non-fatal failure: the backup still ends DONE, and the run then exits 1."""
        self.problems.append(message)

    def final_file(self, name: str, data: bytes) -> MemoryFile:
        """A member written after the stop, owned by PGDATA's owner as backup_label is."""
        uid, gid = self.data_owner
        return MemoryFile(name=name, data=data, uid=uid, gid=gid, mode=0o644, mtime=0.0)


class LifecycleObserver:
    """Told what a run does; override what you need (every method is a no-op here)."""

    def started(self, run: BackupRun) -> None: ...

    def member_added(self, run: BackupRun, key: str, member: Member) -> None: ...

    def archive_closed(self, run: BackupRun, result: ArchiveResult) -> None: ...

    def done(self, run: BackupRun) -> None: ...

    def failed(self, run: BackupRun, error: BackupError) -> None: ...


BeforeStart = Callable[[BackupRun], Callable[[], None] | None]
FinalMembers = Callable[[BackupRun], Iterable[Member]]


@dataclass(frozen=True)
class LifecycleHooks:
    """The extension points of the lifecycle (see the module docstring)."""

    before_start: Sequence[BeforeStart] = ()
    observers: Sequence[LifecycleObserver] = ()
    final_members: Sequence[FinalMembers] = ()


class RunEvents:
    """What a body reports as it goes, fanned out to every observer with the run."""

    def __init__(self, run: BackupRun, observers: Sequence[LifecycleObserver]) -> None:
        self._run, self._observers = run, observers

    def member_added(self, key: str, member: Member) -> None:
        for observer in self._observers:
            observer.member_added(self._run, key, member)

    def archive_closed(self, result: ArchiveResult) -> None:
        for observer in self._observers:
            observer.archive_closed(self._run, result)


class Session(Protocol):
    """The server side of a run: pg_backup_start/stop and the keepalive, or nothing (hook mode)."""

    def start(self, run: BackupRun) -> BackupStart | None:
        """Start the server-side backup, then the keepalive (its first beat never raises)."""

    def heartbeat_check(self) -> None:
        """Raise PostgresConnectionError if the keepalive saw the session lost."""

    def stop(self, run: BackupRun) -> BackupStop | None:
        """Stop the keepalive, then the server-side backup (after this, no abort is needed)."""

    def abort(self) -> None:
        """Stop the keepalive; end the server-side backup if it was started and not stopped."""


class Record(Protocol):
    """How backup.info is written: STARTED/DONE/FAILED of our own, or barman's (hook mode)."""

    failure: str  # the message template of a failed run

    def open(self, run: BackupRun, start: BackupStart | None) -> None:
        """Set run.info to the STARTED backup.info (no I/O: FAILED is built from it)."""

    def started(self, run: BackupRun) -> None:
        """Write the STARTED backup.info."""

    def done(self, run: BackupRun, fields: Mapping[str, Any]) -> None: ...

    def failed(self, run: BackupRun, reason: str) -> None: ...


class Job(Protocol):
    """What one use case plugs into the lifecycle."""

    event: str  # the log events' prefix: `<event>.starting`, `<event>.done`
    # known once `check` has run, or None: the bytes the body will read (a progress total)
    expected_bytes: int | None

    def check(self) -> ServerInfo | None:
        """After the store check, before the id: every check that needs nothing started."""

    def start_fields(self) -> dict[str, Any]:
        """Extra fields of the `<event>.starting` log line."""

    def body(self, run: BackupRun, events: RunEvents) -> None:
        """Between STARTED and the stop: stream the archives, take the snapshots."""

    def finish(self, run: BackupRun, final_members: Iterable[Member]) -> dict[str, Any]:
        """After the stop (run.stop is set): add the final members, complete what is open;
        return the fields DONE adds to backup.info."""

    def abort(self) -> None:
        """On failure, before the server-side abort: drop what is open."""

    def end(self) -> None:
        """Always, once DONE or FAILED was written (e.g. release what the job holds)."""
