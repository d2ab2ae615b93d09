"""backup_manifest rendering against manifests PostgreSQL itself wrote.

tests/unit/data/*.backup_manifest.gz were written by the real pg_basebackup -Fp (Debian's 15
against a PostgreSQL 15 server; 18's against 17 and 18 servers: the server renders the
manifest) for a small cluster with a tablespace and files named with quotes, a backslash, a tab,
a newline, control characters, DEL, non-ASCII UTF-8 and invalid UTF-8 bytes. Re-rendering every
entry through ManifestWriter must give the same bytes, Manifest-Checksum included.
tests/contract/test_manifest_pg.py does the same live, with checksums computed from the files.
"""

from __future__ import annotations

import calendar
import gzip
import hashlib
import io
import json
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud_base_backup.domain.manifest import (
    ManifestWriter,
    WalRange,
    file_line,
    first_block,
    manifest_path,
    manifest_version,
    path_field,
)
from cloud_base_backup.domain.model import Lsn

DATA = Path(__file__).parent / "data"


def rerender(original: bytes) -> bytes:
    """Our rendering of the entries of a real manifest (same order, sizes, times, checksums)."""
    parsed = json.loads(original)
    files = parsed["Files"]
    algorithms = {f.get("Checksum-Algorithm", "NONE") for f in files}
    assert len(algorithms) == 1
    out = io.BytesIO()
    writer = ManifestWriter(
        out,
        algorithms.pop(),
        parsed["PostgreSQL-Backup-Manifest-Version"],
        parsed.get("System-Identifier"),
    )
    for entry in files:
        name = (
            entry["Path"]
            if "Path" in entry
            else bytes.fromhex(entry["Encoded-Path"]).decode("utf-8", "surrogateescape")
        )
        mtime = calendar.timegm(time.strptime(entry["Last-Modified"], "%Y-%m-%d %H:%M:%S GMT"))
        writer.add(name, entry["Size"], mtime, entry.get("Checksum", ""))
    ranges = [
        WalRange(r["Timeline"], Lsn.parse(r["Start-LSN"]), Lsn.parse(r["End-LSN"]))
        for r in parsed["WAL-Ranges"]
    ]
    size = writer.finish(ranges)
    assert size == len(out.getvalue())
    return out.getvalue()


@pytest.mark.parametrize(
    "fixture",
    [
        "pg15_crc32c.backup_manifest.gz",
        "pg15_sha256.backup_manifest.gz",
        "pg17_none.backup_manifest.gz",
        "pg18_crc32c.backup_manifest.gz",
    ],
)
def test_renders_byte_for_byte_what_postgresql_wrote(fixture):
    original = gzip.decompress((DATA / fixture).read_bytes())
    assert rerender(original) == original


def test_the_fixtures_hold_the_odd_names_and_both_versions():
    """Guards the fixtures themselves: the escaping cases are really in them."""
    v1 = gzip.decompress((DATA / "pg15_crc32c.backup_manifest.gz").read_bytes())
    v2 = gzip.decompress((DATA / "pg17_none.backup_manifest.gz").read_bytes())
    for needle in (b'"Encoded-Path": "626164fffe6e616d65"', rb'"Path": "tab\there"',
                   rb'"Path": "ctl\u0001\u001f' + b'\x7f"', rb'odd \"quote\" back\\slash',
                   b'"pg_tblspc/16384/PG_15_'):  # fmt: skip
        assert needle in v1, needle
    assert v1.startswith(b'{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [\n')
    assert v2.startswith(b'{ "PostgreSQL-Backup-Manifest-Version": 2,\n"System-Identifier": ')


def test_a_changed_entry_changes_the_manifest_checksum():
    original = gzip.decompress((DATA / "pg15_crc32c.backup_manifest.gz").read_bytes())
    tampered = original.replace(b'"Path": "PG_VERSION", "Size": 3', b'"Path": "PG_VERSION", "Size": 4')
    assert rerender(tampered) != original
    body, _, tail = rerender(tampered).rpartition(b'"Manifest-Checksum": "')
    assert tail[:64].decode() == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    ("server_version", "version"),
    [(130020, 1), (140015, 1), (150010, 1), (160006, 1), (170002, 2), (180001, 2), (190000, 2)],
)
def test_manifest_version_follows_the_server_major(server_version, version):
    assert manifest_version(server_version) == version


def test_version_2_needs_the_system_identifier():
    with pytest.raises(ValueError, match="system identifier"):
        ManifestWriter(io.BytesIO(), "CRC32C", 2, None)


@given(st.binary(min_size=1, max_size=40).filter(lambda b: b"\x00" not in b and b"/" not in b))
def test_any_file_name_round_trips_through_its_path_field(raw):
    parsed = json.loads("{" + path_field(raw) + "}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        assert bytes.fromhex(parsed["Encoded-Path"]) == raw
    else:
        assert parsed["Path"].encode("utf-8") == raw


@given(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x7F), min_size=1, max_size=20))
def test_escaping_is_postgresql_escape_json(name):
    """escape_json: \\" \\\\ \\b \\f \\n \\r \\t, other controls as lowercase \\u00xx, rest raw."""
    expected = []
    special = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    for char in name:
        if char in special:
            expected.append(special[char])
        elif ord(char) < 0x20:
            expected.append(f"\\u{ord(char):04x}")
        else:
            expected.append(char)
    assert path_field(name.encode()) == f'"Path": "{"".join(expected)}"'


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=12).filter(lambda s: "\x00" not in s),
            st.integers(0, 2**40),
            st.integers(0, 2**32),
        ),
        max_size=20,
    ),
    st.sampled_from(["NONE", "CRC32C", "SHA256"]),
)
def test_any_manifest_is_json_with_its_own_sha256(entries, algorithm):
    out = io.BytesIO()
    writer = ManifestWriter(out, algorithm, 1)
    for name, size, mtime in entries:
        writer.add(name, size, mtime, "00ff" if algorithm != "NONE" else "")
    writer.finish([WalRange(1, Lsn(0x2000028), Lsn(0x3000100))])
    text = out.getvalue()
    parsed = json.loads(text)
    assert [f["Path"] for f in parsed["Files"]] == [n for n, _, _ in entries]
    assert [f["Size"] for f in parsed["Files"]] == [s for _, s, _ in entries]
    body, _, _ = text.rpartition(b'"Manifest-Checksum"')
    assert parsed["Manifest-Checksum"] == hashlib.sha256(body).hexdigest()
    assert parsed["WAL-Ranges"] == [{"Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/3000100"}]


def test_file_line_shapes():
    assert file_line(b"base/1/2", 8192, 1764547201.9, "CRC32C", "0a0b0c0d") == (
        '{ "Path": "base/1/2", "Size": 8192, "Last-Modified": "2025-12-01 00:00:01 GMT", '
        '"Checksum-Algorithm": "CRC32C", "Checksum": "0a0b0c0d" }'
    )
    assert file_line(b"x", 0, 0, "NONE", "") == (
        '{ "Path": "x", "Size": 0, "Last-Modified": "1970-01-01 00:00:00 GMT" }'
    )


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("base/5/16384", 0),
        ("base/5/16384.3", 3 * 131072),
        ("base/5/16384_fsm", 0),
        ("base/5/16384_vm.1", 131072),
        ("base/5/16384_init", 0),
        ("global/1262", 0),
        ("PG_16_202307071/5/16390.2", 2 * 131072),
        ("global/pg_control", None),
        ("global/pg_filenode.map", None),
        ("base/5/PG_VERSION", None),
        ("base/5/pg_internal.init", None),
        ("pg_xact/0000", None),
        ("base/5/16384_xyz", None),
        ("postgresql.conf", None),
    ],
)
def test_which_members_are_page_checksummed(name, first):
    assert first_block(name, 131072) == first


def test_tablespace_members_are_listed_under_pg_tblspc():
    assert manifest_path("data", "base/5/1", "data") == "base/5/1"
    assert manifest_path("16384", "PG_15_202209061/5/16385", "data") == (
        "pg_tblspc/16384/PG_15_202209061/5/16385"
    )


def test_nothing_can_be_added_once_finished():
    writer = ManifestWriter(io.BytesIO(), "CRC32C", 1)
    writer.finish([WalRange(1, Lsn(1), Lsn(2))])
    with pytest.raises(ValueError, match="finished"):
        writer.add("late", 1, 0, "00")
