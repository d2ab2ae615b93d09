"""KeepaliveTicker: a daemon thread that keeps the backup's PostgreSQL session alive (barman 3.20)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from cloud_base_backup.domain.errors import PostgresConnectionError
from cloud_base_backup.domain.ports import Log

THREAD_NAME = "barman_keepalive_thread"  # barman's name, so thread dumps read the same


class KeepaliveTicker:
    """Calls `keepalive()` at once, then every `interval` seconds from a thread, until stopped.

    A single archive member can block the main thread far longer than the interval (a 1 GB
    segment on a slow uplink), so the heartbeat cannot live between members: NAT gateways and
    load balancers would drop the idle session. barman 3.20 signals its own process (SIGUSR1)
    when the session is lost; here the loss is recorded and `check()` raises it in the caller's
    thread, so no signal handler is installed and the use case stays embeddable.
    """

    def __init__(self, keepalive: Callable[[], None], interval: float, log: Log) -> None:
        self._keepalive = keepalive
        self._interval = interval
        self._log = log
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost: PostgresConnectionError | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """First heartbeat now (a dead session shows at once), then the thread; 0 turns it off."""
        if self._interval <= 0 or self._thread is not None:
            return
        if self._beat():
            self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval) and self._beat():
            pass

    def _beat(self) -> bool:
        """One heartbeat; False once the session is gone (the thread then ends)."""
        try:
            self._keepalive()
        except PostgresConnectionError as exc:
            self._lost = exc
            self._log.debug("keepalive.lost", error=str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - as barman: other heartbeat errors are ignored
            self._log.debug("keepalive.failed", error=str(exc))
            return True
        self._log.debug("keepalive.sent")
        return True

    def check(self) -> None:
        """Raise PostgresConnectionError in the calling thread if the heartbeat saw the loss."""
        if self._lost is not None:
            raise PostgresConnectionError(str(self._lost))

    def stop(self) -> None:
        """End the thread and wait for it, so nothing else runs on the session afterwards."""
        self._stopped.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
