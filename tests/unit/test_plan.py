"""BackupPlan and exclusions: what goes into which archive."""

import pytest

from cloud_base_backup.domain.model import Tablespace
from cloud_base_backup.domain.plan import make_plan, matches
from tests.fakes import server_info


@pytest.fixture
def plan():
    return make_plan(server_info(
        config_file="/etc/pg/postgresql.conf",
        hba_file="/pg/data/pg_hba.conf",
        ident_file="/etc/pg/pg_ident.conf",
        tablespaces=(Tablespace("tbs", 16385, "/pg/tbs"), Tablespace("inner", 16386, "/pg/data/ts_in")),
    ))


@pytest.mark.parametrize("rel", [
    "pg_wal/000000010000000000000001", "pg_wal/archive_status", "postmaster.pid", "postmaster.opts",
    "global/pg_control", "pg_tblspc/16385", "ts_in", "base/5/pgsql_tmp", "base/pgsql_tmp123",
    "pg_replslot/slot1", "pg_stat_tmp/global.stat", "base/1/pg_internal.init", "log/postgresql.log",
    "standby.signal", "recovery.conf", "base/5/t3_16384", "base/5/t3_16384_fsm", "base/5/t3_16384.1",
])
def test_excluded_from_pgdata(plan, rel):
    assert plan.data.excluded(rel)


@pytest.mark.parametrize("rel", [
    "pg_wal", "pg_replslot", "pg_stat_tmp", "log", "pg_tblspc", "base/5/16384", "base/5/16384_fsm",
    "global/1262", "postgresql.auto.conf", "backup_label.old", "pg_stat/pgstat.stat", "PG_VERSION",
    "recovery.signal", "tablespace_map", "base/5/t3", "pg_hba.conf",
])
def test_kept_in_pgdata(plan, rel):
    assert not plan.data.excluded(rel)


def test_tablespace_archive_holds_only_its_version_directory(plan):
    tbs = plan.tablespaces[0]
    assert (tbs.base, tbs.root, tbs.root_entry) == ("16385", "/pg/tbs", False)
    assert not tbs.excluded("PG_15_202209061")
    assert not tbs.excluded("PG_15_202209061/5/16390")
    assert tbs.excluded("PG_14_202107181")
    assert tbs.excluded("lost+found")
    assert tbs.excluded("PG_15_202209061/5/pgsql_tmp")


def test_archives_in_barman_order_and_configs_outside_pgdata(plan):
    assert [a.base for a in plan.archives] == ["16385", "16386", "data"]
    assert plan.external_configs == (("/etc/pg/postgresql.conf", True), ("/etc/pg/pg_ident.conf", False))


def test_prefix_that_is_not_a_parent_is_outside():
    plan = make_plan(server_info(pgdata="/data/pg", config_file="/data/pg2/x.conf", hba_file=None, ident_file=None))
    assert plan.external_configs == (("/data/pg2/x.conf", True),)


def test_glob_rules():
    assert matches("/pg_wal/*", "pg_wal/x")
    assert not matches("/pg_wal/*", "a/pg_wal/x")
    assert matches("pgsql_tmp*", "base/5/pgsql_tmp12")
    assert matches("[0-9]", "[0-9]") and not matches("[0-9]", "5")
    assert matches("a/**", "a/b/c") and not matches("a/*", "a/b/c")
