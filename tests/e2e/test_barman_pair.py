"""barman's cloud tools and this package in ONE environment: both ship a barman-cloud-backup.

pip gives the shared script name to whichever distribution it installed last, silently. This
package also installs `cloud-base-backup`, which no other distribution claims: scripts and
cron lines that use it run ours whatever the order, and barman's restore, list and delete stay
usable beside it. The environment is built as a user builds it: pip installs barman 3.19.1's
wheel and our wheel into one venv (dependencies come from the oracle's and the test
interpreter's site-packages through a .pth file, so nothing is downloaded here).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.e2e.test_s3_roundtrip import (
    check_restored,
    restore_and_recover,
    take_backup,
    the_done_backup,
)
from tests.support.oracle import BARMAN_VERSION, INSTALL_SCRIPT, REPO, Oracle

pytestmark = pytest.mark.e2e


def _sh(*argv: object) -> str:
    res = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{argv} exited {res.returncode}:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def barman_wheel(oracle: Oracle) -> Path:
    """barman's own wheel, downloaded beside the oracle venv by .ci/install-oracle."""
    pattern = f"barman-{BARMAN_VERSION}-*.whl"
    if not any((oracle.root / "wheels").glob(pattern)):
        _sh("bash", INSTALL_SCRIPT)
    return next((oracle.root / "wheels").glob(pattern))


def our_wheel(out: Path) -> Path:
    """This checkout built as a wheel (from a copy, so the checkout gets no build/ or egg-info)."""
    src = out / "src"
    for name in ("domain", "adapters", "entrypoints", "cloud_base_backup"):
        shutil.copytree(
            REPO / name, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    _sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, src)
    return next(out.glob("cloud_base_backup-*.whl"))


def version_lines(script: Path) -> list[str]:
    return _sh(script, "--version").splitlines()


def test_both_installed_in_one_environment_ours_backs_up_and_barman_restores(
    source, dest, oracle, workdir, tablespace
) -> None:
    venv = workdir / "pair"
    _sh(oracle.root / "bin" / "python", "-m", "venv", "--without-pip", venv)
    (site,) = (venv / "lib").glob("python3*/site-packages")
    deps = workdir / "deps"  # barman's dependencies, without barman itself
    deps.mkdir()
    (oracle_site,) = oracle.root.glob("lib/python3*/site-packages")
    for entry in oracle_site.iterdir():
        if not entry.name.startswith(("barman", "pip", "_distutils_hack", "distutils-")):
            (deps / entry.name).symlink_to(entry)
    # ours' dependencies from the test interpreter, but never this package itself: under tox it
    # is installed there, and pip would call our wheel "already satisfied" and skip its scripts
    ours_names = ("cloud_base_backup", "domain", "adapters", "entrypoints", "pip", "_distutils_hack")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(ours_names) and not (deps / entry.name).exists():
            (deps / entry.name).symlink_to(entry)
    (site / "deps.pth").write_text(f"{deps}\n")
    pip = [oracle.root / "bin" / "pip", "--python", venv / "bin" / "python", "install", "-q"]
    pip += ["--no-deps", "--no-index", "--disable-pip-version-check"]
    ours, barmans = our_wheel(workdir / "wheels"), barman_wheel(oracle)
    bin_ = venv / "bin"

    # ours first, barman second: barman's script takes the shared name, ours keeps its own
    _sh(*pip, ours)
    _sh(*pip, barmans)
    assert version_lines(bin_ / "barman-cloud-backup") == [f"barman-cloud-backup {BARMAN_VERSION}"]
    theirs_first = version_lines(bin_ / "cloud-base-backup")
    assert len(theirs_first) == 2 and theirs_first[1].startswith("cloud-base-backup ")

    # the documented order, barman first and ours last: both names run ours
    _sh(*pip, "--force-reinstall", ours)
    assert version_lines(bin_ / "barman-cloud-backup")[1].startswith("cloud-base-backup ")
    assert version_lines(bin_ / "barman-cloud-restore") == [f"barman-cloud-restore {BARMAN_VERSION}"]

    # our backup, taken by cloud-base-backup, restored by barman's tools from the same venv
    pair = Oracle(root=venv)
    take_backup(str(bin_ / "cloud-base-backup"), source, dest)
    expected = source.fingerprint()
    backup_id = the_done_backup(pair, dest, tablespace)
    restored = restore_and_recover(pair, dest, backup_id, workdir, source, tablespace, immediate=True)
    try:
        check_restored(restored, expected)
    finally:
        restored.stop()
