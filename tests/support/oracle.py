"""The real barman cloud tools (3.19.1) in their own virtualenv, built on demand by .ci/install-oracle."""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.moto_server import AWS_ENV, Destination

BARMAN_VERSION = "3.19.1"
BARMAN_VERSION_320 = "3.20.1"
REPO = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO / ".ci" / "install-oracle"
TOOLS = (
    "barman-cloud-backup",
    "barman-cloud-backup-delete",
    "barman-cloud-backup-list",
    "barman-cloud-backup-show",
    "barman-cloud-restore",
    "barman-cloud-wal-archive",
    "barman-cloud-wal-restore",
)


@dataclass(frozen=True)
class Oracle:
    """Paths to the real barman tools; `oracle.tool("barman-cloud-restore")` -> absolute path."""

    root: Path

    def tool(self, name: str) -> str:
        if name not in TOOLS:
            raise KeyError(name)
        return str(self.root / "bin" / name)

    def shell_command(self, tool: str, dest: Destination, *args: str) -> str:
        """A command line for PostgreSQL's archive/restore_command, credentials inline.

        args are appended unquoted so that %p and %f reach the shell as PostgreSQL expands them.
        """
        creds = " ".join(f"{k}={v}" for k, v in AWS_ENV.items())
        argv = [self.tool(tool), "--endpoint-url", dest.moto.endpoint_url, dest.url, dest.server]
        return f"{creds} {shlex.join(argv)} {' '.join(args)}"


def default_dir() -> Path:
    # The postgres OS user runs barman-cloud-wal-archive from archive_command, so the venv must
    # sit where that user can traverse (a checkout under /root is not: fall back to /var/tmp).
    if env := os.environ.get("ORACLE_DIR"):
        return Path(env)
    if _others_can_traverse(REPO):
        return REPO / ".cache" / f"oracle-{BARMAN_VERSION}"
    return Path("/var/tmp") / f"cbb-oracle-{BARMAN_VERSION}"


def ensure_oracle(root: Path | None = None) -> Oracle:
    """Return the oracle, building its venv first if it is missing (idempotent, ~20 s)."""
    root = root or default_dir()
    if not (root / "bin" / "barman-cloud-backup").exists():
        subprocess.run(
            ["bash", str(INSTALL_SCRIPT)],
            env={**os.environ, "ORACLE_DIR": str(root), "BARMAN_VERSION": BARMAN_VERSION},
            check=True,
        )
    return Oracle(root)


def ensure_oracle_320() -> Oracle:
    """barman 3.20.1 (restores .tar.zst, speaks SSE-C), built by .ci/install-oracle-320.

    Its Python (>= 3.12, from pyenv) may sit under /root: run these tools as root only, never
    from archive_command / restore_command (the 3.19.1 oracle serves those).
    """
    root = Path(os.environ.get("ORACLE_DIR_320") or REPO / ".cache" / f"oracle-{BARMAN_VERSION_320}")
    if not (root / "bin" / "barman-cloud-backup").exists():
        subprocess.run(
            ["bash", str(REPO / ".ci" / "install-oracle-320")],
            env={**os.environ, "ORACLE_DIR_320": str(root)},
            check=True,
        )
    return Oracle(root)


def _others_can_traverse(path: Path) -> bool:
    return all(p.stat().st_mode & 0o001 for p in (path, *path.parents))
