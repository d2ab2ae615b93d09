"""Run a command and measure it: wall time, CPU, peak RSS summed over its process tree, disk writes."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measurement:
    returncode: int
    wall: float
    cpu: float
    peak_rss_mb: float
    disk_write_mb: float
    temp_files_seen: int
    stderr: str


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        for task in tasks:
            text = (task / "children").read_text().split()
            out.extend(int(c) for c in text)
    except OSError:
        pass
    return out


def _tree(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(_children(p))
    return seen


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _write_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(argv: list[str], env: dict[str, str], watch_dir: Path, interval: float = 0.02) -> Measurement:
    """Run argv; sample its process tree every `interval` s (RSS summed, disk writes, temp files)."""
    watch_dir.mkdir(parents=True, exist_ok=True)
    before = os.times()
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    writes: dict[int, int] = {}
    temp_seen: set[str] = set()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            pids = _tree(proc.pid)
            peak = max(peak, sum(_rss_kb(p) for p in pids))
            for p in pids:
                writes[p] = max(writes.get(p, 0), _write_bytes(p))
            for root, dirs, files in os.walk(watch_dir):
                temp_seen.update(os.path.join(root, f) for f in files + dirs)
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return Measurement(
        returncode=proc.returncode,
        wall=wall,
        cpu=cpu,
        peak_rss_mb=peak / 1024,
        disk_write_mb=sum(writes.values()) / 1e6,
        temp_files_seen=len(temp_seen),
        stderr=stderr,
    )
