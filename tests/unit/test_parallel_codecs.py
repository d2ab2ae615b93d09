"""Parallel bzip2 and lz4: one valid stream whatever the input, decoding to the input."""

import bz2
import io

import lz4.frame
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud_base_backup.adapters.parallel_codecs import (
    BZIP2_PIECE,
    ParallelBzip2Writer,
    ParallelLz4Writer,
)

chunks = st.lists(st.binary(max_size=5000) | st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=3), st.integers(1, 60000)), max_size=20)


def _write(cls, parts, threads=2):
    sink = io.BytesIO()
    writer = cls(sink, threads)
    for part in parts:
        writer.write(part)
    writer.close()
    return sink.getvalue()


@settings(max_examples=60, deadline=None)
@given(chunks)
def test_bzip2_is_one_stream_of_the_input(parts):
    out = _write(ParallelBzip2Writer, parts)
    decoder = bz2.BZ2Decompressor()
    assert decoder.decompress(out) == b"".join(parts)



def test_bzip2_across_many_pieces_and_run_length_worst_case():
    data = (b"aaaa\x01" * 200_000) + bytes(range(256)) * 5000
    out = _write(ParallelBzip2Writer, [data[i : i + 123_457] for i in range(0, len(data), 123_457)])
    assert len(data) > 3 * BZIP2_PIECE
    decoder = bz2.BZ2Decompressor()
    assert decoder.decompress(out) == data and decoder.eof and not decoder.unused_data


def test_bzip2_matches_libbz2_byte_for_byte_on_one_piece():
    data = b"PostgreSQL " * 5000
    assert _write(ParallelBzip2Writer, [data]) == bz2.compress(data, 9)


@settings(max_examples=60, deadline=None)
@given(chunks)
def test_lz4_is_one_frame_of_the_input(parts):
    out = _write(ParallelLz4Writer, parts)
    decoder = lz4.frame.LZ4FrameDecompressor()
    assert decoder.decompress(out) == b"".join(parts)

