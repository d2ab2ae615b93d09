"""The one backup lifecycle: check -> start -> STARTED -> body -> stop -> DONE, or FAILED.

Every use case (take_backup, take_snapshot_backup, relay_backup) runs through `Lifecycle.run`;
what differs between them is a `Job` (their checks, their body, what they finish with after
the stop), a `Session` (the PostgreSQL side, or none in hook mode) and a `Record` (how
backup.info is written), all three defined in domain/run.py with BackupRun and the hook types.
The messages of every use case are the constants below.

Extension points (`LifecycleHooks`, wired by the container; each is empty by default):

- `before_start`: called after the store check, the use case's checks and the existing-id check,
  right before pg_backup_start. Raising stops the run with nothing started and nothing written
  (e.g. aborting orphan multipart uploads, claiming the backup id atomically). A hook that
  writes may return an undo callable: it is called if a later hook or pg_backup_start fails.
- `observers`: told when the run starts, of every archive member added and archive closed, and
  when it ends DONE or FAILED (e.g. an end-of-run summary). `LifecycleObserver` is a no-op base.
- `final_members`: called after the stop; the members they return are added to the data
  archive after backup_label (e.g. backup_manifest). `BackupRun.final_file` builds a member
  owned like PGDATA.
- `BackupRun.report_problem`: the body reports a failure that must not fail the backup; the
  run still ends DONE, then raises `CompletedWithProblems` (exit 1).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from cloud_base_backup.domain import layout
from cloud_base_backup.domain.errors import (
    BackupError,
    BackupExists,
    BackupFailed,
    CompletedWithProblems,
    Interrupted,
    PostgresConnectionError,
    first_line,
)
from cloud_base_backup.domain.model import (
    BackupId,
    BackupStart,
)
from cloud_base_backup.domain.ports import Clock, Log, ObjectStore
from cloud_base_backup.domain.run import (
    BackupRun,
    BeforeStart,
    FinalMembers,
    Job,
    LifecycleHooks,
    LifecycleObserver,
    Record,
    RunEvents,
    Session,
)

__all__ = [  # the parts a run is made of are defined in domain/run.py and re-exported here
    "BackupRun",
    "BeforeStart",
    "FinalMembers",
    "Job",
    "Lifecycle",
    "LifecycleHooks",
    "LifecycleObserver",
    "Record",
    "RunDeps",
    "RunEvents",
    "Session",
]

EXISTS = "Backup {backup_id} already exists at {where}: refusing to overwrite it"
FAILED = "Backup failed uploading data ({reason})"
FAILED_INFO = "failure uploading data ({reason})"
RELAY_FAILED = "Backup upload failed uploading data ({reason})"
INFO_UPLOAD_FAILED = "Backup failed uploading backup.info file ({error})"
SESSION_LOST = "Connection to the Postgres server was lost during the backup."
PROBLEMS = "Backup {backup_id} is DONE but {count} problem(s) were reported: {problems}"


@dataclass(kw_only=True)
class RunDeps:
    """The ports every use case needs, and the hooks the container plugs in."""

    store: ObjectStore
    clock: Clock
    log: Log
    hooks: LifecycleHooks = field(default_factory=LifecycleHooks)

    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self.store, self.clock, self.log, self.hooks)


@dataclass
class Lifecycle:
    """Runs a job through the one lifecycle (see the module docstring)."""

    store: ObjectStore
    clock: Clock
    log: Log
    hooks: LifecycleHooks = field(default_factory=LifecycleHooks)

    def run(
        self,
        job: Job,
        session: Session,
        record: Record,
        *,
        path: str,
        server_name: str,
        backup_id: BackupId | None = None,
    ) -> BackupRun:
        """Run `job` under `<path>/<server_name>/base/<id>/`; the id is the clock's unless given
        (hook mode relays barman's). Raise a BackupError, FAILED written, on failure."""
        # Better than barman: a missing bucket or a dead endpoint is found before anything starts.
        self.store.check()
        server = job.check()
        new_id = backup_id is None
        backup_id = backup_id or BackupId.from_time(self.clock.now())
        prefix = layout.backup_prefix(path, server_name, backup_id)
        run = BackupRun(
            backup_id=backup_id, prefix=prefix, new_id=new_id, server=server,
            expected_bytes=job.expected_bytes,
        )
        if new_id and self.store.list_keys(prefix):
            where = f"{self.store.description}/{prefix}"
            raise BackupExists(EXISTS.format(backup_id=backup_id, where=where))
        events = RunEvents(run, self.hooks.observers)
        start = self._start(job, session, run)
        try:
            record.open(run, start)
            session.heartbeat_check()  # a session lost at the first heartbeat ends here
            record.started(run)
            for observer in self.hooks.observers:
                observer.started(run)
            job.body(run, events)
            run.stop = session.stop(run)
            finals = (member for hook in self.hooks.final_members for member in hook(run))
            record.done(run, job.finish(run, finals))
        except BaseException as exc:  # noqa: BLE001 - every failure must leave no complete backup
            job.abort()
            session.abort()
            error = failure(record.failure, exc)
            record.failed(run, reason_of(exc))
            for observer in self.hooks.observers:
                observer.failed(run, error)
            raise error from exc
        finally:
            job.end()
        self.log.info(f"{job.event}.done", **done_fields(run, self.clock))
        for observer in self.hooks.observers:
            observer.done(run)
        if run.problems:
            raise CompletedWithProblems(
                PROBLEMS.format(
                    backup_id=run.backup_id, count=len(run.problems), problems="; ".join(run.problems)
                )
            )
        return run


    def _start(self, job: Job, session: Session, run: BackupRun) -> BackupStart | None:
        """The before_start hooks, then pg_backup_start; on failure, the hooks' writes undone."""
        undo: list[Callable[[], None]] = []
        try:
            for hook in self.hooks.before_start:
                if callable(undone := hook(run)):
                    undo.append(undone)
            run.began = self.clock.monotonic()
            self.log.info(
                f"{job.event}.starting", backup_id=str(run.backup_id), **job.start_fields()
            )
            return session.start(run)
        except BaseException:
            for step in reversed(undo):
                with suppress(BackupError):
                    step()
            raise


def done_fields(run: BackupRun, clock: Clock) -> dict[str, Any]:
    fields: dict[str, Any] = {"backup_id": str(run.backup_id)}
    if run.info is not None:
        fields["end_xlog"] = run.info.end_xlog
        fields["seconds"] = round(clock.monotonic() - run.began, 3)
    return fields


def reason_of(exc: BaseException) -> str:
    """The one-line reason a run failed, as barman words a lost session."""
    reason = first_line(exc)
    if isinstance(exc, PostgresConnectionError) and "lost" in reason:
        return SESSION_LOST
    return reason


def failure(template: str, exc: BaseException) -> BackupError:
    """The error a failed run raises: Interrupted for Ctrl-C/SIGTERM, BackupFailed otherwise."""
    message = template.format(reason=reason_of(exc))
    if isinstance(exc, KeyboardInterrupt | Interrupted):
        return Interrupted(message)
    return BackupFailed(message)
