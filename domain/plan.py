"""BackupPlan: which archives a backup writes, from which roots, with which exclusions."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from cloud_base_backup.domain.layout import DATA_ARCHIVE
from cloud_base_backup.domain.model import ServerInfo, Tablespace

# Files PostgreSQL rewrites or never needs after restore; pruned at any depth, in PGDATA and
# in tablespaces (the list PostgreSQL's own base backup and barman both skip).
GENERIC_EXCLUDES: tuple[str, ...] = (
    "pgsql_tmp*",
    "postgresql.auto.conf.tmp",
    "current_logfiles.tmp",
    "pg_internal.init",
    "postmaster.pid",
    "postmaster.opts",
    "recovery.conf",
    "standby.signal",
    "pg_dynshmem/*",
    "pg_notify/*",
    "pg_replslot/*",
    "pg_serial/*",
    "pg_stat_tmp/*",
    "pg_snapshots/*",
    "pg_subtrans/*",
)

# Anchored at the PGDATA root: WAL and logs are not part of a base backup (the directories
# themselves are kept, empty); pg_control is copied last, on its own.
PGDATA_EXCLUDES: tuple[str, ...] = (
    "/pg_log/*",
    "/log/*",
    "/pg_xlog/*",
    "/pg_wal/*",
    "/global/pg_control",
)

PG_CONTROL = "global/pg_control"

# Temporary relations (t<backend>_<relfilenode>[_fork][.segment]) in a database directory:
# PostgreSQL's base backup leaves them out; barman's rule for them never matches.
_TEMP_RELATION = re.compile(r"(^|/)(base/\d+|PG_[^/]+/\d+)/t\d+_\d+(_[a-z]+)?(\.\d+)?$")


@lru_cache(maxsize=512)
def _compile(rule: str) -> re.Pattern[str]:
    anchored = rule.startswith("/")
    body = rule.lstrip("/")
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    prefix = "^" if anchored else "^(?:.*/)?"
    return re.compile(prefix + "".join(out) + "$")


def matches(rule: str, relpath: str) -> bool:
    """Whether a barman-style rule matches a path relative to the archive root."""
    return _compile(rule).match(relpath) is not None


@dataclass(frozen=True)
class ArchiveSpec:
    """One archive family (`data` or a tablespace oid) and what goes in it from its root."""

    base: str
    root: str
    excludes: tuple[str, ...]
    include_top: str | None = None
    root_entry: bool = True

    def excluded(self, relpath: str) -> bool:
        """Pure predicate: True prunes the entry (and, for a directory, all below it)."""
        if self.include_top is not None and "/" not in relpath:
            return not matches(self.include_top, relpath)
        if _TEMP_RELATION.search(relpath):
            return True
        return any(matches(rule, relpath) for rule in self.excludes)


@dataclass(frozen=True)
class BackupPlan:
    tablespaces: tuple[ArchiveSpec, ...]
    data: ArchiveSpec
    external_configs: tuple[tuple[str, bool], ...]

    @property
    def archives(self) -> tuple[ArchiveSpec, ...]:
        """Tablespaces first, then PGDATA: barman's order."""
        return (*self.tablespaces, self.data)


def is_inside(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    path = posixpath.normpath(path)
    return path == root or path.startswith(root if root.endswith("/") else root + "/")


def tablespace_spec(tablespace: Tablespace, major: str) -> ArchiveSpec:
    return ArchiveSpec(
        base=str(tablespace.oid),
        root=tablespace.location,
        excludes=GENERIC_EXCLUDES,
        include_top=f"PG_{major}_*",
        root_entry=False,
    )


def data_excludes(tablespaces: Iterable[Tablespace], pgdata: str) -> tuple[str, ...]:
    """PGDATA's exclusions: each tablespace's link, and any tablespace located inside `pgdata`."""
    excludes = list(PGDATA_EXCLUDES) + list(GENERIC_EXCLUDES)
    for ts in tablespaces:
        excludes.append(f"/pg_tblspc/{ts.oid}")
        if is_inside(ts.location, pgdata):
            rel = posixpath.relpath(posixpath.normpath(ts.location), pgdata)
            excludes.append(f"/{rel}")
    return tuple(excludes)


def make_plan(info: ServerInfo) -> BackupPlan:
    """What to archive for this server: each tablespace, then PGDATA, then outside configs."""
    excludes = data_excludes(info.tablespaces, info.pgdata)
    data = ArchiveSpec(base=DATA_ARCHIVE, root=info.pgdata, excludes=excludes)
    externals: list[tuple[str, bool]] = []
    # A missing ident_file is tolerated; a missing config_file or hba_file fails the backup.
    for path, required in (
        (info.config_file, True),
        (info.hba_file, True),
        (info.ident_file, False),
    ):
        if path and not is_inside(path, info.pgdata):
            externals.append((path, required))
    return BackupPlan(
        tablespaces=tuple(tablespace_spec(ts, info.major) for ts in info.tablespaces),
        data=data,
        external_configs=tuple(externals),
    )
