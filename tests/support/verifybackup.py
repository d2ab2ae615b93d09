"""pg_verifybackup on a directory restored by the real barman-cloud-restore.

Each major's own pg_verifybackup is used where installed (Debian's 15; 14, 16, 17 and 18 from
.ci/install-pg-clients), and it checks the WAL range too: pg_waldump reads only its own major's
WAL. 13 has no installable client build here: the newest pg_verifybackup checks its files and
manifest with --no-parse-wal.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.moto_server import Destination, aws_env
from tests.support.oracle import Oracle
from tests.support.pgbins import client_bindir, newest_verifybackup


def verifier(major: int) -> tuple[Path, bool]:
    """(pg_verifybackup, whether it can parse this major's WAL)."""
    own = client_bindir(major)
    if own is not None:
        return own / "pg_verifybackup", True
    return newest_verifybackup(), False


def wal_names(begin: str, end: str, segment_size: int) -> list[str]:
    """Segment names from `begin` to `end` inclusive, on begin's timeline."""
    per_id = 0x100000000 // segment_size
    timeline = begin[:8]
    first = int(begin[8:16], 16) * per_id + int(begin[16:], 16)
    last = int(end[8:16], 16) * per_id + int(end[16:], 16)
    return [f"{timeline}{n // per_id:08X}{n % per_id:08X}" for n in range(first, last + 1)]


def fetch_wal(oracle: Oracle, dest: Destination, names: list[str], into: Path) -> Path:
    """The backup's WAL segments from the archive, with the real barman-cloud-wal-restore."""
    into.mkdir(parents=True, exist_ok=True)
    tool = oracle.tool("barman-cloud-wal-restore")
    for name in names:
        argv = [tool, "--endpoint-url", dest.moto.endpoint_url, dest.url, dest.server, name,
                str(into / name)]  # fmt: skip
        subprocess.run(argv, env=aws_env(), check=True, capture_output=True, timeout=300)
    return into


def verify(pgdata: Path, major: int, wal: Path | None) -> subprocess.CompletedProcess[str]:
    tool, parse_wal = verifier(major)
    argv = [str(tool), "--exit-on-error"]
    argv += ["--wal-directory", str(wal)] if parse_wal and wal is not None else ["--no-parse-wal"]
    return subprocess.run([*argv, str(pgdata)], capture_output=True, text=True, timeout=600)
