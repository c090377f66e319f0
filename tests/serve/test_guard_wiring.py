"""The guard as configured: a captcha verifier named in the settings, the throttle action
over HTTP, the ``serve.guard`` section of estimo.yaml, security headers on every route."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _guard_doubles import SOLVED_TOKEN, SolvedToken
from _serve_helpers import PROPERTY, ready_client

from estimo.serve.guard import Guard
from estimo.serve.guard.headers import SECURITY_HEADERS
from estimo.serve.guard.settings import GuardSettings
from estimo.serve.main import create_app
from estimo.serve.settings import ServeSettings

#: limits that stay out of the way of the detector's actions
LOOSE = {"key_limits": {"public": "1000/second"}, "address_limit": "1000/second"}


def _app(bundles: Path, tmp_path: Path, **guard):
    guard = {"keys_url": f"sqlite:///{tmp_path / 'keys.db'}", **guard}
    settings = ServeSettings(
        model=str(bundles), alias_poll_seconds=0, hot_cities=["global"], guard=guard
    )
    return create_app(settings)


def _sweep(n: int) -> list[dict]:
    """One feature stepped while the rest stay fixed."""
    return [{**PROPERTY, "area_m2": 40 + i} for i in range(n)]


def _audit(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_captcha_verifier_named_in_the_settings_checks_the_tokens(
    bundles: Path, tmp_path: Path
) -> None:
    app = _app(
        bundles,
        tmp_path,
        anonymous_tier="public",
        captcha_verifier=SOLVED_TOKEN,
        extraction={"min_queries": 10, "actions": {"sweep": "captcha"}},
        **LOOSE,
    )
    verifier = app.state.guard.captcha
    assert isinstance(verifier, SolvedToken)  # made by the service from its name
    for client in ready_client(app):
        codes = [client.post("/v1/valuations", json=p).status_code for p in _sweep(10)]
        assert codes == [200] * 9 + [403]
        wrong = client.post("/v1/valuations", json=PROPERTY, headers={"X-Captcha-Token": "no"})
        assert wrong.status_code == 403
        assert wrong.json()["type"] == "urn:estimo:problem:captcha-required"
        solved = {"X-Captcha-Token": "solved"}
        assert client.post("/v1/valuations", json=PROPERTY, headers=solved).status_code == 200
    assert verifier.calls == [("no", "anon:testclient"), ("solved", "anon:testclient")]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("_guard_doubles.SolvedToken", "is not 'package.module:factory'"),
        ("_guard_doubles:NotAVerifier", "gave NotAVerifier; expected an object with verify"),
        ("_guard_doubles:Missing", "cannot be loaded .*has no attribute 'Missing'"),
        ("no_such_module_here:Verifier", "cannot be loaded .*No module named"),
    ],
)
def test_a_captcha_verifier_name_that_gives_none_is_refused(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Guard(GuardSettings(captcha_verifier=name))


def test_throttled_clients_get_429_from_the_detector_not_the_limits(
    bundles: Path, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    app = _app(
        bundles,
        tmp_path,
        anonymous_tier="public",
        trust_forwarded_for=True,
        extraction={
            "min_queries": 10,
            "actions": {"sweep": "throttle"},
            "throttle_limit": "1/minute",
            "audit_log": str(audit),
        },
        **LOOSE,
    )
    bot = {"X-Forwarded-For": "10.0.0.1"}
    for client in ready_client(app):
        codes = [client.post("/v1/valuations", json=p, headers=bot).status_code for p in _sweep(12)]
        # the 10th query is judged: throttled to 1 a minute, whose first passes
        assert codes == [200] * 10 + [429] * 2
        refused = client.post("/v1/valuations", json=PROPERTY, headers=bot)
        assert refused.status_code == 429
        assert refused.json()["type"] == "urn:estimo:problem:too-many-requests"
        assert "this client is throttled" in refused.json()["detail"]  # not "limit ... reached"
        assert 45 <= int(refused.headers["retry-after"]) <= 60  # the throttle's own window
        other = client.post(
            "/v1/valuations", json=PROPERTY, headers={"X-Forwarded-For": "10.0.0.2"}
        )
        assert other.status_code == 200  # the limits (1000/second) did not refuse the bot
    first = _audit(audit)[0]
    assert (first["client"], first["action"]) == ("anon:10.0.0.1", "throttle")
    assert "sweep" in first["signals"] and first["evidence"]["sweep_share"] == 1.0


GUARD_YAML = """\
data:
  path: sales.csv
serve:
  model: {model}
  alias_poll_seconds: 0
  hot_cities: [global]
  guard:
    keys_url: sqlite:///{keys}
    anonymous_tier: public
    key_limits:
      public: 20/minute
    address_limit: 1000/minute
    max_body_bytes: 2048
    extraction:
      min_queries: 15
      sweep_share: 0.6
      max_cities: 5
      ood_z: 5.0
      actions:
        sweep: block
      block_seconds: 600
"""


def test_the_guard_section_of_estimo_yaml_sets_limits_and_thresholds(
    bundles: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "estimo.yaml").write_text(
        GUARD_YAML.format(model=bundles, keys=tmp_path / "keys.db"), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ESTIMO_CONFIG", raising=False)
    settings = ServeSettings()
    guard, extraction = settings.guard, settings.guard.extraction
    assert (guard.anonymous_tier, guard.key_limits, guard.address_limit) == (
        "public",
        {"public": "20/minute"},
        "1000/minute",
    )
    assert guard.max_body_bytes == 2048
    assert (extraction.min_queries, extraction.sweep_share, extraction.max_cities) == (15, 0.6, 5)
    assert (extraction.ood_z, extraction.block_seconds) == (5.0, 600)
    assert extraction.actions == {"sweep": "block"}
    for client in ready_client(create_app(settings)):
        codes = [client.post("/v1/valuations", json=p).status_code for p in _sweep(22)]
        # judged from the 15th query (min_queries), blocked; counted up to 20 a minute
        assert codes == [200] * 14 + [403] * 6 + [429] * 2
        big = client.post("/v1/valuations:batch", json={"properties": [PROPERTY] * 40})
        assert big.status_code == 413  # max_body_bytes


@pytest.mark.parametrize(
    ("method", "path", "status", "kind"),
    [
        ("GET", "/", 200, "text/html"),
        ("POST", "/", 200, "text/html"),
        ("GET", "/no-such-page", 404, "application/problem+json"),
        ("GET", "/docs", 200, "text/html"),
    ],
)
def test_security_headers_on_the_page_a_404_and_the_docs(
    bundles: Path, tmp_path: Path, method: str, path: str, status: int, kind: str
) -> None:
    for client in ready_client(_app(bundles, tmp_path)):
        if method == "POST":
            out = client.post(path, data={"city": "Milano", "area_m2": "80", "rooms": "3"})
        else:
            out = client.get(path)
        assert out.status_code == status and out.headers["content-type"].startswith(kind)
        headers = out.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert {name.decode() for name, _ in SECURITY_HEADERS} <= set(headers)


@pytest.mark.parametrize(
    ("header", "trust", "hops", "expected"),
    [
        ("made.up.1, 203.0.113.7", True, 1, "203.0.113.7"),  # the proxy appended the peer
        ("203.0.113.7", True, 1, "203.0.113.7"),
        ("made.up, 203.0.113.7, 10.0.0.5", True, 2, "203.0.113.7"),  # CDN, then ingress
        ("203.0.113.7", True, 3, "203.0.113.7"),  # fewer hops than proxies: the leftmost
        ("made.up, 203.0.113.7", False, 1, "198.51.100.1"),  # not trusted: the TCP peer
        ("", True, 1, "198.51.100.1"),
    ],
)
def test_the_client_address_is_never_a_hop_the_client_wrote(
    header: str, trust: bool, hops: int, expected: str
) -> None:
    """A client rotating a made-up first hop once got a fresh address limit per request."""
    from starlette.requests import Request

    from estimo.serve.guard import client_address

    scope = {
        "type": "http",
        "headers": [(b"x-forwarded-for", header.encode())] if header else [],
        "client": ("198.51.100.1", 5000),
    }
    assert client_address(Request(scope), trust, hops) == expected


def test_an_unreachable_limits_store_is_a_503_and_not_ready(
    bundles: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis gone: every valuation was a bare 500 'internal' while /readyz said ready."""
    from fastapi.testclient import TestClient

    app = _app(bundles, tmp_path, anonymous_tier="public", limits_storage="redis://127.0.0.1:1")
    with TestClient(app) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["type"] == "urn:estimo:problem:limits-unavailable"
        for _ in range(3):
            answer = client.post("/v1/valuations", json=PROPERTY)
            assert answer.status_code == 503, answer.text
            assert answer.json()["type"] == "urn:estimo:problem:limits-unavailable"
            assert answer.headers["retry-after"] == "5"
        assert client.get("/healthz").status_code == 200  # alive: not restarted for it
    lines = [r for r in caplog.records if "limits storage" in r.getMessage()]
    assert len(lines) == 1 and "redis://127.0.0.1:1" in lines[0].getMessage()  # once a minute
