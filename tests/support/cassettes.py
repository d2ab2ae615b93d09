"""vcrpy cassettes for the compute APIs that have no local stand-in (Azure Compute, GCP Compute).

Replay is the default (record_mode "none": an unrecorded request fails the test). CASSETTE_RECORD=1
records against the real cloud, replacing the real ids by the placeholders the replay uses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import vcr

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
RECORD = os.environ.get("CASSETTE_RECORD") == "1"
# Volatile or secret headers never saved; api-version is in the query, which is not matched
# (it changes with each SDK release).
_DROPPED = ["authorization", "x-ms-client-request-id", "x-goog-api-client", "user-agent", "cookie"]


def cassette_file(request: pytest.FixtureRequest) -> Path:
    """tests/cassettes/<module>/<Class.test>.yaml"""
    module = Path(str(request.node.fspath)).stem
    owner = request.cls.__name__ if request.cls else "module"
    return CASSETTES / module / f"{owner}.{request.node.name}.yaml"


def _scrubber(replace: dict[str, str]) -> Any:
    def scrub_text(text: Any) -> Any:
        if isinstance(text, bytes):
            return scrub_text(text.decode()).encode()
        if isinstance(text, str):
            for real, placeholder in replace.items():
                text = text.replace(real, placeholder)
        return text

    def request(req: Any) -> Any:
        req.uri = scrub_text(req.uri)
        req.body = scrub_text(req.body)
        return req

    def response(resp: dict[str, Any]) -> dict[str, Any]:
        resp["body"]["string"] = scrub_text(resp["body"]["string"])
        resp["headers"] = {
            k: [scrub_text(v) for v in values]
            for k, values in resp["headers"].items()
            if k.lower() not in _DROPPED and not k.lower().startswith("x-ms-ratelimit")
        }
        return resp

    return request, response


@contextmanager
def use_cassette(request: pytest.FixtureRequest, replace: dict[str, str]) -> Iterator[Any]:
    """`replace` maps real values (ids, project, subscription) to their placeholders."""
    scrub_request, scrub_response = _scrubber({k: v for k, v in replace.items() if k and k != v})
    recorder = vcr.VCR(
        record_mode="all" if RECORD else "none",
        match_on=["method", "scheme", "host", "path"],
        filter_headers=_DROPPED,
        decode_compressed_response=True,
        before_record_request=scrub_request,
        before_record_response=scrub_response,
    )
    path = cassette_file(request)
    if not RECORD and not path.exists():
        pytest.fail(f"missing cassette {path.relative_to(CASSETTES.parent)} (record with CASSETTE_RECORD=1)")
    with recorder.use_cassette(str(path)) as cassette:
        yield cassette
    if not RECORD:  # the whole recorded conversation took place, in order
        unplayed = [r.uri for r in cassette.requests if not cassette.play_counts[cassette.requests.index(r)]]
        assert cassette.all_played, f"requests recorded but never made: {unplayed}"
