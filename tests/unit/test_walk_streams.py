"""The walk streams a directory: entries come out as scandir yields them, nothing is listed first."""

import os

from cloud_base_backup.adapters.filetree import LocalFileTree
from cloud_base_backup.domain.plan import ArchiveSpec


def test_a_directory_is_not_read_whole_before_its_first_entry(tmp_path, monkeypatch):
    big = tmp_path / "base" / "5"
    big.mkdir(parents=True)
    for n in range(500):
        (big / str(16384 + n)).touch()
    pulled = {"n": 0}
    real_scandir = os.scandir

    class Counting:
        def __init__(self, path):
            self._it = real_scandir(path)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._it.close()

        def __iter__(self):
            for entry in self._it:
                pulled["n"] += 1
                yield entry

    monkeypatch.setattr(os, "scandir", Counting)
    walk = LocalFileTree().walk(ArchiveSpec("data", str(tmp_path), ()))
    names = []
    for entry in walk:
        names.append(entry.name)
        if entry.name.startswith("base/5/"):
            break
    # the first file of the 500 came out after at most a few directory entries were read
    assert pulled["n"] <= 3 + 2
    rest = [e.name for e in walk]
    assert len({n for n in names + rest if n.startswith("base/5/")}) == 500
