"""The error of a missing compute SDK, as barman words it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from domain.errors import BackupFailed


@contextmanager
def sdk_required() -> Iterator[None]:
    try:
        yield
    except ImportError as exc:  # barman exits 1 with this text when a compute SDK is missing
        raise BackupFailed(f"Missing required python module: {exc.name}") from None
