"""Every non-last part of an archive has exactly the chosen size, whatever the codec writes."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud_base_backup.adapters.tar_sink import TarArchiveSink
from cloud_base_backup.adapters.uploads import PartUploader, Throttle, UploadPool
from cloud_base_backup.domain.errors import StorageError
from cloud_base_backup.domain.model import MemoryFile
from cloud_base_backup.domain.splitting import ChunkPolicy
from tests.support.memory_store import MemoryObjectStore

writes = st.lists(st.integers(min_value=0, max_value=5000), max_size=60)


def _parts(store: MemoryObjectStore, key: str) -> list[bytes]:
    upload = next(u for u in store.uploads if u.key == key)
    return [upload.parts[n] for n in sorted(upload.parts)]


@settings(deadline=None)
@given(
    writes,
    st.integers(min_value=64, max_value=3000),
    st.sampled_from([bytes, bytearray, memoryview]),
)
def test_parts_are_exact_slices_of_the_stream(sizes, part_size, kind):
    store = MemoryObjectStore(min_part_size=0)
    pool = UploadPool(2)
    uploader = PartUploader(store, "k", part_size, pool, Throttle(None))
    stream = b"".join(bytes([i % 251]) * size for i, size in enumerate(sizes))
    offset = 0
    for size in sizes:
        uploader.write(kind(stream[offset : offset + size]))
        offset += size
    uploader.finish()
    pool.shutdown()
    assert store.objects["k"] == stream and uploader.total == len(stream)
    if len(stream) < part_size:
        assert store.uploads == []  # one PUT
        return
    parts = _parts(store, "k")
    assert b"".join(parts) == stream
    assert {len(p) for p in parts[:-1]} <= {part_size}
    assert 0 < len(parts[-1]) <= part_size
    assert len(parts) == -(-len(stream) // part_size)


@pytest.mark.parametrize("compression", [None, "gz", "lz4", "zst", "snappy"])
def test_a_compressed_archive_has_equal_parts(compression):
    store = MemoryObjectStore(min_part_size=0)
    sink = TarArchiveSink(store, compression, part_size=100_003, jobs=2)
    writer = sink.open("k/data.tar")
    for n in range(40):  # incompressible: the codec writes pieces of its own sizes
        writer.add(MemoryFile(f"f{n}", os.urandom(37_000)))
    writer.close()
    sink.close()
    parts = _parts(store, "k/data.tar")
    assert len(parts) > 3
    assert {len(p) for p in parts[:-1]} == {100_003}


def test_more_parts_than_the_store_allows_fails_before_the_store_would():
    store = MemoryObjectStore(min_part_size=0, chunk_policy=ChunkPolicy(min_chunk=1, max_chunks=3))
    pool = UploadPool(1)
    uploader = PartUploader(store, "k", 10, pool, Throttle(None))
    uploader.write(b"x" * 30)
    with pytest.raises(StorageError, match="more than 3 parts"):
        uploader.write(b"x" * 10)
    uploader.abort()
    pool.shutdown()
    assert store.open_uploads == [] and "k" not in store.objects
