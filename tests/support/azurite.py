"""Azurite (the Azure Blob stand-in, from npm) in its own process on 127.0.0.1 and a free port."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from tests.support.server_process import ServerProcess

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "devstoreaccount1"
# Azurite's fixed, publicly documented development account key
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azurite_binary() -> str:
    """$AZURITE_BIN, else the copy .ci/run installs under .cache/npm, else azurite-blob on PATH."""
    candidates = [
        os.environ.get("AZURITE_BIN"),
        str(REPO / ".cache" / "npm" / "node_modules" / ".bin" / "azurite-blob"),
        shutil.which("azurite-blob"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(
        "azurite-blob not found: run `npm install --prefix .cache/npm azurite` (as .ci/run does)"
    )


class Azurite(ServerProcess):
    """Blob service only, in memory, telemetry off; use as a context manager."""

    name = "azurite"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/{ACCOUNT}"

    def argv(self) -> list[str]:
        return [
            azurite_binary(),
            "--blobHost", self.host, "--blobPort", str(self.port),
            "--inMemoryPersistence", "--skipApiVersionCheck", "--loose",
            "--disableTelemetry", "--silent",
        ]  # fmt: skip

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    def url(self, container: str, path: str = "") -> str:
        """The emulator form of a destination URL: http://HOST:PORT/ACCOUNT/CONTAINER/PATH."""
        return f"{self.endpoint}/{container}/{path}".rstrip("/")

    def service(self):  # -> azure.storage.blob.BlobServiceClient
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def create_container(self, name: str | None = None) -> str:
        name = name or f"c{uuid.uuid4().hex[:20]}"
        self.service().create_container(name)
        return name

    def keys(self, container: str, prefix: str = "") -> list[str]:
        client = self.service().get_container_client(container)
        return list(client.list_blob_names(name_starts_with=prefix))
