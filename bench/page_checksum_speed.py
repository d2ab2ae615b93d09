"""Micro-benchmark: the page-checksum verification's speed, before and after its rework.

    PYTHONPATH=. /work/devvenv/bin/python -m bench.page_checksum_speed --mib 320 --repeat 5

`before` is the verification as it was until 2026-12-01 (kept here, compactly, to compare):
one numpy operation per lane row across the pages of one buffer, reading each row straight
from the pages (a strided gather in every round), called on each 1 MiB read of a big file and
on 2 MiB batches of small files. `after` is adapters/page_checksums.suspect_pages as the read
path calls it now: a batch of 1 MiB pieces copied once row-major, then contiguous in-place
rounds. The pages are made like a cluster's (an LSN before the start, pd_upper set, random
bodies, correct checksums: every page judged, none failing).

Prints GB/s (medians over --repeat, of the checking thread's CPU time and of the wall time):
alone, then beside a reader thread doing what the read path does per 1 MiB (CRC32C, a few
Python calls); for that case also the reader's own rate, alone and beside the checks (the
checks must not starve the reader of the GIL).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable

import google_crc32c
import numpy as np

from cloud_base_backup.adapters.page_checksums import (
    _BASE_OFFSETS,
    _CHECKSUM_MASK,
    _SHIFT,
    FNV_PRIME,
    N_SUMS,
    page_checksums,
    suspect_pages,
)

BLCKSZ = 8192
MIB_PAGES = 2**20 // BLCKSZ


def before(pages: memoryview, first: int, start_lsn: int) -> list[tuple[int, int, int]]:
    """suspect_pages as it was: headers, then the rounds gathering each row from the pages."""
    words = np.frombuffer(pages, dtype="<u4").reshape(-1, BLCKSZ // 128, N_SUMS)
    head = words[:, 0, :4]
    lsn = (head[:, 0].astype(np.uint64) << np.uint64(32)) | head[:, 1].astype(np.uint64)
    stored = (head[:, 2] & np.uint32(0xFFFF)).astype(np.uint16)
    judged = ((head[:, 3] >> np.uint32(16)) != 0) & (lsn < np.uint64(start_lsn))
    if not judged.any():
        return []
    count = words.shape[0]
    sums = np.broadcast_to(_BASE_OFFSETS, (count, N_SUMS)).copy()
    tmp = np.empty_like(sums)
    first_row = words[:, 0, :].copy()
    first_row[:, 2] &= _CHECKSUM_MASK
    for i in range(words.shape[1]):
        np.bitwise_xor(sums, first_row if i == 0 else words[:, i, :], out=tmp)
        np.multiply(tmp, FNV_PRIME, out=sums)
        np.right_shift(tmp, _SHIFT, out=tmp)
        np.bitwise_xor(sums, tmp, out=sums)
    for _ in range(2):
        np.multiply(sums, FNV_PRIME, out=tmp)
        np.right_shift(sums, _SHIFT, out=sums)
        np.bitwise_xor(sums, tmp, out=sums)
    folded = np.bitwise_xor.reduce(sums, axis=1)
    folded ^= np.arange(first, first + count, dtype=np.uint64).astype(np.uint32)
    calculated = ((folded % np.uint32(65535)) + np.uint32(1)).astype(np.uint16)
    bad = np.nonzero(judged & (calculated != stored))[0]
    return [(int(i), int(calculated[i]), int(stored[i])) for i in bad]


def make_pages(count: int, lsn: int) -> bytes:
    rng = np.random.default_rng(20261201)
    words = rng.integers(0, 2**32, size=(count, BLCKSZ // 4), dtype=np.uint32)
    words[:, 0], words[:, 1] = lsn >> 32, lsn & 0xFFFFFFFF
    words[:, 2] = 0  # pd_checksum 0, pd_flags 0
    words[:, 3] = (np.uint32(8000) << np.uint32(16)) | np.uint32(24)  # pd_lower 24, pd_upper 8000
    for first in range(0, count, 4096):  # the right checksum, from the function checked by the tests
        part = words[first : first + 4096]
        part[:, 2] = page_checksums(part.tobytes(), first)
    return words.tobytes()


def chunks(data: bytes, pages: int) -> list[memoryview]:
    view = memoryview(data)
    return [view[at : at + pages * BLCKSZ] for at in range(0, len(data), pages * BLCKSZ)]


Check = Callable[[], int]


def before_check(data: bytes, lsn: int, batch_mib: int) -> Check:
    def run() -> int:
        bad = 0
        for index, chunk in enumerate(chunks(data, batch_mib * MIB_PAGES)):
            bad += len(before(chunk, index * batch_mib * MIB_PAGES, lsn))
        return bad

    return run


def after_check(data: bytes, lsn: int, batch_mib: int) -> Check:
    reads = chunks(data, MIB_PAGES)  # the read path hands over 1 MiB reads, uncopied

    def run() -> int:
        bad = 0
        for at in range(0, len(reads), batch_mib):
            bad += len(suspect_pages(reads[at : at + batch_mib], at * MIB_PAGES, lsn))
        return bad

    return run


class Reader(threading.Thread):
    """What the read path's thread does per 1 MiB: CRC32C of it and a few Python calls."""

    def __init__(self, data: bytes) -> None:
        super().__init__(daemon=True)
        self.reads = chunks(data, MIB_PAGES)
        self.stop = threading.Event()
        self.done = 0

    def run(self) -> None:
        crc = 0
        while not self.stop.is_set():
            for chunk in self.reads:
                piece = bytes(chunk)  # a copy, as a read() makes
                crc = google_crc32c.extend(crc, piece)
                _ = [len(piece) for _ in range(20)]  # the tar writer's and codec's Python calls
                self.done += 1
                if self.stop.is_set():
                    return


def measure(check: Check, data: bytes, repeat: int, reader: bool) -> tuple[float, float, float]:
    """GB/s of the checks (CPU, wall) and of the reader thread beside them (0 without one)."""
    cpu: list[float] = []
    wall: list[float] = []
    read_rates: list[float] = []
    for _ in range(repeat):
        thread = None
        if reader:
            thread = Reader(data[: 64 * 2**20])
            thread.start()
            time.sleep(0.05)
        began, began_cpu = time.perf_counter(), time.thread_time()
        read_before = thread.done if thread else 0
        assert check() == 0
        wall.append(time.perf_counter() - began)
        cpu.append(time.thread_time() - began_cpu)
        if thread:
            read_rates.append((thread.done - read_before) * 2**20 / wall[-1])
            thread.stop.set()
            thread.join()
    rate = statistics.median(read_rates) if read_rates else 0.0
    size = len(data)
    return size / statistics.median(cpu) / 1e9, size / statistics.median(wall) / 1e9, rate / 1e9


def reader_alone(data: bytes, seconds: float = 1.0) -> float:
    thread = Reader(data[: 64 * 2**20])
    thread.start()
    time.sleep(seconds)
    done = thread.done
    thread.stop.set()
    thread.join()
    return done * 2**20 / seconds / 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=320, help="MiB of pages checked per run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    lsn = 0x1_0000_0000
    print(f"[page_checksum_speed] making {args.mib} MiB of pages ...", file=sys.stderr)
    data = make_pages(args.mib * MIB_PAGES, lsn)
    start_lsn = lsn + 1
    variants = {
        "before, 1 MiB calls (a big file's reads)": before_check(data, start_lsn, 1),
        "before, 2 MiB calls (the small files' batch)": before_check(data, start_lsn, 2),
        "after, 1 MiB batches": after_check(data, start_lsn, 1),
        "after, 4 MiB batches (the read path's)": after_check(data, start_lsn, 4),
        "after, 8 MiB batches": after_check(data, start_lsn, 8),
    }
    print(f"\n{args.mib} MiB of 8 kB pages, medians of {args.repeat}; GB/s = 1e9 bytes/s")
    alone = reader_alone(data)
    print(f"reader thread alone: {alone:.2f} GB/s (its CRC32C and Python calls)")
    print(f"{'variant':46} {'CPU GB/s':>9} {'wall GB/s':>9} | beside a reader: {'wall':>5} {'reader':>6}")
    for name, check in variants.items():
        print(f"[page_checksum_speed] {name} ...", file=sys.stderr)
        cpu, wall, _ = measure(check, data, args.repeat, reader=False)
        _, wall_r, reader = measure(check, data, args.repeat, reader=True)
        print(f"{name:46} {cpu:9.2f} {wall:9.2f} | {'':16} {wall_r:5.2f} {reader:6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
