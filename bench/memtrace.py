"""What the tool holds per file: tracemalloc snapshots of the real CLI, N files against M files.

    PYTHONPATH=. python -m bench.memtrace 20000 200000 [--frames 8] [--top 15] [--no-trace]

A throwaway cluster (PostgreSQL 15 as in the tests, run by the postgres OS user when root) and a
local moto server; for each count, N empty relation-like files in the postgres database's
directory (as bench/scale.py makes them), then one `--lz4 -J 2` backup by entrypoints/cli.py
`main` in a fresh child process under tracemalloc. The child takes a snapshot when the data
archive closes (every file and the backup_manifest have been written: the most the run holds
per file) and prints its peak RSS (VmHWM), glibc's heap figures (mallinfo2: in use, free but
kept, mmapped), Python's allocated block and gc object counts, and how far the data archive's
upload got at that point. The parent prints the allocations that grew between
the smallest and the largest count, grouped by traceback, largest growth first.
`--no-trace` gives the plain figures (tracemalloc's own bookkeeping inflates RSS and makes a
run ~30x slower: trace with a few thousand files, count blocks with millions).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

FILE_BASE = 3_000_000  # the names bench/scale.py uses


def _vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def heap_figures() -> str:
    """glibc's view (main arena + thread arenas: in use, free but kept, mmapped) and Python's."""
    text = f"py blocks {sys.getallocatedblocks()}, gc objects {len(gc.get_objects())}"
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        mi = libc.mallinfo2()
    except (OSError, AttributeError):
        return text
    mb = 1 << 20
    return (f"{text}; malloc: heap {mi.arena / mb:.1f} MB (in use {mi.uordblks / mb:.1f}, "
            f"free {mi.fordblks / mb:.1f}), mmapped {mi.hblkhd / mb:.1f} MB in {mi.hblks}")


def child(args: argparse.Namespace) -> int:
    """One backup in this process; the snapshot goes to args.dump."""
    from cloud_base_backup.adapters import tar_sink
    from cloud_base_backup.entrypoints.cli import main

    taken: dict[str, object] = {}
    close = tar_sink.TarArchiveWriter.close

    def closing(self: tar_sink.TarArchiveWriter) -> object:
        if "/data." in self.key and args.dump and "snapshot" not in taken:
            taken["snapshot"] = tracemalloc.take_snapshot()
            taken["traced"] = tracemalloc.get_traced_memory()
        if "/data." in self.key and "rss_at_close_kb" not in taken:
            taken["rss_at_close_kb"] = _vm("VmRSS")
            taken["heap"] = heap_figures()
            parts = self._parts
            taken["archive"] = (f"data archive {parts.total / 1e6:.1f} MB so far, "
                                f"{parts._number} part(s) of {parts._part_size / (1 << 20):.1f} MiB sent")
        return close(self)

    tar_sink.TarArchiveWriter.close = closing  # type: ignore[method-assign]
    if args.dump:
        tracemalloc.start(args.frames)
    started = time.monotonic()
    code = main(args.argv)
    wall = time.monotonic() - started
    if code != 0:
        print(f"backup failed with exit code {code}", file=sys.stderr)
        return code
    if args.dump:
        snapshot = taken["snapshot"]
        assert isinstance(snapshot, tracemalloc.Snapshot)
        snapshot.dump(args.dump)
        current, peak = taken["traced"]  # type: ignore[misc]
        print(f"traced at data close: {current / 1e6:.1f} MB (peak {peak / 1e6:.1f} MB)")
    print(f"wall {wall:.1f} s, VmHWM {_vm('VmHWM') / 1024:.1f} MB, "
          f"VmRSS at data close {int(taken.get('rss_at_close_kb', 0)) / 1024:.1f} MB")
    print(f"at data close: {taken.get('heap')}; {taken.get('archive')}")
    return 0


def compare(small: tracemalloc.Snapshot, large: tracemalloc.Snapshot, n: int, m: int, top: int,
            frames: int) -> None:
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen *>")]
    small, large = small.filter_traces(ignore), large.filter_traces(ignore)
    for group in ("traceback", "lineno"):
        stats = large.compare_to(small, group)
        grown = sum(s.size_diff for s in stats)
        print(f"\n== grouped by {group}: {grown / 1e6:+.2f} MB for {m - n} more files "
              f"({grown / (m - n):+.1f} bytes per file) ==")
        for s in stats[:top]:
            print(f"{s.size_diff / 1e6:+8.2f} MB ({s.count_diff:+d} blocks) "
                  f"{s.size_diff / (m - n):+7.1f} B/file, now {s.size / 1e6:.2f} MB")
            if group == "traceback":
                for line in s.traceback.format(limit=frames):
                    print("      " + line)
            else:
                print("      " + str(s.traceback[0]))



def parent(args: argparse.Namespace) -> int:
    from tests.support.moto_server import MotoServer, aws_env
    from tests.support.pgcluster import PgCluster

    root = Path(tempfile.mkdtemp(prefix="memtrace-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    made, db_dir = 0, None
    dumps: dict[int, Path] = {}
    try:
        with MotoServer() as moto:
            moto.create_bucket("mem")
            cluster = PgCluster(root / "cluster").initdb()
            cluster.configure(fsync="off")
            cluster.start()
            try:
                oid = cluster.scalar("SELECT oid FROM pg_database WHERE datname = 'postgres'")
                db_dir = Path(cluster.pgdata) / "base" / str(oid)
                for count in sorted(args.counts):
                    print(f"[memtrace] making {count} files", file=sys.stderr, flush=True)
                    for i in range(made, count):
                        (db_dir / str(FILE_BASE + i)).touch()
                    made = count
                    tmp = root / "t" / str(count)
                    tmp.mkdir(parents=True)
                    dump = root / f"{count}.snapshot"
                    argv = ["--endpoint-url", moto.endpoint_url, "--immediate-checkpoint", "-J", "2",
                            "-h", str(cluster.sockdir), "-p", str(cluster.port), "-U", "postgres",
                            "--lz4", f"s3://mem/n{count}", "srv"]
                    cmd = [sys.executable, "-m", "bench.memtrace", "--child",
                           "" if args.no_trace else str(dump), str(args.frames), *argv]
                    print(f"[memtrace] {count} files: backup", file=sys.stderr, flush=True)
                    env = aws_env() | {"TMPDIR": str(tmp)}
                    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
                    if out.returncode != 0:
                        print(out.stdout, out.stderr[-3000:], file=sys.stderr)
                        return 1
                    print(f"{count} files: {out.stdout.strip()}")
                    if not args.no_trace:
                        dumps[count] = dump
                    time.sleep(1.05)  # backup ids have one-second resolution
            finally:
                cluster.stop()
        if len(dumps) >= 2:
            n, m = min(dumps), max(dumps)
            compare(tracemalloc.Snapshot.load(str(dumps[n])), tracemalloc.Snapshot.load(str(dumps[m])),
                    n, m, args.top, args.frames)
    finally:
        if db_dir is not None:
            for i in range(made):
                (db_dir / str(FILE_BASE + i)).unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--child"]:  # --child DUMP FRAMES <CLI argv>
        dump, frames, *argv = sys.argv[2:]
        return child(argparse.Namespace(dump=dump, frames=int(frames), argv=argv))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("counts", nargs="*", type=int)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--no-trace", action="store_true")
    args = p.parse_args()
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
