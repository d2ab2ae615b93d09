"""Claiming a backup id: a conditional create of its backup.info, the next second when taken."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from adapters.object_stores.memory import MemoryObjectStore
from domain.claim import MAX_ATTEMPTS, claim_backup_id
from domain.errors import BackupExists
from tests.fakes import RecordingLog

WHEN = datetime(2026, 11, 30, 23, 59, 58)
BASE = "path/pg/base/"


def _claim(store, log=None, when=WHEN):
    return claim_backup_id(store, "path", "pg", when, lambda i: f"claimed {i}".encode(), log or RecordingLog())


@pytest.fixture
def store():
    s = MemoryObjectStore("bkt")
    s.create_bucket()
    return s


def test_a_free_id_is_claimed_by_creating_its_backup_info(store):
    claim = _claim(store)
    assert (str(claim.backup_id), claim.info_key) == ("20261130T235958", BASE + "20261130T235958/backup.info")
    assert store.objects == {claim.info_key: b"claimed 20261130T235958"}


def test_a_taken_id_moves_to_the_next_free_second_and_nothing_is_overwritten(store):
    store.objects[BASE + "20261130T235958/backup.info"] = b"status=DONE\n"
    store.objects[BASE + "20261130T235959/data.tar"] = b"a leftover without backup.info"
    log = RecordingLog()
    claim = _claim(store, log)
    assert str(claim.backup_id) == "20261201T000000"  # across midnight, as the clock goes
    assert store.objects[BASE + "20261130T235958/backup.info"] == b"status=DONE\n"
    assert BASE + "20261130T235959/backup.info" not in store.objects
    assert [(lvl, f) for lvl, _, f in log.records if lvl == "warning"] == [
        ("warning", {"wanted": "20261130T235958", "backup_id": "20261201T000000"})
    ]


def test_simultaneous_runs_with_the_same_clock_get_distinct_ids(store):
    barrier = threading.Barrier(4)

    def run(_):
        barrier.wait()
        return str(_claim(store).backup_id)

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(run, range(4)))
    assert sorted(ids) == ["20261130T235958", "20261130T235959", "20261201T000000", "20261201T000001"]


def test_a_minute_of_taken_ids_fails_without_writing():
    assert MAX_ATTEMPTS == 60
    taken = MemoryObjectStore("bkt")
    taken.create_bucket()
    taken.put_if_absent = lambda key, data: False  # type: ignore[method-assign]
    with pytest.raises(BackupExists, match="20261130T235958 to 20261201T000057 are all taken"):
        _claim(taken)
    assert taken.objects == {}
