"""Destination: the bucket (or container) and key prefix a store adapter is built for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Destination:
    provider: str
    bucket: str
    prefix: str
    account_url: str | None = None  # Azure: the account's host
    emulated: bool = False  # Azure: an Azurite-style URL (account in the path)
