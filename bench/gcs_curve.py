"""GCS upload -J curve through fake-gcs-server: wall time of our backup at -J 1, 2, 4.

    BENCH_OURS=... [BENCH_OURS_BEFORE=...] python -m bench.gcs_curve --scale 20 --runs 3

fake-gcs-server gets the compose path (parts as objects, joined by compose); real GCS gets
XML multipart, which has the same shape (-J concurrent part requests) but cannot be measured
here. BENCH_OURS_BEFORE names another build to measure the same way (e.g. the single
resumable stream this replaced).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import run
from tests.support.fake_gcs import FakeGcs
from tests.support.pgcluster import PgCluster


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", nargs="*", type=int, default=[1, 2, 4])
    args = parser.parse_args()
    tools = {"ours": os.environ.get("BENCH_OURS", "barman-cloud-backup")}
    if os.environ.get("BENCH_OURS_BEFORE"):
        tools["before"] = os.environ["BENCH_OURS_BEFORE"]
    root = Path(tempfile.mkdtemp(prefix="cb-gcs-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    cluster = PgCluster(root / "cluster").initdb()
    rows = []
    try:
        cluster.configure(max_wal_size="2GB", fsync="off")
        cluster.start()
        print(f"[gcs-curve] pgbench scale {args.scale}", file=sys.stderr, flush=True)
        cluster.tool("pgbench", "-i", "-q", "-s", args.scale, "postgres")
        cluster.sql("CHECKPOINT")
        with FakeGcs() as gcs:
            bucket = gcs.create_bucket()
            for jobs in args.jobs:
                for who, tool in tools.items():
                    walls = []
                    for n in range(args.runs):
                        env = dict(os.environ) | gcs.env
                        argv = [tool, "--cloud-provider", "google-cloud-storage", "-J", str(jobs),
                                "--immediate-checkpoint", "-h", str(cluster.sockdir), "-p",
                                str(cluster.port), "-U", "postgres",
                                f"gs://{bucket}/{who}-{jobs}-{n}", "srv"]
                        m = run(argv, env, root / "t" / f"{who}-{jobs}-{n}")
                        if m.returncode != 0:
                            raise SystemExit(f"{who} -J {jobs} failed: {m.stderr[-1500:]}")
                        walls.append(m.wall)
                        size = sum(b.size for b in gcs.client().list_blobs(bucket, prefix=f"{who}-{jobs}-{n}/"))
                        print(f"[gcs-curve] {who} -J {jobs}: {m.wall:.1f} s, {size / 1e6:.0f} MB, "
                              f"peak RSS {m.peak_rss_mb:.0f} MB", file=sys.stderr, flush=True)
                        time.sleep(1.05)
                    rows.append((who, jobs, statistics.median(walls), size))
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("\n| build | -J | wall s (median) | MB/s |\n|---|---|---|---|")
    for who, jobs, wall, size in rows:
        print(f"| {who} | {jobs} | {wall:.2f} | {size / 1e6 / wall:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
