"""LocalFileTree: walks PGDATA and tablespaces top-down, pruning what the plan excludes."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Iterator
from functools import lru_cache

from cloud_base_backup.adapters.system import NullLog
from cloud_base_backup.domain.errors import SourceReadError
from cloud_base_backup.domain.model import FileEntry, FileKind
from cloud_base_backup.domain.plan import ArchiveSpec
from cloud_base_backup.domain.ports import Log


@lru_cache(maxsize=256)
def _uname(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return ""


@lru_cache(maxsize=256)
def _gname(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return ""


_SPECIAL = (
    (stat.S_ISFIFO, FileKind.FIFO),
    (stat.S_ISCHR, FileKind.CHAR_DEVICE),
    (stat.S_ISBLK, FileKind.BLOCK_DEVICE),
)
# A linked WAL directory (initdb -X) is the usual directory link in PGDATA: skipped quietly
# (its content is excluded anyway, and restore recreates it).
_QUIET_DIR_LINKS = ("pg_wal", "pg_xlog")


def _entry(path: str, name: str, st: os.stat_result, log: Log) -> FileEntry | None:
    mode = st.st_mode
    link, size, device = "", 0, 0
    if stat.S_ISREG(mode):
        kind, size = FileKind.FILE, st.st_size
    elif stat.S_ISDIR(mode):
        kind = FileKind.DIRECTORY
    elif stat.S_ISLNK(mode):
        try:
            link = os.readlink(path)
        except FileNotFoundError:
            return None
        # Neither stored nor followed, as barman's os.walk does (pg_tblspc/<oid> links never
        # get here: restore recreates them from backup.info).
        if os.path.isdir(path):
            (log.debug if name in _QUIET_DIR_LINKS else log.warning)(
                "special file skipped", path=path, type="symlink to a directory", target=link
            )
            return None
        kind = FileKind.SYMLINK
    else:
        special = next((k for test, k in _SPECIAL if test(mode)), None)
        if special is None:  # a socket (or a door, a whiteout): tarfile cannot store it either
            log.warning("special file skipped", path=path, type=_type_name(mode))
            return None
        log.warning("special file kept as an empty entry", path=path, type=special.value)
        kind, device = special, st.st_rdev
    return FileEntry(
        path=path,
        name=name,
        kind=kind,
        size=size,
        mode=stat.S_IMODE(mode),
        uid=st.st_uid,
        gid=st.st_gid,
        uname=_uname(st.st_uid),
        gname=_gname(st.st_gid),
        mtime=st.st_mtime,
        linkname=link,
        device=device,
    )


def _type_name(mode: int) -> str:
    return "socket" if stat.S_ISSOCK(mode) else f"file type {stat.S_IFMT(mode):o}"


class LocalFileTree:
    """Each directory's entry, then its files, then its subdirectories (filesystem order).

    Special files are logged at warning level, one line each with the path and the type.
    """

    def __init__(self, log: Log | None = None) -> None:
        self._log: Log = log or NullLog()

    def walk(self, spec: ArchiveSpec) -> Iterator[FileEntry]:
        root = os.path.realpath(spec.root)
        try:
            st = os.lstat(root)
        except OSError as exc:
            raise SourceReadError(f"Cannot read {root}: {exc.strerror}") from exc
        if spec.root_entry:
            entry = _entry(root, "./", st, self._log)
            if entry is not None:
                yield entry
        yield from self._walk_dir(root, "", spec)

    def _walk_dir(self, path: str, rel: str, spec: ArchiveSpec) -> Iterator[FileEntry]:
        # Streamed in filesystem order, as barman's os.walk (spec: unsorted): a database
        # directory can hold millions of relation files, and a sorted listing would keep one
        # DirEntry and its cached stat per file in memory. Only subdirectories are kept.
        subdirs: list[tuple[str, str]] = []
        try:
            with os.scandir(path) as it:
                for child in it:
                    entry = self._child(child, rel, spec)
                    if entry is None:
                        continue
                    if entry.kind is FileKind.DIRECTORY:
                        subdirs.append((child.path, entry.name))
                    yield entry
        except FileNotFoundError:
            return
        except OSError as exc:
            raise SourceReadError(f"Cannot read directory {path}: {exc.strerror}") from exc
        for sub_path, sub_rel in subdirs:
            yield from self._walk_dir(sub_path, sub_rel, spec)

    def _child(self, child: os.DirEntry[str], rel: str, spec: ArchiveSpec) -> FileEntry | None:
        child_rel = f"{rel}/{child.name}" if rel else child.name
        if spec.excluded(child_rel):
            return None
        try:
            st = child.stat(follow_symlinks=False)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SourceReadError(f"Cannot read {child.path}: {exc.strerror}") from exc
        return _entry(child.path, child_rel, st, self._log)

    def entry(self, path: str, name: str) -> FileEntry | None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SourceReadError(f"Cannot read {path}: {exc.strerror}") from exc
        return _entry(path, name, st, self._log)
