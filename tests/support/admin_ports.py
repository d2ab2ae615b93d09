"""Test-side ports: the operations the contract suites and e2e tests need beyond the product's."""

from __future__ import annotations

from typing import Any, Protocol

from cloud_base_backup.domain.ports import ObjectStore, SnapshotProvider


class AdminObjectStore(ObjectStore, Protocol):
    """An ObjectStore that tests can also set up, read back and clean (every adapter has these)."""

    def bucket_exists(self) -> bool: ...

    def create_bucket(self) -> None: ...

    def exists(self, key: str) -> bool: ...

    def get(self, key: str) -> bytes: ...

    def open_multiparts(self, prefix: str) -> list[str]:
        """Keys under prefix with a multipart upload started and not completed or aborted."""


class AdminSnapshotProvider(SnapshotProvider, Protocol):
    """A SnapshotProvider whose snapshots tests can also delete (every adapter has it)."""

    def delete_snapshots(self, snapshots_info: dict[str, Any]) -> None:
        """Delete the snapshots a backup.info records; already missing ones are skipped."""
