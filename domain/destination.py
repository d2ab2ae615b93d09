"""Destination URLs: the bucket (or container) and key prefix, read per cloud provider."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from domain.errors import InvalidInput

_GCS_CONSOLE = "https://console.cloud.google.com/storage/browser/"
# barman 3.20: an S3 access-point (or Outposts / Object Lambda) ARN is the whole bucket.
_S3_ARN = re.compile(
    r"^arn:aws[a-z-]*:(s3|s3-object-lambda|s3-outposts):[^:/]*:[^:/]*:"
    r"(?:outpost[/:][^/:]+[/:])?accesspoint[/:][^/]+"
)


@dataclass(frozen=True)
class Destination:
    provider: str
    bucket: str
    prefix: str
    account_url: str | None = None
    emulated: bool = False


def parse_destination(provider: str, url: str) -> Destination:
    needed = provider_for_url(url)
    try:
        if provider == "azure-blob-storage" and needed != provider:
            # an s3:// or gs:// URL is never an Azure one (it would read as an emulator URL)
            raise InvalidInput(f"azure blob storage URL {url} is malformed")
        if provider == "aws-s3":
            return _parse_s3(url)
        if provider == "azure-blob-storage":
            return _parse_azure(url)
        return _parse_gcs(url)
    except InvalidInput as exc:
        if needed is None or needed == provider:
            raise
        raise InvalidInput(
            f"{exc}: the URL looks like it needs --cloud-provider {needed}"
        ) from None


def provider_for_url(url: str) -> str | None:
    """The --cloud-provider a URL's form points to, or None when it points nowhere clear."""
    scheme = urlparse(url).scheme.lower()
    if scheme == "s3":
        return "aws-s3"
    if scheme == "gs" or url.startswith(_GCS_CONSOLE):
        return "google-cloud-storage"
    if scheme in ("http", "https"):
        return "azure-blob-storage"  # the only provider whose URLs are plain http(s)
    return None


def _parse_s3(url: str) -> Destination:
    parsed = urlparse(url)
    if parsed.scheme == "s3" and url[5:].startswith("arn:"):
        rest = url[5:]
        match = _S3_ARN.match(rest)
        if match:
            return Destination("aws-s3", match.group(0), rest[match.end() :].lstrip("/"))
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InvalidInput(f"Invalid s3 URL address: {url}")
    return Destination("aws-s3", parsed.netloc, parsed.path.lstrip("/"))


def _parse_azure(url: str) -> Destination:
    parsed = urlparse(url)
    segments = parsed.path.lstrip("/").split("/") if parsed.path.lstrip("/") else []
    if parsed.netloc.endswith("blob.core.windows.net"):
        if not parsed.path:
            raise InvalidInput(f"azure blob storage URL {url} is malformed")
        container = segments[0] if segments else ""
        return Destination(
            "azure-blob-storage", container, "/".join(segments[1:]), account_url=parsed.netloc
        )
    if len(segments) < 2:
        raise InvalidInput(f"emulated storage URL {url} is malformed")
    return Destination(
        "azure-blob-storage", segments[1], "/".join(segments[2:]), emulated=True
    )


def _parse_gcs(url: str) -> Destination:
    if url.startswith(_GCS_CONSOLE):
        rest = url[len(_GCS_CONSOLE) :]
    elif url.startswith("gs://"):
        rest = url[len("gs://") :]
    else:
        raise InvalidInput(
            f"Google cloud storage URL {url} is malformed. Expected format are "
            f"'{_GCS_CONSOLE}bucket-name/some/path' or 'gs://bucket-name/some/path'"
        )
    bucket, _, path = rest.partition("/")
    if not bucket:
        raise InvalidInput(f"Google cloud storage URL {url} is malformed. Bucket name not found")
    return Destination("google-cloud-storage", bucket, path.strip("/"))
