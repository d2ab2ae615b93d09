"""The domain names no cloud provider: no provider value, host, URL form or SDK name in its code.

import-linter keeps the SDKs out of domain/; this test keeps the providers' knowledge out too
(URL forms, hosts, per-provider option rules live in entrypoints/providers/ and the adapters).
Docstrings and comments may mention providers (a port documents what its adapters do).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
PROVIDER = re.compile(
    r"aws|azure|google|gcs|gcp|\bs3\b|s3:|gs:|ec2|\bgce\b|windows\.net|amazonaws|googleapis|arn:",
    re.IGNORECASE,
)
# No exception: even the redaction step's provider forms (credential variables, header names)
# are declared by entrypoints/providers/* and registered at start.
PROVIDERS = DOMAIN.parent / "entrypoints" / "providers"


def provider_names(path: Path) -> list[str]:
    found, previous = [], None
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        is_docstring = tok.type == tokenize.STRING and (
            previous is None or previous.type in (tokenize.INDENT, tokenize.NEWLINE, tokenize.DEDENT)
        )
        if tok.type in (tokenize.STRING, tokenize.NAME) and not is_docstring and PROVIDER.search(tok.string):
            found.append(f"{path.name}:{tok.start[0]}: {tok.string[:60]}")
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            previous = tok
    return found


def test_no_domain_module_names_a_provider() -> None:
    found = [hit for path in sorted(DOMAIN.glob("*.py")) for hit in provider_names(path)]
    assert found == []


def test_the_scan_finds_provider_names_where_they_are() -> None:
    for name in ("aws.py", "azure.py", "google.py"):  # the scan does see names, in code
        assert provider_names(PROVIDERS / name)
