"""GCS retry policy: google-api-core's Retry, with each retry logged and first contact cut short.

The SDK's DEFAULT_RETRY is time-based: transient errors (5xx, 429, connection errors, timeouts)
are retried with 1 s doubling to 60 s pauses for up to 120 s. That stays the budget of every
request once the bucket has answered, with each retry logged (its `attempt` is unknown there:
the SDK does not number them, so the field is left out). The bucket check, the first contact,
gets its own counted Retry: FIRST_CONTACT_ATTEMPTS attempts, 1 and 2 s apart, each retry logged
with its number, so a refused connection or an unknown host fails in seconds.
"""

from __future__ import annotations

from typing import Any

from google.api_core.retry import Retry
from google.cloud.storage.retry import DEFAULT_RETRY, _should_retry

from cloud_base_backup.adapters.object_stores.retry_log import exception_cause, log_retry
from cloud_base_backup.domain.ports import Log

PROVIDER = "google-cloud-storage"
FIRST_CONTACT_ATTEMPTS = 3


def logged_default_retry(log: Log) -> Retry:
    """DEFAULT_RETRY's predicate and backoff, plus a warning per retry."""

    def on_error(exc: Exception) -> None:
        log_retry(log, PROVIDER, None, None, "request", exception_cause(exc))

    return Retry(predicate=_should_retry, on_error=on_error)


def first_contact_retry(log: Log, what: str, retry: Any = DEFAULT_RETRY) -> Retry:
    """A fresh Retry for one first-contact call: at most FIRST_CONTACT_ATTEMPTS attempts."""
    attempts = [1]

    def predicate(exc: Exception) -> bool:
        return bool(_should_retry(exc)) and attempts[0] < FIRST_CONTACT_ATTEMPTS

    def on_error(exc: Exception) -> None:
        attempts[0] += 1
        log_retry(log, PROVIDER, attempts[0], FIRST_CONTACT_ATTEMPTS, what, exception_cause(exc))

    if retry is None:  # the caller turned retries off
        return Retry(predicate=lambda exc: False)
    return Retry(predicate=predicate, initial=1.0, maximum=2.0, multiplier=2.0, timeout=30.0,
                 on_error=on_error)
