"""The SSE-C key file of S3 encryption (barman 3.20's --sse-customer-key)."""

from __future__ import annotations

import base64
import binascii
import os

from cloud_base_backup.domain.errors import InvalidInput
from cloud_base_backup.domain.redaction import add_secret

_PREFIX = "file://"


def load_sse_customer_key(url: str) -> bytes:
    """Read `file:///abs/path`: strict base64 of exactly 32 bytes. The key is never logged."""
    if not url.startswith(_PREFIX):
        # The value is not echoed: given inline by mistake, it is the key itself.
        raise InvalidInput("SSE-C key must be given as file:///absolute/path, not inline")
    path = url[len(_PREFIX) :]
    if not os.path.isabs(path):
        raise InvalidInput(f"SSE-C key path {path!r} is not an absolute path")
    try:
        with open(path, "rb") as handle:
            raw = handle.read().strip()
    except FileNotFoundError:
        raise InvalidInput(f"SSE-C key file {path} not found") from None
    except OSError as exc:
        raise InvalidInput(f"SSE-C key file {path} is not readable: {exc.strerror}") from None
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"SSE-C key file {path} does not hold valid base64") from None
    if len(key) != 32:
        raise InvalidInput(f"SSE-C key in {path} must decode to 32 bytes, got {len(key)} bytes")
    add_secret(base64.b64encode(key).decode())  # masked in every log line and error from now on
    return key
