"""Hook mode with a REAL barman 3.19.1 server: our command as its post_backup_retry_script.

barman takes the backup (pg_basebackup) and runs our barman-cloud-backup, which relays it to moto
S3; the real barman-cloud-backup-list must see it DONE and the real barman-cloud-restore must give
back the source's data. A backup that is not DONE when the hook runs must exit 63 and upload nothing.
"""

from __future__ import annotations

import io
import shlex
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.e2e.test_s3_roundtrip import (
    check_restored,
    restore_and_recover,
    the_done_backup,
    ts_oid,
)
from tests.support.barman import BarmanServer
from tests.support.moto_server import Destination, aws_env
from tests.support.oracle import Oracle
from tests.support.pgcluster import PgCluster

pytestmark = pytest.mark.e2e


@pytest.fixture
def barman(oracle: Oracle, workdir: Path, source: PgCluster, dest: Destination) -> BarmanServer:
    return BarmanServer(oracle, workdir, dest.server).attach(source)


def hook_line(cmd: str, dest: Destination, *flags: str) -> str:
    """The documented hook line: barman's shell expands ${BARMAN_SERVER} (= dest.server here)."""
    argv = [cmd, "--endpoint-url", dest.moto.endpoint_url, *flags, dest.url]
    return f"{shlex.join(argv)} ${{BARMAN_SERVER}}"


def archives(dest: Destination, backup_id: str) -> dict[str, list[str]]:
    """Member names of each archive of a backup (`./` dropped: restore ignores it)."""
    client, found = dest.moto.client(), {}
    for key in dest.keys(f"base/{backup_id}/"):
        if ".tar" in key:
            body = client.get_object(Bucket=dest.bucket, Key=key)["Body"].read()
            with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as tar:
                found[key.rsplit("/", 1)[1]] = [m.name.removeprefix("./") for m in tar]
    return found


def relay_and_restore(barman, backup_cmd, source, dest, oracle, workdir, tablespace, *flags):
    barman.configure(hook_line(backup_cmd, dest, *flags))
    barman.backup(wait=True)
    assert barman.hook_codes() == [0], barman.hook_errors()
    expected = source.fingerprint()
    backup_id = the_done_backup(oracle, dest, tablespace)  # real list + show
    local_info = Path(barman.hook_env(backup_id)["BARMAN_BACKUP_INFO_PATH"]).read_bytes()
    info_key = f"{dest.prefix}/{dest.server}/base/{backup_id}/backup.info"
    body = dest.moto.client().get_object(Bucket=dest.bucket, Key=info_key)["Body"].read()
    assert body == local_info  # barman's backup.info, byte for byte
    restored = restore_and_recover(
        oracle, dest, backup_id, workdir, source, tablespace, immediate=True
    )
    try:
        check_restored(restored, expected)
    finally:
        restored.stop()
    return backup_id


def test_compressed_relay_matches_barman_and_restores(
    barman, backup_cmd, source, dest, oracle, workdir, tablespace
):
    backup_id = relay_and_restore(barman, backup_cmd, source, dest, oracle, workdir, tablespace, "-z")
    ours = archives(dest, backup_id)
    oid = ts_oid(source, tablespace)
    assert set(ours) == {"data.tar.gz", f"{oid}.tar.gz"}
    assert ours["data.tar.gz"][-1] == "global/pg_control"
    assert {"backup_label", "backup_manifest"} <= set(ours["data.tar.gz"])
    # The real barman-cloud-backup relays the same barman backup: same archives, same members.
    theirs_dest = Destination(dest.moto, dest.bucket, dest.prefix + "-oracle", dest.server)
    subprocess.run(
        [oracle.tool("barman-cloud-backup"), "--endpoint-url", dest.moto.endpoint_url, "-z",
         theirs_dest.url, dest.server],
        env=aws_env() | barman.hook_env(backup_id), check=True, capture_output=True,
    )
    theirs = archives(theirs_dest, backup_id)
    assert {k: sorted(v) for k, v in ours.items()} == {k: sorted(v) for k, v in theirs.items()}


def test_split_relay_restores(barman, backup_cmd, source, dest, oracle, workdir, tablespace):
    backup_id = relay_and_restore(
        barman, backup_cmd, source, dest, oracle, workdir, tablespace, "-S", "1MB", "-J", "3"
    )
    names = set(archives(dest, backup_id))
    oid = ts_oid(source, tablespace)
    assert {"data.tar", "data_0001.tar", "data_0002.tar", f"{oid}.tar", f"{oid}_0001.tar"} <= names


def test_backup_not_done_exits_63_and_uploads_nothing(barman, backup_cmd, dest):
    barman.configure(hook_line(backup_cmd, dest, "-z"))
    barman.backup(wait=False)  # hooks run while the backup still waits for its end WAL
    assert barman.hook_codes() == [63]  # one run: 63 stops barman's retry loop
    errors = barman.hook_errors()
    assert "status 'WAITING_FOR_WALS'" in errors and "barman backup --wait" in errors
    assert len(errors.strip().splitlines()) == 1 and "Traceback" not in errors
    assert dest.keys("base/") == []
