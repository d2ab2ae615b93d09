"""Pure value rules: sizes, names, tags, LSNs, WAL names, keys and destination URLs."""

import pytest

from cloud_base_backup.adapters.compression import SUFFIXES
from cloud_base_backup.domain import layout
from cloud_base_backup.domain.errors import InvalidArgument, InvalidInput
from cloud_base_backup.domain.model import BackupId, Lsn
from cloud_base_backup.domain.options import parse_size, validate_backup_name
from cloud_base_backup.entrypoints.options import check_tag, parse_tags_csv
from cloud_base_backup.entrypoints.providers.urls import parse_destination


@pytest.mark.parametrize(
    "text,expected",
    [
        ("100GB", 107374182400), ("5MB", 5242880), ("5MiB", 5000000), ("64kib", 64000),
        ("1.5MB", 1572864), ("0.5KB", 512), ("1234B", 1234), ("1234", 1234), ("1iB", 1),
        ("1_0MB", 10 * 1024**2),
    ],
)
def test_size_syntax(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "1K", "5M", "1XB", "1e3", "0.0001KB", "", "B", "iB", "infKB"])
def test_bad_sizes_are_argument_errors(text):
    with pytest.raises(InvalidArgument, match="is not a valid size string"):
        parse_size(text)


@pytest.mark.parametrize("name", ["", "20250101T000000", "latest", "auto", "last-failed"])
def test_rejected_backup_names(name):
    with pytest.raises(InvalidArgument):
        validate_backup_name(name)


def test_backup_names_are_case_sensitive_for_reserved_words():
    assert validate_backup_name("Latest") == "Latest"


def test_tag_rules():
    assert check_tag(" env , prod ") == ("env", "prod")
    assert check_tag("k,a=b @x") == ("k", "a=b @x")
    for bad in ["nocomma", "aws:x,v", "AWS:x,v", "k,v!", "," + "v", "x" * 129 + ",v", "k," + "v" * 257]:
        with pytest.raises(InvalidArgument):
            check_tag(bad)
    assert parse_tags_csv(['a,b', '"c,d",e']) == [("a", "b"), ("c,d", "e")]
    with pytest.raises(InvalidArgument, match="Invalid tag format: a,b,c"):
        parse_tags_csv(["a,b,c"])


def test_lsn_and_wal_names():
    lsn = Lsn.parse("0/2E000028")
    assert str(lsn) == "0/2E000028"
    assert lsn.wal_name(1, 16 << 20) == "00000001000000000000002E"
    assert lsn.offset(16 << 20) == 40
    assert Lsn.parse("1/5000000").wal_name(3, 16 << 20) == "000000030000000100000005"
    assert Lsn.parse("0/5000000").offset(16 << 20) == 0


def test_keys_match_barman_layout():
    bid = BackupId("20250314T093011")
    assert layout.backup_prefix("pg", "main", bid) == "pg/main/base/20250314T093011/"
    assert layout.backup_prefix("", "main", bid) == "main/base/20250314T093011/"
    assert layout.backup_prefix("pg/", "main", bid) == "pg/main/base/20250314T093011/"
    prefix = layout.backup_prefix("pg", "main", bid)
    assert layout.archive_key(prefix, "data", 0, SUFFIXES["gz"]) == prefix + "data.tar.gz"
    assert layout.archive_key(prefix, "16385", 1, SUFFIXES[None]) == prefix + "16385_0001.tar"
    assert layout.archive_key(prefix, "data", 10000, SUFFIXES["zst"]) == prefix + "data_10000.tar.zst"


def test_s3_urls():
    d = parse_destination("aws-s3", "s3://bucket/path/to/")
    assert (d.bucket, d.prefix) == ("bucket", "path/to/")
    assert parse_destination("aws-s3", "S3://b").prefix == ""
    for bad in ["gs://b/x", "s3:///x", "http://b"]:
        with pytest.raises(InvalidInput, match="Invalid s3 URL address"):
            parse_destination("aws-s3", bad)


def test_s3_access_point_arn_is_the_bucket():
    d = parse_destination("aws-s3", "s3://arn:aws:s3:us-east-1:123456789012:accesspoint/ap1/some/prefix")
    assert d.bucket == "arn:aws:s3:us-east-1:123456789012:accesspoint/ap1"
    assert d.prefix == "some/prefix"


def test_azure_and_gcs_urls():
    d = parse_destination("azure-blob-storage", "https://acct.blob.core.windows.net/cont/a/b")
    assert (d.bucket, d.prefix, d.account_url, d.emulated) == ("cont", "a/b", "acct.blob.core.windows.net", False)
    d = parse_destination("azure-blob-storage", "http://127.0.0.1:10000/devstoreaccount1/cont/p")
    assert (d.bucket, d.prefix, d.emulated) == ("cont", "p", True)
    with pytest.raises(InvalidInput, match="emulated storage URL"):
        parse_destination("azure-blob-storage", "http://127.0.0.1:10000/acct")
    d = parse_destination("google-cloud-storage", "gs://bkt/some/path/")
    assert (d.bucket, d.prefix) == ("bkt", "some/path")
    with pytest.raises(InvalidInput, match="malformed"):
        parse_destination("google-cloud-storage", "s3://bkt")


@pytest.mark.parametrize("provider,url,needed", [
    ("aws-s3", "gs://bkt/path", "google-cloud-storage"),
    ("aws-s3", "https://console.cloud.google.com/storage/browser/bkt/p", "google-cloud-storage"),
    ("aws-s3", "https://acct.blob.core.windows.net/cont/p", "azure-blob-storage"),
    ("aws-s3", "http://127.0.0.1:10000/devstoreaccount1/cont", "azure-blob-storage"),
    ("azure-blob-storage", "s3://bkt/a/b/c", "aws-s3"),
    ("azure-blob-storage", "gs://bkt/a/b/c", "google-cloud-storage"),
    ("google-cloud-storage", "s3://bkt/p", "aws-s3"),
    ("google-cloud-storage", "https://acct.blob.core.windows.net/cont/p", "azure-blob-storage"),
])
def test_a_url_of_another_provider_names_the_provider_it_needs(provider, url, needed):
    with pytest.raises(InvalidInput) as caught:
        parse_destination(provider, url)
    assert str(caught.value).endswith(f"the URL looks like it needs --cloud-provider {needed}")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("provider,url", [
    ("aws-s3", "s3:///x"), ("google-cloud-storage", "gs://"), ("aws-s3", "ftp://b/x"),
])
def test_a_bad_url_of_the_right_provider_gets_no_hint(provider, url):
    with pytest.raises(InvalidInput) as caught:
        parse_destination(provider, url)
    assert "--cloud-provider" not in str(caught.value)
