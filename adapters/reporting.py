"""What an operator sees of a run: progress while it goes, a summary at the end, -t's verdict.

Where it goes depends on stderr and the verbosity (barman is silent on success without a
terminal, and scripts parse nothing of ours there, so neither changes that):

| stderr      | verbosity | progress                                   | summary / -t verdict      |
|-------------|-----------|--------------------------------------------|---------------------------|
| terminal    | default+  | one line redrawn in place, cleared at end  | printed as text           |
| not a tty   | -v and up | a JSON `progress` event every 30 s         | JSON `backup.summary` / `check.ok` events |
| not a tty   | default   | nothing                                    | nothing                   |
| any         | -q        | nothing                                    | nothing                   |

The total is PostgreSQL's own figure, the sum of pg_tablespace_size() that backup.info records
as cluster_size: it is known before the first byte is read at no cost (a pre-walk would stat
every file twice), and it differs from the bytes archived only by the small files outside the
databases (pg_xact, configuration), so the percentage is capped at 99 until the run ends.
"""

from __future__ import annotations

import posixpath
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from cloud_base_backup.domain.errors import BackupError
from cloud_base_backup.domain.lifecycle import BackupRun, LifecycleObserver
from cloud_base_backup.domain.model import ArchiveResult, Member

MIB = 1 << 20
TERMINAL_INTERVAL = 0.5  # seconds between redraws of the terminal line
JSON_INTERVAL = 30.0  # seconds between JSON `progress` events (CBB_PROGRESS_INTERVAL overrides)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop always returns


def human_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


@dataclass
class Counters:
    """The numbers of one run; updated from the streaming thread and the upload workers."""

    clock: Callable[[], float] = time.monotonic
    total: int | None = None
    read: int = 0
    uploaded: int = 0
    archive: str = ""
    archives: list[tuple[str, int]] = field(default_factory=list)
    started: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self, total: int | None) -> None:
        with self._lock:
            self.total = total or None
            self.started = self.clock()

    def add_read(self, nbytes: int, archive: str) -> None:
        with self._lock:
            self.read += nbytes
            self.archive = archive

    def add_uploaded(self, nbytes: int) -> None:
        with self._lock:
            self.uploaded += nbytes

    def add_archive(self, key: str, size: int) -> None:
        with self._lock:
            self.archives.append((key, size))

    def progress(self, final: bool = False) -> dict[str, Any]:
        """The `progress` event's fields (bytes, percent of the total, bytes/s, ETA seconds)."""
        with self._lock:
            elapsed = max(self.clock() - self.started, 1e-6)
            rate = self.read / elapsed
            fields: dict[str, Any] = {
                "archive": self.archive,
                "bytes_read": self.read,
                "bytes_uploaded": self.uploaded,
                "bytes_total": self.total,
                "percent": None,
                "read_bytes_per_second": round(rate),
                "eta_seconds": None,
                "elapsed_seconds": round(elapsed, 1),
            }
            if self.total:
                share = self.read / self.total
                fields["percent"] = 100.0 if final else round(min(share * 100, 99.0), 1)
                if rate > 0 and not final:
                    fields["eta_seconds"] = round(max(self.total - self.read, 0) / rate)
            return fields


def progress_line(fields: dict[str, Any]) -> str:
    """The terminal line: archive, read of total (percent), sent, rate, ETA."""
    read = human_bytes(fields["bytes_read"])
    parts = [fields["archive"] or "starting"]
    if fields["bytes_total"]:
        total = human_bytes(fields["bytes_total"])
        parts.append(f"{read} of ~{total} read ({fields['percent']:.0f}%)")
    else:
        parts.append(f"{read} read")
    parts.append(f"{human_bytes(fields['bytes_uploaded'])} uploaded")
    parts.append(f"{human_bytes(fields['read_bytes_per_second'])}/s")
    if fields["eta_seconds"] == 0:
        parts.append("finishing")  # all read: the last parts, pg_backup_stop, backup.info
    elif fields["eta_seconds"] is not None:
        parts.append(f"ETA {human_seconds(fields['eta_seconds'])}")
    return " | ".join(parts)


def summary_fields(run: Any, counters: Counters, seconds: float) -> dict[str, Any]:
    """The `backup.summary` event's fields, from the finished run and its counters."""
    info = run.info
    written = sum(size for _, size in counters.archives)
    read = counters.read
    return {
        "backup_id": str(run.backup_id),
        "backup_name": getattr(info, "backup_name", None),
        "begin_lsn": getattr(info, "begin_xlog", None),
        "end_lsn": getattr(info, "end_xlog", None),
        "begin_wal": getattr(info, "begin_wal", None),
        "end_wal": getattr(info, "end_wal", None),
        "archives": [{"key": key, "bytes": size} for key, size in counters.archives],
        "bytes_read": read,
        "bytes_written": written,
        "compression_ratio": round(read / written, 2) if written else None,
        "seconds": round(seconds, 3),
        "read_bytes_per_second": round(read / seconds) if seconds > 0 else None,
    }


def summary_text(fields: dict[str, Any]) -> str:
    name = f" ({fields['backup_name']})" if fields["backup_name"] else ""
    ratio = fields["compression_ratio"]
    rate = fields["read_bytes_per_second"]
    lines = [
        f"Backup {fields['backup_id']}{name} completed in {human_seconds(fields['seconds'])}",
        f"  begin  {fields['begin_lsn']}  WAL {fields['begin_wal']}",
        f"  end    {fields['end_lsn']}  WAL {fields['end_wal']}",
    ]
    lines += [
        f"  {human_bytes(a['bytes']):>10}  {posixpath.basename(a['key'])}" for a in fields["archives"]
    ]
    if not fields["archives"]:  # a snapshot backup: backup_label and backup.info only
        return "\n".join(lines) + "\n"
    lines.append(
        f"  read {human_bytes(fields['bytes_read'])}, written {human_bytes(fields['bytes_written'])}"
        + (f" (ratio {ratio:.2f})" if ratio else "")
        + (f", {human_bytes(rate)}/s" if rate else "")
    )
    return "\n".join(lines) + "\n"


class TerminalLine:
    """stderr on a terminal, shared by the log and the progress line: a log line (or any other
    write) first clears the progress line, so the two never mix on one row."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.RLock()
        self._drawn = False

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._clear()
            return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def draw(self, line: str) -> None:
        with self._lock:
            self._stream.write("\r" + line + "\033[K")
            self._stream.flush()
            self._drawn = True

    def clear(self) -> None:
        with self._lock:
            self._clear()
            self._stream.flush()

    def _clear(self) -> None:
        if self._drawn:
            self._stream.write("\r\033[K")
            self._drawn = False


class _Ticker:
    """Calls `tick` every `interval` seconds on a daemon thread until stopped."""

    def __init__(self, interval: float, tick: Callable[[], None]) -> None:
        self._interval = interval
        self._tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._tick()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


class RunReporter(LifecycleObserver):
    """A lifecycle observer that shows progress and the summary (see the module's table).

    `mode` is "terminal", "json" or None (silent). The tar sink reports uploaded bytes through
    `read` and `uploaded`; the rest comes from the lifecycle's observer calls.
    """

    def __init__(
        self,
        mode: str | None,
        log: Any,
        terminal: TerminalLine | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mode = mode
        self._log = log
        self._terminal = terminal
        self.counters = Counters(clock=clock)
        default = TERMINAL_INTERVAL if mode == "terminal" else JSON_INTERVAL
        self._ticker = _Ticker(interval or default, self._tick)
        self._running = False

    # -- the lifecycle's observer calls ----------------------------------------------------
    def started(self, run: BackupRun) -> None:
        self.counters.start(run.expected_bytes)
        if self.mode is not None and not self._running:
            self._running = True
            self._ticker.start()

    def member_added(self, run: BackupRun, key: str, member: Member) -> None:
        """Files are counted as they are read (`read`), not once whole: a 1 GB relation
        segment would otherwise hold the numbers still for a minute."""

    def archive_closed(self, run: BackupRun, result: ArchiveResult) -> None:
        self.counters.add_archive(result.key, result.size)

    def done(self, run: BackupRun) -> None:
        self._end(final=True)
        began = getattr(run, "began", 0.0) or self.counters.started  # before pg_backup_start
        fields = summary_fields(run, self.counters, self.counters.clock() - began)
        if self.mode == "terminal" and self._terminal is not None:
            self._terminal.write(summary_text(fields))
            self._terminal.flush()
        elif self.mode == "json":
            self._log.info("backup.summary", **fields)

    def failed(self, run: BackupRun, error: BackupError) -> None:
        self._end(final=False)

    # -- the sink's callbacks --------------------------------------------------------------
    def read(self, key: str, nbytes: int) -> None:
        self.counters.add_read(nbytes, posixpath.basename(key))

    def uploaded(self, nbytes: int) -> None:
        self.counters.add_uploaded(nbytes)

    # -- -t --------------------------------------------------------------------------------
    def checked(self, what: str, **fields: Any) -> None:
        """-t succeeded: say what was checked."""
        if self.mode == "terminal" and self._terminal is not None:
            self._terminal.write(f"OK: {what}\n")
            self._terminal.flush()
        elif self.mode == "json":
            self._log.info("check.ok", checked=what, **fields)

    # -- drawing ---------------------------------------------------------------------------
    def _tick(self, final: bool = False) -> None:
        fields = self.counters.progress(final=final)
        if self.mode == "terminal" and self._terminal is not None:
            self._terminal.draw(progress_line(fields))
        elif self.mode == "json":
            self._log.info("progress", **fields)

    def _end(self, final: bool) -> None:
        if not self._running:
            return
        self._running = False
        self._ticker.stop()
        if self.mode == "terminal" and self._terminal is not None:
            if final:
                self._tick(final=True)  # the last state, then the line goes
            self._terminal.clear()


def terminal_for(stream: TextIO, quiet: int) -> TextIO | TerminalLine:
    """stderr, wrapped so the log and the progress line share it, when it is a terminal."""
    if quiet or not stream.isatty():
        return stream
    return TerminalLine(stream)


def reporter_for(
    stream: TextIO | TerminalLine,
    verbose: int,
    quiet: int,
    env: Mapping[str, str],
    log: Any,
    clock: Callable[[], float] = time.monotonic,
) -> RunReporter:
    """The reporter for this stderr and verbosity (the module's table).

    CBB_PROGRESS_INTERVAL (seconds) sets the interval of the JSON `progress` events."""
    if isinstance(stream, TerminalLine):
        return RunReporter("terminal", log, stream, clock=clock)
    interval = env.get("CBB_PROGRESS_INTERVAL")
    mode = "json" if verbose and not quiet else None
    return RunReporter(mode, log, interval=float(interval) if interval else None, clock=clock)
