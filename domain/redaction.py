"""Masking credentials in any text the product prints or stores: one step for every sink.

Log lines (a structlog processor), the CLI's error path and backup.info's error field all call
`redact`. It masks what looks like a credential by its context (SAS `sig`, `AccountKey=`,
conninfo and URI passwords, signed-URL signatures, `Authorization` headers, SSE-C key headers)
and, by value, the secrets this run was given (the credential environment variables, the
SSE-C key): those are set once per run with `set_run_secrets`/`add_secret`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
# A value this short is not masked by value (it would garble every word that holds it); the
# context patterns still mask it wherever it appears as a credential.
MIN_LITERAL = 4

# Environment variables whose whole value is a credential.
SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_PASSWORD",
    "PGPASSWORD",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "CLOUDSDK_AUTH_ACCESS_TOKEN",
)
# Environment variables holding a connection string whose credential parts are masked.
CONNECTION_STRING_ENV = ("AZURE_STORAGE_CONNECTION_STRING",)

_QUERY_KEYS = (
    r"sig|signature|x-amz-signature|x-goog-signature|x-amz-security-token|x-amz-credential"
    r"|x-goog-credential|access_token|id_token|refresh_token|client_secret|token|password"
    r"|sharedaccesssignature|key"
)
_KV_KEYS = (
    r"accountkey|sharedaccesssignature|sharedaccesskey|password|passwd|private_key"
    r"|client_secret|refresh_token|access_token|id_token|aws_secret_access_key|aws_session_token"
    r"|secret_access_key|session_token|account_key|sas_token|credential"
    r"|x-amz-server-side-encryption-customer-key(?!-md5)"
    r"|x-amz-copy-source-server-side-encryption-customer-key(?!-md5)"
    r"|x-goog-encryption-key(?!-sha256)|x-goog-copy-source-encryption-key(?!-sha256)"
    r"|x-ms-encryption-key(?!-sha256)|x-amz-security-token|ssecustomerkey|copysourcessecustomerkey"
    r"|x-ms-copy-source-authorization|x-amz-signature|x-goog-signature|signature"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # URL query parameters: the value ends at the next parameter.
    (re.compile(rf"(?i)([?&](?:{_QUERY_KEYS})=)[^&#\s\"'<>]+"), r"\1" + MASK),
    # Authorization headers, in HTTP text, dict reprs and JSON: the rest of the value.
    (
        re.compile(r"(?i)((?:proxy-)?authorization[\"']?\s*[:=]\s*)(?:\"[^\"\r\n]*\"?|'[^'\r\n]*'?|[^\r\n]+)"),
        r"\1" + MASK,
    ),
    # key=value and "key": "value" forms (connection strings, conninfo, headers, JSON key files).
    (
        re.compile(
            rf"(?i)((?<![?&])(?:{_KV_KEYS})[\"']?\s*[:=]\s*)"
            r"(?:\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.|'')*'?|[^\s\"';,}]+)"
        ),
        r"\1" + MASK,
    ),
    # user:password@ in URIs (postgresql://, http://).
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/?#@\s]*:)[^@\s]*(?=@)"), r"\1" + MASK),
    # A bare `sig=` (a SAS token printed without its URL).
    (re.compile(r"(?i)((?<![\w?&-])sig=)[^&#\s\"'<>]+"), r"\1" + MASK),
)

_lock = threading.Lock()
_literals: tuple[str, ...] = ()


def _variants(secret: str) -> set[str]:
    """The forms a secret takes once quoted into a URL, repr()'d or decoded."""
    forms = {secret, quote(secret, safe=""), quote(secret, safe="/=&"), quote_plus(secret)}
    forms.add(unquote(secret))
    forms.add(repr(secret)[1:-1])
    return {f for f in forms if len(f) >= MIN_LITERAL}


def _secrets_of_connection_string(value: str) -> set[str]:
    """The credential parts of an Azure connection string (and the SAS `sig` inside one)."""
    found: set[str] = set()
    for part in value.split(";"):
        name, _, val = part.partition("=")
        if name.strip().lower() in ("accountkey", "sharedaccesssignature", "sharedaccesskey"):
            found.add(val.strip())
            found.update(re.findall(r"(?i)(?:^|[?&])sig=([^&]+)", val))
    return found


def secrets_in_env(env: Mapping[str, str]) -> set[str]:
    """Every credential value an environment hands the run."""
    found = {env[name].strip().lstrip("?") for name in SECRET_ENV if env.get(name)}
    for name in CONNECTION_STRING_ENV:
        if env.get(name):
            found |= _secrets_of_connection_string(env[name])
    sas = env.get("AZURE_STORAGE_SAS_TOKEN", "")
    found.update(re.findall(r"(?i)(?:^|[?&])sig=([^&]+)", sas))
    return {s for s in found if s}


def set_run_secrets(env: Mapping[str, str], extra: Iterable[str] = ()) -> None:
    """Replace the secrets masked by value with this run's (its environment plus `extra`)."""
    global _literals
    values: set[str] = set()
    for secret in secrets_in_env(env) | {s for s in extra if s}:
        values |= _variants(secret)
    with _lock:
        _literals = tuple(sorted(values, key=len, reverse=True))


def add_secret(secret: str) -> None:
    """Mask one more value (e.g. the SSE-C key once its file is read)."""
    global _literals
    if not secret:
        return
    with _lock:
        values = set(_literals) | _variants(secret)
        _literals = tuple(sorted(values, key=len, reverse=True))


def credentials_in(text: str) -> set[str]:
    """The values the context patterns would mask in `text` (to mask them wherever else they show)."""
    found: set[str] = set()
    for pattern, _ in _PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(0)[len(match.group(1)) :].strip("'\"")
            if value:
                found |= _variants(value)
    return found


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every credential masked; hosts, ports and the reason stay readable.

    `extra` are more values to mask by value, for this call only.
    """
    literals = _literals
    if extra:
        more = set().union(*(_variants(e) for e in extra if e))
        literals = tuple(sorted(set(literals) | more, key=len, reverse=True))
    for literal in literals:
        if literal in text:
            text = text.replace(literal, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: object) -> object:
    """`redact` over a log field: strings, and the strings inside lists, tuples and dicts."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, BaseException):
        return redact(str(value))
    return value
