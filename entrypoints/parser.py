"""The barman-compatible command line: every barman-cloud-backup 3.19.1 option (and 3.20.1's)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any, NoReturn, TextIO

from domain.errors import InvalidArgument
from domain.options import (
    PROVIDERS,
)
from domain.options import (
    check_tag as _check_tag,
)
from domain.options import (
    parse_size as _parse_size,
)
from domain.options import (
    validate_backup_name as _validate_backup_name,
)

VERSION = "3.20.1"
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


def build_parser(prog: str, stdout: TextIO, stderr: TextIO) -> Parser:
    p = Parser(
        prog=prog,
        add_help=False,
        stdout=stdout,
        stderr=stderr,
        description=(
            "Back up a running PostgreSQL instance to AWS S3, Azure Blob Storage or Google "
            "Cloud Storage, in barman's layout. Backups written with --zstd (.tar.zst) need "
            "barman >= 3.20 to be restored."
        ),
    )
    p.add_argument("destination_url", help="URL of the cloud destination, e.g. s3://bucket/path")
    p.add_argument("server_name", help="the name of the server as configured in Barman")
    p.add_argument("-V", "--version", action="version", version=f"%(prog)s {VERSION}")
    p.add_argument("--help", action="help", help="show this help message and exit")
    verbosity = p.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="count", default=0, help="more output")
    verbosity.add_argument("-q", "--quiet", action="count", default=0, help="less output")
    p.add_argument("-t", "--test", action="store_true", help="test cloud connectivity and exit")
    p.add_argument("--cloud-provider", choices=PROVIDERS, default="aws-s3")
    comp = p.add_mutually_exclusive_group()
    comp.add_argument("-z", "--gzip", dest="compression", action="store_const", const="gz")
    comp.add_argument("-j", "--bzip2", dest="compression", action="store_const", const="bz2")
    comp.add_argument("--snappy", dest="compression", action="store_const", const="snappy")
    comp.add_argument("--lz4", dest="compression", action="store_const", const="lz4")
    comp.add_argument(
        "--zstd", dest="compression", action="store_const", const="zst",
        help="zstd-compress the archives (.tar.zst: restoring needs barman >= 3.20)",
    )
    p.add_argument("-h", "--host", help="host or Unix socket for the PostgreSQL connection")
    p.add_argument("-p", "--port", help="port for the PostgreSQL connection")
    p.add_argument("-U", "--user", help="user name for the PostgreSQL connection")
    p.add_argument("--immediate-checkpoint", action="store_true")
    p.add_argument("-J", "--jobs", type=positive_int, default=2)
    p.add_argument("-S", "--max-archive-size", type=parse_size, default="100GB")
    p.add_argument("--min-chunk-size", type=parse_size)
    p.add_argument("--max-bandwidth", type=parse_size)
    p.add_argument("-d", "--dbname", default="postgres", help="database name or conninfo")
    p.add_argument("-n", "--name", dest="backup_name", type=backup_name)
    p.add_argument("--keepalive-interval", type=non_negative_int, default=60)
    p.add_argument("--snapshot-instance")
    p.add_argument("--snapshot-disk", dest="snapshot_disks", action="append", default=[], metavar="NAME")
    p.add_argument("--snapshot-zone", "--gcp-zone", dest="gcp_zone", metavar="GCP_ZONE")
    p.add_argument("--snapshot-gcp-project", "--gcp-project", dest="gcp_project", metavar="GCP_PROJECT")
    p.add_argument("--kms-key-name")
    tags = p.add_mutually_exclusive_group()
    tags.add_argument("--tags", dest="tags_list", nargs="*", metavar="TAGS")
    tags.add_argument("--tag", dest="tags_append", action="append", type=check_tag, default=[])
    s3 = p.add_argument_group("Extra options for the aws-s3 cloud provider")
    s3.add_argument("--endpoint-url")
    s3.add_argument("-P", "--aws-profile", "--profile", dest="aws_profile", metavar="AWS_PROFILE")
    s3.add_argument("--read-timeout", type=int)
    s3.add_argument("--addressing-style", choices=("auto", "virtual", "path"))
    s3.add_argument("-e", "--encryption", choices=("AES256", "aws:kms"))
    s3.add_argument("--sse-kms-key-id")
    s3.add_argument("--sse-customer-key", metavar="file://PATH")
    s3.add_argument("--aws-region")
    s3.add_argument("--aws-await-snapshots-timeout", type=positive_int, default=3600)
    s3.add_argument("--aws-snapshot-lock-mode", choices=("governance", "compliance"))
    s3.add_argument(
        "--aws-snapshot-lock-cool-off-period",
        type=_int_range("check_aws_snapshot_lock_cool_off_period_range", 1, 72),
    )
    lock = s3.add_mutually_exclusive_group()
    lock.add_argument("--aws-snapshot-lock-expiration-date", type=lock_date)
    lock.add_argument(
        "--aws-snapshot-lock-duration",
        type=_int_range("check_aws_snapshot_lock_duration_range", 1, 36500),
    )
    az = p.add_argument_group("Extra options for the azure-blob-storage cloud provider")
    az.add_argument(
        "--azure-credential", "--credential", "--default", dest="azure_credential",
        choices=("azure-cli", "managed-identity", "default"),
    )
    az.add_argument("--encryption-scope")
    az.add_argument("--azure-subscription-id")
    az.add_argument("--azure-resource-group")
    return p
