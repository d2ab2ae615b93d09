"""barman hook mode (post_backup_retry_script): relay a finished barman backup to the cloud."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.errors import InvalidInput
from domain.exit_codes import ExitCode
from domain.options import BackupOptions


def run_hook(container: Any, options: BackupOptions, env: Mapping[str, str]) -> ExitCode:
    raise InvalidInput(
        "barman hook mode (BARMAN_HOOK/BARMAN_PHASE set) is not available in this release yet; "
        "unset those variables to take a live backup"
    )
