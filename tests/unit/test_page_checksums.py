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

from cloud_base_backup.adapters import read_checks
from cloud_base_backup.adapters.page_checksums import page_checksums, page_headers, suspect_pages
from cloud_base_backup.adapters.read_checks import DIRECT_PAGES, FileReadCheck, PageBatch
from cloud_base_backup.adapters.tar_sink import TarStream
from cloud_base_backup.domain.model import PageCheck, PageFailure, ReadChecks

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


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**64), st.lists(st.integers(1, 5), min_size=1, max_size=5))
def test_pages_in_several_buffers_with_skipped_ones_among_them(seed, sizes):
    """Several buffers count as one run of pages; the pages not judged (new, or at or after the
    start LSN) are left out before the arithmetic, and the failures keep their index."""
    rng = random.Random(seed)
    start, first = 0x5000000, rng.randrange(2**31)
    pieces, expected, index = [], [], 0
    for size in sizes:
        piece = b""
        for _ in range(size):
            kind = rng.choice(["good", "bad", "new", "after start"])
            lsn = start + 1 if kind == "after start" else 0x4000000
            page = _page(lsn, 8000, rng.randbytes(40), first + index, good=kind == "good")
            if kind == "new":
                page = bytes(20) + rng.randbytes(BLCKSZ - 20)  # pd_upper 0, garbage after it
            if kind == "bad":
                stored = struct.unpack_from("<H", page, 8)[0]
                expected.append((index, reference_checksum(page, first + index), stored))
            piece += page
            index += 1
        pieces.append(memoryview(piece))
    assert suspect_pages(pieces, first, start) == expected
    assert suspect_pages(b"".join(pieces), first, start) == expected


def test_small_and_big_files_mixed_in_one_batch(tmp_path, monkeypatch):
    """Only the damaged pages are read a second time: every other page was checked with its
    own block number in the first pass, whatever the mix of small files and big reads."""
    reread: list[int] = []
    pread = read_checks._pread

    def counting(path: str, size: int, offset: int) -> bytes | None:
        reread.append(offset // size)
        return pread(path, size, offset)

    monkeypatch.setattr(read_checks, "_pread", counting)
    big = 2 * DIRECT_PAGES + 7
    files = {f"base/5/{20000 + n}": _page(0x100, 8000, bytes([n]) * 9, 0) for n in range(40)}
    files["base/5/16384.1"] = b"".join(_page(0x100, 8000, b"b", 131072 + i) for i in range(big))
    files.update({f"base/5/{30000 + n}": _page(0x100, 8000, bytes([n]) * 7, 0) for n in range(40)})
    for name, at in [("base/5/20003", 0), ("base/5/16384.1", big - 1), ("base/5/30039", 0)]:
        data = bytearray(files[name])
        data[at * BLCKSZ + 4000] ^= 4
        files[name] = bytes(data)
    reports, _ = _send(files, tmp_path)
    assert [(p.rsplit("/", 1)[1], f.block) for p, f in reports.failures] == [
        ("base_5_20003", 0),
        ("base_5_16384.1", big - 1),
        ("base_5_30039", 0),
    ]
    assert reread == [0, big - 1, 0]


class Reports:
    def __init__(self) -> None:
        self.failures: list[tuple[str, PageFailure]] = []

    def __call__(self, path: str, failure: PageFailure) -> None:
        self.failures.append((path, failure))


def _send(files: dict[str, bytes], tmp_path: Path, start: int = 0x5000000) -> tuple[Reports, bytes]:
    """Send each file (name -> bytes, written under tmp_path) through the read path, with one
    batch for them all, as one archive does; return the failures and the bytes sent."""
    reports = Reports()
    pages = PageCheck(start_lsn=start)
    checks = ReadChecks("CRC32C", pages, reports)
    batch = PageBatch(pages, reports)
    out = io.BytesIO()
    for name, data in files.items():
        path = tmp_path / name.replace("/", "_")
        path.write_bytes(data)
        check = FileReadCheck(checks, name, str(path), batch)
        with open(path, "rb", buffering=0) as handle:
            TarStream(out).data_from(handle, len(data), check)
    batch.finish()
    return reports, out.getvalue()


def test_a_corrupt_page_is_reported_with_its_block_and_both_checksums(tmp_path):
    pages = [_page(0x100, 8000, bytes([i]) * 50, 131072 + i) for i in range(4)]
    bad = bytearray(pages[2])
    bad[5000] ^= 0xFF
    pages[2] = bytes(bad)
    reports, sent = _send({"base/5/16384.1": b"".join(pages)}, tmp_path)
    [(path, failure)] = reports.failures
    assert path == str(tmp_path / "base_5_16384.1")
    assert failure.block == 2  # within the file, as PostgreSQL names it
    assert failure.expected == struct.unpack_from("<H", pages[2], 8)[0]
    assert failure.calculated == reference_checksum(pages[2], 131072 + 2) != failure.expected
    assert sent[: 4 * BLCKSZ] == b"".join(pages)  # the bytes are sent as read


def test_pages_of_many_small_files_are_checked_together_each_with_its_block_number(tmp_path):
    files = {f"base/5/{16384 + n}": _page(0x100, 8000, n.to_bytes(2, "little") * 20, 0) for n in range(300)}
    files["base/5/16384.2"] = b"".join(_page(0x100, 8000, b"s", 2 * 131072 + i) for i in range(3))
    bad = bytearray(files["base/5/16500"])
    bad[7000] ^= 1
    files["base/5/16500"] = bytes(bad)
    reports, _ = _send(files, tmp_path)
    assert [(p.rsplit("/", 1)[1], f.block) for p, f in reports.failures] == [("base_5_16500", 0)]


def test_a_big_files_chunks_are_checked_in_place_with_the_right_block_numbers(tmp_path):
    """A chunk of DIRECT_PAGES or more joins the batch as it was read (not joined first)."""
    count = 2 * DIRECT_PAGES + 200  # spans several 1 MiB reads
    pages = [_page(0x100, 8000, i.to_bytes(4, "little"), 3 * 131072 + i) for i in range(count)]
    bad = bytearray(pages[count - 3])
    bad[100] ^= 0x10
    pages[count - 3] = bytes(bad)
    reports, _ = _send({"base/5/16384.3": b"".join(pages)}, tmp_path)
    assert [f.block for _, f in reports.failures] == [count - 3]


def test_every_failure_is_reported(tmp_path):
    pages = [_page(0x100, 8000, b"x", i, good=False) for i in range(8)]
    reports, _ = _send({"base/5/16384": b"".join(pages)}, tmp_path)
    assert [f.block for _, f in reports.failures] == list(range(8))


def test_a_page_that_reads_back_whole_the_second_time_is_not_a_failure(tmp_path):
    """A torn read: the first read sees a half-written page, the re-read the whole one."""
    path = tmp_path / "f"
    good = [_page(0x100, 8000, bytes([i]) * 9, i) for i in range(3)]
    path.write_bytes(b"".join(good))
    torn = bytearray(good[1])
    torn[6000:6100] = b"\xee" * 100
    reports = Reports()
    pages = PageCheck(start_lsn=0x5000000)
    batch = PageBatch(pages, reports)
    check = FileReadCheck(ReadChecks("CRC32C", pages, reports), "base/1/2", str(path), batch)
    check.chunk(good[0] + bytes(torn) + good[2], 0)
    batch.finish()
    assert reports.failures == []
    # and one that reads back as damaged again is reported
    path.write_bytes(good[0] + bytes(torn) + good[2])
    check = FileReadCheck(ReadChecks("CRC32C", pages, reports), "base/1/2", str(path), batch)
    check.chunk(good[0] + bytes(torn) + good[2], 0)
    batch.finish()
    assert [f.block for _, f in reports.failures] == [1]


def test_non_relation_files_and_disabled_checks_are_not_verified(tmp_path):
    page = _page(0x100, 8000, b"x", 0, good=False)
    reports, _ = _send({"global/pg_control": page, "base/5/PG_VERSION": page}, tmp_path)
    assert reports.failures == []
    check = FileReadCheck(ReadChecks("CRC32C", None), "base/1/2", str(tmp_path / "x"), None)
    check.chunk(page, 0)
    assert check.result(BLCKSZ).checksum


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
        check.chunk(b"hello", 0)
        assert check.result(5).checksum == hashlib.new(algorithm.lower(), b"hello").hexdigest()
    check = FileReadCheck(ReadChecks("NONE", None), "x")
    check.chunk(b"hello", 0)
    assert check.result(5).checksum == ""


def test_speed_is_vectorised_not_per_word():
    """Not a timing assertion: it only shows the function takes many pages in one call."""
    data = os.urandom(BLCKSZ * 64)
    assert page_checksums(data, 0).shape == (64,)
    assert page_checksums(data, 0).dtype == np.uint16
