"""OpenAPI fuzzing with schemathesis: no server error, every 4xx a problem-details object.

Every operation of the service's own OpenAPI document gets ``ESTIMO_FUZZ_EXAMPLES``
generated requests (default 10: the default suite stays fast), valid and invalid bodies,
parameters and headers alike (hypothesis, derandomised: a failure is reproducible). CI runs
more, without xdist so that the module can count them::

    ESTIMO_FUZZ_EXAMPLES=500 ESTIMO_FUZZ_MIN_REQUESTS=1000 pytest -p no:xdist -q \\
        tests/serve/test_guard_fuzz.py
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from _serve_helpers import ready_client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from estimo.serve.main import create_app
from estimo.serve.routers.photos import missing_modules
from estimo.serve.settings import ServeSettings

log = logging.getLogger(__name__)

EXAMPLES = int(os.environ.get("ESTIMO_FUZZ_EXAMPLES", "10"))
MIN_REQUESTS = int(os.environ.get("ESTIMO_FUZZ_MIN_REQUESTS", "0"))
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}
#: what no answer may show: file paths, tracebacks, Python class or module names
INTERNALS = re.compile(
    r"Traceback|File \"|/site-packages/|/src/estimo|\bestimo\.[a-z_]+\.|<class '|Error\(",
)
_REQUESTS: dict[str, int] = {}
_HAS_PHOTOS = not missing_modules()


_FOLDER = Path(tempfile.mkdtemp(prefix="estimo-fuzz-"))


def _app():
    """The service (open, generous limits, no extraction verdicts: the fuzzer is one client
    that would soon be blocked); its bundles are copied in by :func:`_service`."""
    settings = ServeSettings(
        model=str(_FOLDER / "bundles"),
        alias_poll_seconds=0,
        hot_cities=["global"],
        monitor={"store_url": f"sqlite:///{_FOLDER / 'monitor.db'}"},
        guard={
            "keys_url": f"sqlite:///{_FOLDER / 'keys.db'}",
            "anonymous_tier": "internal",
            "key_limits": {"internal": "100000/second"},
            "address_limit": "100000/second",
            "extraction": {"enabled": False},
        },
    )
    return create_app(settings)


APP = _app()
# the schema is read at import (the OpenAPI document needs no model); the lazy
# ``from_fixture`` loader does not work with pytest 9
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
if "ESTIMO_FUZZ_EXAMPLES" not in os.environ:
    # the coverage phase (boundary values of every field: hundreds of requests) only in CI
    schema.config.phases.coverage.enabled = False


@pytest.fixture(scope="module", autouse=True)
def _service(bundles: Path):
    """Preload the app once with the session's bundles."""
    shutil.copytree(bundles, _FOLDER / "bundles", dirs_exist_ok=True)
    for _ in ready_client(APP):
        yield
    shutil.rmtree(_FOLDER, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def _count():
    yield
    total = sum(_REQUESTS.values())
    log.info("schemathesis: %d requests over %d operations", total, len(_REQUESTS))
    print(f"\nschemathesis: {total} requests over {len(_REQUESTS)} operations: {_REQUESTS}")
    assert total >= MIN_REQUESTS, f"only {total} requests were generated; {MIN_REQUESTS} expected"


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_problem_details(case) -> None:
    response = case.call()
    label = f"{case.method} {case.path}"
    _REQUESTS[label] = _REQUESTS.get(label, 0) + 1
    if response.status_code == 501 and case.path == "/v1/photos/check":
        assert not _HAS_PHOTOS, "a 501 from the photo check although estimo[photos] is installed"
        return  # documented: the photo check needs estimo[photos]
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:300]}"
    text = response.text
    assert not INTERNALS.search(text), f"{label} shows internals: {text[:300]}"
    if 400 <= response.status_code < 500:
        kind = (response.headers.get("content-type") or [""])[0]
        assert kind.startswith("application/problem+json"), (
            f"{label}: {response.status_code} as {kind}"
        )
        body = response.json()
        assert set(body) >= PROBLEM_KEYS, f"{label}: {body}"
        assert body["status"] == response.status_code


def test_a_date_out_of_pandas_range_is_a_field_error() -> None:
    """Found by the fuzzer: ``date: 0001-01-01`` was a 500 (pandas' nanosecond range)."""
    from fastapi.testclient import TestClient

    with TestClient(APP) as client:
        response = client.post("/v1/valuations", json={"city": "Roma", "date": "0001-01-01"})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "date" and "between 1800-01-01 and 2200-12-31" in error["message"]
