"""Single-stream codecs compressed on every core: bzip2 and lz4 blocks built in parallel.

Each object must stay ONE bzip2 stream / ONE lz4 frame (barman's readers stop after the first), so
independent pieces are compressed on worker threads (libbz2 and liblz4 release the GIL) and
stitched, in order, into a single stream.
"""

from __future__ import annotations

import bz2
import collections
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

# The bzip2 stream format the splicing below relies on (libbzip2 1.0's, all that bunzip2,
# Python's bz2 and barman's restore read). A stream is a bit string, most significant bit first:
#
#   "BZh" + level digit ('9': blocks of up to 900,000 bytes)        32 bits, byte-aligned
#   per block:  block magic 0x314159265359 (BCD pi)                   48 bits
#               block CRC (CRC-32, MSB-first, of the block's input)   32 bits
#               the block's Huffman-coded body                        any length, NOT byte-aligned
#   end marker 0x177245385090 (BCD sqrt(pi))                          48 bits
#   combined CRC: c = 0; for each block: c = rotl32(c, 1) ^ block CRC 32 bits
#   0 to 7 zero bits to the next byte boundary
#
# Blocks are self-contained (each carries its own Huffman tables and Burrows-Wheeler origin), so
# a block cut out of one stream is valid in any other stream of the same level at any bit offset.
# _bzip2_block compresses one piece small enough to make exactly one block, as a whole stream,
# and cuts that block out: from bit 32 (after "BZh9") to the end marker, found by trying the 8
# possible padding lengths and requiring the marker followed by a combined CRC equal to the block
# CRC (a one-block stream's combined CRC is rotl32(0, 1) ^ crc = crc). ParallelBzip2Writer then
# writes "BZh9", appends the blocks bit by bit in order (no realignment), and closes with the end
# marker, the combined CRC of all blocks, and the padding.
_BZ_STREAM_END = 0x177245385090
_BZ_BLOCK_MAGIC = 0x314159265359
# bzip2 -9 blocks hold 899,981 bytes after its first run-length pass, which can grow data by at
# most 5/4: a piece this small always compresses into exactly one block.
BZIP2_PIECE = 700_000


class ByteSink(Protocol):
    def write(self, data: bytes | bytearray | memoryview) -> Any: ...


class _OrderedPool:
    """Compress pieces on worker threads, hand results back in submission order (bounded)."""

    def __init__(self, work: Callable[[bytes], Any], emit: Callable[[Any], None], threads: int) -> None:
        self._work, self._emit = work, emit
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="compress")
        self._pending: collections.deque[Future[Any]] = collections.deque()
        self._limit = 2 * threads

    def submit(self, piece: bytes) -> None:
        self._pending.append(self._pool.submit(self._work, piece))
        while len(self._pending) > self._limit or (self._pending and self._pending[0].done()):
            self._emit(self._pending.popleft().result())

    def drain(self) -> None:
        try:
            while self._pending:
                self._emit(self._pending.popleft().result())
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


class _Pieces:
    """Cuts written data into fixed-size pieces for the pool, copying each byte once."""

    def __init__(self, size: int, pool: _OrderedPool) -> None:
        self._size, self._pool = size, pool
        self._views: list[memoryview] = []
        self._fill = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(bytes(data) if isinstance(data, bytearray) else data)
        while view:
            take = min(self._size - self._fill, len(view))
            self._views.append(view[:take])
            self._fill += take
            view = view[take:]
            if self._fill == self._size:
                self._flush()
        return len(data)

    def _flush(self) -> None:
        piece = b"".join(self._views)
        self._views, self._fill = [], 0
        self._pool.submit(piece)

    def close(self) -> None:
        if self._fill:
            self._flush()
        self._pool.drain()


def _bzip2_block(piece: bytes) -> tuple[int, int, int]:
    """Compress one piece; return its single block as (bits, bit length, block CRC)."""
    data = bz2.compress(piece, 9)
    total = len(data) * 8
    number = int.from_bytes(data, "big")

    def bits(start: int, length: int) -> int:
        return (number >> (total - start - length)) & ((1 << length) - 1)

    if bits(32, 48) != _BZ_BLOCK_MAGIC:
        raise ValueError("unexpected bzip2 block layout")
    crc = bits(80, 32)
    for pad in range(8):
        end = total - pad - 80
        if bits(end, 48) == _BZ_STREAM_END and bits(end + 48, 32) == crc:
            return bits(32, end - 32), end - 32, crc
    raise ValueError("bzip2 piece holds more than one block")


class ParallelBzip2Writer:
    """One standard bzip2 stream (`BZh9`, blocks, end marker, combined CRC) from parallel blocks."""

    def __init__(self, raw: ByteSink, threads: int | None = None) -> None:
        self._raw = raw
        self._acc = 0
        self._acc_bits = 0
        self._crc = 0
        raw.write(b"BZh9")
        self._pieces = _Pieces(BZIP2_PIECE, _OrderedPool(_bzip2_block, self._append, threads or os.cpu_count() or 1))

    def _append(self, block: tuple[int, int, int]) -> None:
        bits, length, crc = block
        self._push(bits, length)
        self._crc = (((self._crc << 1) | (self._crc >> 31)) & 0xFFFFFFFF) ^ crc

    def _push(self, bits: int, length: int) -> None:
        self._acc = (self._acc << length) | bits
        self._acc_bits += length
        whole, rest = divmod(self._acc_bits, 8)
        if whole:
            self._raw.write((self._acc >> rest).to_bytes(whole, "big"))
            self._acc &= (1 << rest) - 1
            self._acc_bits = rest

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._pieces.write(data)

    def close(self) -> None:
        self._pieces.close()
        self._push((_BZ_STREAM_END << 32) | self._crc, 80)
        if self._acc_bits:
            self._push(0, 8 - self._acc_bits)


LZ4_BLOCK = 64 * 1024
LZ4_PIECE = 16 * LZ4_BLOCK


def _lz4_blocks(piece: bytes) -> bytes:
    """Independent 64 KiB lz4 blocks, framed as `size` + data (high bit: stored uncompressed)."""
    import lz4.block

    out = bytearray()
    for start in range(0, len(piece), LZ4_BLOCK):
        chunk = piece[start : start + LZ4_BLOCK]
        packed = lz4.block.compress(chunk, store_size=False)
        if len(packed) < len(chunk):
            out += len(packed).to_bytes(4, "little") + packed
        else:
            out += (len(chunk) | 0x80000000).to_bytes(4, "little") + chunk
    return bytes(out)


_SNAPPY_STREAM_ID = b"\xff\x06\x00\x00sNaPpY"
SNAPPY_PIECE = 1 << 20


def _snappy_frames(piece: bytes) -> bytes:
    """The framed-format chunks of one piece, without the stream identifier."""
    import cramjam

    framed = bytes(cramjam.snappy.compress(piece))
    return framed[len(_SNAPPY_STREAM_ID) :] if framed.startswith(_SNAPPY_STREAM_ID) else framed


class ParallelSnappyWriter:
    """One snappy framing-format stream (one identifier, then chunks) compressed in parallel."""

    def __init__(self, raw: ByteSink, threads: int | None = None) -> None:
        raw.write(_SNAPPY_STREAM_ID)
        self._pieces = _Pieces(SNAPPY_PIECE, _OrderedPool(_snappy_frames, raw.write, threads or os.cpu_count() or 1))

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._pieces.write(data)

    def close(self) -> None:
        self._pieces.close()


class ParallelLz4Writer:
    """One LZ4 frame (independent 64 KiB blocks, no checksums) from blocks compressed in parallel."""

    def __init__(self, raw: ByteSink, threads: int | None = None) -> None:
        import lz4.frame

        self._raw = raw
        header = lz4.frame.LZ4FrameCompressor(
            block_size=lz4.frame.BLOCKSIZE_MAX64KB, block_linked=False, content_checksum=False
        ).begin()
        raw.write(header)
        self._pieces = _Pieces(LZ4_PIECE, _OrderedPool(_lz4_blocks, raw.write, threads or os.cpu_count() or 1))

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._pieces.write(data)

    def close(self) -> None:
        self._pieces.close()
        self._raw.write(b"\x00\x00\x00\x00")  # end mark
