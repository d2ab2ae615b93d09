"""Benchmark: our barman-cloud-backup against the real barman, side by side, on a pgbench cluster.

    .venv/bin/python -m bench.bench --scale 10 --runs 3

Creates a pgbench cluster whose tables live in a tablespace, starts moto's S3 server, installs the
real barman (3.19.1; 3.20.1 for --zstd) in their own venvs, then runs both tools alternately for
each codec and prints medians: wall time, CPU time, peak RSS summed over the process tree, bytes
written to disk (temp files), bytes uploaded, MB/s and the ratio to barman; plus the `tar | codec`
floor, the store's ingest rate, and our -J curve. Each codec's first backup of each tool is checked
with the real barman-cloud-backup-list (DONE) and barman-cloud-restore.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import scale
from bench.measure import Measurement, run
from tests.support.moto_server import MotoServer, aws_env
from tests.support.oracle import Oracle, ensure_oracle, ensure_oracle_320
from tests.support.pgcluster import PgCluster

CODECS = {"none": [], "gzip": ["-z"], "bzip2": ["-j"], "snappy": ["--snappy"], "lz4": ["--lz4"], "zstd": ["--zstd"]}
FLOORS = {
    "none": "cat",
    "gzip": "gzip -6",
    "bzip2": "bzip2 -9",
    "lz4": "lz4 -1",
    "zstd": "zstd -3 -T0",
}


def _oracle_320() -> Oracle | None:
    try:
        return ensure_oracle_320()
    except (OSError, subprocess.CalledProcessError):
        return None


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.root = Path(tempfile.mkdtemp(prefix="cb-", dir="/var/tmp"))
        os.chmod(self.root, 0o755)
        # Ours runs from a production install (bench/run makes it), as barman runs from its own.
        prod = Path(__file__).resolve().parents[1] / ".cache" / "bench-venv" / "bin" / "barman-cloud-backup"
        self.ours = os.environ.get("BENCH_OURS") or str(
            prod if prod.exists() else Path(sys.executable).parent / "barman-cloud-backup"
        )
        self.oracle = ensure_oracle()
        self.barman = self.oracle.tool("barman-cloud-backup")
        self.oracle_320 = _oracle_320() if "zstd" in args.codecs else None
        self.barman_320 = self.oracle_320.tool("barman-cloud-backup") if self.oracle_320 else None
        self.rows: list[dict[str, object]] = []
        self.started = time.monotonic()

    def setup(self, moto: MotoServer) -> None:
        self.moto = moto
        self.bucket = moto.create_bucket("bench")
        self.cluster = PgCluster(self.root / "cluster").initdb()
        self.cluster.configure(max_wal_size="2GB", checkpoint_timeout="30min", fsync="off")
        self.cluster.start()
        self.cluster.create_tablespace("bench_ts", self.root / "ts")
        self.cluster.tool("pgbench", "-i", "-q", "-s", self.args.scale, "--tablespace=bench_ts", "postgres")
        self.cluster.sql("CHECKPOINT")
        self.data_bytes = (
            _du(self.cluster.pgdata) - _du(self.cluster.pgdata / "pg_wal") + _du(self.root / "ts")
        )

    def backup(self, tool: str, flags: list[str], jobs: int, tag: str) -> tuple[Measurement, int, str]:
        prefix = f"{tag}-{time.monotonic_ns()}"
        self.runs_done = getattr(self, "runs_done", 0) + 1
        tmp = self.root / "t" / str(self.runs_done)  # short: barman's multiprocessing socket lives here
        env = aws_env() | {"TMPDIR": str(tmp)}
        argv = [tool, "--endpoint-url", self.moto.endpoint_url, "--immediate-checkpoint", "-J", str(jobs),
                "-h", str(self.cluster.sockdir), "-p", str(self.cluster.port), "-U", "postgres",
                *flags, f"s3://{self.bucket}/{prefix}", "srv"]
        m = run(argv, env, tmp)
        if m.returncode != 0:
            raise SystemExit(f"{tag} failed ({m.returncode}): {m.stderr[-2000:]}")
        objects = self.moto.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix + "/").get("Contents", [])
        time.sleep(1.05)  # backup ids have one-second resolution
        return m, sum(o["Size"] for o in objects), prefix

    def verify(self, prefix: str, tools: Oracle) -> str:
        """The real barman lists the backup DONE and restores it."""
        env = aws_env()
        url = f"s3://{self.bucket}/{prefix}"
        listing = subprocess.run([tools.tool("barman-cloud-backup-list"), "--endpoint-url", self.moto.endpoint_url,
                                  "--format", "json", url, "srv"], env=env, capture_output=True, text=True)
        if '"DONE"' not in listing.stdout:
            return f"NOT DONE: {listing.stdout[-300:]} {listing.stderr[-300:]}"
        dest = self.root / "restore" / prefix
        restore = [tools.tool("barman-cloud-restore"), "--endpoint-url", self.moto.endpoint_url,
                   "--tablespace", f"bench_ts:{dest}-ts", url, "srv", "latest", str(dest)]
        r = subprocess.run(restore, env=env, capture_output=True, text=True)
        ok = r.returncode == 0 and (dest / "PG_VERSION").exists()
        shutil.rmtree(dest, ignore_errors=True)
        shutil.rmtree(f"{dest}-ts", ignore_errors=True)
        return "restored" if ok else f"RESTORE FAILED: {r.stderr[-300:]}"

    def tools(self) -> list[tuple[str, str]]:
        """(who, executable) of the tools compared: ours and barman 3.19.1 (unless --ours-only)."""
        return [(who, str(tool)) for who, tool in (("ours", self.ours), ("barman", self.barman)) if tool]

    def progress(self, message: str) -> None:
        """One line per step on stderr, so a run of many minutes shows where it is."""
        elapsed = time.monotonic() - self.started
        print(f"[bench {elapsed:6.0f}s] {message}", file=sys.stderr, flush=True)

    def codec(self, name: str) -> None:
        flags = CODECS[name]
        barman = self.barman_320 if name == "zstd" else self.barman
        results: dict[str, list[tuple[Measurement, int]]] = {"ours": [], "barman": []}
        checks = {}
        for i in range(self.args.runs):
            for who, tool in (("ours", self.ours), ("barman", barman)):
                if tool is None:
                    continue
                self.progress(f"{name}: run {i + 1}/{self.args.runs} of {who}")
                m, size, prefix = self.backup(str(tool), flags, 2, f"{who}-{name}")
                results[who].append((m, size))
                self.progress(f"{name}: {who} took {m.wall:.1f} s, {size / 1e6:.0f} MB uploaded")
                if i == 0 and not self.args.no_verify:
                    oracle = self.oracle_320 if name == "zstd" else self.oracle
                    self.progress(f"{name}: restoring {who}'s backup with the real barman")
                    checks[who] = self.verify(prefix, oracle) if oracle else "no reader"
        for who, runs in results.items():
            if runs:
                self.rows.append(self.summarise(name, who, runs, checks.get(who, "-")))

    def summarise(self, codec: str, who: str, runs: list[tuple[Measurement, int]], check: str) -> dict[str, object]:
        med = lambda f: statistics.median(f(m) for m, _ in runs)  # noqa: E731
        wall = med(lambda m: m.wall)
        return {
            "codec": codec, "tool": who, "wall_s": wall, "cpu_s": med(lambda m: m.cpu),
            "peak_rss_mb": max(m.peak_rss_mb for m, _ in runs), "disk_write_mb": max(m.disk_write_mb for m, _ in runs),
            "temp_files": max(m.temp_files_seen for m, _ in runs), "uploaded_mb": runs[0][1] / 1e6,
            "mb_s": self.data_bytes / 1e6 / wall, "check": check,
        }

    def floors(self) -> dict[str, float]:
        out = {}
        dirs = f"-C {self.cluster.pgdata} . -C {self.root / 'ts'} ."
        for name, cmd in FLOORS.items():
            if name not in self.args.codecs or not shutil.which(cmd.split()[0]):
                continue
            started = time.monotonic()
            subprocess.run(f"tar -cf - {dirs} 2>/dev/null | {cmd} > /dev/null", shell=True, check=False)
            out[name] = time.monotonic() - started
        return out

    def ingest_rate(self) -> float:
        """MB/s moto accepts for a plain multipart upload of 128 MiB from 2 threads (the store's limit)."""
        client = self.moto.client()
        import io

        from boto3.s3.transfer import TransferConfig
        data = os.urandom(1 << 20) * 128
        started = time.monotonic()
        client.upload_fileobj(io.BytesIO(data), self.bucket, "ingest-probe",
                              Config=TransferConfig(multipart_chunksize=16 << 20, max_concurrency=2))
        return len(data) / 1e6 / (time.monotonic() - started)

    def jobs_curve(self) -> list[tuple[str, int, float]]:
        curve = []
        for name in self.args.curve_codecs:
            for jobs in (1, 2, 4):
                self.progress(f"-J curve: {name} at -J {jobs}")
                walls = [self.backup(self.ours, CODECS[name], jobs, f"curve-{name}-{jobs}")[0].wall
                         for _ in range(self.args.runs)]
                curve.append((name, jobs, statistics.median(walls)))
        return curve

    def report(self, floors: dict[str, float], ingest: float, curve: list[tuple[str, int, float]]) -> None:
        print(f"\n## scale {self.args.scale}: {self.data_bytes / 1e6:.0f} MB on disk, {os.cpu_count()} cores, "
              f"{self.args.runs} runs each (medians; peak RSS = max over runs of the summed process tree)\n")
        print("| codec | tool | wall s | CPU s | peak RSS MB | disk writes MB | temp files | uploaded MB | MB/s | vs barman | tar\\|codec floor s | check |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        barman_wall = {r["codec"]: r["wall_s"] for r in self.rows if r["tool"] == "barman"}
        for r in self.rows:
            ratio = f"{barman_wall[r['codec']] / r['wall_s']:.1f}x faster" if r["tool"] == "ours" and r["codec"] in barman_wall else ""
            floor = f"{floors[r['codec']]:.2f}" if r["codec"] in floors else "-"
            print(f"| {r['codec']} | {r['tool']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_mb']:.0f} | "
                  f"{r['disk_write_mb']:.1f} | {r['temp_files']} | {r['uploaded_mb']:.1f} | {r['mb_s']:.0f} | {ratio} | {floor} | {r['check']} |")
        print(f"\nStore ingest rate (moto, boto3 multipart, 2 threads): {ingest:.0f} MB/s")
        if curve:
            print("\n| codec | -J | wall s (ours) |\n|---|---|---|")
            for name, jobs, wall in curve:
                print(f"| {name} | {jobs} | {wall:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--codecs", nargs="*", default=list(CODECS))
    parser.add_argument("--curve-codecs", nargs="*", default=["gzip", "none"])
    parser.add_argument("--no-verify", action="store_true")
    parser.add_argument("--ours-only", action="store_true")
    parser.add_argument("--scale-files", nargs="*", type=int, default=[],
                        help="extra empty relation files in PGDATA, one run per count (bench/scale.py)")
    parser.add_argument("--large-gb", nargs="*", type=int, default=[],
                        help="one archive of this many GiB, one run per size (bench/scale.py)")
    args = parser.parse_args()
    bench = Bench(args)
    if args.ours_only:
        bench.barman = None  # type: ignore[assignment]
        bench.barman_320 = None
    try:
        with MotoServer() as moto:
            bench.progress(f"making a cluster at pgbench scale {args.scale}")
            bench.setup(moto)
            scale_rows = scale.scale_files(bench, args.scale_files) if args.scale_files else []
            scale_rows += scale.large_archive(bench, args.large_gb) if args.large_gb else []
            if scale_rows:
                print(f"\n## scale scenarios: {os.cpu_count()} cores, {args.runs} run(s) each, "
                      "peak RSS = summed over the process tree")
                scale.report(scale_rows)
            if args.codecs:
                for codec in args.codecs:
                    bench.codec(codec)
                bench.progress("tar | codec floors")
                floors = bench.floors()
                curve = bench.jobs_curve()
                bench.progress("store ingest rate")
                ingest = bench.ingest_rate()
                bench.report(floors, ingest, curve)
    finally:
        if hasattr(bench, "cluster"):
            bench.cluster.stop()
        shutil.rmtree(bench.root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
