"""S3 retry policy: a small budget at first contact, the full one for uploads, every retry logged.

botocore retries inside the client, silently. Two of its public events make each retry visible
and bounded: `needs-retry` (fired after every attempt, with the exception or the response)
records why the attempt failed and, while the store has not answered yet, stops after
FIRST_CONTACT_ATTEMPTS (a handler registered first that returns False vetoes the retry);
`request-created` (fired before every attempt is sent) logs a WARNING when the attempt is a
retry. Otherwise the decision and the backoff stay botocore's: mode `standard` and 11 attempts
by default; `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS` or the profile's `retry_mode` /
`max_attempts` win.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloud_base_backup.adapters.object_stores.retry_log import exception_cause, log_retry
from cloud_base_backup.domain.ports import Log

DEFAULT_MODE = "standard"
DEFAULT_MAX_ATTEMPTS = 11  # uploads: the first try and 10 retries, backoff up to 20 s each
FIRST_CONTACT_ATTEMPTS = 3  # until the store first answers: a dead endpoint fails in seconds
_CAUSE = "cbb_retry_cause"


@dataclass(frozen=True)
class RetryBudget:
    mode: str
    max_attempts: int

    @classmethod
    def configured(cls, session: Any, max_attempts: int | None = None) -> RetryBudget:
        """`max_attempts` if given, else the user's settings (environment, profile), else ours."""
        mode = session.get_config_variable("retry_mode") or DEFAULT_MODE
        attempts = max_attempts or session.get_config_variable("max_attempts")
        return cls(mode, int(attempts) if attempts else DEFAULT_MAX_ATTEMPTS)

    @property
    def first_contact(self) -> int:
        return min(self.max_attempts, FIRST_CONTACT_ATTEMPTS)

    def config(self) -> dict[str, Any]:
        return {"mode": self.mode, "total_max_attempts": self.max_attempts}


def describe_failure(response: Any, caught_exception: Exception | None) -> str | None:
    """Why an attempt failed, in one line; None when it succeeded."""
    if caught_exception is not None:
        return exception_cause(caught_exception)
    if not response:
        return None
    http, parsed = response
    status = getattr(http, "status_code", 0)
    if status < 400:
        return None
    code = (parsed or {}).get("Error", {}).get("Code") or ""
    return f"HTTP {status} {code}".strip()


class RetryLogger:
    """Hooks one boto3 client: logs each retry as a `store.retry` warning; caps first contact."""

    def __init__(self, log: Log, budget: RetryBudget) -> None:
        self._log = log
        self._budget = budget
        self.answered = False  # set once the store has answered a request

    def attach(self, client: Any) -> None:
        client.meta.events.register_first("needs-retry.s3", self._record)
        client.meta.events.register("request-created.s3", self._announce)

    @property
    def limit(self) -> int:
        return self._budget.max_attempts if self.answered else self._budget.first_contact

    def _record(self, request_dict: Any = None, response: Any = None, attempts: int = 1,
                caught_exception: Exception | None = None, **_: Any) -> bool | None:
        if response is not None:
            self.answered = True  # any HTTP answer, even an error, proves the store is there
        if request_dict is not None:
            request_dict["context"][_CAUSE] = describe_failure(response, caught_exception)
        if attempts >= self.limit:
            return False  # no further attempt (the first non-None answer wins in botocore)
        return None  # botocore's own retry handler decides, and computes the backoff

    def _announce(self, request: Any = None, operation_name: str = "", **_: Any) -> None:
        context = getattr(request, "context", None) or {}
        attempt = context.get("retries", {}).get("attempt", 1)
        if attempt <= 1:
            return
        url = str(getattr(request, "url", ""))
        path = url.split("://", 1)[-1].partition("/")[2].split("?", 1)[0]
        cause = context.get(_CAUSE) or "unknown"
        log_retry(self._log, "aws-s3", attempt, self.limit, f"{operation_name} /{path}", cause)
