"""The archive pipeline on real files: walk -> tar -> codec -> parts -> in-memory store."""

import bz2
import gzip
import io
import os
import tarfile

import lz4.frame
import pytest
import snappy
import zstandard

from cloud_base_backup.adapters.filetree import LocalFileTree
from cloud_base_backup.adapters.tar_sink import TarArchiveSink
from cloud_base_backup.domain.errors import StorageError
from cloud_base_backup.domain.model import FileEntry, FileKind, MemoryFile
from cloud_base_backup.domain.plan import ArchiveSpec, make_plan
from tests.fakes import server_info
from tests.support.memory_store import MemoryObjectStore

DECODERS = {
    None: lambda b: b,
    "gz": gzip.decompress,
    "bz2": bz2.decompress,
    "lz4": lz4.frame.decompress,
    "snappy": lambda b: snappy.StreamDecompressor().decompress(b),
    "zst": lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
}


@pytest.fixture
def pgdata(tmp_path):
    root = tmp_path / "data"
    for rel, size in {
        "PG_VERSION": 3, "base/5/16384": 200_000, "base/5/16385": 50_000, "global/1262": 8192,
        "global/pg_control": 8192, "pg_wal/000000010000000000000001": 1000, "postmaster.pid": 10,
        "pg_wal/archive_status/x.done": 0, "base/5/pgsql_tmp/tmp1": 10,
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size // 2) + bytes(size - size // 2))
    (root / "pg_tblspc").mkdir()
    os.symlink("/nonexistent-dir-target", root / "pg_tblspc" / "dangling")
    os.symlink(str(root / "base"), root / "pg_tblspc" / "16400")
    os.chmod(root, 0o700)
    return root


def _spec(pgdata):
    return make_plan(server_info(pgdata=str(pgdata), tablespaces=())).data


def _untar(data, compression):
    return tarfile.open(fileobj=io.BytesIO(DECODERS[compression](data)), mode="r|")


def test_walk_prunes_excluded_entries_and_skips_directory_symlinks(pgdata):
    names = [e.name for e in LocalFileTree().walk(_spec(pgdata))]
    assert names[0] == "./"
    assert "pg_wal" in names and "pg_tblspc" in names
    assert not [n for n in names if n.startswith("pg_wal/") or "pgsql_tmp" in n]
    assert "postmaster.pid" not in names and "global/pg_control" not in names
    assert "pg_tblspc/16400" not in names
    assert "pg_tblspc/dangling" in names  # a symlink to nothing is kept as a link
    assert names.index("base") < names.index("base/5") < names.index("base/5/16384")


@pytest.mark.parametrize("compression", list(DECODERS))
def test_each_archive_is_one_stream_holding_one_tar(pgdata, compression):
    store = MemoryObjectStore(min_part_size=0)
    sink = TarArchiveSink(store, compression, part_size=64 * 1024, jobs=2)
    writer = sink.open("k/data.tar")
    for entry in LocalFileTree().walk(_spec(pgdata)):
        writer.add(entry)
    writer.add(MemoryFile("backup_label", b"LABEL: x\n", uid=os.getuid(), gid=os.getgid()))
    result = writer.close()
    sink.close()
    blob = store.objects["k/data.tar"]
    assert result.size == len(blob)
    assert len(store.completed) == 1 and not store.open_uploads  # went multipart, completed
    with _untar(blob, compression) as tar:
        members = {m.name: (m, tar.extractfile(m).read() if m.isfile() else None) for m in tar}
    assert members["base/5/16384"][1] == (pgdata / "base/5/16384").read_bytes()
    assert members["."][0].mode == 0o700 and members["."][0].isdir()
    assert members["backup_label"][1] == b"LABEL: x\n"
    assert members["pg_tblspc/dangling"][0].issym()


def test_small_archive_is_a_single_put(pgdata):
    store = MemoryObjectStore()
    sink = TarArchiveSink(store, "gz", part_size=5 << 20, jobs=2)
    writer = sink.open("k/small.tar.gz")
    writer.add(MemoryFile("backup_label", b"x"))
    writer.close()
    assert "k/small.tar.gz" in store.objects and store.uploads == []


def test_files_that_change_size_are_padded_or_cut_and_vanished_ones_skipped(tmp_path):
    grown, shrunk = tmp_path / "grown", tmp_path / "shrunk"
    grown.write_bytes(b"a" * 100)
    shrunk.write_bytes(b"b" * 10)
    store = MemoryObjectStore()
    writer = TarArchiveSink(store, None, part_size=1 << 20, jobs=1).open("t.tar")
    writer.add(FileEntry(str(grown), "grown", FileKind.FILE, size=50))
    writer.add(FileEntry(str(shrunk), "shrunk", FileKind.FILE, size=20))
    writer.add(FileEntry(str(tmp_path / "gone"), "gone", FileKind.FILE, size=20))
    writer.close()
    with _untar(store.objects["t.tar"], None) as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar}
    assert got == {"grown": b"a" * 50, "shrunk": b"b" * 10 + bytes(10)}


def test_a_failed_part_aborts_the_upload_and_reports_one_line(pgdata):
    store = MemoryObjectStore(fail_on_part="data", fail_on_part_number=1)
    sink = TarArchiveSink(store, None, part_size=16 * 1024, jobs=2)
    writer = sink.open("k/data.tar")
    with pytest.raises(StorageError) as err:
        for entry in LocalFileTree().walk(_spec(pgdata)):
            writer.add(entry)
        writer.close()
    writer.abort()
    sink.close()
    assert "\n" not in str(err.value)
    assert store.open_uploads == [] and "k/data.tar" not in store.objects
    assert store.aborted == ["k/data.tar"]


def test_the_spec_root_entry_is_omitted_for_tablespaces(tmp_path):
    (tmp_path / "PG_15_1" / "5").mkdir(parents=True)
    (tmp_path / "PG_15_1" / "5" / "1").write_bytes(b"x")
    (tmp_path / "lost+found").mkdir()
    spec = ArchiveSpec("16385", str(tmp_path), (), include_top="PG_15_*", root_entry=False)
    assert [e.name for e in LocalFileTree().walk(spec)] == ["PG_15_1", "PG_15_1/5", "PG_15_1/5/1"]


def test_the_tar_stream_is_byte_identical_to_tarfiles_pax_stream(pgdata):
    from cloud_base_backup.adapters.tar_sink import TarStream, _tarinfo

    ours, theirs = io.BytesIO(), io.BytesIO()
    stream = TarStream(ours)
    reference = tarfile.open(fileobj=theirs, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
    for entry in LocalFileTree().walk(_spec(pgdata)):
        stream.header(_tarinfo(entry))
        if entry.kind is FileKind.FILE:
            with open(entry.path, "rb", buffering=0) as handle:
                stream.data_from(handle, entry.size)
            with open(entry.path, "rb") as handle:
                reference.addfile(_tarinfo(entry), handle)
        else:
            reference.addfile(_tarinfo(entry))
    stream.close()
    reference.close()
    assert ours.getvalue() == theirs.getvalue()


@pytest.mark.parametrize("part_size", [16 * 1024, 5 << 20], ids=["multipart", "single-put"])
def test_the_sink_reports_every_byte_the_store_accepted(pgdata, part_size):
    store = MemoryObjectStore(min_part_size=0)
    reported = []
    sink = TarArchiveSink(store, None, part_size=part_size, jobs=2, on_uploaded=reported.append)
    writer = sink.open("k/data.tar")
    for entry in LocalFileTree().walk(_spec(pgdata)):
        writer.add(entry)
    writer.close()
    sink.close()
    assert sum(reported) == len(store.objects["k/data.tar"]) > 0
    assert (len(reported) == 1) == (part_size == 5 << 20)  # one PUT, or one report per part


def test_the_sink_reports_the_bytes_read_from_each_file_as_they_are_read(pgdata):
    store = MemoryObjectStore(min_part_size=0)
    read = []
    sink = TarArchiveSink(store, "gz", part_size=16 * 1024, jobs=2,
                          on_read=lambda key, n: read.append((key, n)))
    writer = sink.open("k/data.tar.gz")
    entries = list(LocalFileTree().walk(_spec(pgdata)))
    for entry in entries:
        writer.add(entry)
    writer.close()
    sink.close()
    files = sum(e.size for e in entries if e.kind is FileKind.FILE)
    assert {key for key, _ in read} == {"k/data.tar.gz"}
    assert sum(n for _, n in read) == files > 0
