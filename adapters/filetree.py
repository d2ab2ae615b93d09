"""LocalFileTree: walks PGDATA and tablespaces top-down, pruning what the plan excludes."""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Iterator
from functools import lru_cache

from domain.errors import SourceReadError
from domain.model import FileEntry, FileKind
from domain.plan import ArchiveSpec


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


def _entry(path: str, name: str, st: os.stat_result) -> FileEntry | None:
    mode = st.st_mode
    if stat.S_ISREG(mode):
        kind, size, link = FileKind.FILE, st.st_size, ""
    elif stat.S_ISDIR(mode):
        kind, size, link = FileKind.DIRECTORY, 0, ""
    elif stat.S_ISLNK(mode):
        try:
            link = os.readlink(path)
        except FileNotFoundError:
            return None
        # A symlink to a directory (pg_tblspc/<oid>, a linked pg_wal) is neither stored nor
        # followed: restore recreates tablespace links from backup.info.
        if os.path.isdir(path):
            return None
        kind, size = FileKind.SYMLINK, 0
    else:
        return None  # sockets, fifos, devices
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
    )


class LocalFileTree:
    """Each directory's entry, then its files, then its subdirectories (names sorted)."""

    def walk(self, spec: ArchiveSpec) -> Iterator[FileEntry]:
        root = os.path.realpath(spec.root)
        try:
            st = os.lstat(root)
        except OSError as exc:
            raise SourceReadError(f"Cannot read {root}: {exc.strerror}") from exc
        if spec.root_entry:
            entry = _entry(root, "./", st)
            if entry is not None:
                yield entry
        yield from self._walk_dir(root, "", spec)

    def _walk_dir(self, path: str, rel: str, spec: ArchiveSpec) -> Iterator[FileEntry]:
        try:
            with os.scandir(path) as it:
                children = sorted(it, key=lambda e: e.name)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise SourceReadError(f"Cannot read directory {path}: {exc.strerror}") from exc
        subdirs: list[tuple[str, str]] = []
        for child in children:
            child_rel = f"{rel}/{child.name}" if rel else child.name
            if spec.excluded(child_rel):
                continue
            try:
                st = child.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise SourceReadError(f"Cannot read {child.path}: {exc.strerror}") from exc
            entry = _entry(child.path, child_rel, st)
            if entry is None:
                continue
            if entry.kind is FileKind.DIRECTORY:
                subdirs.append((child.path, child_rel))
            yield entry
        for sub_path, sub_rel in subdirs:
            yield from self._walk_dir(sub_path, sub_rel, spec)

    def entry(self, path: str, name: str) -> FileEntry | None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SourceReadError(f"Cannot read {path}: {exc.strerror}") from exc
        return _entry(path, name, st)
