"""Claiming a new backup id: a conditional create of its backup.info before pg_backup_start."""

import threading

import pytest

from cloud_base_backup.domain import metadata
from cloud_base_backup.domain.claim import TAKEN, ClaimBackupId
from cloud_base_backup.domain.errors import BackupExists, PostgresError
from cloud_base_backup.domain.exit_codes import ExitCode
from cloud_base_backup.domain.lifecycle import BackupRun, LifecycleHooks
from cloud_base_backup.domain.model import BackupId
from tests.unit.test_take_backup import PREFIX, World

INFO = PREFIX + "backup.info"


def _claiming(world, *before):
    world.deps.hooks = LifecycleHooks(before_start=[*before, ClaimBackupId(world.store, world.log)])
    return world


def test_the_claim_is_a_started_backup_info_written_before_pg_backup_start():
    world = _claiming(World())
    seen = {}

    def spy(label, fast, start=world.pg.start_backup):
        seen["info"] = metadata.parse(world.store.objects[INFO].decode())
        return start(label, fast)

    world.pg.start_backup = spy
    world.run()
    claimed = seen["info"]
    assert claimed.status == "STARTED" and claimed.begin_xlog is None and claimed.begin_wal is None
    assert claimed.systemid == world.info().systemid and claimed.version == world.info().version
    assert world.info().status == "DONE"


def test_a_run_that_loses_the_claim_exits_1_with_nothing_started_or_overwritten():
    world = World()

    def other_run_claims_first(run):  # after our listing found the id free
        world.store.objects[INFO] = b"status=STARTED\n"

    _claiming(world, other_run_claims_first)
    with pytest.raises(BackupExists) as raised:
        world.run()
    assert str(raised.value).endswith(f"{PREFIX}: refusing to overwrite it{TAKEN}")
    assert raised.value.exit_code == ExitCode.FAILED
    assert world.store.objects == {INFO: b"status=STARTED\n"}
    assert "start_backup" not in world.pg.calls


def test_the_claim_is_released_when_pg_backup_start_fails():
    world = _claiming(World())
    world.pg.fail_on = "start_backup"
    with pytest.raises(PostgresError):
        world.run()
    assert world.store.objects == {}


def test_two_runs_in_the_same_second_give_one_backup_and_one_clean_refusal():
    first, second = World(), World()
    second.store = first.store  # one bucket, one clock second, two servers' sessions
    second.deps.store = first.store
    second.sink.store = first.store
    barrier = threading.Barrier(2)
    outcomes = {}
    for world in (first, second):
        _claiming(world, lambda run: barrier.wait())

    def run(name, world):
        try:
            outcomes[name] = world.run().status
        except BackupExists as exc:
            outcomes[name] = f"refused: {exc.exit_code.name}"

    threads = [threading.Thread(target=run, args=item) for item in (("a", first), ("b", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["DONE", "refused: FAILED"]
    loser = first if outcomes["a"] != "DONE" else second
    assert "start_backup" not in loser.pg.calls
    assert metadata.parse(first.store.objects[INFO].decode()).status == "DONE"


def test_hook_mode_relays_barman_s_id_without_a_claim():
    world = World()
    run = BackupRun(backup_id=BackupId("20261126T041850"), prefix=PREFIX, new_id=False)
    assert ClaimBackupId(world.store, world.log)(run) is None
    assert world.store.objects == {}
