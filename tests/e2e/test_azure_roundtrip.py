"""Our CLI -> Azurite (emulator URL + connection string) -> the real barman-cloud-restore."""

from __future__ import annotations

import uuid

import pytest

from tests.support.azurite import Azurite
from tests.support.cloud_roundtrip import (
    CloudDest,
    restore_and_compare,
    take_backup,
    the_done_backup,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def cloud(azurite: Azurite) -> CloudDest:
    container, path = azurite.create_container(), f"e2e/{uuid.uuid4().hex[:8]}"
    return CloudDest(
        "azure-blob-storage",
        azurite.url(container, path),
        "pg",
        {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string},
        lambda under: azurite.keys(container, f"{path}/{under}"),
    )


def test_gzip_backup_in_blocks(backup_cmd, source, dest, cloud, oracle, workdir, tablespace):
    take_backup(backup_cmd, source, cloud, "-z", "-J", "3")
    expected = source.fingerprint()
    backup_id = the_done_backup(oracle, cloud, tablespace)
    assert {"backup.info", "data.tar.gz"} <= cloud.names(backup_id)
    restore_and_compare(oracle, cloud, dest, backup_id, workdir, source, tablespace, expected)


def test_split_archives(backup_cmd, source, dest, cloud, oracle, workdir, tablespace):
    take_backup(backup_cmd, source, cloud, "-S", "1MB", "--tag", "purpose,e2e test")
    expected = source.fingerprint()
    backup_id = the_done_backup(oracle, cloud, tablespace)
    assert {"data.tar", "data_0001.tar", "data_0002.tar"} <= cloud.names(backup_id)
    restore_and_compare(oracle, cloud, dest, backup_id, workdir, source, tablespace, expected)
