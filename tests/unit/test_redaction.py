"""The one redaction step: credentials masked by context and by value, causes kept."""

import io
import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cloud_base_backup.adapters.system import make_logger
from cloud_base_backup.domain import metadata, redaction
from cloud_base_backup.domain.redaction import redact
from cloud_base_backup.entrypoints.cli import main
from cloud_base_backup.entrypoints.providers.registry import register_credentials

register_credentials()  # what the CLI does first: every provider's forms, as in a run


@pytest.fixture(autouse=True)
def _no_run_secrets():
    redaction.set_run_secrets({})
    yield
    redaction.set_run_secrets({})


SIG = "Zx8k2Qv9%2Bw0pLr%3D"
# (text holding a secret, the secret, what must stay readable)
CASES = [
    (f"http://127.0.0.1:5251/devstoreaccount1/azsec?se=2030-01-01&sp=racwdl&sv=2021-08-06&sr=c&sig={SIG}",
     SIG, "127.0.0.1:5251/devstoreaccount1/azsec"),
    (f"Max retries exceeded with url: /c?restype=container&comp=list&sig={SIG} (Caused by x)",
     SIG, "(Caused by x)"),
    ("DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=Eby8vdM02xNOcqF+lw==;BlobEndpoint=http://h:1/dev;",
     "Eby8vdM02xNOcqF+lw==", "BlobEndpoint=http://h:1/dev"),
    ("BlobEndpoint=http://h:1/a;SharedAccessSignature=sv=2021&sr=c&sig=abcDEF123", "sig=abcDEF123", "http://h:1/a"),
    ("connection to server at \"db\" (10.0.0.1), port 5432 failed: host=db password=hunter2xx user=u",
     "hunter2xx", "port 5432 failed"),
    ("host=db password='it''s a s3cret phrase' port=5432", "s3cret phrase", "port=5432"),
    ("host=db password='it\\'s a s3cret phrase' port=5432", "s3cret phrase", "port=5432"),
    ("postgresql://alice:pa55w0rd@db.example:5433/app", "pa55w0rd", "db.example:5433"),
    ("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Signature=0123abcdef&X-Amz-Date=1",
     "0123abcdef", "b.s3.amazonaws.com"),
    ("https://storage.googleapis.com/b/o?X-Goog-Signature=fedcba9876&X-Goog-Date=1", "fedcba9876",
     "storage.googleapis.com"),
    ("{'Authorization': 'SharedKey devstoreaccount1:q0Wj3oMvHc5o=', 'x-ms-version': '2021'}",
     "q0Wj3oMvHc5o=", "x-ms-version"),
    ("Authorization: AWS4-HMAC-SHA256 Credential=AKIA/2026, Signature=deadbeef42\nHost: h:9000",
     "deadbeef42", "Host: h:9000"),
    ("{'x-amz-server-side-encryption-customer-key': 'a2V5a2V5a2V5', 'x-amz-server-side-encryption-customer-key-MD5': 'm'}",
     "a2V5a2V5a2V5", "customer-key-MD5"),
    ('{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEv\\n", "x": 1}',
     "MIIEv", '"x": 1'),
]


@pytest.mark.parametrize(("text", "secret", "kept"), CASES)
def test_a_credential_is_masked_by_its_context_and_the_cause_stays(text, secret, kept):
    masked = redact(text)
    assert secret not in masked
    assert kept in masked
    assert redaction.MASK in masked


def test_the_run_s_credential_variables_are_masked_by_value_wherever_they_appear():
    env = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
        "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEJr//////////",
        "AZURE_STORAGE_KEY": "Eby8vdM02xNOcqF==",
        "AZURE_STORAGE_SAS_TOKEN": "?se=2030&sp=r&sig=sAsSiG%2F%3D",
        "AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=c0nnKey==;BlobEndpoint=http://x:1/a",
        "AZURE_CLIENT_SECRET": "clientS3cret~",
        "PGPASSWORD": "pgPassW0rd",
    }
    redaction.set_run_secrets(env)
    for name, value in env.items():
        secret = value.lstrip("?") if name != "AZURE_STORAGE_CONNECTION_STRING" else "c0nnKey=="
        for shown in (f"error: {secret} failed", f"url=/x?{secret}", f"got {secret!r}"):
            assert secret not in redact(shown), (name, shown)
    assert "sAsSiG/=" not in redact("decoded sig sAsSiG/= in a message")
    assert "http://x:1/a" in redact("endpoint http://x:1/a refused")


def test_the_sse_c_key_is_masked_once_added():
    redaction.add_secret("a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=")
    assert "a2V5a2V5" not in redact("key a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U= refused")


def test_log_lines_pass_through_the_redaction_processor():
    redaction.set_run_secrets({"PGPASSWORD": "pgPassW0rd\"quoted"})
    out = io.StringIO()
    log = make_logger(10, out, json=True)
    log.error("failed: password=abc123xyz", detail=["pgPassW0rd\"quoted"], url="x?sig=SiG99")
    line = out.getvalue()
    assert "abc123xyz" not in line and "pgPassW0rd" not in line and "SiG99" not in line
    assert json.loads(line)["event"] == "failed: password=***"


def test_backup_info_error_field_is_redacted_and_other_fields_are_not():
    redaction.set_run_secrets({"AWS_SECRET_ACCESS_KEY": "testsecretvalue"})
    info = metadata.BackupInfo(status="FAILED", pgdata="/srv/testsecretvalue-not-a-secret-here",
                               error="failure uploading data (x?sig=SiG99 and testsecretvalue)")
    text = metadata.render(info)
    error_line = next(line for line in text.splitlines() if line.startswith("error="))
    assert "SiG99" not in error_line and "testsecretvalue" not in error_line
    assert "pgdata=/srv/testsecretvalue-not-a-secret-here" in text


_SECRET = st.text(st.characters(codec="ascii", categories=("L", "N")) | st.sampled_from("+/=-_.~%"),
                  min_size=8, max_size=40)
_NOISE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
_SEP = st.sampled_from([" ", "\n", ", ", "(", "; ", "\t", ": "])
_CONTEXTS = [
    "password={}", "password='{}'", "PASSWORD = {}", "postgresql://user:{}@host:5432/db",
    "http://h:1/c?sv=1&sig={}&se=2", "sig={}", "AccountKey={};", "SharedAccessSignature=sv=1&sig={}",
    "X-Amz-Signature={}", "https://x/y?X-Goog-Signature={}&a=b", "Authorization: Bearer {}",
    "'Authorization': '{}'", "x-amz-server-side-encryption-customer-key: {}", '"private_key": "{}"',
    "client_secret={}", "AWS_SECRET_ACCESS_KEY={}",
]


@given(before=_NOISE, after=_NOISE, sep=_SEP, context=st.sampled_from(_CONTEXTS), secret=_SECRET)
def test_no_secret_in_a_known_context_survives_random_text(before, after, sep, context, secret):
    text = before + sep + context.format(secret) + sep + after
    assume(secret not in before + sep + context.format("") + sep + after)  # only the planted one
    assert secret not in redact(text)


@given(parts=st.lists(_NOISE, min_size=1, max_size=4), secret=_SECRET,
       name=st.sampled_from(redaction.secret_env_names()))
def test_no_run_secret_survives_random_text(parts, secret, name):
    redaction.set_run_secrets({name: secret})
    assume(len(secret.strip()) == len(secret))
    text = secret.join(parts) + secret
    assert secret not in redact(text)


def test_an_inline_sse_c_key_is_not_echoed_in_the_error():
    key = "MySecretKeyMaterial0123456789abcdef="
    out, err = io.StringIO(), io.StringIO()
    code = main(["--sse-customer-key", key, "s3://bkt/pg", "main"], {}, out, err)
    assert code == 4
    assert "file:///absolute/path" in err.getvalue()
    assert key not in err.getvalue() + out.getvalue()


def test_a_secret_echoed_by_the_argument_parser_is_masked():
    out, err = io.StringIO(), io.StringIO()
    code = main(["--cloud-provider", "pgPassW0rd", "s3://bkt/pg", "main"], {"PGPASSWORD": "pgPassW0rd"}, out, err)
    assert code == 3
    assert "invalid choice" in err.getvalue() and "pgPassW0rd" not in err.getvalue()


@pytest.mark.parametrize(
    ("dbname", "code", "reason"),
    [
        ("host=x password='pgPassW0rd", 1, "invalid dsn: unterminated quoted string in connection info string"),
        ("postgresql://u:pgPassW0rd@127.0.0.1/db?foo=bar", 1, 'invalid dsn: invalid URI query parameter: "foo"'),
        ("host=x password=pgPassW0rd port", 4, 'invalid connection string: missing "=" after "port"'),
    ],
)
def test_a_malformed_conninfo_keeps_libpq_reason_with_barman_s_exit_code(dbname, code, reason):
    out, err = io.StringIO(), io.StringIO()
    assert main(["-d", dbname, "s3://bkt/pg", "main"], {}, out, err) == code
    line = json.loads(err.getvalue())["event"]
    assert line.startswith(f"Cannot connect to postgres: {reason}")
    assert "pgPassW0rd" not in err.getvalue() + out.getvalue()
