"""Codec registry: each codec turns a byte sink into a single-stream compressing writer."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

from cloud_base_backup.adapters.parallel_codecs import (
    ByteSink,
    ParallelBzip2Writer,
    ParallelLz4Writer,
    ParallelSnappyWriter,
)
from cloud_base_backup.domain.errors import InvalidInput


class StreamWriter(Protocol):
    def write(self, data: bytes | bytearray | memoryview) -> int | None: ...

    def close(self) -> None: ...


def _threads() -> int:
    return max(1, os.cpu_count() or 1)


class _Plain:
    def __init__(self, raw: ByteSink) -> None:
        self._raw = raw

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._raw.write(data)
        return len(data)

    def close(self) -> None:
        pass


class _NoClose:
    """Hides close() so a library writer does not close our byte sink behind our back."""

    def __init__(self, raw: ByteSink) -> None:
        self._raw = raw

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._raw.write(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    @property
    def closed(self) -> bool:
        return False


def _gzip(raw: ByteSink) -> StreamWriter:
    # ISA-L's threaded writer: one gzip member, deflate blocks compressed on every core.
    from isal import igzip_threaded

    return igzip_threaded.open(  # type: ignore[return-value]
        _NoClose(raw), "wb", compresslevel=GZIP_LEVEL, threads=_threads()
    )


def _bzip2(raw: ByteSink) -> StreamWriter:
    return ParallelBzip2Writer(raw, _threads())


def _snappy(raw: ByteSink) -> StreamWriter:
    return ParallelSnappyWriter(raw, _threads())


def _lz4(raw: ByteSink) -> StreamWriter:
    return ParallelLz4Writer(raw, _threads())


def _zstd(raw: ByteSink) -> StreamWriter:
    import zstandard

    c = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=-1)
    return c.stream_writer(_NoClose(raw), closefd=False)  # type: ignore[arg-type,return-value]


GZIP_LEVEL = 1
ZSTD_LEVEL = 3

CODECS: dict[str | None, Callable[[ByteSink], StreamWriter]] = {
    None: _Plain,
    "gz": _gzip,
    "bz2": _bzip2,
    "snappy": _snappy,
    "lz4": _lz4,
    "zst": _zstd,
}


# Suffix of each codec's archives; readers infer the compression from it.
SUFFIXES: dict[str | None, str] = {
    None: ".tar",
    "gz": ".tar.gz",
    "bz2": ".tar.bz2",
    "snappy": ".tar.snappy",
    "lz4": ".tar.lz4",
    "zst": ".tar.zst",
}


def open_writer(compression: str | None, raw: ByteSink) -> StreamWriter:
    try:
        factory = CODECS[compression]
    except KeyError:
        raise InvalidInput(f"Unsupported compression: {compression}") from None
    return factory(raw)
