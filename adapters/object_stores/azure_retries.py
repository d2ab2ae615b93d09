"""Azure Blob retry policy: the SDK's own backoff, made visible, cut short where it cannot help.

The storage SDK's default is ExponentialRetry (3 retries after 15, 18 and 24 s, +-3 s). This
subclass keeps that for transfers and adds what an operator needs:
- every retry is logged as a `store.retry` WARNING (attempt, request, cause);
- until the service has answered once (first contact), at most FIRST_CONTACT_ATTEMPTS attempts
  with 1 and 2 s pauses, so a refused connection or an unknown host fails in seconds;
- a credential failure is never retried: asking azure-identity again gives the same answer
  (it used to be tried four times, with its whole report printed each time).
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ClientAuthenticationError
from azure.storage.blob import ExponentialRetry

from cloud_base_backup.adapters.object_stores.retry_log import exception_cause, log_retry
from cloud_base_backup.domain.ports import Log

FIRST_CONTACT_ATTEMPTS = 3
SDK_RETRIES = 3  # ExponentialRetry's default retry_total: 4 attempts in all


class LoggedExponentialRetry(ExponentialRetry):
    def __init__(self, log: Log, retry_total: int | None = None, **kwargs: Any) -> None:
        total = SDK_RETRIES if retry_total is None else retry_total
        super().__init__(retry_total=total, **kwargs)
        self._log = log
        self._total = total
        self.answered = False

    @property
    def max_attempts(self) -> int:
        every = self._total + 1
        return every if self.answered else min(every, FIRST_CONTACT_ATTEMPTS)

    def send(self, request: Any) -> Any:
        response = super().send(request)
        self.answered = True
        return response

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        if not self.answered:
            return float(2 ** settings["count"])  # 1 s, then 2 s
        return float(super().get_backoff_time(settings))

    def increment(self, settings: dict[str, Any], request: Any, response: Any = None,
                  error: Any = None) -> bool:
        if response is not None:
            self.answered = True
        if isinstance(error, ClientAuthenticationError):
            return False
        attempt = settings["count"] + 2  # count is the retries made so far
        if attempt > self.max_attempts:
            return False
        if not super().increment(settings, request, response=response, error=error):
            return False
        path = str(getattr(request, "url", "")).split("?", 1)[0].split("://", 1)[-1]
        what = f"{getattr(request, 'method', '')} /{path.partition('/')[2]}"
        log_retry(self._log, "azure-blob-storage", attempt, self.max_attempts, what,
                  _cause(response, error))
        return True


def _cause(response: Any, error: Any) -> str:
    if error is not None:
        return exception_cause(error)
    status = getattr(response, "status_code", "?")
    reason = getattr(response, "reason", "") or ""
    return f"HTTP {status} {reason}".strip()


def credential_summary(exc: BaseException) -> str:
    """azure-identity's multi-line report as one line: the sources tried and the first reason."""
    lines = str(exc).strip().splitlines()
    head = lines[0] if lines else type(exc).__name__
    tried = [line.strip() for line in lines[1:] if line.startswith("\t") and ":" in line]
    if not tried:
        return head
    names = [line.split(":", 1)[0] for line in tried]
    first = tried[0].split(":", 1)[1].strip()
    who = head.split(" ", 1)[0]
    return f"{who} found no usable credential (tried {', '.join(names)}); first: {first}"
