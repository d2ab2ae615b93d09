"""Our backup's archives hold what barman's own backup of the same cluster holds, plus only the
backup_manifest at the end of the data archive; barman's tools list, show, restore and delete it."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from tests.e2e.test_s3_roundtrip import oracle_run, take_backup
from tests.support.moto_server import Destination

pytestmark = pytest.mark.e2e


def members(dest: Destination) -> dict[str, list[str]]:
    """{archive name: member names in order} of the destination's only backup."""
    client = dest.moto.client()
    found: dict[str, list[str]] = {}
    for key in dest.keys("base/"):
        name = key.rsplit("/", 1)[1]
        if not name.endswith(".tar"):
            continue
        body = client.get_object(Bucket=dest.bucket, Key=key)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as tar:
            # barman names top-level files `./PG_VERSION`, we `PG_VERSION`: the same path
            found[name] = [n.removeprefix("./") for n in tar.getnames()]
    return found


def test_the_layout_differs_from_barmans_only_by_the_manifest(backup_cmd, source, dest, oracle):
    theirs = Destination(dest.moto, dest.bucket, dest.prefix + "-barman", dest.server)
    source.sql("CHECKPOINT")
    take_backup(oracle.tool("barman-cloud-backup"), source, theirs)
    take_backup(backup_cmd, source, dest)
    ours_members, barman_members = members(dest), members(theirs)
    assert ours_members.keys() == barman_members.keys()
    for archive, names in barman_members.items():
        # WAL-related and statistics files may come and go between the two runs
        volatile = ("pg_logical/", "pg_stat/", "pg_xact/", "pg_multixact/", "pg_subtrans/")
        ours = {n for n in ours_members[archive] if not n.startswith(volatile)}
        barmans = {n for n in names if not n.startswith(volatile)}
        extra = {"backup_manifest"} if archive == "data.tar" else set()
        assert ours - barmans == extra, (archive, sorted(ours - barmans))
        assert barmans - ours == set(), (archive, sorted(barmans - ours))
    assert ours_members["data.tar"][-2:] == ["backup_label", "backup_manifest"]

    listed = json.loads(oracle_run(oracle, "barman-cloud-backup-list", dest, "--format", "json"))
    (backup,) = listed["backups_list"]
    assert backup["status"] == "DONE"
    oracle_run(oracle, "barman-cloud-backup-delete", dest, "-b", str(backup["backup_id"]))
    assert dest.keys("base/") == []
