"""Azure credential precedence (barman 3.19.1 order), checked on the clients built; no network."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.credentials import AzureSasCredential
from azure.identity import AzureCliCredential, DefaultAzureCredential, ManagedIdentityCredential

from adapters.object_stores.azure_credentials import container_client
from domain.destination import parse_destination
from domain.errors import InvalidInput

REAL = parse_destination("azure-blob-storage", "https://acct.blob.core.windows.net/backups/pg")
EMULATED = parse_destination("azure-blob-storage", "http://127.0.0.1:10000/devacct/backups/pg")
CONNECTION = (
    "DefaultEndpointsProtocol=http;AccountName=devacct;AccountKey=a2V5;"
    "BlobEndpoint=http://127.0.0.1:10000/devacct;"
)


class Log:
    def __init__(self) -> None:
        self.infos: list[str] = []

    def info(self, event: str, **_: Any) -> None:
        self.infos.append(event)

    debug = warning = error = info


def credential_of(client: Any) -> Any:
    return client.credential


def test_the_flag_wins_over_every_variable() -> None:
    env = {"AZURE_STORAGE_CONNECTION_STRING": CONNECTION, "AZURE_STORAGE_KEY": "a2V5"}
    for name, cls in [
        ("azure-cli", AzureCliCredential),
        ("managed-identity", ManagedIdentityCredential),
        ("default", DefaultAzureCredential),
    ]:
        client = container_client(REAL, env, Log(), azure_credential=name)
        assert isinstance(credential_of(client), cls)
        assert client.url == "https://acct.blob.core.windows.net/backups"


def test_a_connection_string_wins_over_sas_and_key_and_ignores_the_url_host() -> None:
    env = {
        "AZURE_STORAGE_CONNECTION_STRING": CONNECTION,
        "AZURE_STORAGE_SAS_TOKEN": "sv=x&sig=y",
        "AZURE_STORAGE_KEY": "a2V5",
    }
    log = Log()
    client = container_client(REAL, env, log)
    assert client.url == "http://127.0.0.1:10000/devacct/backups"
    assert log.infos == ["Authenticating to Azure with connection string"]


def test_an_empty_connection_string_still_counts_and_is_refused() -> None:
    with pytest.raises(InvalidInput, match="AZURE_STORAGE_CONNECTION_STRING"):
        container_client(
            REAL, {"AZURE_STORAGE_CONNECTION_STRING": "", "AZURE_STORAGE_KEY": "k"}, Log()
        )


def test_sas_token_then_shared_key_then_default() -> None:
    sas = container_client(
        REAL, {"AZURE_STORAGE_SAS_TOKEN": "sv=x&sig=y", "AZURE_STORAGE_KEY": "a2V5"}, Log()
    )
    assert isinstance(credential_of(sas), AzureSasCredential)
    key = container_client(REAL, {"AZURE_STORAGE_KEY": "a2V5"}, Log())
    # the SDK turns the named key into its shared-key credential, account taken from the host
    assert (credential_of(key).account_name, credential_of(key).account_key) == ("acct", "a2V5")
    default = container_client(REAL, {}, Log())
    assert isinstance(credential_of(default), DefaultAzureCredential)


def test_the_emulator_form_needs_a_connection_string() -> None:
    with pytest.raises(InvalidInput, match="connection string must be provided"):
        container_client(EMULATED, {"AZURE_STORAGE_KEY": "a2V5"}, Log())
    with pytest.raises(InvalidInput, match="--azure-credential"):
        container_client(EMULATED, {}, Log(), azure_credential="default")
    client = container_client(EMULATED, {"AZURE_STORAGE_CONNECTION_STRING": CONNECTION}, Log())
    assert client.container_name == "backups"


def test_an_unknown_credential_name_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        container_client(REAL, {}, Log(), azure_credential="password")
