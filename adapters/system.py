"""System adapters: the clock, structlog logging and the terminal progress display."""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime
from typing import Any, TextIO

import structlog

from cloud_base_backup.domain.redaction import redact_value


class SystemClock:
    def now(self) -> datetime:
        return datetime.now().astimezone()

    def monotonic(self) -> float:
        return time.monotonic()


def redact_fields(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: every field of every line passes through the one redaction step."""
    return {key: redact_value(value) for key, value in event_dict.items()}


def make_logger(level: int, stream: TextIO | None = None, json: bool | None = None) -> Any:
    """A structlog logger: console rendering on a terminal, JSON lines otherwise.

    `level` is a logging level number; above CRITICAL nothing is printed (-qqq).
    """
    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=False, pad_event=30)
    )
    processors: list[Any] = [
        redact_fields,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=False),
        renderer,
    ]
    effective = level if level <= logging.CRITICAL else logging.CRITICAL + 10
    quiet_sdk_loggers(level)
    return structlog.wrap_logger(
        structlog.PrintLogger(file=stream),
        wrapper_class=structlog.make_filtering_bound_logger(effective),
        processors=processors,
        cache_logger_on_first_use=False,
    )


SDK_LOGGERS = ("azure",)  # azure-identity prints a multi-line report per failed token request


def quiet_sdk_loggers(level: int) -> None:
    """The SDKs' own stdlib log records reach stderr only at the highest verbosity (-vv): our
    one-line error already says what failed."""
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if isinstance(h, logging.NullHandler)]:
            logger.removeHandler(handler)
        if level > logging.DEBUG:
            logger.addHandler(logging.NullHandler())
        logger.propagate = level <= logging.DEBUG


class NullLog:
    """The Log port doing nothing, for adapters built without a logger (tests, embedding)."""

    def debug(self, event: str, **fields: Any) -> None: ...

    def info(self, event: str, **fields: Any) -> None: ...

    def warning(self, event: str, **fields: Any) -> None: ...

    def error(self, event: str, **fields: Any) -> None: ...
