"""The barman-compatible command line: every barman-cloud-backup 3.19.1 option (and 3.20.1's)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from importlib import metadata
from typing import Any, NoReturn, TextIO

from cloud_base_backup.domain.errors import InvalidArgument
from cloud_base_backup.domain.manifest import CHECKSUM_ALGORITHMS, DEFAULT_CHECKSUM
from cloud_base_backup.domain.options import parse_size as _parse_size
from cloud_base_backup.domain.options import validate_backup_name as _validate_backup_name
from cloud_base_backup.domain.orphans import parse_duration as _parse_duration
from cloud_base_backup.entrypoints.options import PROVIDERS
from cloud_base_backup.entrypoints.options import check_tag as _check_tag

VERSION = "3.20.1"  # the barman release whose command line this one matches
DISTRIBUTION = "cloud-base-backup"
_LOCK_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class ParserExit(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Parser(argparse.ArgumentParser):
    """argparse with injected streams, and errors that exit 3 as barman's do."""

    def __init__(self, *args: Any, stdout: TextIO, stderr: TextIO, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._out, self._err = stdout, stderr

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (self._out if file is sys.stdout else self._err).write(message)

    def print_help(self, file: Any = None) -> None:
        self._out.write(self.format_help())

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._err.write(message)
        raise ParserExit(status)

    def error(self, message: str) -> NoReturn:
        self.print_usage(self._err)
        self.exit(3, f"{self.prog}: error: {message}\n")

    def print_usage(self, file: Any = None) -> None:
        self._err.write(self.format_usage())


def _to_type_error(fn: Any) -> Any:
    def wrapper(value: str) -> Any:
        try:
            return fn(value)
        except InvalidArgument as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    wrapper.__name__ = fn.__name__
    return wrapper


parse_size = _to_type_error(_parse_size)
parse_duration = _to_type_error(_parse_duration)
backup_name = _to_type_error(_validate_backup_name)


def check_tag(value: str) -> tuple[str, str]:
    try:
        return _check_tag(value)
    except InvalidArgument:
        raise ValueError(value) from None  # argparse reports: invalid check_tag value: '<v>'


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a valid input") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a valid positive integer")
    return number


def non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"'{value}' is not a valid non negative integer")
    return number


def _int_range(name: str, low: int, high: int) -> Any:
    def check(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{value}' is not a valid input") from None
        if not low <= number <= high:
            raise ValueError(value)
        return number

    check.__name__ = name
    return check


def lock_date(value: str) -> str:
    try:
        datetime.strptime(value, _LOCK_DATE_FORMAT)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"Invalid date: '{value}'. Expected format is '{_LOCK_DATE_FORMAT}'."
        ) from None
    return value


class _VersionAction(argparse.Action):
    """-V: barman's line first (scripts parse it), then which implementation answered."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("nargs", 0)
        kwargs.setdefault("default", argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        parser._print_message(version_text(parser.prog), sys.stdout)
        parser.exit()


def implementation_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def version_text(prog: str) -> str:
    return (
        f"{prog} {VERSION}\n"
        f"{DISTRIBUTION} {implementation_version()} (a re-implementation of barman's "
        f"barman-cloud-backup, not barman itself)\n"
    )


def build_parser(prog: str, stdout: TextIO, stderr: TextIO) -> Parser:
    p = Parser(
        prog=prog,
        add_help=False,
        stdout=stdout,
        stderr=stderr,
        description=(
            "Take a hot base backup of the local PostgreSQL server and stream it, as tar "
            "archives in barman's layout, to AWS S3, Azure Blob Storage or Google Cloud "
            "Storage. Backups written with --zstd (.tar.zst) need barman >= 3.20 to be restored."
        ),
    )
    p.add_argument(
        "destination_url",
        help="where the backups go: s3://BUCKET/PATH, gs://BUCKET/PATH or "
        "https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH",
    )
    p.add_argument("server_name", help="the server's name, as barman knows it (a path segment)")
    p.add_argument(
        "-V", "--version", action=_VersionAction,
        help="print barman's version line, then this implementation's, and exit",
    )
    p.add_argument("--help", action="help", help="print this help and exit (-h is the host)")
    verbosity = p.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="log more: -v adds progress events and the summary as JSON off a terminal, -vv debug",
    )
    verbosity.add_argument(
        "-q", "--quiet", action="count", default=0,
        help="log less: -q hides warnings and the progress display, -qq errors too",
    )
    p.add_argument(
        "-t", "--test", action="store_true",
        help="check that the store answers and the bucket exists, then exit",
    )
    p.add_argument(
        "--cloud-provider", choices=PROVIDERS, default="aws-s3",
        help="object store of the destination URL (default: %(default)s)",
    )
    p.add_argument(
        "-J", "--jobs", type=positive_int, default=2,
        help="parts uploaded in parallel (default: %(default)s)",
    )
    p.add_argument(
        "-S", "--max-archive-size", type=parse_size, default="100GB",
        help="start a new archive once one reaches SIZE; a file is never split; "
        "MB = 1024*1024, MiB = 1000*1000 as in barman (default: %(default)s, capped at 1TB)",
    )
    p.add_argument(
        "--min-chunk-size", type=parse_size, metavar="SIZE",
        help="smallest upload part; the part size is chosen once per backup from -S so that "
        "the largest archive fits the store's part count (default: 5MB, or more for a large -S)",
    )
    p.add_argument(
        "--abort-stale-uploads-after", type=parse_duration, default="24h", metavar="DURATION",
        help="before the backup starts, abort this server's multipart uploads (S3, GCS) idle "
        "for DURATION (s, m, h or d; left by a killed run); 0 = never (default: %(default)s)",
    )
    p.add_argument(
        "--max-bandwidth", type=parse_size, metavar="SIZE",
        help="cap the upload rate at SIZE per second (default: no cap)",
    )
    p.add_argument(
        "-n", "--name", dest="backup_name", type=backup_name,
        help="a name that barman's tools accept in place of the backup id (default: none)",
    )
    tags = p.add_mutually_exclusive_group()
    tags.add_argument(
        "--tags", dest="tags_list", nargs="*", metavar="K,V",
        help="tags for every object written, each a KEY,VALUE pair (CSV quoting allowed; "
        "at most 10; default: none)",
    )
    tags.add_argument(
        "--tag", dest="tags_append", action="append", type=check_tag, default=[], metavar="K,V",
        help="one KEY,VALUE tag for every object written; repeat it for more (default: none)",
    )

    comp = p.add_argument_group("Compression (one of; default: none, plain .tar)")
    comp_one = comp.add_mutually_exclusive_group()
    for flags, const, what in (
        (("-z", "--gzip"), "gz", "gzip (.tar.gz)"),
        (("-j", "--bzip2"), "bz2", "bzip2 (.tar.bz2)"),
        (("--snappy",), "snappy", "snappy (.tar.snappy)"),
        (("--lz4",), "lz4", "lz4 (.tar.lz4)"),
        (("--zstd",), "zst", "zstd (.tar.zst: restoring needs barman >= 3.20)"),
    ):
        comp_one.add_argument(
            *flags, dest="compression", action="store_const", const=const,
            help=f"compress the archives with {what}",
        )

    pg = p.add_argument_group("PostgreSQL connection (unset: libpq's defaults and PG* variables)")
    pg.add_argument("-h", "--host", help="server host name or Unix socket directory")
    pg.add_argument("-p", "--port", help="server port")
    pg.add_argument("-U", "--user", help="user to connect as")
    pg.add_argument(
        "-d", "--dbname", default="postgres",
        help="database to connect to, or a full conninfo string (default: %(default)s)",
    )
    pg.add_argument(
        "--immediate-checkpoint", action="store_true",
        help="ask for a fast checkpoint at backup start instead of a spread one (default: spread)",
    )
    pg.add_argument(
        "--keepalive-interval", type=non_negative_int, default=60, metavar="SECONDS",
        help="run a query on the backup session this often during the upload so that it is "
        "not dropped; 0 turns it off (default: %(default)s)",
    )

    integrity = p.add_argument_group(
        "Integrity (extensions, named as pg_basebackup names them; barman has neither)"
    )
    integrity.add_argument(
        "--manifest-checksums", choices=CHECKSUM_ALGORITHMS, default=DEFAULT_CHECKSUM,
        metavar="ALGORITHM",
        help="checksum of each file in the backup_manifest that ends the data archive, one of "
        f"{', '.join(CHECKSUM_ALGORITHMS)} (default: %(default)s)",
    )
    integrity.add_argument(
        "--no-verify-checksums", dest="verify_checksums", action="store_false", default=True,
        help="skip the data-page checksum check made while reading (default: %(default)s, "
        "verified when the server has data_checksums on; a failure exits 1, the backup DONE)",
    )

    snap = p.add_argument_group("Snapshot backups (disk snapshots instead of tar archives)")
    snap.add_argument(
        "--snapshot-instance", metavar="INSTANCE",
        help="the VM the disks to snapshot are attached to (default: none, a tar backup)",
    )
    snap.add_argument(
        "--snapshot-disk", dest="snapshot_disks", action="append", default=[], metavar="NAME",
        help="a disk to snapshot; repeat it for each disk (default: none)",
    )

    s3 = p.add_argument_group("Extra options for the aws-s3 cloud provider")
    s3.add_argument(
        "--endpoint-url", metavar="URL",
        help="S3-compatible endpoint to use instead of AWS's (default: AWS's endpoint)",
    )
    s3.add_argument(
        "-P", "--aws-profile", "--profile", dest="aws_profile", metavar="AWS_PROFILE",
        help="profile from the AWS config and credentials files (default: AWS_PROFILE or "
        "the default profile; --profile is the old spelling)",
    )
    s3.add_argument(
        "--read-timeout", type=int, metavar="SECONDS",
        help="seconds to wait for an answer on an open connection (default: 60)",
    )
    s3.add_argument(
        "--addressing-style", choices=("auto", "virtual", "path"),
        help="bucket in the host name (virtual) or in the path (path) (default: auto)",
    )
    s3.add_argument(
        "-e", "--encryption", choices=("AES256", "aws:kms"),
        help="server-side encryption of the objects (default: the bucket's setting)",
    )
    s3.add_argument(
        "--sse-kms-key-id", metavar="KEY_ID",
        help="KMS key id or ARN for -e aws:kms (default: the account's AWS-managed key)",
    )
    s3.add_argument(
        "--sse-customer-key", metavar="file://PATH",
        help="SSE-C: a file holding a base64 256-bit key; not with -e or --sse-kms-key-id "
        "(default: none)",
    )
    s3.add_argument(
        "--aws-region",
        help="region of the EC2 instance and volumes for snapshot backups "
        "(default: the profile's region)",
    )
    s3.add_argument(
        "--aws-await-snapshots-timeout", type=positive_int, default=3600, metavar="SECONDS",
        help="how long to wait for EC2 snapshots to complete (default: %(default)s)",
    )
    s3.add_argument(
        "--aws-snapshot-lock-mode", choices=("governance", "compliance"),
        help="lock the EC2 snapshots in this mode (default: not locked)",
    )
    s3.add_argument(
        "--aws-snapshot-lock-cool-off-period",
        type=_int_range("check_aws_snapshot_lock_cool_off_period_range", 1, 72),
        metavar="HOURS",
        help="compliance mode: hours, 1 to 72, during which the lock can still be changed "
        "(default: none, locked at once)",
    )
    lock = s3.add_mutually_exclusive_group()
    lock.add_argument(
        "--aws-snapshot-lock-expiration-date", type=lock_date, metavar="DATE",
        help="keep snapshots locked until DATE, as YYYY-MM-DDThh:mm:ss.sssZ "
        "(default: none; this or --aws-snapshot-lock-duration)",
    )
    lock.add_argument(
        "--aws-snapshot-lock-duration",
        type=_int_range("check_aws_snapshot_lock_duration_range", 1, 36500),
        metavar="DAYS",
        help="keep snapshots locked for DAYS, 1 to 36500 (default: none)",
    )

    az = p.add_argument_group("Extra options for the azure-blob-storage cloud provider")
    az.add_argument(
        "--azure-credential", "--credential", "--default", dest="azure_credential",
        choices=("azure-cli", "managed-identity", "default"),
        help="authenticate with this azure-identity credential (default: "
        "AZURE_STORAGE_CONNECTION_STRING, _SAS_TOKEN or _KEY if set, else DefaultAzureCredential)",
    )
    az.add_argument(
        "--encryption-scope", metavar="SCOPE",
        help="encryption scope applied to every blob written (default: the container's)",
    )
    az.add_argument(
        "--azure-subscription-id", metavar="ID",
        help="subscription of the VM and disks for snapshot backups (default: none)",
    )
    az.add_argument(
        "--azure-resource-group", metavar="GROUP",
        help="resource group of the VM and disks for snapshot backups (default: none)",
    )

    gcs = p.add_argument_group("Extra options for the google-cloud-storage cloud provider")
    gcs.add_argument(
        "--snapshot-gcp-project", "--gcp-project", dest="gcp_project", metavar="GCP_PROJECT",
        help="project that owns the disks and receives the snapshots (default: none; "
        "--snapshot-gcp-project is the old spelling)",
    )
    gcs.add_argument(
        "--snapshot-zone", "--gcp-zone", dest="gcp_zone", metavar="GCP_ZONE",
        help="zone of the disks to snapshot (default: none; --snapshot-zone is the old spelling)",
    )
    gcs.add_argument(
        "--kms-key-name", metavar="KEY",
        help="Cloud KMS key that encrypts every object written (default: the bucket's)",
    )
    return p
