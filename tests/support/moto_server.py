"""A moto S3 server in its own process, reachable by PostgreSQL's archive_command and barman."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port, wait_for_port

# Dummy credentials: moto accepts anything, botocore only needs something to sign with. No profile,
# config file or instance-metadata lookup of the developer's may leak into the tools under test.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def aws_env() -> dict[str, str]:
    """os.environ without any inherited AWS_* variable, plus AWS_ENV."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | AWS_ENV


class MotoServer:
    """`python -m moto.server` on 127.0.0.1 and a free port; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.endpoint_url = f"http://{host}:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = Path(tempfile.mkstemp(prefix="moto-", suffix=".log")[1])

    def start(self) -> MotoServer:
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=aws_env(),
            )
        try:
            wait_for_port(self.port, self.host, timeout=30)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"moto_server did not start:\n{self._log.read_text()}") from None
        return self

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        self._log.unlink(missing_ok=True)

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self):  # -> botocore S3 client
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=AWS_ENV["AWS_DEFAULT_REGION"],
        )

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh random name by default) and return its name."""
        name = name or f"e2e-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            obj["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]


@dataclass(frozen=True)
class Destination:
    """Where one test's backups and WAL go: s3://bucket/prefix, under a server name."""

    moto: MotoServer
    bucket: str
    prefix: str
    server: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def keys(self, under: str = "") -> list[str]:
        """Keys below <prefix>/<server>/<under>."""
        return self.moto.keys(self.bucket, f"{self.prefix}/{self.server}/{under}")
