"""Counts the part requests a GCS store has in flight at once, at its HTTP transport."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from google.auth.transport.requests import AuthorizedSession


class InFlight:
    """Every matching request waits until `meet` of them are in flight together.

    If the store sends parts one at a time, the first one waits alone and, after `patience`
    seconds, the barrier breaks and its request fails: the test fails instead of passing slowly.
    """

    def __init__(self, meet: int, patience: float = 30.0) -> None:
        self.barrier = threading.Barrier(meet, timeout=patience)
        self.now = 0
        self.most = 0
        self.seen = 0
        self._lock = threading.Lock()

    def around(self, send: Callable[[], Any]) -> Any:
        with self._lock:
            self.now += 1
            self.seen += 1
            self.most = max(self.most, self.now)
        try:
            self.barrier.wait()
            return send()
        finally:
            with self._lock:
                self.now -= 1


@contextmanager
def parts_in_flight(
    monkeypatch: pytest.MonkeyPatch, is_part: Callable[[str, str], bool], meet: int
) -> Iterator[InFlight]:
    """Patch the google-auth transport so requests where is_part(method, url) go through InFlight."""
    counter = InFlight(meet)
    original = AuthorizedSession.request

    def request(self: AuthorizedSession, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if is_part(method, url):
            return counter.around(lambda: original(self, method, url, *args, **kwargs))
        return original(self, method, url, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(AuthorizedSession, "request", request)
        yield counter
