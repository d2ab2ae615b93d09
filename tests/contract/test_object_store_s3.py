"""The ObjectStore contract on S3ObjectStore against moto, plus S3-only headers and error mapping."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from cloud_base_backup.adapters.object_stores.s3 import S3ObjectStore
from cloud_base_backup.adapters.object_stores.s3_retries import (
    DEFAULT_MAX_ATTEMPTS,
    FIRST_CONTACT_ATTEMPTS,
)
from cloud_base_backup.domain.errors import CloudConnectionError, InvalidInput, StorageError
from cloud_base_backup.domain.ports import ObjectStore
from tests.fakes import RecordingLog
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.ports import free_port

from .object_store_suite import ObjectStoreContract, ReadOpenParts, ReadTags

pytestmark = pytest.mark.contract

SSE_C_KEY_HEADER = "x-amz-server-side-encryption-customer-key"


def local_only(store: S3ObjectStore) -> S3ObjectStore:
    """Refuse, loudly, any request that would leave the machine."""

    def guard(request: Any, **_: Any) -> None:
        if not request.url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"test tried to reach {request.url}")

    store.client.meta.events.register("before-send.s3", guard)
    return store


def recorder(store: S3ObjectStore) -> list[tuple[str, dict[str, str]]]:
    """(operation, lower-cased headers) of every request the store sends from now on."""
    sent: list[tuple[str, dict[str, str]]] = []

    def record(request: Any, event_name: str, **_: Any) -> None:
        headers = {
            name.lower(): value.decode() if isinstance(value, bytes) else str(value)
            for name, value in request.headers.items()
        }
        sent.append((event_name.rsplit(".", 1)[-1], headers))

    store.client.meta.events.register("before-send.s3", record)
    return sent


def answer(store: S3ObjectStore, operation: str, status: int) -> None:
    """Make the store's `operation` requests get an empty `status` reply without sending them."""

    class _Raw:
        def stream(self) -> Any:
            return iter([b""])

    def reply(request: Any, **_: Any) -> Any:
        # a before-send handler that returns a response short-circuits the HTTP request
        return AWSResponse(request.url, status, HTTPHeaders(), _Raw())

    store.client.meta.events.register(f"before-send.s3.{operation}", reply)


class S3Fixtures:
    @pytest.fixture
    def make_store(self, moto_endpoint: str) -> Callable[..., S3ObjectStore]:
        def make(bucket: str, **options: Any) -> S3ObjectStore:
            return local_only(S3ObjectStore(bucket, endpoint_url=moto_endpoint, **options))

        return make

    @pytest.fixture
    def subject(
        self, make_store: Callable[..., S3ObjectStore], s3_bucket: str, store_tags: Any
    ) -> ObjectStore:
        return make_store(s3_bucket, tags=store_tags)

    @pytest.fixture
    def missing_bucket_subject(self, make_store: Callable[..., S3ObjectStore]) -> ObjectStore:
        return make_store(f"contract-missing-{uuid.uuid4().hex[:16]}", max_attempts=1)

    @pytest.fixture
    def unreachable_subject(self) -> ObjectStore:
        endpoint = f"http://127.0.0.1:{free_port()}"
        return local_only(S3ObjectStore("anything", endpoint_url=endpoint, max_attempts=1))

    @pytest.fixture
    def min_part_size(self) -> int:
        return 5 << 20

    @pytest.fixture
    def read_tags(self, s3_admin: Any, s3_bucket: str) -> ReadTags:
        def read(key: str) -> dict[str, str]:
            tag_set = s3_admin.get_object_tagging(Bucket=s3_bucket, Key=key)["TagSet"]
            return {tag["Key"]: tag["Value"] for tag in tag_set}

        return read


    @pytest.fixture
    def read_open_parts(self, s3_admin: Any, s3_bucket: str) -> ReadOpenParts:
        def read(key: str) -> dict[int, int]:
            uploads = s3_admin.list_multipart_uploads(Bucket=s3_bucket, Prefix=key)["Uploads"]
            (upload,) = [up for up in uploads if up["Key"] == key]
            parts = s3_admin.list_parts(Bucket=s3_bucket, Key=key, UploadId=upload["UploadId"])
            return {part["PartNumber"]: part["Size"] for part in parts["Parts"]}

        return read


class TestS3ObjectStore(S3Fixtures, ObjectStoreContract):
    pass


class TestS3Specifics(S3Fixtures):
    def test_client_retries_with_backoff_and_pools_connections(
        self, make_store: Any, s3_bucket: str
    ) -> None:
        subject = make_store(s3_bucket)
        config = subject.client.meta.config
        # botocore counts max_attempts as retries: 10 retries after the first try
        assert config.retries == {"mode": "standard", "total_max_attempts": 11}
        assert config.max_pool_connections == 32
        assert subject.chunk_policy.min_chunk == 5 << 20
        assert subject.chunk_policy.max_chunks == 10_000
        assert subject.description == f"s3://{subject.bucket}"

    def test_aes256_is_reported_on_every_object(
        self, make_store: Any, s3_bucket: str, s3_admin: Any
    ) -> None:
        store = make_store(s3_bucket, encryption="AES256")
        store.put("backup.info", b"info")
        upload = store.start_multipart("data.tar")
        upload.upload_part(1, b"data")
        upload.complete()
        for key in ("backup.info", "data.tar"):
            assert (
                s3_admin.head_object(Bucket=s3_bucket, Key=key)["ServerSideEncryption"] == "AES256"
            )

    def test_kms_and_tags_go_on_object_creation_only(self, make_store: Any, s3_bucket: str) -> None:
        store = make_store(
            s3_bucket, encryption="aws:kms", sse_kms_key_id="alias/backups", tags=[("a", "x y")]
        )
        sent = recorder(store)
        store.put("backup.info", b"info")
        upload = store.start_multipart("data.tar")
        upload.upload_part(1, b"data")
        upload.complete()
        creating = {"PutObject", "CreateMultipartUpload"}
        for operation, headers in sent:
            expected = operation in creating
            assert (headers.get("x-amz-server-side-encryption") == "aws:kms") is expected, operation
            assert ("x-amz-server-side-encryption-aws-kms-key-id" in headers) is expected
            assert (headers.get("x-amz-tagging") == "a=x%20y") is expected, operation
        assert {operation for operation, _ in sent} >= creating | {"UploadPart"}

    def test_sse_c_key_goes_on_data_requests_only(self, make_store: Any, s3_bucket: str) -> None:
        key = os.urandom(32)
        store = make_store(s3_bucket, sse_customer_key=key)
        sent = recorder(store)
        store.put("backup.info", b"info")
        upload = store.start_multipart("data.tar")
        for number in (1, 2):
            upload.upload_part(number, b"x" * (5 << 20) if number == 1 else b"last")
        upload.complete()
        store.get("backup.info")
        store.exists("backup.info")
        store.list_keys("")
        store.delete(["backup.info"])
        carrying = [op for op, headers in sent if SSE_C_KEY_HEADER in headers]
        assert carrying == [
            "PutObject",
            "CreateMultipartUpload",
            "UploadPart",
            "UploadPart",
            "GetObject",
            "HeadObject",
        ]
        not_carrying = {op for op, headers in sent if SSE_C_KEY_HEADER not in headers}
        assert not_carrying == {"CompleteMultipartUpload", "ListObjectsV2", "DeleteObjects"}
        for _, headers in sent:
            if SSE_C_KEY_HEADER in headers:
                assert base64.b64decode(headers[SSE_C_KEY_HEADER]) == key
                assert headers["x-amz-server-side-encryption-customer-algorithm"] == "AES256"

    def test_a_large_put_goes_multipart(self, make_store: Any, s3_bucket: str) -> None:
        store = make_store(s3_bucket)
        store.multipart_threshold = store.put_part_size = 5 << 20
        sent = recorder(store)
        data = os.urandom(11 << 20)
        store.put("big", data)
        assert [op for op, _ in sent].count("UploadPart") == 3
        assert store.get("big") == data

    def test_delete_sends_batches_of_1000_keys(self, make_store: Any, s3_bucket: str) -> None:
        store = make_store(s3_bucket)
        sent = recorder(store)
        store.delete([f"k{n}" for n in range(2500)])
        assert [op for op, _ in sent] == ["DeleteObjects"] * 3

    @pytest.mark.parametrize(
        ("status", "message"),
        [
            (403, "Permission denied when accessing bucket"),
            (400, "Bad request when accessing bucket"),
        ],
    )
    def test_check_refused_exits_4(
        self, make_store: Any, s3_bucket: str, status: int, message: str
    ) -> None:
        subject = make_store(s3_bucket)
        answer(subject, "HeadBucket", status)
        with pytest.raises(InvalidInput, match=message):
            subject.check()

    def test_a_server_error_becomes_a_one_line_storage_error(
        self, make_store: Any, s3_bucket: str
    ) -> None:
        store = make_store(s3_bucket, max_attempts=1)
        answer(store, "PutObject", 500)
        with pytest.raises(StorageError) as raised:
            store.put("srv/backup.info", b"x")
        assert "s3://" in str(raised.value) and "srv/backup.info" in str(raised.value)

    def test_abort_swallows_errors(self, make_store: Any, s3_bucket: str) -> None:
        store = make_store(s3_bucket, max_attempts=1)
        upload = store.start_multipart("data.tar")
        answer(store, "AbortMultipartUpload", 500)
        upload.abort()
        assert store.open_multiparts("") == ["data.tar"]

    def test_unknown_profile_is_invalid_input(self, moto_endpoint: str) -> None:
        store = S3ObjectStore(
            "bucket", endpoint_url=moto_endpoint, profile=f"no-{uuid.uuid4().hex}"
        )
        with pytest.raises(InvalidInput, match="could not be found"):
            store.check()

    def test_missing_credentials_are_invalid_input(
        self, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)
        store = local_only(S3ObjectStore("bucket", endpoint_url=moto_endpoint))
        with pytest.raises(InvalidInput, match="Unable to locate credentials"):
            store.check()

    def test_an_access_point_arn_is_kept_whole(self, moto_endpoint: str) -> None:
        arn = "arn:aws:s3:eu-west-1:123456789012:accesspoint/backups"
        store = S3ObjectStore(arn, endpoint_url=moto_endpoint)
        assert store.description == f"s3://{arn}"
        with pytest.raises(InvalidInput, match="access point"):
            store.create_bucket()


def fail_first(store: S3ObjectStore, operation: str, statuses: list[int]) -> list[int]:
    """The store's first `operation` requests get these error statuses; later ones go through."""
    pending = list(statuses)

    class _Raw:
        def stream(self) -> Any:
            return iter([b""])

    def reply(request: Any, **_: Any) -> Any:
        if pending:
            return AWSResponse(request.url, pending.pop(0), HTTPHeaders(), _Raw())
        return None

    store.client.meta.events.register(f"before-send.s3.{operation}", reply)
    return pending


class TestS3Retries(S3Fixtures):
    """Fast failure at first contact, a full budget afterwards, and a warning per retry."""

    def test_a_closed_port_fails_after_the_first_contact_budget(self) -> None:
        log = RecordingLog()
        store = local_only(
            S3ObjectStore("b", endpoint_url=f"http://127.0.0.1:{free_port()}", log=log)
        )
        with pytest.raises(CloudConnectionError, match="Can't connect to cloud provider"):
            store.check()
        retries = [f for lvl, e, f in log.records if e == "store.retry"]
        assert [r["attempt"] for r in retries] == list(range(2, FIRST_CONTACT_ATTEMPTS + 1))
        assert all(r["request"] == "HeadBucket /b" for r in retries)
        assert all(r["cause"].startswith("EndpointConnectionError") for r in retries)

    def test_an_unresolvable_host_fails_after_the_first_contact_budget(self) -> None:
        log = RecordingLog()
        store = S3ObjectStore("b", endpoint_url="http://cbb-no-such-host.invalid", log=log)
        with pytest.raises(CloudConnectionError):
            store.check()
        assert log.events("warning") == ["store.retry"] * (FIRST_CONTACT_ATTEMPTS - 1)

    def test_transient_errors_after_first_contact_are_retried_and_logged(
        self, make_store: Any, s3_bucket: str, s3_admin: Any
    ) -> None:
        log = RecordingLog()
        store = make_store(s3_bucket, log=log)
        store.check()
        # more failures than the first-contact budget: the full budget applies now
        left = fail_first(store, "PutObject", [503, 500, 429, 503])
        store.put("srv/backup.info", b"info")
        assert left == []
        retries = [f for lvl, e, f in log.records if e == "store.retry"]
        assert [r["attempt"] for r in retries] == [2, 3, 4, 5]
        assert [r["cause"].split()[1] for r in retries] == ["503", "500", "429", "503"]
        assert all(r["max_attempts"] == DEFAULT_MAX_ATTEMPTS for r in retries)
        assert retries[0]["request"] == f"PutObject /{s3_bucket}/srv/backup.info"
        body = s3_admin.get_object(Bucket=s3_bucket, Key="srv/backup.info")["Body"].read()
        assert body == b"info"

    def test_aws_max_attempts_and_retry_mode_are_honoured(
        self, make_store: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
        monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
        log = RecordingLog()
        store = make_store(s3_bucket, log=log)
        assert store.client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 2}
        store.check()
        fail_first(store, "PutObject", [503, 503])
        with pytest.raises(StorageError):
            store.put("srv/x", b"x")
        assert log.events("warning") == ["store.retry"]


class TestS3WithoutConditionalWrites(S3Fixtures):
    """An S3-compatible store that answers If-None-Match with 501 NotImplemented (older Ceph
    RGW, some appliances): the id claim falls back to a check then a plain write, with one
    WARNING, instead of failing every backup."""

    def test_the_claim_falls_back_to_check_then_write(self, moto_endpoint: str, s3_bucket: str) -> None:
        refuse = Fault(lambda method, path: method == "PUT", 501, "NotImplemented", times=10**6,
                       header="If-None-Match")
        log = RecordingLog()
        with FaultProxy(moto_endpoint, [refuse]) as proxy:
            store = local_only(S3ObjectStore(s3_bucket, endpoint_url=proxy.endpoint_url, log=log))
            key = f"fallback-{uuid.uuid4().hex[:8]}/base/20261201T000000/backup.info"
            assert store.put_if_absent(key, b"first") is True
            assert store.put_if_absent(key, b"second") is False
            assert store.get(key) == b"first"
        assert refuse.hits == 1  # asked once; the store is then known not to support it
        warnings = [e for lvl, e, _ in log.records if lvl == "warning"]
        assert warnings == ["s3.conditional_write_unsupported"]

    def test_other_refusals_of_the_conditional_write_still_fail(
        self, moto_endpoint: str, s3_bucket: str
    ) -> None:
        refuse = Fault(lambda method, path: method == "PUT", 403, "AccessDenied", times=10**6,
                       header="If-None-Match")
        with FaultProxy(moto_endpoint, [refuse]) as proxy:
            store = local_only(S3ObjectStore(s3_bucket, endpoint_url=proxy.endpoint_url))
            with pytest.raises(StorageError, match="conditional upload"):
                store.put_if_absent(f"denied-{uuid.uuid4().hex[:8]}/backup.info", b"x")
