"""hypothesis: random argv and environment never give a traceback, an undocumented exit code, or
exit 0 with nothing done (every port faked: no network, no server)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_base_backup.domain import metadata
from tests.unit.test_cli import Run

CODES = {0, 1, 2, 3, 4, 63}
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
_FLAGS = ["-z", "-j", "--snappy", "--lz4", "--zstd", "-t", "-q", "--immediate-checkpoint",
          "-V", "--help", "--gzip"]  # fmt: skip
_VALUED = {
    "-S": st.sampled_from(["1MB", "0", "-1", "10GB", "x", "1.5TB"]) | _TEXT,
    "-J": st.sampled_from(["1", "0", "-3", "4", "many"]),
    "-n": st.sampled_from(["nightly", "20261126T041850", "latest", ""]) | _TEXT,
    "--tag": st.sampled_from(["k,v", "k", ",", "a,b,c"]) | _TEXT,
    "-d": st.sampled_from(["postgres", "host=x password='secret", "port=", "postgresql://u:p@h/d?x=1"]) | _TEXT,
    "-h": _TEXT,
    "-p": st.sampled_from(["5432", "0", "port"]),
    "--cloud-provider": st.sampled_from(["aws-s3", "azure-blob-storage", "google-cloud-storage", "ftp"]),
    "--keepalive-interval": st.sampled_from(["0", "60", "-1", "x"]),
    "--min-chunk-size": st.sampled_from(["5MB", "1", "x"]),
    "--max-bandwidth": st.sampled_from(["1MB", "0", "x"]),
    "--read-timeout": st.sampled_from(["60", "0", "x"]),
}
_OPTION = st.sampled_from(_FLAGS).map(lambda f: [f]) | st.sampled_from(sorted(_VALUED)).flatmap(
    lambda name: _VALUED[name].map(lambda value: [name, value])
)
_POSITIONALS = st.lists(
    st.sampled_from(["s3://bkt/pg", "gs://bkt/pg", "https://acct.blob.core.windows.net/c/p",
                     "s3://", "main", "pg", ""]) | _TEXT,
    max_size=3,
)  # fmt: skip
_ENV = st.dictionaries(
    st.sampled_from(["PGPASSWORD", "AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING",
                     "AZURE_STORAGE_SAS_TOKEN", "BARMAN_HOOK", "BARMAN_PHASE", "BARMAN_STATUS",
                     "BARMAN_BACKUP_ID", "BARMAN_BACKUP_DIR", "BARMAN_BACKUP_INFO_PATH",
                     "BARMAN_SERVER", "PGHOST"]),
    st.sampled_from(["backup_script", "post", "pre", "DONE", "FAILED", "/nonexistent",
                     "20261126T041850", "main"]) | _TEXT,
    max_size=5,
)  # fmt: skip


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=st.lists(_OPTION, max_size=5), positionals=_POSITIONALS, env=_ENV)
def test_random_argv_and_env_never_trace_back_nor_succeed_doing_nothing(options, positionals, env):
    argv = [token for option in options for token in option] + positionals
    run = Run()
    code = run(*argv, env=env)
    shown = run.out.getvalue() + run.err.getvalue()
    assert code in CODES, (argv, env, shown)
    assert "Traceback" not in shown, (argv, env, shown)  # -vv is not in the grammar
    if code == 0:
        infos = [k for k in run.store.objects if k.endswith("backup.info")]
        done = [k for k in infos if metadata.parse(run.store.objects[k].decode()).status == "DONE"]
        checked = "-t" in argv and ("check", "") in run.store.calls
        printed = run.out.getvalue() != ""
        relayed = "BARMAN_HOOK" in env and bool(run.store.objects)
        assert done or checked or printed or relayed, (argv, env, shown, run.store.calls)
