"""FindmntMountInspector: where a disk is mounted on this host, asked of util-linux findmnt."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from cloud_base_backup.domain.errors import MountError
from cloud_base_backup.domain.snapshots import Mount, parse_findmnt

Runner = Callable[[list[str]], str]


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        return ""  # barman reads "no findmnt" as "not mounted"
    except (OSError, subprocess.SubprocessError) as exc:
        raise MountError(f"Cannot run findmnt: {exc}") from None
    # findmnt exits 1, silently, when nothing matches; other failures say why on stderr
    if done.returncode not in (0, 1) or (done.returncode == 1 and done.stderr.strip()):
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[0]
        raise MountError(f"findmnt failed: {reason}")
    return done.stdout


class FindmntMountInspector:
    """Runs findmnt locally (never over ssh): the disks must be attached to this very host."""

    def __init__(self, run: Runner | None = None) -> None:
        self._run = run or _run

    def mount_of(self, device: str) -> Mount | None:
        output = self._run(["findmnt", "-o", "TARGET,OPTIONS", "-n", device])
        try:
            return parse_findmnt(output)
        except ValueError as exc:
            raise MountError(f"Error finding mount point for device {device}: {exc}") from None

    def mount_point_of(self, path: str) -> str | None:
        lines = self._run(["findmnt", "-n", "-o", "TARGET", "--target", path]).splitlines()
        return lines[0].strip() if lines else None
