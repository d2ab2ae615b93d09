"""azure-blob-storage: the Azure Blob object store and the Azure Compute snapshot provider."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from urllib.parse import urlparse

from cloud_base_backup.adapters.object_stores.destination import Destination
from cloud_base_backup.domain.errors import InvalidInput
from cloud_base_backup.domain.ports import Log, ObjectStore, SnapshotProvider
from cloud_base_backup.domain.redaction import CredentialForms
from cloud_base_backup.entrypoints.options import BackupOptions
from cloud_base_backup.entrypoints.providers.sdk import sdk_required, snapshot_option_required

NAME = "azure-blob-storage"
_SAS_SIG = re.compile(r"(?i)(?:^|[?&])sig=([^&]+)")


def _env_secrets(env: Mapping[str, str]) -> Iterator[str]:
    """The credential parts of AZURE_STORAGE_CONNECTION_STRING, and the `sig` of a SAS token
    (alone, it shows decoded or re-quoted where the whole token does not)."""
    for part in env.get("AZURE_STORAGE_CONNECTION_STRING", "").split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() in ("accountkey", "sharedaccesssignature", "sharedaccesskey"):
            yield value.strip()
            yield from _SAS_SIG.findall(value)
    yield from _SAS_SIG.findall(env.get("AZURE_STORAGE_SAS_TOKEN", ""))


# What the redaction step masks: key, SAS and service-principal variables, connection-string
# parts, SAS parameters, CPK headers.
CREDENTIALS = CredentialForms(
    name=NAME,
    secret_env=(
        "AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_PASSWORD",
    ),
    query_keys=("sharedaccesssignature",),
    kv_keys=(
        "accountkey", "sharedaccesssignature", "sharedaccesskey", "x-ms-encryption-key(?!-sha256)",
        "x-ms-copy-source-authorization",
    ),
    env_secrets=_env_secrets,
)


def claims_url(url: str) -> bool:
    """Azure's are the plain http(s) URLs no other provider claims (asked last)."""
    return urlparse(url).scheme.lower() in ("http", "https")


def malformed(url: str) -> InvalidInput:
    return InvalidInput(f"azure blob storage URL {url} is malformed")


def parse_url(url: str) -> Destination:
    parsed = urlparse(url)
    segments = parsed.path.lstrip("/").split("/") if parsed.path.lstrip("/") else []
    if parsed.netloc.endswith("blob.core.windows.net"):
        if not parsed.path:
            raise malformed(url)
        container = segments[0] if segments else ""
        return Destination(NAME, container, "/".join(segments[1:]), account_url=parsed.netloc)
    if len(segments) < 2:
        raise InvalidInput(f"emulated storage URL {url} is malformed")
    return Destination(NAME, segments[1], "/".join(segments[2:]), emulated=True)


def object_store(
    options: BackupOptions, destination: Destination, env: Mapping[str, str], log: Log
) -> ObjectStore:
    from cloud_base_backup.adapters.object_stores.azure_blob import AzureBlobObjectStore
    from cloud_base_backup.adapters.object_stores.azure_credentials import container_client

    client = container_client(destination, env, log, azure_credential=options.azure_credential)
    return AzureBlobObjectStore(
        client,
        prefix=destination.prefix,
        encryption_scope=options.encryption_scope,
        tags=options.tags,
        log=log,
    )


SNAPSHOT_REQUIRED = ("azure_resource_group",)  # beyond instance and disks, barman's order


def check_snapshot_options(options: BackupOptions) -> None:
    snapshot_option_required(options.azure_subscription_id, "--azure-subscription-id", NAME)


def snapshot_provider(options: BackupOptions, log: Log) -> SnapshotProvider:
    check_snapshot_options(options)
    with sdk_required():
        from cloud_base_backup.adapters.object_stores.azure_credentials import identity_credential
        from cloud_base_backup.adapters.snapshots.azure_compute import AzureComputeSnapshotProvider

        credential = identity_credential(options.azure_credential or "default")
    return AzureComputeSnapshotProvider(
        options.azure_subscription_id or "", options.azure_resource_group, credential
    )
