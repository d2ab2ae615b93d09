"""Shared test configuration: markers by folder, and no network in unit tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_UNIT = Path(__file__).parent / "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if "contract" in path.parts:
            item.add_marker(pytest.mark.contract)
        elif "e2e" in path.parts:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _no_network_in_unit_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests run with fakes only: any TCP/UDP connection attempt fails loudly."""
    if _UNIT not in Path(str(request.node.fspath)).parents:
        return
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(f"network access in a unit test: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Any]:
    """Azurite's blob service (npm) on 127.0.0.1 and a free port, for the whole session."""
    from tests.support.azurite import Azurite

    with Azurite() as server:
        yield server


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[Any]:
    """fake-gcs-server (from its PyPI wheel) on 127.0.0.1 and a free port, for the whole session."""
    from tests.support.fake_gcs import FakeGcs

    with FakeGcs() as server:
        yield server
