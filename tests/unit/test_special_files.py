"""Special files in PGDATA: FIFOs kept as entries, sockets and directory links skipped, a file
that shrank while read zero-padded; each logged at warning level with its path and type."""

import io
import os
import socket
import tarfile

import pytest

from cloud_base_backup.adapters.filetree import LocalFileTree
from cloud_base_backup.adapters.tar_sink import TarArchiveSink
from cloud_base_backup.domain.model import FileEntry, FileKind
from cloud_base_backup.domain.plan import ArchiveSpec
from tests.fakes import RecordingLog
from tests.support.memory_store import MemoryObjectStore


@pytest.fixture
def pgdata(tmp_path):
    root = tmp_path / "data"
    (root / "base" / "5").mkdir(parents=True)
    (root / "PG_VERSION").write_text("15\n")
    (root / "other").mkdir()
    os.mkfifo(root / "a_fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "a_socket"))
    os.symlink(str(root / "other"), root / "dir_link")
    os.symlink(str(root / "other"), root / "pg_wal")  # initdb -X: the usual link, not a warning
    os.symlink("PG_VERSION", root / "file_link")
    yield root
    sock.close()


def _walk(root, log):
    spec = ArchiveSpec(base="data", root=str(root), excludes=())
    return {e.name: e for e in LocalFileTree(log).walk(spec)}


def test_fifo_is_kept_socket_and_directory_link_are_skipped_each_with_a_warning(pgdata):
    log = RecordingLog()
    entries = _walk(pgdata, log)
    assert entries["a_fifo"].kind is FileKind.FIFO
    assert entries["file_link"].kind is FileKind.SYMLINK
    assert "a_socket" not in entries and "dir_link" not in entries and "pg_wal" not in entries
    warnings = {(f["path"], f["type"]) for level, _, f in log.records if level == "warning"}
    assert warnings == {
        (str(pgdata / "a_fifo"), "fifo"),
        (str(pgdata / "a_socket"), "socket"),
        (str(pgdata / "dir_link"), "symlink to a directory"),
    }
    assert ("debug", "special file skipped") in {(lvl, ev) for lvl, ev, _ in log.records}


def test_a_fifo_is_an_empty_fifo_member_in_the_tar(pgdata):
    store = MemoryObjectStore("b")
    store.create_bucket()
    sink = TarArchiveSink(store, None, part_size=5 << 20, jobs=1)
    writer = sink.open("data.tar")
    for entry in _walk(pgdata, RecordingLog()).values():
        writer.add(entry)
    writer.close()
    sink.close()
    with tarfile.open(fileobj=io.BytesIO(store.objects["data.tar"])) as tar:
        member = tar.getmember("a_fifo")
    assert member.isfifo() and member.size == 0


@pytest.mark.parametrize(
    ("name", "level"), [("postgresql.auto.conf", "warning"), ("base/5/16384.1", "debug")]
)
def test_a_file_that_shrank_while_read_is_padded_and_logged(tmp_path, name, level):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 1000)
    st = path.stat()
    entry = FileEntry(path=str(path), name=name, kind=FileKind.FILE, size=5000, mtime=st.st_mtime)
    store = MemoryObjectStore("b")
    store.create_bucket()
    log = RecordingLog()
    sink = TarArchiveSink(store, None, part_size=5 << 20, jobs=1, log=log)
    writer = sink.open("data.tar")
    writer.add(entry)
    writer.close()
    sink.close()
    with tarfile.open(fileobj=io.BytesIO(store.objects["data.tar"])) as tar:
        data = tar.extractfile(name).read()  # type: ignore[union-attr]
    assert data == b"x" * 1000 + bytes(4000)
    assert log.records == [
        (level, "file shrank while it was read: zero-padded",
         {"path": str(path), "expected": 5000, "read": 1000}),
    ]
