"""aws-s3: the S3 object store and the EC2 snapshot provider."""

from __future__ import annotations

from collections.abc import Mapping

from domain.destination import Destination
from domain.options import BackupOptions
from domain.ports import Log, ObjectStore, SnapshotProvider
from entrypoints.providers.sdk import sdk_required


def object_store(
    options: BackupOptions, destination: Destination, env: Mapping[str, str], log: Log
) -> ObjectStore:
    from adapters.object_stores.s3 import S3ObjectStore
    from adapters.sse import check_s3_encryption_options, load_sse_customer_key

    check_s3_encryption_options(options)
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


def snapshot_provider(options: BackupOptions, log: Log) -> SnapshotProvider:
    with sdk_required():
        from adapters.snapshots.aws_ec2 import Ec2SnapshotProvider
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
