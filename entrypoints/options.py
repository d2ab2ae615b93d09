"""BackupOptions: the typed options of a run as the parser built them, and their rules."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

from cloud_base_backup.domain.errors import InvalidArgument, InvalidInput
from cloud_base_backup.domain.options import DEFAULT_MAX_ARCHIVE_SIZE
from cloud_base_backup.domain.orphans import DEFAULT_STALE_AFTER

PROVIDERS = ("aws-s3", "azure-blob-storage", "google-cloud-storage")
# Tags follow S3's rules on every provider, as barman's do.
_TAG_CHARS = re.compile(r"^[\w\s_.:/=+\-@]*$", re.UNICODE)
MAX_TAGS = 10


def check_tag(text: str) -> tuple[str, str]:
    """One `--tag KEY,VALUE`: split at the first comma, with S3's key/value rules."""
    key, sep, value = text.partition(",")
    key, value = key.strip(), value.strip()
    if (
        not sep
        or not 1 <= len(key) <= 128
        or key.lower().startswith("aws:")
        or len(value) > 256
        or not _TAG_CHARS.match(key)
        or not _TAG_CHARS.match(value)
    ):
        raise InvalidArgument(f"invalid check_tag value: '{text}'")
    return key, value


def parse_tags_csv(items: list[str]) -> list[tuple[str, str]]:
    """`--tags k,v ...`: each item one CSV record of exactly two fields."""
    tags = []
    for item in items:
        rows = list(csv.reader([item]))
        if len(rows) != 1 or len(rows[0]) != 2:
            raise InvalidArgument(f"Invalid tag format: {item}")
        tags.append((rows[0][0], rows[0][1]))
    return tags


def check_tags(tags: list[tuple[str, str]] | None) -> None:
    if not tags:
        return
    if len(tags) > MAX_TAGS:
        raise InvalidInput(
            "Maximum number of tags per object exceeded. S3 allows no more than 10 tags per object."
        )
    seen: set[str] = set()
    for key, _ in tags:
        if key in seen:
            raise InvalidInput(f"Duplicate tag keys found: {key}. Tag keys must be unique.")
        seen.add(key)


@dataclass(frozen=True)
class BackupOptions:
    """Everything a run was asked to do, already validated at the argument level."""

    destination_url: str
    server_name: str
    cloud_provider: str = "aws-s3"
    test: bool = False
    compression: str | None = None
    host: str | None = None
    port: str | None = None
    user: str | None = None
    dbname: str = "postgres"
    immediate_checkpoint: bool = False
    jobs: int = 2
    max_archive_size: int = DEFAULT_MAX_ARCHIVE_SIZE
    min_chunk_size: int | None = None
    max_bandwidth: int | None = None
    backup_name: str | None = None
    tags: list[tuple[str, str]] | None = None
    keepalive_interval: int = 60
    abort_stale_uploads_after: float = DEFAULT_STALE_AFTER
    # integrity extensions (pg_basebackup's option names)
    manifest_checksums: str = "CRC32C"
    verify_checksums: bool = True
    verbose: int = 0
    quiet: int = 0
    # aws-s3
    endpoint_url: str | None = None
    aws_profile: str | None = None
    read_timeout: int | None = None
    addressing_style: str | None = None
    encryption: str | None = None
    sse_kms_key_id: str | None = None
    sse_customer_key: str | None = None
    # azure-blob-storage
    azure_credential: str | None = None
    encryption_scope: str | None = None
    azure_subscription_id: str | None = None
    azure_resource_group: str | None = None
    # google-cloud-storage
    kms_key_name: str | None = None
    gcp_project: str | None = None
    gcp_zone: str | None = None
    # snapshots
    snapshot_instance: str | None = None
    snapshot_disks: list[str] = field(default_factory=list)
    aws_region: str | None = None
    aws_await_snapshots_timeout: int = 3600
    aws_snapshot_lock_mode: str | None = None
    aws_snapshot_lock_cool_off_period: int | None = None
    aws_snapshot_lock_expiration_date: str | None = None
    aws_snapshot_lock_duration: int | None = None

    @property
    def snapshot_mode(self) -> bool:
        return bool(self.snapshot_instance or self.snapshot_disks)

    @property
    def log_level(self) -> int:
        """logging level number: WARNING by default, -v INFO, -vv DEBUG, -q ERROR, -qq CRITICAL."""
        return max(30 - 10 * (self.verbose - self.quiet), 10)

    def check(self) -> None:
        """The semantic checks barman runs before any cloud or PostgreSQL work (exit 4)."""
        if self.snapshot_mode and self.compression:
            raise InvalidInput("Compression options cannot be used with snapshot backups")
        if (
            self.aws_snapshot_lock_mode == "governance"
            and self.aws_snapshot_lock_cool_off_period is not None
        ):
            raise InvalidInput(
                "'aws_snapshot_lock_mode' = 'governance' cannot be used with "
                "'aws_snapshot_lock_cool_off_period'"
            )
        check_tags(self.tags)
