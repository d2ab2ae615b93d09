"""Azure credential precedence (barman 3.19.1 order), checked on the clients built; no network."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.credentials import AzureSasCredential
from azure.identity import AzureCliCredential, DefaultAzureCredential, ManagedIdentityCredential

from cloud_base_backup.adapters.object_stores.azure_credentials import container_client
from cloud_base_backup.domain.errors import InvalidInput
from cloud_base_backup.entrypoints.providers.urls import parse_destination

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


REPORT = (
    "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
    "Attempted credentials:\n"
    "\tEnvironmentCredential: EnvironmentCredential authentication unavailable. "
    "Environment variables are not fully configured.\n"
    "Visit https://aka.ms/azsdk/python/identity/environmentcredential/troubleshoot to troubleshoot.\n"
    "\tManagedIdentityCredential: ManagedIdentityCredential authentication unavailable.\n"
    "\tAzureCliCredential: Azure CLI not found on path\n"
    "To mitigate this issue, please refer to the troubleshooting guidelines."
)


class RefusingCredential:
    """A TokenCredential that fails as DefaultAzureCredential does when nothing is usable."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        self.calls += 1
        raise ClientAuthenticationError(REPORT)

    def get_token_info(self, *scopes: str, **kwargs: Any) -> Any:
        return self.get_token(*scopes)


def test_a_refused_credential_is_one_line_naming_the_sources_and_is_not_retried() -> None:
    from cloud_base_backup.adapters.object_stores import azure_credentials
    from cloud_base_backup.adapters.object_stores.azure_blob import AzureBlobObjectStore
    from cloud_base_backup.domain.errors import CloudConnectionError

    credential = RefusingCredential()
    log = Log()
    client = azure_credentials._account_client(
        REAL, credential,
        {**azure_credentials.CLIENT_OPTIONS,
         "retry_policy": azure_credentials.LoggedExponentialRetry(log)},
    )
    with pytest.raises(CloudConnectionError) as caught:
        AzureBlobObjectStore(client, prefix="pg", log=log).check()
    message = str(caught.value)
    assert "\n" not in message
    assert message.endswith(
        "DefaultAzureCredential found no usable credential (tried EnvironmentCredential, "
        "ManagedIdentityCredential, AzureCliCredential); first: EnvironmentCredential "
        "authentication unavailable. Environment variables are not fully configured."
    )
    assert credential.calls == 1


def test_the_sdk_loggers_print_only_at_the_highest_verbosity(caplog: Any) -> None:
    import logging

    from cloud_base_backup.adapters.system import quiet_sdk_loggers

    sdk = logging.getLogger("azure.identity._credentials.chained")
    quiet_sdk_loggers(logging.WARNING)
    sdk.warning("a 14-line report")
    assert caplog.records == []
    quiet_sdk_loggers(logging.DEBUG)
    try:
        sdk.warning("a 14-line report")
        assert [r.getMessage() for r in caplog.records] == ["a 14-line report"]
    finally:
        quiet_sdk_loggers(logging.WARNING)
