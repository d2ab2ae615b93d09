"""S3 encryption options: the SSE-KMS rule and the SSE-C key file (barman 3.20's --sse-customer-key)."""

from __future__ import annotations

import base64
import binascii
import os

from domain.errors import InvalidInput
from domain.options import BackupOptions
from domain.redaction import add_secret

_PREFIX = "file://"


def check_s3_encryption_options(options: BackupOptions) -> None:
    """The conflicting-option checks, in barman's order, before any key file is read."""
    if options.sse_kms_key_id and options.encryption != "aws:kms":
        raise InvalidInput('Encryption type must be "aws:kms" if SSE KMS Key ID is specified')
    if options.sse_customer_key and options.sse_kms_key_id:
        raise InvalidInput("SSE-C (--sse-customer-key) cannot be used with --sse-kms-key-id")
    if options.sse_customer_key and options.encryption:
        raise InvalidInput("SSE-C (--sse-customer-key) cannot be used with -e/--encryption")


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
