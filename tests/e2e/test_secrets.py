"""No planted credential ever leaks: each provider x each failure path we can provoke, at the
default verbosity and at -vv, checked in stdout, stderr and every object the run wrote.

The failure paths: an endpoint nothing listens on (unreachable), a store that refuses every
request (a proxy answering 403 with an error message that quotes the request line and its
Authorization header, as a careless upstream might), malformed input holding a secret, and a
failure in the middle of the upload (the proxy fails the archive uploads, the same quoting
error) so that a FAILED backup.info is written. fake-gcs-server takes no credential, so the GCS
rows plant the PostgreSQL passwords and the other providers' variables only.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

import boto3
import pytest

from tests.support.azurite import ACCOUNT, ACCOUNT_KEY, Azurite
from tests.support.fake_gcs import FakeGcs
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.moto_server import MotoServer, aws_env
from tests.support.pgcluster import DEFAULT_BINDIR, PgCluster, chown_to_postgres
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

PG_ENV_PASSWORD = "PlantedPgEnvPassw0rd"
CONNINFO_PASSWORD = "PlantedConninfoPassw0rd"
SSE_C_KEY = base64.b64encode(b"PlantedSseCustomerKey0123456789a").decode()
COMMON = {  # given to every run, whatever the provider
    "PGPASSWORD": PG_ENV_PASSWORD,
    "AWS_ACCESS_KEY_ID": "AKIAPLANTEDKEYID",
    "AWS_SECRET_ACCESS_KEY": "PlantedAwsSecretAccessKey/abc+XYZ0123456789",
    "AWS_SESSION_TOKEN": "PlantedAwsSessionTokenFwoGZXIvYXdzEJr",
    "AZURE_CLIENT_SECRET": "PlantedAzureClientSecret~0123",
}
WRONG_ACCOUNT_KEY = base64.b64encode(b"PlantedWrongAzureAccountKey!0123456789").decode()


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    """A small running cluster (no WAL archiving: every row fails before the stop)."""
    root = Path(tempfile.mkdtemp(prefix="e2e-secrets-", dir=os.environ.get("E2E_TMPDIR")))
    chown_to_postgres(root, recursive=False)
    pg = PgCluster(root / "pg", DEFAULT_BINDIR)
    pg.initdb()
    pg.configure(fsync="off")
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@dataclass
class Target:
    """One run's destination: argv and env for our CLI, and a way to read what it wrote."""

    argv: list[str]
    env: dict[str, str]
    planted: list[str]
    objects: Callable[[], dict[str, bytes]]


def _s3(moto: MotoServer, endpoint: str | None = None) -> Target:
    bucket = moto.create_bucket()
    client = boto3.client("s3", endpoint_url=moto.endpoint_url, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip

    def objects() -> dict[str, bytes]:
        listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}

    return Target(
        ["--endpoint-url", endpoint or moto.endpoint_url, f"s3://{bucket}/p"],
        {"AWS_DEFAULT_REGION": "us-east-1"},
        list(COMMON.values()),
        objects,
    )


def _azure(azurite: Azurite, endpoint: str | None = None, key: str | None = None) -> Target:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    container = azurite.create_container()
    sas = generate_container_sas(
        ACCOUNT, container, account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, add=True, create=True, write=True,
                                           delete=True, list=True, tag=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )  # fmt: skip
    blob_endpoint = endpoint or azurite.endpoint
    if key is None:
        connection = f"BlobEndpoint={blob_endpoint};SharedAccessSignature={sas}"
    else:
        connection = f"AccountName={ACCOUNT};AccountKey={key};BlobEndpoint={blob_endpoint};"
    sig = next(v for k, _, v in (p.partition("=") for p in sas.split("&")) if k == "sig")
    client = azurite.service().get_container_client(container)

    def objects() -> dict[str, bytes]:
        return {n: client.download_blob(n).readall() for n in client.list_blob_names()}

    return Target(
        ["--cloud-provider", "azure-blob-storage", f"{azurite.url(container)}/p"],
        {"AZURE_STORAGE_CONNECTION_STRING": connection},
        [*COMMON.values(), sig, sas, *([key] if key else [])],
        objects,
    )


def _gcs(fake_gcs: FakeGcs, endpoint: str | None = None) -> Target:
    bucket = fake_gcs.create_bucket()
    client = fake_gcs.client()

    def objects() -> dict[str, bytes]:
        return {b.name: b.download_as_bytes() for b in client.list_blobs(bucket)}

    return Target(
        ["--cloud-provider", "google-cloud-storage", f"gs://{bucket}/p"],
        {"STORAGE_EMULATOR_HOST": endpoint or fake_gcs.endpoint},
        list(COMMON.values()),
        objects,
    )


PROVIDERS = {"s3": ("moto", _s3), "azure": ("azurite", _azure), "gcs": ("fake_gcs", _gcs)}
# The archive uploads, as each SDK sends them: S3 parts or single PUTs of a .tar, Azure staged
# blocks, a GCS resumable session being opened. backup.info writes are let through.
ARCHIVE_UPLOAD = {
    "s3": lambda m, p: m == "PUT" and ".tar" in p,
    "azure": lambda m, p: m == "PUT" and ".tar" in p,
    "gcs": lambda m, p: m == "POST" and "uploadType=resumable" in p,
}
CLOSED = f"http://127.0.0.1:{free_port()}"


def _forms(secrets: list[str]) -> set[str]:
    """Each secret as given and as a URL carries it (an SDK re-quotes what it sends)."""
    forms = set()
    for secret in secrets:
        raw = unquote(secret)
        forms |= {secret, raw, quote(raw, safe=""), quote(raw, safe="=&"), quote_plus(raw)}
    return forms


def _run(cmd: str, cluster: PgCluster, target: Target, *extra: str, dbname: str | None = None):
    conninfo = dbname or (f"host={cluster.sockdir} port={cluster.port} user=postgres "
                          f"dbname=postgres password={CONNINFO_PASSWORD}")  # fmt: skip
    planted = _forms([*target.planted, CONNINFO_PASSWORD, SSE_C_KEY])
    results = []
    for verbosity in ([], ["-vv"]):
        env = aws_env() | COMMON | target.env
        argv = [cmd, "-d", conninfo, *verbosity, *extra, *target.argv[:-1],
                "--immediate-checkpoint", target.argv[-1], "pg"]  # fmt: skip
        res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        shown = res.stdout + res.stderr
        leaked = [s for s in planted if s in shown]
        assert not leaked, f"{verbosity}: planted secrets {leaked} in:\n{shown}"
        if not verbosity:
            assert "Traceback" not in shown, shown
        results.append(res)
    written = target.objects()
    for key, data in written.items():
        leaked = [s for s in planted if s.encode() in data]
        assert not leaked, f"planted secrets {leaked} in the object {key}"
    return results, written


def _target(request: pytest.FixtureRequest, provider: str, **kw) -> Target:
    fixture, make = PROVIDERS[provider]
    return make(request.getfixturevalue(fixture), **kw)


def _upstream(request: pytest.FixtureRequest, provider: str) -> str:
    """The stand-in's root URL (what a proxy forwards to)."""
    server = request.getfixturevalue(PROVIDERS[provider][0])
    return f"http://{server.host}:{server.port}"


def _endpoint(provider: str, root: str) -> str:
    """The endpoint our CLI is given for a server root (Azurite's names the account)."""
    return root + (f"/{ACCOUNT}" if provider == "azure" else "")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unreachable_store(request, backup_cmd, cluster, provider):
    target = _target(request, provider, endpoint=_endpoint(provider, CLOSED))
    results, written = _run(backup_cmd, cluster, target)
    assert [r.returncode for r in results] == [2, 2], results[0].stderr
    assert "127.0.0.1" in results[0].stderr  # the cause (where) stays readable
    assert written == {}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_store_refuses_every_request(request, backup_cmd, cluster, provider):
    every = Fault(lambda m, p: True, 403, "AccessDenied", times=10**6, echo=True)
    with FaultProxy(_upstream(request, provider), [every]) as proxy:
        target = _target(request, provider, endpoint=_endpoint(provider, proxy.endpoint_url))
        results, written = _run(backup_cmd, cluster, target)
    assert proxy.injected
    assert all(r.returncode in (1, 2, 4) for r in results), results[0].stderr
    assert written == {}


def test_azure_refuses_a_wrong_account_key(backup_cmd, cluster, azurite):
    target = _azure(azurite, key=WRONG_ACCOUNT_KEY)
    results, written = _run(backup_cmd, cluster, target)
    assert [r.returncode for r in results] == [2, 2], results[0].stderr
    assert written == {}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_conninfo_with_a_password(request, backup_cmd, cluster, provider):
    target = _target(request, provider)
    bad = f"host={cluster.sockdir} password='{CONNINFO_PASSWORD}"
    results, written = _run(backup_cmd, cluster, target, dbname=bad)
    assert [r.returncode for r in results] == [1, 1]
    assert "unterminated quoted string" in results[0].stderr
    assert written == {}


def test_inline_sse_c_key(backup_cmd, cluster, moto):
    results, written = _run(backup_cmd, cluster, _s3(moto), "--sse-customer-key", SSE_C_KEY)
    assert [r.returncode for r in results] == [4, 4]
    assert written == {}


def test_malformed_azure_connection_string(backup_cmd, cluster, azurite):
    target = _azure(azurite)
    target.env["AZURE_STORAGE_CONNECTION_STRING"] = f"AccountKey={WRONG_ACCOUNT_KEY};nonsense"
    results, written = _run(backup_cmd, cluster, target)
    assert all(r.returncode != 0 for r in results), results[0].stderr
    assert written == {}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_failure_in_the_middle_of_the_upload_writes_failed_without_secrets(
    request, backup_cmd, cluster, provider
):
    fault = Fault(ARCHIVE_UPLOAD[provider], 400, "InvalidRequest", times=10**6, echo=True)
    with FaultProxy(_upstream(request, provider), [fault]) as proxy:
        target = _target(request, provider, endpoint=_endpoint(provider, proxy.endpoint_url))
        results, written = _run(backup_cmd, cluster, target)
    assert proxy.injected
    assert [r.returncode for r in results] == [1, 1], results[0].stderr
    infos = [data.decode() for key, data in written.items() if key.endswith("/backup.info")]
    assert len(infos) == 2 and all("status=FAILED" in info for info in infos), written.keys()
    assert all("error=failure uploading data" in info for info in infos)
