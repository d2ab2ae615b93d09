"""The test fakes conform to their (test-side) ports: mypy checks these assignments in lint."""

from __future__ import annotations

from tests.support.admin_ports import AdminObjectStore, AdminSnapshotProvider
from tests.support.memory_snapshots import MemorySnapshotProvider
from tests.support.memory_store import MemoryObjectStore


def memory_store() -> AdminObjectStore:
    return MemoryObjectStore("bucket")


def memory_snapshots() -> AdminSnapshotProvider:
    return MemorySnapshotProvider(instances={})
