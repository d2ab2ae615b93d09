"""barman hook mode (post_backup_retry_script): read barman's environment, relay the backup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloud_base_backup.domain.errors import HookBackupNotDone, InvalidInput
from cloud_base_backup.domain.exit_codes import ExitCode
from cloud_base_backup.entrypoints.options import BackupOptions

HOOKS = ("backup_script", "backup_retry_script")
_WHERE = "barman sets it when it runs this command as post_backup_(retry_)script"


def is_hook(env: Mapping[str, str]) -> bool:
    """Both present (even empty): barman's own rule; one alone means a live backup."""
    return "BARMAN_HOOK" in env and "BARMAN_PHASE" in env


def _required(env: Mapping[str, str], name: str) -> str:
    # barman exports BARMAN_<name>; its man page documents the bare <name>: accept it as a fallback.
    value = env.get(f"BARMAN_{name}", env.get(name))
    if value is None:
        raise InvalidInput(f"BARMAN_{name} is not set: {_WHERE}")
    return value


def _status_hint(status: str | None) -> str:
    if status == "WAITING_FOR_WALS":
        # barman runs post-backup hooks before the end WAL is archived unless told to wait.
        return "run `barman backup --wait` so the backup is DONE when the hook runs"
    return "nothing to relay; barman stops retrying on this exit code (63)"


def _read(path: str) -> bytes:
    if not path:
        raise InvalidInput(f"BARMAN_BACKUP_INFO_PATH is empty: {_WHERE}")
    try:
        with open(path, "rb") as info:
            return info.read()
    except OSError as exc:
        raise InvalidInput(f"Cannot read backup.info at {path}: {exc.strerror or exc}") from exc


def run_hook(container: Any, options: BackupOptions, env: Mapping[str, str]) -> ExitCode:
    """barman's checks in barman's order, each with its exit code, then the relay use case."""
    hook, phase = env["BARMAN_HOOK"], env["BARMAN_PHASE"]
    if hook not in HOOKS or phase != "post":
        raise InvalidInput(
            f"barman-cloud-backup called as unsupported hook script: {phase}_{hook}; "
            "use it as post_backup_script or post_backup_retry_script"
        )
    if options.backup_name is not None:
        raise InvalidInput("Cannot set backup name when running as a hook script: drop -n/--name")
    backup_dir = _required(env, "BACKUP_DIR")
    backup_id = _required(env, "BACKUP_ID")
    status = env.get("BARMAN_STATUS")
    if status != "DONE":
        raise HookBackupNotDone(
            f"backup in '{backup_dir}' has status '{status}' (status should be: DONE): "
            + _status_hint(status)
        )
    info_path = env.get("BARMAN_BACKUP_INFO_PATH")
    if info_path is None:
        raise InvalidInput(f"BARMAN_BACKUP_INFO_PATH is not set: {_WHERE}")
    request = container.relay_request(
        backup_dir=backup_dir, backup_id=backup_id, backup_info=_read(info_path)
    )
    container.relay_backup(request)
    return ExitCode.OK
