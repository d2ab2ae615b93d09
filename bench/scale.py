"""Scale scenarios, ours against barman 3.19.1 on the same data: many files, and one large archive.

    bench/run --scale 1 --scale-files 20000 200000 --large-gb 1 10 --runs 1 --codecs

--scale-files N...: N empty relation-like files in the postgres database's directory
(base/<oid>/, one directory, as partitioning makes them), `--lz4 -J 2` to moto; the files are
added between sizes and removed at the end.
--large-gb G...: G 1 GiB relation segments (<relfilenode>, .1, .2 ...) of incompressible data
in the same directory, plain tar, `-J 2`, default -S (one archive of G GiB) to a discarding S3
endpoint (bench/s3_sink.py: moto would hold the archive in memory twice).
Each prints wall time, CPU time and the peak RSS of the tool's whole process tree.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import boto3

from bench.measure import Measurement, run
from bench.s3_sink import s3_sink
from tests.support.moto_server import aws_env

FILE_BASE = 3_000_000  # relfilenode-like names no catalog uses
SEGMENT_NODE = 4_000_000
GIB = 1 << 30


def _db_dir(bench: Any) -> Path:
    oid = bench.cluster.scalar("SELECT oid FROM pg_database WHERE datname = 'postgres'")
    return Path(bench.cluster.pgdata) / "base" / str(oid)


def _client(endpoint: str) -> Any:
    env = aws_env()
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def _backup(bench: Any, tool: str, flags: list[str], endpoint: str, tag: str) -> tuple[Measurement, dict[str, int]]:
    prefix = f"{tag}-{time.monotonic_ns()}"
    bench.runs_done = getattr(bench, "runs_done", 0) + 1
    tmp = bench.root / "t" / str(bench.runs_done)
    env = aws_env() | {"TMPDIR": str(tmp)}
    argv = [tool, "--endpoint-url", endpoint, "--immediate-checkpoint", "-J", "2",
            "-h", str(bench.cluster.sockdir), "-p", str(bench.cluster.port), "-U", "postgres",
            *flags, f"s3://bench/{prefix}", "srv"]
    m = run(argv, env, tmp)
    if m.returncode != 0:
        raise SystemExit(f"{tag} failed ({m.returncode}): {m.stderr[-2000:]}")
    listed = _client(endpoint).list_objects_v2(Bucket="bench", Prefix=prefix + "/").get("Contents", [])
    time.sleep(1.05)  # backup ids have one-second resolution
    return m, {o["Key"].rsplit("/", 1)[1]: o["Size"] for o in listed}


def _row(scenario: str, size: str, who: str, m: Measurement, note: str) -> dict[str, object]:
    return {"scenario": scenario, "size": size, "tool": who, "wall_s": m.wall, "cpu_s": m.cpu,
            "peak_rss_mb": m.peak_rss_mb, "note": note}


def scale_files(bench: Any, counts: list[int]) -> list[dict[str, object]]:
    db_dir, made, rows = _db_dir(bench), 0, []
    try:
        for count in sorted(counts):
            bench.progress(f"files: making {count} empty relation files in {db_dir}")
            for i in range(made, count):
                (db_dir / str(FILE_BASE + i)).touch()
            made = count
            for who, tool in bench.tools():
                for r in range(bench.args.runs):
                    bench.progress(f"files: {count} files, {who} run {r + 1}/{bench.args.runs}")
                    m, objects = _backup(bench, tool, ["--lz4"], bench.moto.endpoint_url, f"files-{who}")
                    bench.progress(f"files: {who} took {m.wall:.1f} s, peak RSS {m.peak_rss_mb:.0f} MB")
                    rows.append(_row("files", f"{count} files", who, m, f"{len(objects)} objects"))
    finally:
        for i in range(made):
            (db_dir / str(FILE_BASE + i)).unlink(missing_ok=True)
    return rows


def _segment(path: Path, block: bytes) -> None:
    with open(path, "wb") as out:
        for _ in range(GIB // len(block)):
            out.write(block)


def large_archive(bench: Any, sizes_gb: list[int]) -> list[dict[str, object]]:
    db_dir, made, rows = _db_dir(bench), 0, []
    block = os.urandom(64 << 20)  # incompressible; plain tar keeps the archive at G GiB
    names = [str(SEGMENT_NODE)] + [f"{SEGMENT_NODE}.{n}" for n in range(1, max(sizes_gb))]
    try:
        with s3_sink() as endpoint:
            _client(endpoint).create_bucket(Bucket="bench")
            for size in sorted(sizes_gb):
                bench.progress(f"large: writing {size - made} GiB of segments in {db_dir}")
                for name in names[made:size]:
                    _segment(db_dir / name, block)
                made = size
                for who, tool in bench.tools():
                    for r in range(bench.args.runs):
                        bench.progress(f"large: {size} GiB, {who} run {r + 1}/{bench.args.runs}")
                        m, objects = _backup(bench, tool, [], endpoint, f"large-{who}")
                        data = {k: v for k, v in objects.items() if k.startswith("data")}
                        note = ", ".join(f"{k} {v / GIB:.2f} GiB" for k, v in sorted(data.items()))
                        bench.progress(f"large: {who} took {m.wall:.1f} s, peak RSS {m.peak_rss_mb:.0f} MB ({note})")
                        rows.append(_row("large", f"{size} GiB", who, m, note))
    finally:
        for name in names[:made]:
            (db_dir / name).unlink(missing_ok=True)
    return rows


def report(rows: list[dict[str, object]]) -> None:
    print("\n| scenario | size | tool | wall s | CPU s | peak RSS MB | objects |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['size']} | {r['tool']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
              f"{r['peak_rss_mb']:.0f} | {r['note']} |")
