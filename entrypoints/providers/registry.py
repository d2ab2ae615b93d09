"""The provider modules by --cloud-provider value: the container and the URL reader pick here."""

from __future__ import annotations

from types import ModuleType

from cloud_base_backup.domain import redaction
from cloud_base_backup.entrypoints.providers import aws, azure, google

# Asked in this order for a URL's provider: Azure last, as it takes every http(s) URL the
# others do not claim.
MODULES: dict[str, ModuleType] = {module.NAME: module for module in (aws, google, azure)}


def provider_module(name: str) -> ModuleType:
    return MODULES[name]


def register_credentials() -> None:
    """Teach the redaction step every provider's credential forms (whichever this run uses:
    another provider's variables in the environment are masked too)."""
    for module in MODULES.values():
        redaction.register(module.CREDENTIALS)
