"""Our backup_manifest and page checks against PostgreSQL's own tools on real clusters.

- pg_basebackup -Fp of a cluster with a tablespace and oddly named files: rendering each entry
  of PostgreSQL's manifest with our checksums, computed from the bytes pg_basebackup wrote, gives
  PostgreSQL's manifest byte for byte (version 1 from a 15 server, version 2 from a 17 one).
- pg_checksums --check on a stopped cluster made with initdb -k: we find no failure where it
  finds none, and after one byte of a block is flipped we name the same file, block and both
  checksums it names.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud_base_backup.adapters.read_checks import FileReadCheck, PageBatch
from cloud_base_backup.adapters.tar_sink import TarStream
from cloud_base_backup.domain.model import PageCheck, PageFailure, ReadChecks
from tests.support.pgbins import bindir_for, require_client_bindir
from tests.support.pgcluster import PgCluster, chown_to_postgres
from tests.unit.test_manifest import rerender

pytestmark = pytest.mark.contract

ODD_NAMES = [b'odd "quote" back\\slash', b"tab\there", b"nl\nx", b"ctl\x01\x1f\x7f",
             "ünï€".encode(), b"bad\xff\xfename"]  # fmt: skip


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="manifest-"))
    chown_to_postgres(path, recursive=False)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _checksum(path: Path, algorithm: str) -> str:
    check = FileReadCheck(ReadChecks(algorithm, None), "x")
    with open(path, "rb", buffering=0) as handle:
        TarStream(io.BytesIO()).data_from(handle, path.stat().st_size, check)
    return check.result(0).checksum


@pytest.mark.parametrize(("major", "client_major"), [(15, 15), (17, 18)])
def test_our_rendering_of_a_real_backup_is_postgresqls_manifest(root, major, client_major):
    cluster = PgCluster(root, bindir_for(major)).initdb("--data-checksums")
    basebackup = require_client_bindir(client_major) / "pg_basebackup"
    cluster.configure(wal_level="replica", max_wal_senders=4)
    try:
        cluster.start()
        cluster.create_tablespace("ts1", root / "ts1")
        cluster.sql("CREATE TABLE t1 TABLESPACE ts1 AS SELECT generate_series(1, 1000) a")
        for name in ODD_NAMES:
            path = os.path.join(os.fsencode(cluster.pgdata), name)
            Path(os.fsdecode(path)).write_bytes(b"x" * 13)
        out = root / "out"
        subprocess.run(
            [basebackup, "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
             "-D", out, "-Fp", "-c", "fast", "--manifest-checksums", "CRC32C",
             "-T", f"{root / 'ts1'}={root / 'ts1-copy'}"],
            check=True, capture_output=True,
        )  # fmt: skip
    finally:
        cluster.stop()
    original = (out / "backup_manifest").read_bytes()
    # Each entry's checksum is the one we compute from the bytes pg_basebackup wrote (through
    # the tablespace link for pg_tblspc/...), and the whole text renders back byte for byte.
    files = json.loads(original)["Files"]
    for entry in files:
        name = entry["Path"].encode() if "Path" in entry else bytes.fromhex(entry["Encoded-Path"])
        on_disk = Path(os.fsdecode(os.path.join(os.fsencode(out), name)))
        assert _checksum(on_disk, "CRC32C") == entry["Checksum"], name
    names = [e["Path"].encode() if "Path" in e else bytes.fromhex(e["Encoded-Path"]) for e in files]
    assert set(ODD_NAMES) <= set(names)
    assert any(n.startswith(b"pg_tblspc/") for n in names)
    assert rerender(original) == original
    header = b'"PostgreSQL-Backup-Manifest-Version": ' + (b"2" if major >= 17 else b"1")
    assert header in original


def _pg_checksums(bindir: Path, pgdata: Path) -> subprocess.CompletedProcess[str]:
    argv = [str(bindir / "pg_checksums"), "--check", "-D", str(pgdata)]
    kw: dict[str, object] = {"capture_output": True, "text": True}
    if os.geteuid() == 0:
        kw |= {"user": "postgres", "group": "postgres", "extra_groups": []}
    return subprocess.run(argv, **kw)  # type: ignore[call-overload]


def _our_failures(pgdata: Path) -> list[tuple[str, int, int, int]]:
    """(file, block, calculated, expected) for every relation file, as the backup reads them."""
    found: list[tuple[str, int, int, int]] = []

    def report(path: str, failure: PageFailure) -> None:
        rel = Path(path).relative_to(pgdata).as_posix()
        found.append((rel, failure.block, failure.calculated, failure.expected))

    pages = PageCheck(start_lsn=2**64 - 1)
    checks = ReadChecks("NONE", pages, report)
    batch = PageBatch(pages, report)
    for path in sorted(pgdata.rglob("*")):
        if not path.is_file():
            continue
        check = FileReadCheck(checks, path.relative_to(pgdata).as_posix(), str(path), batch)
        with open(path, "rb", buffering=0) as handle:
            TarStream(io.BytesIO()).data_from(handle, path.stat().st_size, check)
    batch.finish()
    return found


@pytest.mark.parametrize("major", [15, 18])
def test_page_checks_agree_with_pg_checksums(root, major):
    client = require_client_bindir(major)
    cluster = PgCluster(root, bindir_for(major)).initdb("--data-checksums")
    cluster.start()
    cluster.sql("CREATE TABLE t AS SELECT g, md5(g::text) FROM generate_series(1, 5000) g")
    relfile = str(cluster.scalar("SELECT pg_relation_filepath('t')"))
    cluster.stop()
    clean = _pg_checksums(client, cluster.pgdata)
    assert clean.returncode == 0, clean.stderr
    assert _our_failures(cluster.pgdata) == []
    # Flip one byte in the middle of block 3 of the table, the server stopped.
    with open(cluster.pgdata / relfile, "r+b") as handle:
        handle.seek(3 * 8192 + 4000)
        byte = handle.read(1)
        handle.seek(3 * 8192 + 4000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    broken = _pg_checksums(client, cluster.pgdata)
    assert broken.returncode == 1
    # pg_checksums: 'checksum verification failed in file "<path>", block 3: calculated
    # checksum 6F1A but block contains 3B2C'
    match = re.search(
        r'file "([^"]+)", block (\d+): calculated checksum ([0-9A-F]+) but block contains ([0-9A-F]+)',
        broken.stderr,
    )
    assert match, broken.stderr
    assert _our_failures(cluster.pgdata) == [
        (relfile, int(match[2]), int(match[3], 16), int(match[4], 16))
    ]
    assert match[1].endswith(relfile)
