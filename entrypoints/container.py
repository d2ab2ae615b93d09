"""The dependency-injector container: all wiring of options, adapters and use cases."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from dependency_injector import containers, providers

from adapters.filetree import LocalFileTree
from adapters.mounts import FindmntMountInspector
from adapters.reporting import reporter_for, terminal_for
from adapters.system import NullProgress, SystemClock, TerminalProgress, make_logger
from adapters.tar_sink import TarArchiveSink
from domain import relay, services
from domain.destination import Destination, parse_destination
from domain.errors import BackupFailed, InvalidInput
from domain.options import BackupOptions
from domain.snapshot_backup import SnapshotDeps, take_snapshot_backup
from domain.snapshots import SnapshotRequest
from domain.splitting import capped, chunk_size


def _s3_store(options: BackupOptions, destination: Destination, log: Any) -> Any:
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


def _azure_store(
    options: BackupOptions, destination: Destination, env: Mapping[str, str], log: Any
) -> Any:
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


def _gcs_store(
    options: BackupOptions, destination: Destination, env: Mapping[str, str], log: Any
) -> Any:
    from adapters.object_stores.gcs import GcsObjectStore

    if options.kms_key_name and options.snapshot_instance:
        raise InvalidInput("KMS key cannot be specified for snapshot backups")
    universe = env.get("GOOGLE_CLOUD_UNIVERSE_DOMAIN")  # barman's only GCS variable
    return GcsObjectStore(
        destination.bucket,
        prefix=destination.prefix,
        kms_key_name=options.kms_key_name,
        tags=options.tags,
        client_options={"universe_domain": universe} if universe else None,
        log=log,
    )


@contextmanager
def _sdk_required() -> Iterator[None]:
    try:
        yield
    except ImportError as exc:  # barman exits 1 with this text when a compute SDK is missing
        raise BackupFailed(f"Missing required python module: {exc.name}") from None


def _ec2_provider(options: BackupOptions, log: Any) -> Any:
    with _sdk_required():
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


def _azure_provider(options: BackupOptions) -> Any:
    with _sdk_required():
        from adapters.snapshots.azure_compute import AzureComputeSnapshotProvider, make_credential

        credential = make_credential(options.azure_credential)
    return AzureComputeSnapshotProvider(
        options.azure_subscription_id or "", options.azure_resource_group, credential
    )


def _gce_provider(options: BackupOptions) -> Any:
    with _sdk_required():
        from adapters.snapshots.gcp_compute import GceSnapshotProvider
    return GceSnapshotProvider(options.gcp_project or "", options.gcp_zone)


def _snapshot_request(options: BackupOptions, destination: Destination) -> SnapshotRequest:
    return SnapshotRequest(
        server_name=options.server_name,
        prefix=destination.prefix,
        cloud_provider=options.cloud_provider,
        instance=options.snapshot_instance,
        disks=tuple(options.snapshot_disks),
        gcp_project=options.gcp_project,
        gcp_zone=options.gcp_zone,
        azure_subscription_id=options.azure_subscription_id,
        azure_resource_group=options.azure_resource_group,
        immediate_checkpoint=options.immediate_checkpoint,
        backup_name=options.backup_name,
        keepalive_interval=options.keepalive_interval,
    )


def _postgres(options: BackupOptions, log: Any) -> Iterator[Any]:
    from adapters.postgres import ConnParams, PsycopgPostgres

    server = PsycopgPostgres(
        ConnParams(host=options.host, port=options.port, user=options.user, dbname=options.dbname),
        log,
    )
    try:
        yield server
    finally:
        server.close()


def _max_archive_size(options: BackupOptions, log: Any) -> int:
    limit, was_capped = capped(options.max_archive_size)
    if was_capped:
        log.warning("max-archive-size too big. Capping it to 1.0 TiB")
    return limit


def _progress(stream: TextIO, options: BackupOptions) -> Any:
    if options.quiet or not stream.isatty():
        return NullProgress()
    return TerminalProgress(stream)


def _relay_request(
    options: BackupOptions, destination: Destination, limit: int, **hook: Any
) -> relay.RelayRequest:
    """Hook mode: the options plus barman's backup dir, id and backup.info bytes (from hook.py)."""
    return relay.RelayRequest(
        server_name=options.server_name,
        prefix=destination.prefix,
        compression=options.compression,
        max_archive_size=limit,
        **hook,
    )


def _request(options: BackupOptions, destination: Destination, limit: int) -> services.BackupRequest:
    return services.BackupRequest(
        server_name=options.server_name,
        prefix=destination.prefix,
        compression=options.compression,
        max_archive_size=limit,
        jobs=options.jobs,
        immediate_checkpoint=options.immediate_checkpoint,
        backup_name=options.backup_name,
        keepalive_interval=options.keepalive_interval,
    )


class Container(containers.DeclarativeContainer):
    options = providers.Dependency(instance_of=BackupOptions)
    env = providers.Dependency(instance_of=dict)
    stderr: providers.Dependency[Any] = providers.Dependency()

    terminal = providers.Singleton(terminal_for, stderr, options.provided.quiet)
    log = providers.Singleton(make_logger, options.provided.log_level, terminal)
    reporter = providers.Singleton(
        reporter_for, terminal, options.provided.verbose, options.provided.quiet, env, log
    )
    clock = providers.Singleton(SystemClock)
    progress = providers.Singleton(_progress, stderr, options)
    destination = providers.Singleton(
        lambda o: parse_destination(o.cloud_provider, o.destination_url), options
    )
    object_store = providers.Selector(
        providers.Callable(lambda o: o.cloud_provider, options),
        **{
            "aws-s3": providers.Singleton(_s3_store, options, destination, log),
            "azure-blob-storage": providers.Singleton(_azure_store, options, destination, env, log),
            "google-cloud-storage": providers.Singleton(_gcs_store, options, destination, env, log),
        },
    )
    postgres = providers.Resource(_postgres, options, log)
    files = providers.Singleton(LocalFileTree, log=log)
    max_archive_size = providers.Singleton(_max_archive_size, options, log)
    part_size = providers.Singleton(
        chunk_size,
        object_store.provided.chunk_policy,
        providers.Callable(lambda o: o.max_archive_size, options),
        providers.Callable(lambda o: o.min_chunk_size, options),
    )
    sink = providers.Singleton(
        TarArchiveSink,
        store=object_store,
        compression=providers.Callable(lambda o: o.compression, options),
        part_size=part_size,
        jobs=providers.Callable(lambda o: o.jobs, options),
        max_bandwidth=providers.Callable(lambda o: o.max_bandwidth, options),
        log=log,
        on_uploaded=reporter.provided.uploaded,
    )
    deps = providers.Factory(
        services.BackupDeps,
        postgres=postgres,
        files=files,
        sink=sink,
        store=object_store,
        clock=clock,
        log=log,
        progress=progress,
    )
    request = providers.Factory(_request, options, destination, max_archive_size)
    check_connectivity = providers.Callable(services.check_connectivity, object_store)
    take_backup = providers.Callable(services.take_backup, request, deps)
    snapshot_provider = providers.Selector(
        providers.Callable(lambda o: o.cloud_provider, options),
        **{
            "aws-s3": providers.Singleton(_ec2_provider, options, log),
            "azure-blob-storage": providers.Singleton(_azure_provider, options),
            "google-cloud-storage": providers.Singleton(_gce_provider, options),
        },
    )
    mounts = providers.Singleton(FindmntMountInspector)
    snapshot_deps = providers.Factory(
        SnapshotDeps,
        postgres=postgres,
        store=object_store,
        provider=snapshot_provider.provider,  # built lazily, after PostgreSQL answered
        mounts=mounts,
        clock=clock,
        log=log,
    )
    snapshot_request = providers.Factory(_snapshot_request, options, destination)
    take_snapshot_backup = providers.Callable(take_snapshot_backup, snapshot_request, snapshot_deps)
    relay_deps = providers.Factory(
        relay.RelayDeps,
        files=files,
        sink=sink,
        store=object_store,
        clock=clock,
        log=log,
        progress=progress,
    )
    relay_request = providers.Factory(_relay_request, options, destination, max_archive_size)
    relay_backup = providers.Callable(relay.relay_backup, deps=relay_deps)


def make_container(options: BackupOptions, env: Mapping[str, str], stderr: TextIO) -> Container:
    container = Container(options=options, env=dict(env), stderr=stderr)
    return container
