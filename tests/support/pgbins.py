"""Which PostgreSQL majors (13 to 18) are installed for the tests, and where their binaries are."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path
from typing import NoReturn

from tests.support.oracle import REPO, _others_can_traverse

MAJORS = (13, 14, 15, 16, 17, 18)
DEBIAN_BINDIR = Path("/usr/lib/postgresql/15/bin")
# Debian's 15 client tools (psql, pgbench, pg_amcheck, pg_basebackup) work against every major;
# the npm builds of the other majors ship only initdb, pg_ctl and postgres.
CLIENT_BINDIR = Path(os.environ.get("PG_CLIENT_BINDIR", str(DEBIAN_BINDIR)))


def recorded_file() -> Path:
    """Where .ci/install-pg lists the bindirs (same directory rule as the script)."""
    if root := os.environ.get("EMBEDDED_PG_DIR"):
        return Path(root) / "bindirs"
    if _others_can_traverse(REPO):
        return REPO / ".cache" / "pg" / "bindirs"
    return Path("/var/tmp/cbb-pg/bindirs")


def _candidates() -> list[Path]:
    listed = os.environ.get("PG_BINDIRS")
    if listed:
        return [Path(d) for d in listed.split(os.pathsep) if d]
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if recorded_file().exists():
        found += [Path(d) for d in recorded_file().read_text().split() if d]
    return found


@cache
def installed() -> dict[int, Path]:
    """{major: bindir} for every usable server found; PG_BINDIRS (os.pathsep list) overrides."""
    result: dict[int, Path] = {}
    for bindir in _candidates():
        postgres = bindir / "postgres"
        if not (postgres.exists() and (bindir / "initdb").exists()):
            continue
        out = subprocess.run([str(postgres), "--version"], capture_output=True, text=True)
        result.setdefault(_major(out.stdout), bindir)
    return dict(sorted(result.items()))


def _major(version_output: str) -> int:
    # "postgres (PostgreSQL) 18.4" or "... 18beta1": the leading digits of the last word.
    word = version_output.split()[-1]
    digits = ""
    for char in word:
        if not char.isdigit():
            break
        digits += char
    return int(digits)


def require_all() -> bool:
    """CI sets CI_REQUIRE_ALL_MAJORS=1: a missing major then fails instead of skipping."""
    return os.environ.get("CI_REQUIRE_ALL_MAJORS", "") not in ("", "0")


def bindir_for(major: int) -> Path:
    """The bindir of `major`; skip the test if it is not installed (fail when CI requires all)."""
    found = installed()
    if major in found:
        return found[major]
    _missing(f"PostgreSQL {major} is not installed (run .ci/install-pg or set PG_BINDIRS)")


def _missing(message: str) -> NoReturn:
    import pytest  # only here: tests/support/demo.py imports this module outside pytest

    if require_all():
        pytest.fail(message)
    pytest.skip(message)


def client_tool(bindir: Path, name: str) -> Path:
    """A client program from the server's bindir, else from Debian's 15."""
    own = bindir / name
    return own if own.exists() else CLIENT_BINDIR / name


def client_bindir(major: int) -> Path | None:
    """Client tools (pg_verifybackup, pg_waldump, pg_basebackup, pg_checksums) of `major`:
    Debian's for 15, .ci/install-pg-clients' for 14, 16, 17 and 18; None when not installed."""
    if major == 15 and (DEBIAN_BINDIR / "pg_verifybackup").exists():
        return DEBIAN_BINDIR
    bindir = recorded_file().parent / "clients" / str(major) / "bin"
    return bindir if (bindir / "pg_verifybackup").exists() else None


def require_client_bindir(major: int) -> Path:
    """client_bindir(major), or skip (fail when CI requires every major) naming what is missing."""
    found = client_bindir(major)
    if found is None:
        _missing(f"PostgreSQL {major} client tools are not installed (run .ci/install-pg-clients)")
    return found


def newest_verifybackup() -> Path:
    """The newest pg_verifybackup installed: it reads manifests of version 1 and 2."""
    for major in (18, 17, 16, 15, 14):
        found = client_bindir(major)
        if found is not None:
            return found / "pg_verifybackup"
    _missing("no pg_verifybackup is installed (Debian's postgresql-client-15)")
