"""The one backup lifecycle's extension points, through the live backup use case and fakes."""

from __future__ import annotations

import pytest

from cloud_base_backup.domain.errors import (
    BackupExists,
    BackupFailed,
    CompletedWithProblems,
    InvalidInput,
)
from cloud_base_backup.domain.exit_codes import ExitCode
from cloud_base_backup.domain.lifecycle import BackupRun, LifecycleHooks, LifecycleObserver
from tests.fakes import is_complete
from tests.unit.test_take_backup import PREFIX, World


class Recorder(LifecycleObserver):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def started(self, run: BackupRun) -> None:
        self.seen.append(f"started:{run.backup_id}")

    def member_added(self, run: BackupRun, key: str, member) -> None:
        self.seen.append(f"member:{key.removeprefix(PREFIX)}:{member.name}")

    def archive_closed(self, run: BackupRun, result) -> None:
        self.seen.append(f"closed:{result.key.removeprefix(PREFIX)}")

    def done(self, run: BackupRun) -> None:
        self.seen.append(f"done:{run.info.status}")

    def failed(self, run: BackupRun, error) -> None:
        self.seen.append(f"failed:{error}")


def test_before_start_runs_after_the_checks_and_before_pg_backup_start() -> None:
    world = World()
    seen = []
    world.deps.hooks = LifecycleHooks(before_start=[lambda run: seen.append((run.prefix, list(world.pg.calls)))])
    world.run()
    assert seen == [(PREFIX, ["server_info", "check_backup_privileges"])]


def test_a_before_start_hook_that_raises_stops_the_run_with_nothing_started_or_written() -> None:
    world = World()

    def refuse(run: BackupRun) -> None:
        raise InvalidInput(f"backup id {run.backup_id} is taken")

    world.deps.hooks = LifecycleHooks(before_start=[refuse])
    with pytest.raises(InvalidInput, match="is taken"):
        world.run()
    assert "start_backup" not in world.pg.calls and world.store.objects == {}


def test_an_existing_backup_id_is_refused_before_the_hooks() -> None:
    world = World()
    world.store.objects[PREFIX + "backup.info"] = b"status=DONE\n"
    called = []
    world.deps.hooks = LifecycleHooks(before_start=[called.append])
    with pytest.raises(BackupExists, match=f"already exists at .*{PREFIX}: refusing to overwrite it"):
        world.run()
    assert called == []


def test_observers_see_start_members_archives_and_done() -> None:
    world, recorder = World(), Recorder()
    world.deps.hooks = LifecycleHooks(observers=[recorder])
    world.run()
    assert recorder.seen[0] == "started:20261126T041850" and recorder.seen[-1] == "done:DONE"
    assert [s for s in recorder.seen if s.startswith("closed:")] == ["closed:16385.tar", "closed:data.tar"]
    members = [s for s in recorder.seen if s.startswith("member:data.tar:")]
    assert members[0] == "member:data.tar:./" and members[-2:] == [
        "member:data.tar:backup_label", "member:data.tar:backup_manifest"
    ]


def test_observers_see_the_failure_with_the_error_raised() -> None:
    world, recorder = World(), Recorder()
    world.sink.fail_on_member = "global/1262"
    world.deps.hooks = LifecycleHooks(observers=[recorder])
    with pytest.raises(BackupFailed) as raised:
        world.run()
    assert recorder.seen[-1] == f"failed:{raised.value}"
    assert not any(s.startswith("done:") for s in recorder.seen)


def test_final_members_follow_backup_label_in_the_data_archive_owned_like_pgdata() -> None:
    world = World()
    world.deps.hooks = LifecycleHooks(
        final_members=[lambda run: [run.final_file("final_extra", f"{run.stop.lsn}".encode())]]
    )
    world.run()
    data = world.sink.members(PREFIX + "data.tar")
    # the live backup's own backup_manifest stays the very last member, listing the others
    assert data[-4:] == ["global/pg_control", "backup_label", "final_extra", "backup_manifest"]
    assert b'"Path": "final_extra"' in world.sink.contents["backup_manifest"]
    writer = next(w for w in world.sink.writers if w.key == PREFIX + "data.tar")
    label, manifest = writer.added[-3:-1]
    assert manifest.data == b"0/3000100"
    assert (manifest.uid, manifest.gid, manifest.mode) == (label.uid, label.gid, label.mode)
    assert world.info().status == "DONE"


def test_a_reported_problem_ends_done_but_exits_1() -> None:
    world = World()

    class Checker(LifecycleObserver):
        def member_added(self, run: BackupRun, key: str, member) -> None:
            if member.name == "base/5/16390":
                run.report_problem("checksum mismatch in base/5/16390")

    world.deps.hooks = LifecycleHooks(observers=[Checker()])
    with pytest.raises(CompletedWithProblems, match="checksum mismatch in base/5/16390") as raised:
        world.run()
    assert raised.value.exit_code == ExitCode.FAILED
    assert world.info().status == "DONE" and is_complete(world.info())
