"""Checksums of the bytes sent for a file, under the names pg_basebackup's manifest uses.

CRC32C goes through google-crc32c (Google's C library; already installed with
google-cloud-storage); the SHA-2 family through hashlib (OpenSSL). PostgreSQL writes a CRC32C
as the hex of its four bytes in memory order (little-endian on the x86/ARM hosts PostgreSQL
and this tool run on), so that is what `hexdigest` returns.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import google_crc32c


class FileDigest(Protocol):
    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def hexdigest(self) -> str: ...


class _Crc32c:
    __slots__ = ("_crc",)

    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        # the C extension takes read-only bytes only
        self._crc = google_crc32c.extend(self._crc, data if isinstance(data, bytes) else bytes(data))

    def hexdigest(self) -> str:
        return self._crc.to_bytes(4, "little").hex()


class _Nothing:
    __slots__ = ()

    def update(self, data: bytes | bytearray | memoryview) -> None:
        pass

    def hexdigest(self) -> str:
        return ""


_SHA = {"SHA224": "sha224", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512"}


def new_digest(algorithm: str) -> FileDigest:
    """A running checksum for one file; `NONE` computes nothing."""
    if algorithm == "CRC32C":
        return _Crc32c()
    if algorithm == "NONE":
        return _Nothing()
    return hashlib.new(_SHA[algorithm])  # type: ignore[return-value]
