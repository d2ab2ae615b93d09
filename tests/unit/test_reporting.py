"""Progress and summary: the documented event keys, the terminal line, who sees what."""

import io
import json
from types import SimpleNamespace

import pytest

from cloud_base_backup.adapters.reporting import (
    Counters,
    RunReporter,
    TerminalLine,
    progress_line,
    summary_fields,
    summary_text,
)
from tests.fakes import RecordingLog

PROGRESS_KEYS = {"archive", "bytes_read", "bytes_uploaded", "bytes_total", "percent",
                 "read_bytes_per_second", "eta_seconds", "elapsed_seconds"}
SUMMARY_KEYS = {"backup_id", "backup_name", "begin_lsn", "end_lsn", "begin_wal", "end_wal",
                "archives", "bytes_read", "bytes_written", "compression_ratio", "seconds",
                "read_bytes_per_second"}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def run(total=1000):
    info = SimpleNamespace(backup_name="nightly", begin_xlog="0/2000028", end_xlog="0/2000100",
                           begin_wal="000000010000000000000002", end_wal="000000010000000000000002")
    return SimpleNamespace(backup_id="20261130T120000", server=SimpleNamespace(cluster_size=total),
                           expected_bytes=total,
                           info=info)


def test_progress_has_the_documented_keys_percent_and_eta():
    clock = Clock()
    counters = Counters(clock=clock)
    counters.start(1000)
    clock.now += 2
    counters.add_read(250, "data.tar.gz")
    counters.add_uploaded(40)
    fields = counters.progress()
    assert set(fields) == PROGRESS_KEYS
    assert (fields["percent"], fields["read_bytes_per_second"], fields["eta_seconds"]) == (25.0, 125, 6)
    assert (fields["archive"], fields["bytes_uploaded"], fields["bytes_total"]) == ("data.tar.gz", 40, 1000)
    line = progress_line(fields)
    assert "25%" in line and "ETA 0:00:06" in line and "data.tar.gz" in line


def test_the_percentage_stays_below_100_until_the_end_and_without_a_total_there_is_none():
    counters = Counters(clock=Clock())
    counters.start(100)
    counters.add_read(150, "data.tar")  # files outside the databases: more than the total
    assert counters.progress()["percent"] == 99.0
    assert counters.progress(final=True)["percent"] == 100.0
    counters.start(None)
    assert counters.progress()["percent"] is None and "%" not in progress_line(counters.progress())


def test_summary_has_the_documented_keys_and_the_ratio():
    counters = Counters(clock=Clock())
    counters.add_read(1000, "data.tar.gz")
    counters.add_archive("p/srv/base/20261130T120000/data.tar.gz", 200)
    counters.add_archive("p/srv/base/20261130T120000/16385.tar.gz", 50)
    fields = summary_fields(run(), counters, 2.0)
    assert set(fields) == SUMMARY_KEYS
    assert (fields["bytes_written"], fields["compression_ratio"], fields["read_bytes_per_second"]) == (250, 4.0, 500)
    text = summary_text(fields)
    assert text.startswith("Backup 20261130T120000 (nightly) completed in 0:00:02\n")
    assert "0/2000028" in text and "000000010000000000000002" in text and "16385.tar.gz" in text
    assert "ratio 4.00" in text


def test_on_a_terminal_the_line_is_drawn_cleared_and_the_summary_printed():
    out = io.StringIO()
    terminal = TerminalLine(out)
    reporter = RunReporter("terminal", RecordingLog(), terminal, interval=3600)
    r = run()
    reporter.started(r)
    reporter.read("p/data.tar", 500)
    reporter.archive_closed(r, SimpleNamespace(key="p/data.tar", size=600))
    reporter.done(r)
    text = out.getvalue()
    assert "\r" in text and "(100%)" in text and "\r\033[K" in text
    assert text.rstrip().splitlines()[-1].strip().startswith("read 500 B, written 600 B")


def test_a_log_line_clears_the_progress_line_first():
    out = io.StringIO()
    terminal = TerminalLine(out)
    terminal.draw("data.tar | 10%")
    terminal.write("warning store.retry\n")
    assert out.getvalue() == "\rdata.tar | 10%\033[K\r\033[Kwarning store.retry\n"


def test_without_a_terminal_at_v_json_progress_events_and_a_summary_event():
    log = RecordingLog()
    reporter = RunReporter("json", log, interval=0.01)
    r = run()
    reporter.started(r)
    reporter.read("p/data.tar", 500)
    import time
    deadline = time.monotonic() + 5
    while "progress" not in log.events() and time.monotonic() < deadline:
        time.sleep(0.01)
    reporter.done(r)
    progress = [f for _, e, f in log.records if e == "progress"]
    assert progress and set(progress[0]) == PROGRESS_KEYS
    summary = [f for _, e, f in log.records if e == "backup.summary"]
    assert len(summary) == 1 and set(summary[0]) == SUMMARY_KEYS
    json.dumps(summary[0])  # a JSON log line can carry it


@pytest.mark.parametrize("mode", [None])
def test_silent_mode_prints_and_logs_nothing(mode):
    log = RecordingLog()
    reporter = RunReporter(mode, log)
    r = run()
    reporter.started(r)
    reporter.done(r)
    reporter.checked("s3://bkt answered and the bucket exists")
    assert log.records == []


def test_t_says_what_it_checked():
    out = io.StringIO()
    RunReporter("terminal", RecordingLog(), TerminalLine(out)).checked("s3://bkt: reachable")
    assert out.getvalue() == "OK: s3://bkt: reachable\n"
    log = RecordingLog()
    RunReporter("json", log).checked("s3://bkt: reachable")
    assert log.records == [("info", "check.ok", {"checked": "s3://bkt: reachable"})]
