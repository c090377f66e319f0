"""OpenAPI fuzzing with schemathesis: no server error, every 4xx a problem-details object.

Every operation of the service's own OpenAPI document gets ``ESTIMO_FUZZ_EXAMPLES``
generated requests (default 10: the default suite stays fast), valid and invalid bodies,
parameters and headers alike (hypothesis, derandomised: a failure is reproducible), against
two services:

* ``open``: anonymous callers get the internal tier, generous limits, no extraction
  verdicts: every request reaches the valuation code;
* ``guarded``: a key is required, tight limits, extraction detection on (with a captcha
  verifier named in the settings): each request carries the fuzzer's public-tier key
  (``X-API-Key`` or ``Authorization: Bearer``), no key, or whatever key headers the fuzzer
  made up, so that the guard's refusals (401, 403, 413, 422, 429 with ``Retry-After``) are
  fuzzed too.

Each service must see ``ESTIMO_FUZZ_MIN_REQUESTS`` requests (default 0). CI runs more,
without xdist so that the module can count them::

    ESTIMO_FUZZ_EXAMPLES=500 ESTIMO_FUZZ_MIN_REQUESTS=1000 pytest -p no:xdist -q \\
        tests/serve/test_guard_fuzz.py
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import zlib
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from _guard_doubles import SOLVED_TOKEN
from _serve_helpers import ready_client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from estimo.serve.guard.keys import KeyStore
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
_REQUESTS: dict[str, Counter[str]] = {"open": Counter(), "guarded": Counter()}
#: status codes the guarded service answered (the guard's refusals must be among them)
_STATUSES: Counter[int] = Counter()
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


def _guarded_app():
    """The service as the public meets it: keys required, tight limits, detection on.

    The limits are tight enough that the fuzzer's own key runs into them (and into the
    detector's verdicts: a block lasts 2 s, so that later examples reach the valuation code
    again); the body limit is the smallest allowed. Returns the app and the fuzzer's
    public-tier key."""
    keys_url = f"sqlite:///{_FOLDER / 'guarded-keys.db'}"
    plain = KeyStore.from_url(keys_url).create("fuzzer", "public")[1]
    settings = ServeSettings(
        model=str(_FOLDER / "bundles"),
        alias_poll_seconds=0,
        hot_cities=["global"],
        monitor={"store_url": f"sqlite:///{_FOLDER / 'guarded-monitor.db'}"},
        guard={
            "keys_url": keys_url,
            "key_limits": {"public": "3/second;30/minute"},
            "address_limit": "1000/second",
            "max_body_bytes": 1024,
            "captcha_verifier": SOLVED_TOKEN,
            "extraction": {
                "min_queries": 10,
                "window": 60,
                "block_seconds": 2,
                "throttle_limit": "1/second",
                "audit_log": str(_FOLDER / "guarded-audit.jsonl"),
            },
        },
    )
    return create_app(settings), plain


def _schema(app):
    # the schema is read at import (the OpenAPI document needs no model); the lazy
    # ``from_fixture`` loader does not work with pytest 9
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    if "ESTIMO_FUZZ_EXAMPLES" not in os.environ:
        # the coverage phase (boundary values of every field: hundreds of requests) only in CI
        loaded.config.phases.coverage.enabled = False
    return loaded


APP = _app()
GUARDED_APP, GUARDED_KEY = _guarded_app()
schema = _schema(APP)
guarded_schema = _schema(GUARDED_APP)
GUARDED_OPERATIONS = [op.ok().label for op in guarded_schema.get_all_operations()]
#: how a guarded request presents the fuzzer's key
KEY_MODES = ("x-api-key", "bearer", "no key", "as generated")


@pytest.fixture(scope="module", autouse=True)
def _service(bundles: Path):
    """Preload both apps once with the session's bundles."""
    shutil.copytree(bundles, _FOLDER / "bundles", dirs_exist_ok=True)
    for _ in ready_client(APP):
        for _ in ready_client(GUARDED_APP):
            yield
    shutil.rmtree(_FOLDER, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def _count():
    yield
    for name, requests in _REQUESTS.items():
        total = sum(requests.values())
        log.info("schemathesis, %s: %d requests over %d operations", name, total, len(requests))
        print(f"\nschemathesis, {name}: {total} requests over {len(requests)} operations: "
              f"{dict(requests)}")  # fmt: skip
        if name == "guarded" and set(GUARDED_OPERATIONS) <= set(requests):
            # every operation ran here (not split by xdist): the guard's refusals were fuzzed
            print(f"guarded statuses: {dict(sorted(_STATUSES.items()))}")
            assert {401, 403, 429} <= set(_STATUSES), f"guard refusals missing: {_STATUSES}"
        if total:  # 0: its test was not selected
            assert total >= MIN_REQUESTS, (
                f"{name}: only {total} requests were generated; {MIN_REQUESTS} expected"
            )


class _ServerErrors(logging.Handler):
    """Keeps the service's logged errors, so that a 5xx fails with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def last(self) -> str:
        if not self.records:
            return "(nothing logged)"
        record = self.records[-1]
        return logging.Formatter().format(record)


_ERRORS = _ServerErrors()
logging.getLogger("estimo").addHandler(_ERRORS)


def _no_server_error(case, response, label: str) -> None:
    """Fail on a 5xx with the request (as curl) and the service's last logged error."""
    if response.status_code >= 500:
        raise AssertionError(
            f"{label}: {response.status_code} {response.text[:300]}\n"
            f"request: {case.as_curl_command()}\nservice log: {_ERRORS.last()}"
        )


def _header(response, name: str) -> str:
    """One header of a schemathesis response (whose header values are lists)."""
    value = response.headers.get(name) or [""]
    return value[0] if isinstance(value, list) else value


def _check_answer(response, label: str) -> None:
    """No internals; a 4xx is problem details whose status is the answer's."""
    text = response.text
    assert not INTERNALS.search(text), f"{label} shows internals: {text[:300]}"
    if 400 <= response.status_code < 500:
        kind = _header(response, "content-type")
        assert kind.startswith("application/problem+json"), (
            f"{label}: {response.status_code} as {kind}"
        )
        body = response.json()
        assert set(body) >= PROBLEM_KEYS, f"{label}: {body}"
        assert body["status"] == response.status_code


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
    _REQUESTS["open"][label] += 1
    if response.status_code == 501 and case.path == "/v1/photos/check":
        assert not _HAS_PHOTOS, "a 501 from the photo check although estimo[photos] is installed"
        return  # documented: the photo check needs estimo[photos]
    _no_server_error(case, response, label)
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:300]}"
    _check_answer(response, label)


def _key_mode(case) -> str:
    """How this case presents the key: one of :data:`KEY_MODES`, a function of the case
    alone (a hash of what was generated), so that hypothesis replays it alike (schema
    examples cannot be combined with a drawn parameter)."""
    generated = repr((case.method, case.path, case.path_parameters, case.query, case.body))
    generated += repr(sorted((case.headers or {}).items()))
    return KEY_MODES[zlib.crc32(generated.encode("utf-8", "replace")) % len(KEY_MODES)]


def _present_key(case, mode: str) -> None:
    """Send the fuzzer's key as ``mode`` says (:data:`KEY_MODES`)."""
    if mode == "as generated":
        return
    headers = {
        k: v
        for k, v in (case.headers or {}).items()
        if k.lower() not in {"x-api-key", "authorization"}
    }
    if mode == "x-api-key":
        headers["X-API-Key"] = GUARDED_KEY
    elif mode == "bearer":
        headers["Authorization"] = f"Bearer {GUARDED_KEY}"
    case.headers = headers


#: what each refusal of the guard says about itself
REFUSALS = {
    401: {"urn:estimo:problem:unauthorized"},
    403: {
        "urn:estimo:problem:blocked",
        "urn:estimo:problem:captcha-required",
        "urn:estimo:problem:forbidden",  # outcomes from a public key
    },
    413: {"urn:estimo:problem:too-large", "urn:estimo:problem:batch-too-large"},
    429: {"urn:estimo:problem:too-many-requests"},
}


@guarded_schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_guarded_service_refuses_with_problem_details(case) -> None:
    mode = _key_mode(case)
    _present_key(case, mode)
    response = case.call()
    status = response.status_code
    label = f"{case.method} {case.path} ({mode})"
    _REQUESTS["guarded"][f"{case.method} {case.path}"] += 1
    _STATUSES[status] += 1
    if status == 501 and case.path == "/v1/photos/check":
        assert not _HAS_PHOTOS, "a 501 from the photo check although estimo[photos] is installed"
        return
    _no_server_error(case, response, label)
    case.validate_response(response, checks=[not_a_server_error])
    assert status < 500, f"{label}: {status} {response.text[:300]}"
    _check_answer(response, label)
    if status in REFUSALS:
        assert response.json()["type"] in REFUSALS[status], f"{label}: {response.text[:300]}"
    if status == 401:
        assert _header(response, "www-authenticate") == "Bearer", label
    if status == 422:
        assert response.json().get("errors"), f"{label}: a 422 names no field"
    if status == 429:
        retry = _header(response, "retry-after")
        assert retry.isdigit() and int(retry) >= 1, f"{label}: Retry-After {retry!r}"
    if mode in {"x-api-key", "bearer"}:
        assert status != 401, f"{label}: the fuzzer's valid key was refused"


def test_a_date_out_of_pandas_range_is_a_field_error() -> None:
    """Found by the fuzzer: ``date: 0001-01-01`` was a 500 (pandas' nanosecond range)."""
    from fastapi.testclient import TestClient

    with TestClient(APP) as client:
        response = client.post("/v1/valuations", json={"city": "Roma", "date": "0001-01-01"})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "date" and "between 1900-01-01 and 2199-12-31" in error["message"]
