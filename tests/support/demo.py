"""The README demo: a throwaway cluster with a tablespace -> a local S3 stand-in (moto) -> backup.

Run with `.ci/demo`. It prints the command it ran, the objects written and the backup.info.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.moto_server import MotoServer, aws_env
from tests.support.pgcluster import PgCluster, chown_to_postgres


def main() -> int:
    backup_cmd = shutil.which("barman-cloud-backup", path=str(Path(sys.executable).parent))
    if backup_cmd is None:
        print("barman-cloud-backup is not installed in this venv (pip install .)", file=sys.stderr)
        return 1
    root = Path(tempfile.mkdtemp(prefix="cbb-demo-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    cluster = PgCluster(root / "cluster")
    try:
        print(f"== throwaway cluster in {root}")
        cluster.initdb()
        cluster.start()
        tablespace = root / "tablespace"
        tablespace.mkdir()
        chown_to_postgres(tablespace)
        cluster.create_tablespace("demo_ts", tablespace)
        cluster.sql("CREATE TABLE demo (id int, note text) TABLESPACE demo_ts")
        cluster.sql("INSERT INTO demo SELECT i, md5(i::text) FROM generate_series(1, 50000) i")
        cluster.pgbench_init(scale=2)
        with MotoServer() as moto:
            bucket = moto.create_bucket("demo-bucket")
            argv = [
                backup_cmd, "--endpoint-url", moto.endpoint_url, "--immediate-checkpoint",
                "-h", str(cluster.sockdir), "-p", str(cluster.port), "-U", "postgres",
                "-z", "-n", "demo", f"s3://{bucket}/backups", "demo-server",
            ]
            print("== " + " ".join(argv))
            result = subprocess.run(argv, env=aws_env())
            print(f"== exit code {result.returncode}")
            client = moto.client()
            print("== objects written")
            info_key = None
            for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
                print(f"{obj['Size']:>12}  s3://{bucket}/{obj['Key']}")
                if obj["Key"].endswith("backup.info"):
                    info_key = obj["Key"]
            if info_key:
                print(f"== {info_key}")
                body = client.get_object(Bucket=bucket, Key=info_key)["Body"].read()
                print(body.decode(), end="")
            return result.returncode
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
