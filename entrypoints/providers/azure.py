"""azure-blob-storage: the Azure Blob object store and the Azure Compute snapshot provider."""

from __future__ import annotations

from collections.abc import Mapping

from domain.destination import Destination
from domain.options import BackupOptions
from domain.ports import Log, ObjectStore, SnapshotProvider
from entrypoints.providers.sdk import sdk_required


def object_store(
    options: BackupOptions, destination: Destination, env: Mapping[str, str], log: Log
) -> ObjectStore:
    from adapters.object_stores.azure_blob import AzureBlobObjectStore
    from adapters.object_stores.azure_credentials import container_client

    client = container_client(destination, env, log, azure_credential=options.azure_credential)
    return AzureBlobObjectStore(
        client,
        prefix=destination.prefix,
        encryption_scope=options.encryption_scope,
        tags=options.tags,
        log=log,
    )


def snapshot_provider(options: BackupOptions, log: Log) -> SnapshotProvider:
    with sdk_required():
        from adapters.snapshots.azure_compute import AzureComputeSnapshotProvider, make_credential

        credential = make_credential(options.azure_credential)
    return AzureComputeSnapshotProvider(
        options.azure_subscription_id or "", options.azure_resource_group, credential
    )
