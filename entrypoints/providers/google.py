"""google-cloud-storage: the GCS object store and the GCE snapshot provider."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlparse

from cloud_base_backup.adapters.object_stores.destination import Destination
from cloud_base_backup.domain.errors import InvalidInput
from cloud_base_backup.domain.ports import Log, ObjectStore, SnapshotProvider
from cloud_base_backup.domain.redaction import CredentialForms
from cloud_base_backup.entrypoints.options import BackupOptions
from cloud_base_backup.entrypoints.providers.sdk import sdk_required, snapshot_option_required

NAME = "google-cloud-storage"
# What the redaction step masks: access-token variables, signed-URL parameters, CSEK headers.
CREDENTIALS = CredentialForms(
    name=NAME,
    secret_env=("GOOGLE_OAUTH_ACCESS_TOKEN", "CLOUDSDK_AUTH_ACCESS_TOKEN"),
    query_keys=("x-goog-signature", "x-goog-credential"),
    kv_keys=(
        "x-goog-signature", "x-goog-encryption-key(?!-sha256)",
        "x-goog-copy-source-encryption-key(?!-sha256)",
    ),
)
_CONSOLE = "https://console.cloud.google.com/storage/browser/"


def claims_url(url: str) -> bool:
    return urlparse(url).scheme.lower() == "gs" or url.startswith(_CONSOLE)


def malformed(url: str) -> InvalidInput:
    return InvalidInput(
        f"Google cloud storage URL {url} is malformed. Expected format are "
        f"'{_CONSOLE}bucket-name/some/path' or 'gs://bucket-name/some/path'"
    )


def parse_url(url: str) -> Destination:
    if url.startswith(_CONSOLE):
        rest = url[len(_CONSOLE) :]
    elif url.startswith("gs://"):
        rest = url[len("gs://") :]
    else:
        raise malformed(url)
    bucket, _, path = rest.partition("/")
    if not bucket:
        raise InvalidInput(f"Google cloud storage URL {url} is malformed. Bucket name not found")
    return Destination(NAME, bucket, path.strip("/"))


def check_options(options: BackupOptions) -> None:
    """GCS's own option rule (barman checks it while building the store)."""
    if options.kms_key_name and options.snapshot_instance:
        raise InvalidInput("KMS key cannot be specified for snapshot backups")


def object_store(
    options: BackupOptions, destination: Destination, env: Mapping[str, str], log: Log
) -> ObjectStore:
    from cloud_base_backup.adapters.object_stores.gcs import GcsObjectStore

    check_options(options)
    universe = env.get("GOOGLE_CLOUD_UNIVERSE_DOMAIN")  # barman's only GCS variable
    return GcsObjectStore(
        destination.bucket,
        kms_key_name=options.kms_key_name,
        tags=options.tags,
        client_options={"universe_domain": universe} if universe else None,
        log=log,
    )


SNAPSHOT_REQUIRED = ("gcp_zone",)  # beyond instance and disks, barman's order


def check_snapshot_options(options: BackupOptions) -> None:
    snapshot_option_required(options.gcp_project, "--gcp-project", NAME)


def snapshot_provider(options: BackupOptions, log: Log) -> SnapshotProvider:
    check_snapshot_options(options)
    with sdk_required():
        from cloud_base_backup.adapters.snapshots.gcp_compute import GceSnapshotProvider
    return GceSnapshotProvider(options.gcp_project or "", options.gcp_zone)
