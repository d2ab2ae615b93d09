"""Benchmark: what the backup_manifest and the page-checksum check cost.

    .venv/bin/python -m bench.integrity --scale 10 --runs 3

A pgbench cluster made with data checksums on, moto's S3 server; our barman-cloud-backup run
alternately (so drift hits every variant alike) as
  - off:      --manifest-checksums NONE --no-verify-checksums (a manifest without checksums),
  - manifest: CRC32C manifest (the default), pages not verified,
  - full:     the default: CRC32C manifest and every page verified,
for each codec asked (none and -z by default), the order rotated each round. Prints medians of
wall and CPU time and the cost of `manifest` and `full` over `off` in percent of wall time; then
the read path alone (every file through the tar writer into a null codec, from the page cache):
the checks' CPU cost without the store's and the shared machine's noise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from bench.bench import Bench
from bench.measure import Measurement
from tests.support.moto_server import MotoServer

VARIANTS = {
    "off": ["--manifest-checksums", "NONE", "--no-verify-checksums"],
    "manifest": ["--no-verify-checksums"],
    "full": [],
}
CODECS = {"none": [], "gzip": ["-z"]}


def read_path_cost(
    pgdata: Path, start_lsn: int, rounds: int = 3
) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds (medians: wall, and CPU of this process) to push every file of `pgdata` through the tar
    writer's read path without and with the checks, from the page cache, into a null codec:
    what the checks cost without the store's and the machine's noise."""
    from cloud_base_backup.adapters.read_checks import FileReadCheck, PageBatch
    from cloud_base_backup.adapters.tar_sink import TarStream
    from cloud_base_backup.domain.model import PageCheck, ReadChecks

    class Null:
        def write(self, data: bytes) -> int:
            return len(data)

        def close(self) -> None:
            pass

    files = [p for p in pgdata.rglob("*") if p.is_file() and "pg_wal" not in p.parts]
    variants: dict[str, ReadChecks | None] = {
        "off": None,
        "manifest": ReadChecks("CRC32C", None),
        "full": ReadChecks("CRC32C", PageCheck(start_lsn=start_lsn)),
    }
    timings: dict[str, list[float]] = {name: [] for name in variants}
    cpu_times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, checks in variants.items():
            began, cpu = time.perf_counter(), time.process_time()
            batch = PageBatch(checks.pages, None) if checks and checks.pages else None
            for path in files:
                rel = path.relative_to(pgdata).as_posix()
                check = FileReadCheck(checks, rel, str(path), batch) if checks else None
                with open(path, "rb", buffering=0) as handle:
                    TarStream(Null()).data_from(handle, path.stat().st_size, check)  # type: ignore[arg-type]
            if batch is not None:
                batch.finish()
            timings[name].append(time.perf_counter() - began)
            cpu_times[name].append(time.process_time() - cpu)
    return {name: statistics.median(values) for name, values in timings.items()}, {
        name: statistics.median(values) for name, values in cpu_times.items()
    }


class IntegrityBench(Bench):
    def setup(self, moto: MotoServer) -> None:
        self.moto = moto
        self.bucket = moto.create_bucket("bench")
        from tests.support.pgcluster import PgCluster

        self.cluster = PgCluster(self.root / "cluster").initdb("--data-checksums")
        self.cluster.configure(max_wal_size="2GB", checkpoint_timeout="30min", fsync="off")
        self.cluster.start()
        self.cluster.tool("pgbench", "-i", "-q", "-s", self.args.scale, "postgres")
        self.cluster.sql("CHECKPOINT")
        assert self.cluster.scalar("SHOW data_checksums") == "on"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--codecs", nargs="*", default=list(CODECS), choices=list(CODECS))
    parser.add_argument("-J", "--jobs", type=int, default=2)
    args = parser.parse_args()
    bench = IntegrityBench(argparse.Namespace(scale=args.scale, codecs=[], runs=args.runs))
    if os.environ.get("BENCH_BACKUP_CMD"):  # e.g. a worktree's wrapper instead of bench-venv
        bench.ours = os.environ["BENCH_BACKUP_CMD"]
    started = time.monotonic()
    with MotoServer() as moto:
        print(f"[integrity] pgbench scale {args.scale} with data checksums ...", file=sys.stderr)
        bench.setup(moto)
        size = int(bench.cluster.scalar("SELECT pg_database_size('postgres')"))  # type: ignore[call-overload]
        print(f"[integrity] database is {size / 2**20:.0f} MiB", file=sys.stderr)
        results: dict[tuple[str, str], list[Measurement]] = {}
        for codec in args.codecs:
            for run in range(args.runs):
                names = list(VARIANTS)
                order = names[run % len(names) :] + names[: run % len(names)]  # rotate: no slot bias
                for variant in order:
                    flags = VARIANTS[variant]
                    m, uploaded, _ = bench.backup(bench.ours, [*CODECS[codec], *flags], args.jobs, f"{codec}-{variant}")
                    results.setdefault((codec, variant), []).append(m)
                    print(f"[integrity] {codec:5} {variant:8} run {run + 1}: {m.wall:.2f} s wall, "
                          f"{m.cpu:.2f} s CPU, {uploaded / 2**20:.0f} MiB uploaded "
                          f"({time.monotonic() - started:.0f} s so far)", file=sys.stderr)  # fmt: skip
        start_lsn = int(str(bench.cluster.scalar("SELECT pg_current_wal_lsn() - '0/0'")))
        read_path, read_cpu = read_path_cost(bench.cluster.pgdata, start_lsn)
        bench.cluster.stop()
    print(f"\nscale {args.scale}, database {size / 2**20:.0f} MiB, {args.runs} runs each, medians")
    print(f"{'codec':6} {'variant':9} {'wall s':>7} {'CPU s':>7} {'wall cost':>10}")
    for codec in args.codecs:
        base = statistics.median(m.wall for m in results[(codec, "off")])
        for variant in VARIANTS:
            walls = [m.wall for m in results[(codec, variant)]]
            cpus = [m.cpu for m in results[(codec, variant)]]
            wall = statistics.median(walls)
            cost = "" if variant == "off" else f"{100 * (wall - base) / base:+.1f} %"
            print(f"{codec:6} {variant:9} {wall:7.2f} {statistics.median(cpus):7.2f} {cost:>10}")
    print(f"\nread path alone, {size / 2**20:.0f} MiB from the page cache (medians of 3):")
    for variant, seconds in read_path.items():
        rate = size / 2**20 / seconds if seconds else float("inf")
        extra = seconds - read_path["off"]
        cpu = read_cpu[variant]
        print(f"  {variant:9} {seconds:6.2f} s wall ({rate:,.0f} MiB/s), {cpu:6.2f} s CPU, "
              f"checks: {extra:+.2f} s wall, {cpu - read_cpu['off']:+.2f} s CPU")  # fmt: skip
    shutil.rmtree(bench.root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
