"""S3ObjectStore: the ObjectStore port on AWS S3 and S3-compatible endpoints, through boto3."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from cloud_base_backup.adapters.object_stores.s3_retries import RetryBudget, RetryLogger
from cloud_base_backup.adapters.system import NullLog
from cloud_base_backup.domain.errors import (
    BackupError,
    BucketNotFound,
    CloudConnectionError,
    InvalidInput,
    StorageError,
)
from cloud_base_backup.domain.model import OpenUpload
from cloud_base_backup.domain.ports import Log
from cloud_base_backup.domain.splitting import ChunkPolicy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIB = 1 << 20
S3_CHUNK_POLICY = ChunkPolicy(min_chunk=5 * MIB, max_chunks=10_000)
SDK_ERRORS = (BotoCoreError, ClientError, Boto3Error)
CHECK = "bucket check"
DELETE_BATCH = 1000  # DeleteObjects accepts at most 1000 keys per request


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _answered(exc: ClientError, status: int, *codes: str) -> bool:
    """Whether the service answered with this HTTP status or one of these error codes."""
    answered = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return answered == status or _code(exc) in (str(status), *codes)


class S3ObjectStore:
    """One S3 bucket (or access-point ARN); keys are full keys; the client is built on first use."""

    chunk_policy = S3_CHUNK_POLICY
    multipart_threshold = 100 * MIB  # single puts above this go multipart, as boto3's transfer does
    put_part_size = 64 * MIB

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        profile: str | None = None,
        read_timeout: float | None = None,
        addressing_style: str | None = None,
        encryption: str | None = None,
        sse_kms_key_id: str | None = None,
        sse_customer_key: bytes | None = None,
        tags: list[tuple[str, str]] | None = None,
        log: Log | None = None,
        max_attempts: int | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._endpoint_url = endpoint_url
        self._profile = profile
        self._read_timeout = read_timeout
        self._addressing_style = addressing_style
        self._max_attempts = max_attempts
        self._log: Log = log or NullLog()
        self._conditional_writes = True  # until the store answers If-None-Match with 501
        # SSE-C (barman 3.20) goes on every request that reads or writes object data; boto3
        # adds the base64 encoding and the key MD5 itself.
        self.sse_c_args: dict[str, Any] = (
            {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": sse_customer_key}
            if sse_customer_key
            else {}
        )
        # Tags and SSE/KMS go on object creation only, never on UploadPart.
        self.create_args: dict[str, Any] = dict(self.sse_c_args)
        if encryption:
            self.create_args["ServerSideEncryption"] = encryption
        if sse_kms_key_id:
            self.create_args["SSEKMSKeyId"] = sse_kms_key_id
        if tags:
            self.create_args["Tagging"] = urlencode(tags, quote_via=quote)
        self._client: S3Client | None = None
        self._client_lock = threading.Lock()

    @property
    def description(self) -> str:
        return f"s3://{self.bucket}"

    @property
    def client(self) -> S3Client:
        """The shared boto3 client (thread-safe, unlike sessions), built on first use."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._build_client()
        return self._client

    def _build_client(self) -> S3Client:
        session = boto3.Session(profile_name=self._profile)
        # max_attempts counts every attempt (AWS_MAX_ATTEMPTS's meaning); None: the user's or 11
        budget = RetryBudget.configured(session._session, self._max_attempts)
        options: dict[str, Any] = {"retries": budget.config(), "max_pool_connections": 32}
        if self._read_timeout is not None:
            options["read_timeout"] = self._read_timeout
        if self._addressing_style:
            options["s3"] = {"addressing_style": self._addressing_style}
        client = session.client("s3", endpoint_url=self._endpoint_url, config=Config(**options))
        RetryLogger(self._log, budget).attach(client)
        return client

    def sdk_error(self, exc: Exception, what: str) -> BackupError:
        """The domain error for an SDK exception raised by `what` (e.g. "upload of 'k'")."""
        if isinstance(exc, (BotoConnectionError, HTTPClientError)):
            during = "" if what == CHECK else f" ({self.description}: {what})"
            return CloudConnectionError(f"Can't connect to cloud provider: {exc}{during}")
        if isinstance(exc, NoCredentialsError):
            return InvalidInput("Unable to locate credentials")
        if isinstance(exc, ProfileNotFound):
            return InvalidInput(str(exc))
        if isinstance(exc, ClientError) and _code(exc) == "NoSuchBucket":
            return BucketNotFound(f"Bucket {self.bucket} does not exist")
        return StorageError(f"{self.description}: {what} failed: {exc}")

    @contextmanager
    def translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except SDK_ERRORS as exc:
            raise self.sdk_error(exc, what) from exc

    def _head_bucket(self) -> ClientError | None:
        """HeadBucket: None if the bucket answers, else the error the service returned."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            return exc
        except SDK_ERRORS as exc:
            raise self.sdk_error(exc, CHECK) from exc
        return None

    def check(self) -> None:
        if (exc := self._head_bucket()) is None:
            return
        if _answered(exc, 404, "NoSuchBucket"):
            raise BucketNotFound(f"Bucket {self.bucket} does not exist") from exc
        # barman 3.20 wording; both stay exit 4 as in barman
        if _answered(exc, 403, "AccessDenied", "Forbidden"):
            raise InvalidInput(
                f"Permission denied when accessing bucket '{self.bucket}'. "
                "Check the credentials and the bucket policy."
            ) from exc
        if _answered(exc, 400, "BadRequest"):
            raise InvalidInput(
                f"Bad request when accessing bucket '{self.bucket}'. "
                "Check the bucket name, the region and the endpoint."
            ) from exc
        raise self.sdk_error(exc, CHECK) from exc

    def bucket_exists(self) -> bool:
        if (exc := self._head_bucket()) is None:
            return True
        if _answered(exc, 404, "NoSuchBucket"):
            return False
        raise self.sdk_error(exc, CHECK) from exc

    def create_bucket(self) -> None:
        if self.bucket.startswith("arn:"):
            raise InvalidInput(f"Cannot create a bucket from the access point ARN {self.bucket}")
        with self.translated("bucket creation"):
            region = self.client.meta.region_name
            args: dict[str, Any] = {"Bucket": self.bucket, "ACL": "private"}
            if region and region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": region}
            self.client.create_bucket(**args)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key, **self.sse_c_args)
        except ClientError as exc:
            if _answered(exc, 404, "NoSuchKey", "NotFound"):
                return False
            raise self.sdk_error(exc, f"existence check of '{key}'") from exc
        except SDK_ERRORS as exc:
            raise self.sdk_error(exc, f"existence check of '{key}'") from exc
        return True

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.multipart_threshold:
            self._put_multipart(key, data)
            return
        with self.translated(f"upload of '{key}'"):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **self.create_args)
        self._log.debug("s3.put", key=key, size=len(data))

    def put_if_absent(self, key: str, data: bytes) -> bool:
        if not self._conditional_writes:
            return self._put_unless_exists(key, data)
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*", **self.create_args
            )
        except ClientError as exc:
            # 412: the key exists; 409 ConditionalRequestConflict: another conditional write of
            # the same key is in flight (S3 lets one of them win).
            if _answered(exc, 412, "PreconditionFailed") or _answered(
                exc, 409, "ConditionalRequestConflict"
            ):
                return False
            if _answered(exc, 501, "NotImplemented"):
                # An S3-compatible store without conditional writes: claim as barman does.
                self._conditional_writes = False
                self._log.warning(
                    "s3.conditional_write_unsupported",
                    store=self.description,
                    detail="the store refused If-None-Match (501): the backup id is claimed by a "
                    "check then a write, not atomically",
                )
                return self._put_unless_exists(key, data)
            raise self.sdk_error(exc, f"conditional upload of '{key}'") from exc
        except SDK_ERRORS as exc:
            raise self.sdk_error(exc, f"conditional upload of '{key}'") from exc
        self._log.debug("s3.put_if_absent", key=key, size=len(data))
        return True

    def _put_unless_exists(self, key: str, data: bytes) -> bool:
        """The claim without conditional writes: a check, then a plain write (not atomic)."""
        if self.exists(key):
            return False
        self.put(key, data)
        return True

    def _put_multipart(self, key: str, data: bytes) -> None:
        upload = self.start_multipart(key)
        try:
            view = memoryview(data)
            for number, start in enumerate(range(0, len(data), self.put_part_size), start=1):
                upload.upload_part(number, view[start : start + self.put_part_size])
            upload.complete()
        except BaseException:
            upload.abort()
            raise

    def get(self, key: str) -> bytes:
        with self.translated(f"download of '{key}'"):
            response = self.client.get_object(Bucket=self.bucket, Key=key, **self.sse_c_args)
            return response["Body"].read()

    def list_keys(self, prefix: str) -> list[str]:
        with self.translated(f"listing of '{prefix}'"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            with self.translated(f"deletion of '{batch[0]}'"):
                response = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
            if errors := response.get("Errors"):
                first = errors[0]
                more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
                raise StorageError(
                    f"{self.description}: deletion of '{first.get('Key')}' failed: "
                    f"{first.get('Code')} {first.get('Message')}{more}"
                )

    def start_multipart(self, key: str) -> S3MultipartUpload:
        with self.translated(f"multipart upload start of '{key}'"):
            response = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, **self.create_args
            )
        return S3MultipartUpload(self, key, response["UploadId"], self._log)

    def list_open_uploads(self, prefix: str) -> list[OpenUpload]:
        """Unfinished uploads under prefix, each with the time of its newest part."""
        found = []
        with self.translated(f"listing of multipart uploads under '{prefix}'"):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for upload in (up for page in pages for up in page.get("Uploads", [])):
                key, upload_id, initiated = upload["Key"], upload["UploadId"], upload["Initiated"]
                parts = self.client.get_paginator("list_parts").paginate(
                    Bucket=self.bucket, Key=key, UploadId=upload_id
                )
                times = [part["LastModified"] for page in parts for part in page.get("Parts", [])]
                found.append(OpenUpload(key, upload_id, initiated, max([initiated, *times])))
        return found

    def abort_open_upload(self, upload: OpenUpload) -> None:
        try:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=upload.key, UploadId=upload.upload_id
            )
        except ClientError as exc:
            if _code(exc) != "NoSuchUpload":
                raise self.sdk_error(exc, f"abort of '{upload.key}'") from exc
        except SDK_ERRORS as exc:
            raise self.sdk_error(exc, f"abort of '{upload.key}'") from exc

    def open_multiparts(self, prefix: str) -> list[str]:
        with self.translated(f"listing of multipart uploads under '{prefix}'"):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            keys = [up["Key"] for page in pages for up in page.get("Uploads", [])]
        return list(dict.fromkeys(keys))


class S3MultipartUpload:
    """One S3 multipart upload; upload_part is called concurrently from worker threads."""

    def __init__(self, store: S3ObjectStore, key: str, upload_id: str, log: Log) -> None:
        self.key = key
        self.upload_id = upload_id
        self._store = store
        self._log = log
        self._etags: dict[int, str] = {}
        self._lock = threading.Lock()
        self._finished = False

    def upload_part(self, number: int, data: bytes | memoryview) -> None:
        store = self._store
        # botocore accepts bytes or a file object as Body, not a memoryview
        body = bytes(data) if isinstance(data, memoryview) else data
        with store.translated(f"upload of part {number} of '{self.key}'"):
            response = store.client.upload_part(
                Bucket=store.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=body,
                **store.sse_c_args,
            )
        with self._lock:
            self._etags[number] = response["ETag"]
        self._log.debug("s3.part_uploaded", key=self.key, part=number, size=len(body))

    def complete(self) -> None:
        if not self._etags:
            # S3 refuses to complete an upload without parts; an empty last part is allowed.
            self.upload_part(1, b"")
        with self._lock:
            parts = [{"PartNumber": n, "ETag": etag} for n, etag in sorted(self._etags.items())]
        store = self._store
        with store.translated(f"completion of '{self.key}'"):
            store.client.complete_multipart_upload(
                Bucket=store.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            )
        self._finished = True

    def abort(self) -> None:
        """Drop the upload and its parts; idempotent and never raises (it runs on failure paths)."""
        if self._finished:
            return
        store = self._store
        try:
            store.client.abort_multipart_upload(
                Bucket=store.bucket, Key=self.key, UploadId=self.upload_id
            )
        except ClientError as exc:
            if _code(exc) != "NoSuchUpload":
                self._log.warning("s3.abort_failed", key=self.key, error=str(exc))
                return
        except Exception as exc:
            self._log.warning("s3.abort_failed", key=self.key, error=str(exc))
            return
        self._finished = True
