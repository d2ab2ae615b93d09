"""The one shape of a retry warning, shared by every object store adapter."""

from __future__ import annotations

from domain.ports import Log

RETRY_EVENT = "store.retry"


def exception_cause(exc: BaseException) -> str:
    """`ExceptionType: first line of its message`."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def log_retry(
    log: Log, provider: str, attempt: int, max_attempts: int, request: str, cause: str
) -> None:
    """A WARNING for one retry: which attempt this is (of how many at most), what, and why."""
    log.warning(
        RETRY_EVENT,
        provider=provider,
        attempt=attempt,
        max_attempts=max_attempts,
        request=request,
        cause=cause,
    )
