"""--manifest-checksums and --no-verify-checksums through main(), the real tar sink and a page
that fails its checksum on disk (the fakes stand in only for PostgreSQL and the store)."""

from __future__ import annotations

import io
import json
import struct
import tarfile

import pytest
from dependency_injector import providers

from cloud_base_backup.adapters.page_checksums import page_checksums
from cloud_base_backup.domain import metadata
from tests.unit.test_cli import FILES, SERVER, URL, Run, _MemoryBackedTree

RELATION = "/pg/data/base/5/16384"
PREFIX = "pg/main/base/20261126T041850/"


def _pages(tmp_path, corrupt_block: int | None):
    pages = []
    for block in range(3):
        page = bytearray(8192)
        struct.pack_into("<IIHHHH", page, 0, 0, 0x100, 0, 0, 24, 8000)  # LSN 0/100, pd_upper
        page[8000:8010] = bytes([block]) * 10
        struct.pack_into("<H", page, 8, int(page_checksums(bytes(page), block)[0]))
        if block == corrupt_block:
            page[8005] ^= 0xFF
        pages.append(bytes(page))
    path = tmp_path / "16384"
    path.write_bytes(b"".join(pages))
    return path


class _Tree(_MemoryBackedTree):
    def __init__(self, files, real):
        super().__init__(files)
        self.real = real

    def _entry(self, path, name):
        entry = super()._entry(path, name)
        if path in self.real:
            return entry.__class__(**{**entry.__dict__, "path": self.real[path]})
        return entry


def _run(tmp_path, corrupt_block):
    real = _pages(tmp_path, corrupt_block)
    run = Run()
    configure = run.configure

    def with_pages(container):
        configure(container)
        files = {**FILES, RELATION: 3 * 8192}
        container.files.override(providers.Object(_Tree(files, {RELATION: str(real)})))

    run.configure = with_pages
    return run, real


def _manifest(run) -> dict:
    with tarfile.open(fileobj=io.BytesIO(run.store.objects[PREFIX + "data.tar"])) as tar:
        names = tar.getnames()
        assert names[-2:] == ["backup_label", "backup_manifest"]
        return json.loads(tar.extractfile("backup_manifest").read())


def test_a_page_failing_its_checksum_exits_1_with_the_backup_done(tmp_path):
    run, real = _run(tmp_path, corrupt_block=1)
    assert run(URL, SERVER) == 1
    lines = [json.loads(line) for line in run.err.getvalue().splitlines()]
    warnings = [line for line in lines if line["event"] == "checksum.failed"]
    assert [(w["file"], w["block"]) for w in warnings] == [(str(real), 1)]
    assert lines[-1]["level"] == "error" and "1 page(s) in 1 file(s)" in lines[-1]["event"]
    info = metadata.parse(run.store.objects[PREFIX + "backup.info"].decode())
    assert info.status == "DONE"
    listed = {f["Path"]: f for f in _manifest(run)["Files"]}
    assert listed["base/5/16384"]["Size"] == 3 * 8192
    assert listed["base/5/16384"]["Checksum-Algorithm"] == "CRC32C"


def test_no_verify_checksums_exits_0(tmp_path):
    run, _ = _run(tmp_path, corrupt_block=1)
    assert run(URL, SERVER, "--no-verify-checksums") == 0
    assert "checksum.failed" not in run.err.getvalue()


def test_a_clean_cluster_exits_0_and_sha256_is_used_when_asked(tmp_path):
    import hashlib

    run, real = _run(tmp_path, corrupt_block=None)
    assert run(URL, SERVER, "--manifest-checksums", "SHA256") == 0
    listed = {f["Path"]: f for f in _manifest(run)["Files"]}
    assert listed["base/5/16384"]["Checksum"] == hashlib.sha256(real.read_bytes()).hexdigest()


@pytest.mark.parametrize("value", ["MD5", "crc32c", ""])
def test_an_unknown_manifest_checksum_exits_3(value):
    run = Run()
    assert run(URL, SERVER, "--manifest-checksums", value) == 3
    assert run.store.objects == {} and run.pg.calls == []
