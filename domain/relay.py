"""Relay use case (barman hook mode): upload a backup barman already took, laid out as a live one."""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cloud_base_backup.domain import metadata
from cloud_base_backup.domain.archive_job import ArchiveDeps, ArchiveJob
from cloud_base_backup.domain.errors import InvalidInput
from cloud_base_backup.domain.layout import DATA_ARCHIVE
from cloud_base_backup.domain.lifecycle import BackupRun
from cloud_base_backup.domain.model import BackupId, Member, Tablespace
from cloud_base_backup.domain.plan import ArchiveSpec, BackupPlan, data_excludes, tablespace_spec
from cloud_base_backup.domain.ports import FileTree
from cloud_base_backup.domain.records import RelayedRecord
from cloud_base_backup.domain.session import NoSession


@dataclass(frozen=True)
class RelayRequest:
    """One finished barman backup: its directory, id and backup.info bytes, and where it goes."""

    server_name: str
    prefix: str
    backup_id: str
    backup_dir: str
    backup_info: bytes
    max_archive_size: int


@dataclass(frozen=True)
class BarmanBackup:
    """The four backup.info fields the relay needs; barman's other keys are carried, not read."""

    version: int
    pgdata: str
    tablespaces: tuple[Tablespace, ...]
    compression: str | None
    size: int | None = None  # barman's `size`: the bytes of its copy, the relay's progress total

    @property
    def major(self) -> str:
        """PG_<major>_ of the tablespace directories: `16`, or `9.6` before version 10."""
        major = self.version // 10000
        return str(major) if major >= 10 else f"{major}.{self.version // 100 % 100}"


def read_backup_info(data: bytes) -> BarmanBackup:
    """Parse barman's local backup.info tolerantly: it holds keys our cloud format never writes."""
    try:
        values = metadata.pairs(data.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    try:
        version = int(values["version"])
        pgdata = values["pgdata"]
        raw_ts = values.get("tablespaces", "None")
        tablespaces = ast.literal_eval(raw_ts) if raw_ts != "None" else None
        spaces = tuple(Tablespace(str(n), int(o), str(loc)) for n, o, loc in tablespaces or ())
    except (KeyError, ValueError, TypeError, SyntaxError) as exc:
        raise InvalidInput(f"backup.info lacks a valid version, pgdata or tablespaces: {exc}") from exc
    compression = values.get("compression", "None")
    raw_size = values.get("size", "None")  # a progress total only: not checked
    size = int(raw_size) if raw_size.isdigit() else None
    return BarmanBackup(version, pgdata, spaces, None if compression == "None" else compression, size)


def relay_plan(backup: BarmanBackup, backup_dir: str, files: FileTree) -> BackupPlan:
    """Barman's copy: `<dir>/<oid>` per tablespace (a missing one is skipped), then `<dir>/data`."""
    specs = []
    for ts in backup.tablespaces:
        root = posixpath.join(backup_dir, str(ts.oid))
        if files.entry(root, str(ts.oid)) is not None:
            specs.append(tablespace_spec(Tablespace(ts.name, ts.oid, root), backup.major))
    # Tablespaces inside the original PGDATA are found from backup.info's pgdata, as barman does.
    excludes = data_excludes(backup.tablespaces, backup.pgdata)
    data = ArchiveSpec(DATA_ARCHIVE, posixpath.join(backup_dir, "data"), excludes)
    return BackupPlan(tablespaces=tuple(specs), data=data, external_configs=())


class _Relay(ArchiveJob):
    event = "relay"

    def __init__(self, request: RelayRequest, backup: BarmanBackup, deps: ArchiveDeps) -> None:
        heartbeat = NoSession().heartbeat_check  # barman's backup is finished: no session
        super().__init__(deps, request.max_archive_size, heartbeat)
        self._request, self._backup, self._files = request, backup, deps.files

    def check(self) -> None:
        self.plan = relay_plan(self._backup, self._request.backup_dir, self._files)
        self.expected_bytes = self._backup.size

    def start_fields(self) -> dict[str, Any]:
        return {"backup_dir": self._request.backup_dir}

    def finish(self, run: BackupRun, final_members: Iterable[Member]) -> dict[str, Any]:
        # barman's backup already holds its backup_label: nothing is added to what it took.
        return super().finish(run, ())


def relay_backup(request: RelayRequest, deps: ArchiveDeps) -> None:
    """Check the store, stream the archives, then upload barman's backup.info unchanged, last."""
    backup = read_backup_info(request.backup_info)
    if backup.compression is not None:
        raise InvalidInput(
            "Compressed backups are not supported when running as a hook script "
            f"(backup.info compression={backup.compression}); use an uncompressed barman backup"
        )
    try:
        backup_id = BackupId(request.backup_id)
    except ValueError as exc:
        raise InvalidInput(f"BARMAN_BACKUP_ID is {request.backup_id!r}, not a barman backup id") from exc
    deps.lifecycle().run(
        _Relay(request, backup, deps),
        NoSession(),
        RelayedRecord(deps.store, request.backup_info),
        path=request.prefix,
        server_name=request.server_name,
        backup_id=backup_id,
    )
