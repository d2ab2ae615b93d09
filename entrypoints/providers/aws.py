"""aws-s3: the S3 object store and the EC2 snapshot provider."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlparse

from cloud_base_backup.adapters.object_stores.destination import Destination
from cloud_base_backup.domain.errors import InvalidInput
from cloud_base_backup.domain.ports import Log, ObjectStore, SnapshotProvider
from cloud_base_backup.domain.redaction import CredentialForms
from cloud_base_backup.entrypoints.options import BackupOptions
from cloud_base_backup.entrypoints.providers.sdk import sdk_required

NAME = "aws-s3"
# What the redaction step masks: the SDK's credential variables, presigned-URL parameters,
# SSE-C headers (and boto3's parameter names for them).
CREDENTIALS = CredentialForms(
    name=NAME,
    secret_env=("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"),
    query_keys=("x-amz-signature", "x-amz-security-token", "x-amz-credential"),
    kv_keys=(
        "aws_secret_access_key", "aws_session_token", "x-amz-security-token", "x-amz-signature",
        "x-amz-server-side-encryption-customer-key(?!-md5)",
        "x-amz-copy-source-server-side-encryption-customer-key(?!-md5)",
        "ssecustomerkey", "copysourcessecustomerkey",
    ),
)
# barman 3.20: an S3 access-point (or Outposts / Object Lambda) ARN is the whole bucket.
_S3_ARN = re.compile(
    r"^arn:aws[a-z-]*:(s3|s3-object-lambda|s3-outposts):[^:/]*:[^:/]*:"
    r"(?:outpost[/:][^/:]+[/:])?accesspoint[/:][^/]+"
)


def claims_url(url: str) -> bool:
    """An s3:// URL is S3's whatever --cloud-provider says."""
    return urlparse(url).scheme.lower() == "s3"


def malformed(url: str) -> InvalidInput:
    return InvalidInput(f"Invalid s3 URL address: {url}")


def parse_url(url: str) -> Destination:
    parsed = urlparse(url)
    if parsed.scheme == "s3" and url[5:].startswith("arn:"):
        rest = url[5:]
        match = _S3_ARN.match(rest)
        if match:
            return Destination(NAME, match.group(0), rest[match.end() :].lstrip("/"))
    if parsed.scheme != "s3" or not parsed.netloc:
        raise malformed(url)
    return Destination(NAME, parsed.netloc, parsed.path.lstrip("/"))


def check_options(options: BackupOptions) -> None:
    """The conflicting-option checks, in barman's order, before any key file is read."""
    if options.sse_kms_key_id and options.encryption != "aws:kms":
        raise InvalidInput('Encryption type must be "aws:kms" if SSE KMS Key ID is specified')
    if options.sse_customer_key and options.sse_kms_key_id:
        raise InvalidInput("SSE-C (--sse-customer-key) cannot be used with --sse-kms-key-id")
    if options.sse_customer_key and options.encryption:
        raise InvalidInput("SSE-C (--sse-customer-key) cannot be used with -e/--encryption")


def object_store(
    options: BackupOptions, destination: Destination, env: Mapping[str, str], log: Log
) -> ObjectStore:
    from cloud_base_backup.adapters.object_stores.s3 import S3ObjectStore
    from cloud_base_backup.adapters.sse import load_sse_customer_key

    check_options(options)
    key = load_sse_customer_key(options.sse_customer_key) if options.sse_customer_key else None
    return S3ObjectStore(
        bucket=destination.bucket,
        endpoint_url=options.endpoint_url,
        profile=options.aws_profile,
        read_timeout=options.read_timeout,
        addressing_style=options.addressing_style,
        encryption=options.encryption,
        sse_kms_key_id=options.sse_kms_key_id,
        sse_customer_key=key,
        tags=options.tags,
        log=log,
    )


SNAPSHOT_REQUIRED: tuple[str, ...] = ()  # options snapshots need beyond instance and disks


def check_snapshot_options(options: BackupOptions) -> None:
    """EC2 needs no option beyond the instance and the disks."""


def snapshot_provider(options: BackupOptions, log: Log) -> SnapshotProvider:
    with sdk_required():
        from cloud_base_backup.adapters.snapshots.aws_ec2 import Ec2SnapshotProvider
    return Ec2SnapshotProvider(
        profile=options.aws_profile,
        region=options.aws_region,
        await_timeout=options.aws_await_snapshots_timeout,
        lock_mode=options.aws_snapshot_lock_mode,
        lock_duration=options.aws_snapshot_lock_duration,
        lock_cool_off_period=options.aws_snapshot_lock_cool_off_period,
        lock_expiration_date=options.aws_snapshot_lock_expiration_date,
        tags=options.tags,
        log=log,
    )
