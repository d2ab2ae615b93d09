"""The dependency-injector container: wiring only; the typed factories live in factories.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from dependency_injector import containers, providers

from cloud_base_backup.domain.archive_job import ArchiveDeps
from cloud_base_backup.domain.relay import relay_backup
from cloud_base_backup.domain.services import BackupDeps, check_connectivity, take_backup
from cloud_base_backup.domain.snapshot_backup import SnapshotDeps, take_snapshot_backup
from cloud_base_backup.entrypoints import factories as f
from cloud_base_backup.entrypoints.options import BackupOptions
from cloud_base_backup.entrypoints.providers import aws, azure, google


class Container(containers.DeclarativeContainer):
    options = providers.Dependency(instance_of=BackupOptions)
    env = providers.Dependency(instance_of=dict)
    stderr: providers.Dependency[TextIO] = providers.Dependency()

    terminal = providers.Singleton(f.terminal, stderr, options)
    log = providers.Singleton(f.logger, options, terminal)
    clock = providers.Singleton(f.clock)
    reporter = providers.Singleton(f.reporter, terminal, options, env, log, clock)
    destination = providers.Singleton(f.destination, options)
    object_store = providers.Selector(
        options.provided.cloud_provider,
        **{
            "aws-s3": providers.Singleton(aws.object_store, options, destination, env, log),
            "azure-blob-storage": providers.Singleton(azure.object_store, options, destination, env, log),
            "google-cloud-storage": providers.Singleton(google.object_store, options, destination, env, log),
        },
    )
    hooks = providers.Singleton(f.hooks, options, object_store, object_store, clock, log, reporter)
    snapshot_provider = providers.Selector(
        options.provided.cloud_provider,
        **{
            "aws-s3": providers.Singleton(aws.snapshot_provider, options, log),
            "azure-blob-storage": providers.Singleton(azure.snapshot_provider, options, log),
            "google-cloud-storage": providers.Singleton(google.snapshot_provider, options, log),
        },
    )
    postgres = providers.Resource(f.postgres, options, log)
    files = providers.Singleton(f.file_tree, log)
    mounts = providers.Singleton(f.mounts)
    sink = providers.Singleton(f.archive_sink, options, object_store, log, reporter)

    check_connectivity = providers.Callable(check_connectivity, object_store)
    take_backup = providers.Callable(
        take_backup,
        providers.Factory(f.backup_request, options, destination),
        providers.Factory(
            BackupDeps,
            postgres=postgres,
            files=files,
            sink=sink,
            store=object_store,
            clock=clock,
            log=log,
            hooks=hooks,
        ),
    )
    take_snapshot_backup = providers.Callable(
        take_snapshot_backup,
        providers.Factory(f.snapshot_request, options, destination),
        providers.Factory(
            SnapshotDeps,
            postgres=postgres,
            provider=snapshot_provider.provider,  # built lazily, after PostgreSQL answered
            mounts=mounts,
            store=object_store,
            clock=clock,
            log=log,
            hooks=hooks,
        ),
    )
    relay_request = providers.Factory(f.relay_request, options, destination)
    relay_backup = providers.Callable(
        relay_backup,
        deps=providers.Factory(
            ArchiveDeps,
            files=files,
            sink=sink,
            store=object_store,
            clock=clock,
            log=log,
            hooks=hooks,
        ),
    )


def make_container(options: BackupOptions, env: Mapping[str, str], stderr: TextIO) -> Container:
    return Container(options=options, env=dict(env), stderr=stderr)
