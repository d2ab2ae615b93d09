"""Masking credentials in any text the product prints or stores: one step for every sink.

Log lines (a structlog processor), the CLI's error path and backup.info's error field all call
`redact`. It masks what looks like a credential by its context (URL query signatures and
tokens, `key=value` and JSON forms of passwords and keys, URI passwords, `Authorization`
headers) and, by value, the secrets this run was given (credential environment variables, the
SSE-C key): those are set once per run with `set_run_secrets`/`add_secret`.

The domain knows only the generic forms and PostgreSQL's. Each provider describes its own (its
credential variables, header and parameter names, secrets inside a connection string) in a
`CredentialForms`, registered with `register` by the entrypoint before anything is written.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
# A value this short is not masked by value (it would garble every word that holds it); the
# context patterns still mask it wherever it appears as a credential.
MIN_LITERAL = 4
_lock = threading.Lock()


@dataclass(frozen=True)
class CredentialForms:
    """Where one family of credentials shows up in text.

    `secret_env`: variables whose whole value is a credential. `query_keys`: URL query
    parameters whose value is one. `kv_keys`: names in `key=value`, `key: value` and JSON forms
    (regular-expression fragments, matched case-insensitively). `env_secrets`: the credentials
    found inside other variables (e.g. the parts of a connection string).
    """

    name: str
    secret_env: tuple[str, ...] = ()
    query_keys: tuple[str, ...] = ()
    kv_keys: tuple[str, ...] = ()
    env_secrets: Callable[[Mapping[str, str]], Iterable[str]] | None = None


GENERIC = CredentialForms(
    name="generic",
    secret_env=("PGPASSWORD",),
    query_keys=(
        "sig", "signature", "access_token", "id_token", "refresh_token", "client_secret",
        "token", "password", "key",
    ),
    kv_keys=(
        "password", "passwd", "private_key", "client_secret", "refresh_token", "access_token",
        "id_token", "secret_access_key", "session_token", "account_key", "sas_token",
        "credential", "signature",
    ),
)


def _patterns(forms: Iterable[CredentialForms]) -> tuple[tuple[re.Pattern[str], str], ...]:
    forms = list(forms)
    # longer names first, so `x-...-signature` is tried before `signature`
    query = "|".join(sorted({k for f in forms for k in f.query_keys}, key=len, reverse=True))
    kv = "|".join(sorted({k for f in forms for k in f.kv_keys}, key=len, reverse=True))
    return (
        # URL query parameters: the value ends at the next parameter.
        (re.compile(rf"(?i)([?&](?:{query})=)[^&#\s\"'<>]+"), r"\1" + MASK),
        # Authorization headers, in HTTP text, dict reprs and JSON: the rest of the value.
        (
            re.compile(
                r"(?i)((?:proxy-)?authorization[\"']?\s*[:=]\s*)(?:\"[^\"\r\n]*\"?|'[^'\r\n]*'?|[^\r\n]+)"
            ),
            r"\1" + MASK,
        ),
        # key=value and "key": "value" forms (connection strings, conninfo, headers, JSON key files).
        (
            re.compile(
                rf"(?i)((?<![?&])(?:{kv})[\"']?\s*[:=]\s*)"
                r"(?:\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.|'')*'?|[^\s\"';,}]+)"
            ),
            r"\1" + MASK,
        ),
        # user:password@ in URIs (postgresql://, http://).
        (re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/?#@\s]*:)[^@\s]*(?=@)"), r"\1" + MASK),
        # A bare `sig=` (a signed token printed without its URL).
        (re.compile(r"(?i)((?<![\w?&-])sig=)[^&#\s\"'<>]+"), r"\1" + MASK),
    )


_forms: dict[str, CredentialForms] = {GENERIC.name: GENERIC}
_PATTERNS = _patterns(_forms.values())


def register(forms: CredentialForms) -> None:
    """Add (or replace, by name) one family of credential forms."""
    global _PATTERNS
    with _lock:
        _forms[forms.name] = forms
        _PATTERNS = _patterns(_forms.values())


def secret_env_names() -> tuple[str, ...]:
    """Every variable registered as a whole-value credential."""
    return tuple(name for forms in _forms.values() for name in forms.secret_env)


_literals: tuple[str, ...] = ()


def _variants(secret: str) -> set[str]:
    """The forms a secret takes once quoted into a URL, repr()'d or decoded."""
    forms = {secret, quote(secret, safe=""), quote(secret, safe="/=&"), quote_plus(secret)}
    forms.add(unquote(secret))
    forms.add(repr(secret)[1:-1])
    return {f for f in forms if len(f) >= MIN_LITERAL}


def secrets_in_env(env: Mapping[str, str]) -> set[str]:
    """Every credential value an environment hands the run, as the registered forms find them."""
    found: set[str] = set()
    for forms in list(_forms.values()):
        found |= {env[name].strip().lstrip("?") for name in forms.secret_env if env.get(name)}
        if forms.env_secrets is not None:
            found.update(forms.env_secrets(env))
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
