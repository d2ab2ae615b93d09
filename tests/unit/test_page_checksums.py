"""Page checksums: the numpy version against a line-by-line transcription of PostgreSQL's C code
and against real pages; the per-file verification (skips, the second read, the report cap).

The real pages (tests/unit/data/pg15_pages_*.bin.gz) are blocks 0-2 of pg_class (base/5/1259)
and block 0 of pg_database (global/1262) of a PostgreSQL 15 cluster made with initdb -k;
tests/contract/test_page_checksums_pg.py checks the same against pg_checksums --check live.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import struct
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.page_checksums import page_checksums, page_headers, suspect_pages
from adapters.read_checks import MAX_REPORTED_PER_FILE, FileReadCheck
from adapters.tar_sink import TarStream
from domain.model import PageCheck, ReadChecks

DATA = Path(__file__).parent / "data"
BLCKSZ = 8192
_OFFSETS = [
    0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
    0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
    0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
    0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756,
]  # fmt: skip


def reference_checksum(page: bytes, blkno: int) -> int:
    """pg_checksum_page written out scalar, as checksum_impl.h does it."""
    words = list(struct.unpack("<2048I", page))
    words[2] &= 0xFFFF0000  # pd_checksum counts as zero
    sums = list(_OFFSETS)

    def comp(lane: int, value: int) -> None:
        tmp = sums[lane] ^ value
        sums[lane] = ((tmp * 16777619) & 0xFFFFFFFF) ^ (tmp >> 17)

    for i in range(BLCKSZ // 128):
        for j in range(32):
            comp(j, words[i * 32 + j])
    for _ in range(2):
        for j in range(32):
            comp(j, 0)
    result = 0
    for value in sums:
        result ^= value
    return ((result ^ blkno) % 65535) + 1


def real_pages() -> list[tuple[bytes, int]]:
    raw = gzip.decompress((DATA / "pg15_pages_1259_0-2_1262_0.bin.gz").read_bytes())
    pages = [raw[i : i + BLCKSZ] for i in range(0, len(raw), BLCKSZ)]
    return list(zip(pages, [0, 1, 2, 0], strict=True))


def test_real_pages_carry_the_checksum_we_compute():
    for page, blkno in real_pages():
        stored = struct.unpack_from("<H", page, 8)[0]
        assert int(page_checksums(page, blkno)[0]) == stored == reference_checksum(page, blkno)


def test_the_block_number_is_mixed_in():
    page, _ = real_pages()[0]
    assert int(page_checksums(page, 0)[0]) != int(page_checksums(page, 1)[0])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**64), st.integers(0, 2**32 - 4))
def test_vectorised_equals_the_scalar_transcription(seed, first):
    data = random.Random(seed).randbytes(BLCKSZ * 3)
    got = page_checksums(data, first)
    assert [int(x) for x in got] == [
        reference_checksum(data[i * BLCKSZ : (i + 1) * BLCKSZ], first + i) for i in range(3)
    ]


def _page(lsn: int, upper: int, body: bytes, blkno: int, good: bool = True) -> bytes:
    page = bytearray(BLCKSZ)
    struct.pack_into("<IIHHHH", page, 0, lsn >> 32, lsn & 0xFFFFFFFF, 0, 0, 24, upper)
    page[24 : 24 + len(body)] = body
    checksum = int(page_checksums(bytes(page), blkno)[0])
    struct.pack_into("<H", page, 8, checksum if good else checksum ^ 0x5A5A)
    return bytes(page)


def test_headers_read_lsn_checksum_and_new():
    page = _page(0x1_0000_2000, 8000, b"abc", 0)
    headers = page_headers(page + bytes(BLCKSZ))
    assert int(headers.lsn[0]) == 0x1_0000_2000 and not headers.is_new[0] and headers.is_new[1]


def test_new_pages_and_pages_at_or_after_the_start_lsn_are_not_judged():
    start = 0x5000000
    chunk = b"".join(
        [
            _page(0x4000000, 8000, b"ok", 0),
            _page(0x4000000, 8000, b"bad", 1, good=False),
            _page(start, 8000, b"torn but after start", 2, good=False),
            bytes(BLCKSZ),  # new: all zero
        ]
    )
    assert [i for i, _, _ in suspect_pages(chunk, 0, start)] == [1]


def _checked(data: bytes, name: str, start: int, path: Path) -> tuple[bytes, object]:
    path.write_bytes(data)
    check = FileReadCheck(ReadChecks("CRC32C", PageCheck(start_lsn=start)), name)
    out = io.BytesIO()
    stream = TarStream(out)
    with open(path, "rb", buffering=0) as handle:
        stream.data_from(handle, len(data), check)
    return out.getvalue()[: len(data)], check.result(len(data))


def test_a_corrupt_page_is_reported_with_its_block_and_both_checksums(tmp_path):
    pages = [_page(0x100, 8000, bytes([i]) * 50, 131072 + i) for i in range(4)]
    bad = bytearray(pages[2])
    bad[5000] ^= 0xFF
    pages[2] = bytes(bad)
    sent_bytes, sent = _checked(b"".join(pages), "base/5/16384.1", 0x5000000, tmp_path / "f")
    assert sent.failure_count == 1
    failure = sent.page_failures[0]
    assert failure.block == 2  # within the file, as PostgreSQL names it
    assert failure.expected == struct.unpack_from("<H", pages[2], 8)[0]
    assert failure.calculated == reference_checksum(pages[2], 131072 + 2) != failure.expected
    assert sent_bytes == b"".join(pages)  # the bytes are sent as read


def test_only_the_first_failures_of_a_file_are_named_but_all_are_counted(tmp_path):
    pages = [_page(0x100, 8000, b"x", i, good=False) for i in range(MAX_REPORTED_PER_FILE + 3)]
    _, sent = _checked(b"".join(pages), "base/5/16384", 0x5000000, tmp_path / "f")
    assert sent.failure_count == MAX_REPORTED_PER_FILE + 3
    assert [f.block for f in sent.page_failures] == list(range(MAX_REPORTED_PER_FILE))


def test_a_page_that_reads_back_whole_the_second_time_is_not_a_failure(tmp_path):
    """A torn read: the first read sees a half-written page, the re-read the whole new one."""
    path = tmp_path / "f"
    good = [_page(0x100, 8000, bytes([i]) * 9, i) for i in range(3)]
    path.write_bytes(b"".join(good))
    torn = bytearray(good[1])
    torn[6000:6100] = b"\xee" * 100
    check = FileReadCheck(ReadChecks("CRC32C", PageCheck(start_lsn=0x5000000)), "base/1/2")
    with open(path, "rb", buffering=0) as handle:
        sent_chunk = check.chunk(good[0] + bytes(torn) + good[2], 0, handle.fileno())
    sent = check.result(len(sent_chunk))
    assert sent.failure_count == 0
    assert sent_chunk == b"".join(good)  # the consistent re-read is what is sent


def test_non_relation_files_and_disabled_checks_are_not_verified(tmp_path):
    page = _page(0x100, 8000, b"x", 0, good=False)
    _, sent = _checked(page, "global/pg_control", 0x5000000, tmp_path / "a")
    assert sent.failure_count == 0
    path = tmp_path / "b"
    path.write_bytes(page)
    check = FileReadCheck(ReadChecks("CRC32C", None), "base/1/2")
    with open(path, "rb", buffering=0) as handle:
        check.chunk(page, 0, handle.fileno())
    assert check.result(BLCKSZ).failure_count == 0


def test_the_checksum_covers_padding_of_a_file_that_shrank(tmp_path):
    import google_crc32c

    path = tmp_path / "f"
    path.write_bytes(b"abc")
    check = FileReadCheck(ReadChecks("CRC32C", None), "x")
    out = io.BytesIO()
    with open(path, "rb", buffering=0) as handle:
        TarStream(out).data_from(handle, 10, check)
    expected = google_crc32c.value(b"abc" + bytes(7)).to_bytes(4, "little").hex()
    assert check.result(10).checksum == expected


def test_sha_algorithms_use_hashlib_names(tmp_path):
    import hashlib

    for algorithm in ("SHA224", "SHA256", "SHA384", "SHA512"):
        check = FileReadCheck(ReadChecks(algorithm, None), "x")
        check.chunk(b"hello", 0, None)
        assert check.result(5).checksum == hashlib.new(algorithm.lower(), b"hello").hexdigest()
    check = FileReadCheck(ReadChecks("NONE", None), "x")
    check.chunk(b"hello", 0, None)
    assert check.result(5).checksum == ""


def test_speed_is_vectorised_not_per_word():
    """Not a timing assertion: it only shows the function takes many pages in one call."""
    data = os.urandom(BLCKSZ * 64)
    assert page_checksums(data, 0).shape == (64,)
    assert page_checksums(data, 0).dtype == np.uint16
