"""Azure Blob container clients, with credentials resolved in barman's order of precedence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.storage.blob import BlobServiceClient, ContainerClient

from cloud_base_backup.adapters.object_stores.azure_retries import LoggedExponentialRetry
from cloud_base_backup.adapters.object_stores.destination import Destination
from cloud_base_backup.domain.errors import InvalidInput
from cloud_base_backup.domain.ports import Log

CREDENTIALS = ("azure-cli", "managed-identity", "default")
MIB = 1 << 20
# barman's client settings for the non-connection-string cases; harmless with a connection string.
CLIENT_OPTIONS: dict[str, Any] = {
    "max_single_put_size": 4 * MIB,
    "max_block_size": 2 * MIB,
}


def identity_credential(name: str) -> Any:
    """`--azure-credential`: an azure-identity credential built without arguments, as barman does."""
    from azure.identity import (
        AzureCliCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
    )

    classes = {
        "azure-cli": AzureCliCredential,
        "managed-identity": ManagedIdentityCredential,
        "default": DefaultAzureCredential,
    }
    if name not in classes:
        raise InvalidInput(f"Unsupported credential: {name}")
    return classes[name]()


def container_client(
    destination: Destination,
    env: Mapping[str, str],
    log: Log,
    azure_credential: str | None = None,
    **client_options: Any,
) -> ContainerClient:
    """The ContainerClient for `destination`.

    Precedence (barman 3.19.1): --azure-credential, then AZURE_STORAGE_CONNECTION_STRING (present,
    even empty), AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_KEY, else DefaultAzureCredential.
    """
    options = {
        **CLIENT_OPTIONS,
        "session": _pooled_session(),
        "retry_policy": LoggedExponentialRetry(log, client_options.pop("retry_total", None)),
        **client_options,
    }
    if azure_credential is not None:
        if destination.emulated:
            # barman crashes here with an AttributeError (exit 4); same exit, a real message
            raise InvalidInput(
                "--azure-credential cannot be used with an emulated storage URL; "
                "set AZURE_STORAGE_CONNECTION_STRING instead"
            )
        log.info("Authenticating to Azure with the --azure-credential credential")
        return _account_client(destination, identity_credential(azure_credential), options)
    if "AZURE_STORAGE_CONNECTION_STRING" in env:
        log.info("Authenticating to Azure with connection string")
        try:
            service = BlobServiceClient.from_connection_string(
                env["AZURE_STORAGE_CONNECTION_STRING"], **options
            )
        except ValueError as exc:
            raise InvalidInput(f"Invalid AZURE_STORAGE_CONNECTION_STRING: {exc}") from exc
        return service.get_container_client(destination.bucket)
    if destination.emulated:
        raise InvalidInput("A connection string must be provided when using emulated storage")
    credential: Any
    if "AZURE_STORAGE_SAS_TOKEN" in env:
        log.info("Authenticating to Azure with SAS token")
        credential = AzureSasCredential(env["AZURE_STORAGE_SAS_TOKEN"])
    elif "AZURE_STORAGE_KEY" in env:
        log.info("Authenticating to Azure with shared key")
        account = (destination.account_url or "").split(".", 1)[0]
        credential = AzureNamedKeyCredential(account, env["AZURE_STORAGE_KEY"])
    else:
        log.info("Authenticating to Azure with default credentials")
        credential = identity_credential("default")
    return _account_client(destination, credential, options)


def _pooled_session() -> Any:
    """A requests session with 32 pooled connections per host (barman's size), for -J threads."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    for scheme in ("https://", "http://"):
        session.mount(scheme, HTTPAdapter(pool_connections=32, pool_maxsize=32))
    return session


def _account_client(destination: Destination, credential: Any, options: dict[str, Any]) -> Any:
    service = BlobServiceClient(
        f"https://{destination.account_url}", credential=credential, **options
    )
    return service.get_container_client(destination.bucket)
