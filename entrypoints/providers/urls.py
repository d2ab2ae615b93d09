"""Destination URLs: each provider parses its own; a URL of another provider's form says so."""

from __future__ import annotations

from cloud_base_backup.adapters.object_stores.destination import Destination
from cloud_base_backup.domain.errors import InvalidInput
from cloud_base_backup.entrypoints.providers.registry import MODULES


def parse_destination(provider: str, url: str) -> Destination:
    module = MODULES[provider]
    needed = provider_for_url(url)
    if needed is not None and needed != provider:
        # never read another provider's URL as this one's (an https console URL would read
        # as an Azure emulator URL): this provider's own complaint, and the provider it needs
        raise InvalidInput(f"{module.malformed(url)}: the URL looks like it needs --cloud-provider {needed}")
    return module.parse_url(url)


def provider_for_url(url: str) -> str | None:
    """The --cloud-provider a URL's form points to, or None when it points nowhere clear."""
    for name, module in MODULES.items():
        if module.claims_url(url):
            return name
    return None
