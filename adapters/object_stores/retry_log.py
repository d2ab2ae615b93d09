"""The one shape of a retry warning, shared by every object store adapter."""

from __future__ import annotations

from cloud_base_backup.domain.ports import Log

RETRY_EVENT = "store.retry"


def exception_cause(exc: BaseException) -> str:
    """`ExceptionType: first line of its message`."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def log_retry(
    log: Log,
    provider: str,
    attempt: int | None,
    max_attempts: int | None,
    request: str,
    cause: str,
) -> None:
    """A WARNING for one retry: which attempt this is (of how many at most), what, and why.

    `attempt`/`max_attempts` are None where the SDK's budget is a deadline, not a count."""
    counts = {"attempt": attempt, "max_attempts": max_attempts} if attempt is not None else {}
    log.warning(RETRY_EVENT, provider=provider, **counts, request=request, cause=cause)
