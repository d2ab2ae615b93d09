"""Memory does not grow with the number of files: walk -> tar -> parts and the manifest keep
nothing per file (tarfile.TarFile, for one, keeps every TarInfo; the tar writer must not)."""

import gc
import tracemalloc
from datetime import UTC, datetime

from cloud_base_backup.adapters.filetree import LocalFileTree
from cloud_base_backup.adapters.tar_sink import TarArchiveSink
from cloud_base_backup.domain import integrity as integrity_module
from cloud_base_backup.domain.integrity import BackupIntegrity, IntegrityRequest
from cloud_base_backup.domain.model import BackupStart, Lsn
from cloud_base_backup.domain.plan import ArchiveSpec
from cloud_base_backup.domain.splitting import ChunkPolicy
from tests.fakes import RecordingLog, server_info

FIRST, LAST = 500, 3_000  # traced memory is compared between these members


class _Discarded:
    def upload_part(self, number, data):
        pass

    def complete(self):
        pass

    def abort(self):
        pass


class DiscardingStore:
    """Accepts every part and keeps none of it (an in-memory store would hold the archive)."""

    chunk_policy = ChunkPolicy(min_chunk=0, max_chunks=1_000_000)

    def start_multipart(self, key):
        return _Discarded()

    def put(self, key, data):
        pass


def test_sending_2500_more_files_keeps_nothing_per_file(tmp_path, monkeypatch):
    db = tmp_path / "data" / "base" / "5"
    db.mkdir(parents=True)
    for n in range(LAST + 10):
        (db / str(16384 + n)).write_bytes(b"x" * (n % 3))
    # manifest lines straight to the temp file (in memory they grow by design up to 8 MiB)
    monkeypatch.setattr(integrity_module, "SPOOL_IN_MEMORY", 1)
    start = BackupStart(Lsn(0x2000028), datetime(2026, 12, 1, tzinfo=UTC), 1)
    integrity = BackupIntegrity(IntegrityRequest(), server_info(), start, RecordingLog())
    # tiny parts and one upload thread: the parts in flight stay a few KiB
    sink = TarArchiveSink(DiscardingStore(), None, part_size=4096, jobs=1)
    writer = sink.open("k/data.tar", integrity.checks)
    traced: dict[int, int] = {}
    walk = LocalFileTree().walk(ArchiveSpec("data", str(tmp_path / "data"), ()))
    try:
        for count, entry in enumerate(walk, 1):
            if count == FIRST // 2:
                tracemalloc.start()
            integrity.sent("data", entry, writer.add(entry))
            if count in (FIRST, LAST):
                gc.collect()
                traced[count] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert writer.members > LAST
    writer.close()
    sink.close()
    integrity.close()
    # One TarInfo (or even one list slot and a small int) per file would be over 10 KB here.
    assert traced[LAST] - traced[FIRST] < 4 * (LAST - FIRST)
