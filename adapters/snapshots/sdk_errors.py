"""The compute adapters' one translation of SDK exceptions into SnapshotProviderError."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cloud_base_backup.domain.errors import SnapshotProviderError, first_line


@contextmanager
def translated(
    what: str,
    errors: tuple[type[BaseException], ...],
    describe: Callable[[BaseException], str] = first_line,
) -> Iterator[None]:
    """`what: <the SDK's reason>` as a SnapshotProviderError for any of `errors`."""
    try:
        yield
    except errors as exc:
        raise SnapshotProviderError(f"{what}: {describe(exc)}") from None
