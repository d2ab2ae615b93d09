"""What the provider modules share: barman's wording of a missing compute SDK and of a
missing snapshot option."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cloud_base_backup.domain.errors import BackupFailed, InvalidInput


@contextmanager
def sdk_required() -> Iterator[None]:
    try:
        yield
    except ImportError as exc:  # barman exits 1 with this text when a compute SDK is missing
        raise BackupFailed(f"Missing required python module: {exc.name}") from None


def snapshot_option_required(value: str | None, flag: str, provider: str) -> None:
    """What barman checks while building the compute client (exit 4)."""
    if value is None:
        raise InvalidInput(
            f"{flag} option must be set for snapshot backups when cloud provider is {provider}"
        )
