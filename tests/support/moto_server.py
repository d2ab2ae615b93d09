"""A moto S3 server in its own process, reachable by PostgreSQL's archive_command and barman."""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass

from tests.support.server_process import ServerProcess

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


class MotoServer(ServerProcess):
    """`python -m moto.server` on 127.0.0.1 and a free port; use as a context manager."""

    name = "moto"
    startup_timeout = 30.0

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.endpoint_url = f"http://{host}:{self.port}"

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]

    def child_env(self) -> dict[str, str]:
        return aws_env()

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
