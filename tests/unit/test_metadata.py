"""backup.info: rendering matches barman's format and parse(render(x)) == x."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from cloud_base_backup.domain import metadata
from cloud_base_backup.domain.metadata import BackupInfo

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30
).map(str.strip).filter(lambda s: s and s != "None")
aware_times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]),
)
infos = st.builds(
    BackupInfo,
    status=st.sampled_from(["STARTED", "DONE", "FAILED"]),
    backup_label=st.none() | st.text(max_size=200),
    backup_name=st.none() | texts,
    begin_offset=st.none() | st.integers(min_value=0, max_value=2**24),
    begin_time=st.none() | aware_times,
    end_time=st.none() | aware_times,
    begin_xlog=st.none() | st.just("0/2000028"),
    cluster_size=st.none() | st.integers(min_value=0, max_value=2**50),
    copy_stats=st.none() | st.dictionaries(st.sampled_from(["total_time", "copy_time"]), st.floats(0, 1e6)),
    error=st.none() | texts,
    included_files=st.none() | st.lists(texts.map(lambda s: "/" + s), min_size=1, max_size=3),
    pgdata=st.none() | texts.map(lambda s: "/" + s),
    tablespaces=st.none()
    | st.lists(st.tuples(texts, st.integers(min_value=16384, max_value=2**32), texts.map(lambda s: "/" + s)), min_size=1, max_size=3),
    timeline=st.none() | st.integers(min_value=1, max_value=2**31),
    version=st.none() | st.integers(min_value=130000, max_value=189999),
)


@given(infos)
def test_render_parse_round_trip(info):
    assert metadata.parse(metadata.render(info)) == info


def test_rendering_is_alphabetical_with_33_keys_and_optional_ones_only_when_set():
    text = metadata.render(BackupInfo())
    keys = [line.split("=", 1)[0] for line in text.splitlines()]
    assert keys == sorted(keys)
    assert len(keys) == 33
    assert "backup_name" not in keys and "snapshots_info" not in keys
    assert "backup_name=nightly\n" in metadata.render(BackupInfo(backup_name="nightly"))


def test_values_are_written_as_barman_writes_them():
    info = BackupInfo(
        status="DONE",
        begin_time=datetime(2025, 3, 14, 9, 30, 11, 482913, tzinfo=timezone(timedelta(hours=1))),
        end_time=datetime(2025, 3, 14, 9, 31, 46, tzinfo=UTC),
        tablespaces=[("fastspace", 16385, "/mnt/fast")],
        backup_label="START WAL LOCATION: 0/2E000028\nLABEL: x\n",
        version=150012,
    )
    text = metadata.render(info)
    assert "begin_time=2025-03-14 09:30:11.482913+01:00\n" in text
    assert "end_time=2025-03-14 09:31:46+00:00\n" in text
    assert "tablespaces=[('fastspace', 16385, '/mnt/fast')]\n" in text
    assert "backup_label='START WAL LOCATION: 0/2E000028\\nLABEL: x\\n'\n" in text
    assert "compression=None\n" in text and "server_name=cloud\n" in text


def test_parse_tolerates_comments_blank_lines_and_spaces():
    info = metadata.parse("# comment\n\nstatus = DONE\r\nversion=150018\n")
    assert info.status == "DONE" and info.version == 150018


def test_unknown_key_is_rejected():
    try:
        metadata.parse("status=DONE\nbogus=1\n")
    except ValueError as exc:
        assert "bogus" in str(exc)
    else:
        raise AssertionError("unknown key accepted")
