"""BackupInfo and the backup.info text format barman's readers parse (render and parse)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from cloud_base_backup.domain.redaction import redact

STARTED = "STARTED"
DONE = "DONE"
FAILED = "FAILED"

# How each key is written: text as is, int, a Python literal, or str(datetime).
_TEXT, _INT, _LITERAL, _TIME = "text", "int", "literal", "time"
_FORMATS: dict[str, str] = {
    "backup_label": _LITERAL,
    "backup_name": _TEXT,
    "begin_offset": _INT,
    "begin_time": _TIME,
    "begin_wal": _TEXT,
    "begin_xlog": _TEXT,
    "children_backup_ids": _TEXT,
    "cluster_size": _INT,
    "compression": _TEXT,
    "config_file": _TEXT,
    "copy_stats": _LITERAL,
    "data_checksums": _TEXT,
    "deduplicated_size": _INT,
    "encryption": _TEXT,
    "end_offset": _INT,
    "end_time": _TIME,
    "end_wal": _TEXT,
    "end_xlog": _TEXT,
    "error": _TEXT,
    "hba_file": _TEXT,
    "ident_file": _TEXT,
    "included_files": _LITERAL,
    "mode": _TEXT,
    "parent_backup_id": _TEXT,
    "pgdata": _TEXT,
    "server_name": _TEXT,
    "size": _INT,
    "snapshots_info": _LITERAL,
    "status": _TEXT,
    "summarize_wal": _TEXT,
    "systemid": _TEXT,
    "tablespaces": _LITERAL,
    "timeline": _INT,
    "version": _INT,
    "xlog_segment_size": _INT,
}
# Written only when set; every other key is always written (None when unset).
_OPTIONAL_KEYS = frozenset({"backup_name", "snapshots_info"})


@dataclass(frozen=True)
class BackupInfo:
    """The fields of backup.info; unknown keys are fatal to barman's readers, so none are added."""

    status: str = STARTED
    server_name: str = "cloud"
    backup_label: str | None = None
    backup_name: str | None = None
    begin_offset: int | None = None
    begin_time: datetime | None = None
    begin_wal: str | None = None
    begin_xlog: str | None = None
    children_backup_ids: str | None = None
    cluster_size: int | None = None
    compression: str | None = None
    config_file: str | None = None
    copy_stats: dict[str, Any] | None = None
    data_checksums: str | None = None
    deduplicated_size: int | None = None
    encryption: str | None = None
    end_offset: int | None = None
    end_time: datetime | None = None
    end_wal: str | None = None
    end_xlog: str | None = None
    error: str | None = None
    hba_file: str | None = None
    ident_file: str | None = None
    included_files: list[str] | None = None
    mode: str | None = None
    parent_backup_id: str | None = None
    pgdata: str | None = None
    size: int | None = None
    snapshots_info: dict[str, Any] | None = None
    summarize_wal: str | None = None
    systemid: str | None = None
    tablespaces: list[tuple[str, int, str]] | None = None
    timeline: int | None = None
    version: int | None = None
    xlog_segment_size: int | None = None

    def with_(self, **changes: Any) -> BackupInfo:
        return replace(self, **changes)


def _render_value(fmt: str, value: Any) -> str:
    if value is None:
        return "None"
    if fmt == _LITERAL:
        return repr(value)
    return str(value)


def render(info: BackupInfo) -> str:
    """`key=value` lines in alphabetical key order, as barman writes them."""
    lines = []
    for f in sorted(fields(info), key=lambda f: f.name):
        value = getattr(info, f.name)
        if f.name in _OPTIONAL_KEYS and value is None:
            continue
        text = _render_value(_FORMATS[f.name], value)
        if f.name == "error":  # the one free-text field: it quotes SDK and server messages
            text = redact(text)
        if "\n" in text or "\r" in text:
            raise ValueError(f"backup.info value of {f.name} spans lines")
        lines.append(f"{f.name}={text}\n")
    return "".join(lines)


def _parse_value(fmt: str, text: str) -> Any:
    if text == "None":
        return None
    if fmt == _INT:
        return int(text)
    if fmt == _LITERAL:
        return ast.literal_eval(text)
    if fmt == _TIME:
        return datetime.fromisoformat(text)
    return text


def pairs(text: str) -> dict[str, str]:
    """The key=value pairs of backup.info text, tolerating blank lines, comments and spaces as
    barman does; ValueError for a line without `=`."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"invalid line {line!r} in backup.info")
        values[key.strip()] = value.strip()
    return values


def parse(text: str) -> BackupInfo:
    """Read backup.info text of our format (a key it does not know is an error)."""
    values: dict[str, Any] = {}
    for key, value in pairs(text).items():
        if key not in _FORMATS:
            raise ValueError(f"unsupported field {key!r} in backup.info")
        values[key] = _parse_value(_FORMATS[key], value)
    if isinstance(values.get("tablespaces"), list):
        values["tablespaces"] = [tuple(t) for t in values["tablespaces"]]
    return BackupInfo(**values)
