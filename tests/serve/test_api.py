"""The HTTP API: valuations, batch, models, health, metrics, problems, request ids."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest
from _serve_helpers import OPEN, PROPERTY, ready_client

from estimo.serve.catalog import FolderCatalog
from estimo.serve.deps import get_model_router, pick_language
from estimo.serve.logs import JsonFormatter
from estimo.serve.main import _start, create_app
from estimo.serve.model_router import ModelRouter
from estimo.serve.schemas import ValuationOut
from estimo.serve.settings import ServeSettings


@pytest.fixture()
def client(bundles: Path):
    settings = ServeSettings(guard=OPEN, model=str(bundles), alias_poll_seconds=0, batch_max=5)
    yield from ready_client(create_app(settings))


def test_one_valuation_has_price_ranges_reasons_and_model(client) -> None:
    response = client.post("/v1/valuations", json=PROPERTY)
    assert response.status_code == 200
    body = response.json()
    assert body["low_90"] <= body["low"] <= body["price"] <= body["high"] <= body["high_90"]
    assert body["currency"] == "EUR"
    assert body["confidence"] in {"high", "medium", "low"}
    assert body["model"] == {"bundle": "global", "version": "_global", "fallback": False}
    explanation = body["explanation"]
    amounts = sum(r["amount"] for r in explanation["reasons"])
    assert explanation["baseline"] + amounts == explanation["price"] == round(body["price"])
    assert explanation["text"]["comparables"], "comparables in words"
    assert body["comparables"] and body["comparables"][0]["price"] > 0
    assert response.headers["content-language"] == "en"


def test_city_bundle_answers_for_its_city(client) -> None:
    body = client.post("/v1/valuations", json={"city": "roma", "area_m2": 70}).json()
    assert body["model"]["bundle"] == "roma"
    assert body["model"]["version"] == "Roma"


PRICE_ONLY_KEYS = {
    "subject_id",
    "price",
    "low",
    "high",
    "low_90",
    "high_90",
    "currency",
    "confidence",
    "confidence_score",
    "fsd",
    "valuation_date",
    "warnings",
    "sub_model",
    "model",
}


def test_explain_false_gives_price_and_range_only(client) -> None:
    body = client.post("/v1/valuations?explain=false", json=PROPERTY).json()
    assert set(body) == PRICE_ONLY_KEYS
    assert body["low_90"] <= body["low"] <= body["price"] <= body["high"] <= body["high_90"]
    assert body["model"] == {"bundle": "global", "version": "_global", "fallback": False}
    ValuationOut.model_validate(body)
    batch = client.post("/v1/valuations:batch?explain=false", json={"properties": [PROPERTY]})
    assert set(batch.json()["items"][0]["valuation"]) == PRICE_ONLY_KEYS
    explained = client.post("/v1/valuations", json=PROPERTY).json()
    assert explained["price"] == body["price"] and explained["comparables"]
    spec = client.get("/openapi.json").json()["paths"]["/v1/valuations"]["post"]
    example = spec["responses"]["200"]["content"]["application/json"]["examples"]["price_only"]
    assert set(example["value"]) == PRICE_ONLY_KEYS - {"subject_id"}


@pytest.mark.parametrize(
    ("tier", "keys"),
    [
        ("partner", PRICE_ONLY_KEYS - {"sub_model", "fsd", "model"}),
        (
            "public",
            {"price", "low", "high", "currency", "confidence", "valuation_date", "warnings"},
        ),
    ],
)
def test_explain_false_is_shaped_by_the_tier(bundles: Path, tier: str, keys: set[str]) -> None:
    settings = ServeSettings(
        guard={"anonymous_tier": tier}, model=str(bundles), alias_poll_seconds=0
    )
    for client in ready_client(create_app(settings)):
        body = client.post("/v1/valuations?explain=false", json=PROPERTY).json()
        assert set(body) == keys
        assert body["low"] <= body["price"] <= body["high"]


@pytest.mark.parametrize(
    ("header", "language", "word", "floor_warning"),
    [
        ("it-IT,it;q=0.9", "it", "valutazione", "Piano: dato non indicato, l'abbiamo stimato"),
        ("es", "es", "valoración", "Planta: dato no indicado, lo estimamos"),
        ("en-GB", "en", "our valuation", "feature 'floor' was imputed"),
        ("fr", "en", "our valuation", "feature 'floor' was imputed"),
    ],
)
def test_accept_language_picks_the_words(
    client, header: str, language: str, word: str, floor_warning: str
) -> None:
    """The explanation and the warnings (English answers keep the engine's sentences)."""
    headers = {"Accept-Language": header}
    response = client.post("/v1/valuations", json=PROPERTY, headers=headers)
    body = response.json()
    assert response.headers["content-language"] == language
    assert body["explanation"]["language"] == language
    assert word.lower() in body["explanation"]["text"]["total"].lower()
    english = client.post("/v1/valuations", json=PROPERTY).json()["warnings"]
    assert len(body["warnings"]) == len(english) > 1
    assert any(w.startswith(floor_warning) for w in body["warnings"]), body["warnings"]
    quick = client.post("/v1/valuations?explain=false", json=PROPERTY, headers=headers).json()
    batch = client.post("/v1/valuations:batch", json={"properties": [PROPERTY]}, headers=headers)
    assert quick["warnings"] == batch.json()["items"][0]["valuation"]["warnings"]
    assert quick["warnings"] == body["warnings"]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({**PROPERTY, "pool": True, "garden_m2": 20}, {"pool", "garden_m2"}),
        ({**PROPERTY, "area_m2": -80, "pool": 1}, {"area_m2", "pool"}),
        ({"area_m2": 80}, {"city"}),
        ({**PROPERTY, "rooms": "many"}, {"rooms"}),
        ({**PROPERTY, "date": "yesterday"}, {"date"}),
    ],
)
def test_bad_fields_are_named_in_a_problem(client, payload: dict, fields: set[str]) -> None:
    response = client.post("/v1/valuations", json=payload)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:estimo:problem:invalid-input"
    assert problem["request_id"] == response.headers["x-request-id"]
    assert {e["field"] for e in problem["errors"]} == fields
    unknown = [e for e in problem["errors"] if e["field"] in {"pool", "garden_m2"}]
    assert all("unknown field" in e["message"] for e in unknown)


def test_a_body_that_is_not_json_is_named_as_such_and_values_are_shown_as_json(client) -> None:
    response = client.post(
        "/v1/valuations",
        content=b'{"city": "Milano",}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "body" and "not valid JSON" in error["message"]
    refused = client.post("/v1/valuations", json={**PROPERTY, "area_m2": True}).json()
    assert refused["errors"][0]["value"] == "true"


@pytest.mark.parametrize(
    "body",
    [
        b'{"city": "Milano", "area_m2": 85, "description": "\\ud800"}',
        b'{"city": "\\udc00", "area_m2": 85}',
        b'{"city": "Milano", "area_m2": 85, "\\ud800": 1}',
    ],
)
def test_a_lone_surrogate_escape_is_a_422_naming_it_not_a_500(client, body: bytes) -> None:
    """JSON allows the escape; echoing the value once failed while writing the answer."""
    headers = {"content-type": "application/json"}
    response = client.post("/v1/valuations", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    batch = b'{"properties": [{"city": "Roma", "area_m2": 50}, ' + body + b"]}"
    answer = client.post("/v1/valuations:batch?explain=false", content=batch, headers=headers)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["n_ok"], answer.json()["n_failed"]) == (1, 1)


def test_extra_fields_can_be_allowed(bundles: Path) -> None:
    settings = ServeSettings(
        guard=OPEN, model=str(bundles), alias_poll_seconds=0, extra_fields=["pool"]
    )
    for client in ready_client(create_app(settings)):
        assert client.post("/v1/valuations", json={**PROPERTY, "pool": 1}).status_code == 200
        bad = client.post("/v1/valuations", json={**PROPERTY, "pool": [1]})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "pool"


def test_batch_answers_each_item_and_fails_none_for_one_bad(client) -> None:
    payload = {
        "properties": [PROPERTY, {"city": "Roma", "pool": 1}, {"city": "Roma", "area_m2": 50}]
    }
    response = client.post("/v1/valuations:batch?explain=false", json=payload)
    assert response.status_code == 200
    body = response.json()
    assert (body["n_ok"], body["n_failed"]) == (2, 1)
    items = body["items"]
    assert [i["index"] for i in items] == [0, 1, 2]
    assert items[1]["problem"]["errors"][0]["field"] == "pool"
    assert items[2]["valuation"]["model"]["bundle"] == "roma"
    single = client.post("/v1/valuations?explain=false", json=PROPERTY).json()
    assert items[0]["valuation"]["price"] == pytest.approx(single["price"])


def test_a_batch_item_that_is_not_an_object_or_is_refused_has_its_own_field_errors(
    client,
) -> None:
    payload = {"properties": [PROPERTY, "Milano", None, {**PROPERTY, "rooms": 50}]}
    response = client.post("/v1/valuations:batch?explain=false", json=payload)
    assert response.status_code == 200
    items = response.json()["items"]
    assert items[0]["ok"] and not any(item["ok"] for item in items[1:])
    for item in items[1:3]:
        (error,) = item["problem"]["errors"]
        assert error["field"] == "property" and "expected an object" in error["message"]
    refused = items[3]["problem"]  # the input contract's: field by field, as alone
    assert (
        refused["errors"][0]["field"] == "area_m2" and "per room" in refused["errors"][0]["message"]
    )
    alone = client.post("/v1/valuations?explain=false", json={**PROPERTY, "rooms": 50})
    assert alone.json()["errors"] == refused["errors"]


def test_batch_over_the_limit_is_refused(client) -> None:
    response = client.post("/v1/valuations:batch", json={"properties": [PROPERTY] * 6})
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "properties"
    assert "at most 5" in response.json()["errors"][0]["message"]


def test_models_lists_bundles_with_state_and_memory(client) -> None:
    before = client.get("/v1/models").json()
    assert {b["bundle"]: b["state"] for b in before["bundles"]} == {
        "global": "not loaded",
        "roma": "not loaded",
    }
    client.post("/v1/valuations", json={"city": "Roma", "area_m2": 70})
    after = {b["bundle"]: b for b in client.get("/v1/models").json()["bundles"]}
    assert after["roma"]["state"] == "loaded"
    assert after["roma"]["memory_bytes"] > 100_000
    assert after["roma"]["cities"] == ["Roma"]


def test_health_and_metrics(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    client.post("/v1/valuations", json=PROPERTY)
    client.post("/v1/valuations", json={"city": ""})
    text = client.get("/metrics").text
    assert 'estimo_requests_total{method="POST",route="/v1/valuations",status="200"} 1.0' in text
    assert 'estimo_errors_total{route="/v1/valuations",status="422"} 1.0' in text
    assert 'estimo_model_loads_total{bundle="global",outcome="ok"} 1.0' in text
    assert 'estimo_model_memory_bytes{bundle="global",version="_global"}' in text
    assert 'estimo_request_seconds_bucket{le="0.25",route="/v1/valuations"}' in text
    assert 'estimo_valuations_total{bundle="global",explained="true"} 1.0' in text


def test_valuations_are_counted_per_bundle_and_explanation(client) -> None:
    """Every answered valuation counts, batch items one by one; refused ones do not."""
    client.post("/v1/valuations?explain=false", json=PROPERTY)
    client.post("/v1/valuations", json={"city": "Roma", "area_m2": 70})
    batch = [PROPERTY, {"city": "Roma", "area_m2": 50}, {"city": "Roma", "pool": 1}, PROPERTY]
    client.post("/v1/valuations:batch?explain=false", json={"properties": batch})
    client.post("/v1/valuations", json={**PROPERTY, "area_m2": -1})
    text = client.get("/metrics").text
    counted = {
        line.split("{", 1)[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("estimo_valuations_total{")
    }
    assert counted == {
        'bundle="global",explained="false"': 3.0,
        'bundle="roma",explained="true"': 1.0,
        'bundle="roma",explained="false"': 1.0,
    }


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b'{"city": "Milano", "area_m2": 85, "description": "caf\xe9"}', {}, 422),  # Latin-1
        (b"\x1f\x8b\x08\x00compressed", {"content-encoding": "gzip"}, 415),
    ],
)
def test_a_body_that_cannot_be_decoded_says_why(client, body, headers, status) -> None:
    """Both were a bare '400 HTTP error: There was an error parsing the body'."""
    headers = {"content-type": "application/json", **headers}
    answer = client.post("/v1/valuations", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    problem = answer.json()
    assert problem["title"] != "HTTP error" and "parsing the body" not in answer.text
    if status == 422:
        assert (
            problem["errors"][0]["field"] == "body" and "UTF-8" in problem["errors"][0]["message"]
        )


def test_health_probes_answer_head_too(client) -> None:
    assert client.head("/healthz").status_code == 200
    assert client.head("/readyz").status_code == 200


def test_a_trailing_slash_is_not_redirected(client) -> None:
    """A 307 to a URL built from the Host header, over http, where clients resend keys."""
    answer = client.post("/v1/valuations/", json=PROPERTY, follow_redirects=False)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_request_id_is_the_clients_made_unique_or_new(client) -> None:
    """A client's id alone keyed the store: another client (or the same one, reusing its
    id) could claim it, and that valuation went unrecorded."""
    ids = [
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        for _ in range(2)
    ]
    assert all(i.startswith("abc-123.") for i in ids) and ids[0] != ids[1]
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\twith space"})
    assert len(made.headers["x-request-id"]) == 32
    long = client.get("/healthz", headers={"X-Request-ID": "x" * 64})  # over 40: a new one
    assert len(long.headers["x-request-id"]) == 32
    missing = client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["request_id"] == missing.headers["x-request-id"]


def test_unexpected_error_is_a_500_problem_without_traceback(bundles: Path) -> None:
    class Exploding:
        ready = True

        def loaded(self) -> list:
            return []

        def resolve(self, city: str) -> None:
            raise RuntimeError("secret /srv/models/v3/model.json")

    app = create_app(ServeSettings(guard=OPEN, model=str(bundles), alias_poll_seconds=0))
    app.dependency_overrides[get_model_router] = lambda: Exploding()
    for client in ready_client(app):
        response = client.post("/v1/valuations", json=PROPERTY)
        assert response.status_code == 500
        body = response.json()
        assert body["type"] == "urn:estimo:problem:internal"
        assert "secret" not in response.text and "/srv" not in response.text
        assert "Traceback" not in response.text
        assert response.headers["x-request-id"] in body["detail"]


def test_not_ready_until_preloaded(bundles: Path) -> None:
    class Waiting:
        ready = False

        def loaded(self) -> list:
            return []

    app = create_app(ServeSettings(guard=OPEN, model=str(bundles), alias_poll_seconds=0))
    app.dependency_overrides[get_model_router] = lambda: Waiting()
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json()["type"] == "urn:estimo:problem:not-ready"


class FlakyCatalog(FolderCatalog):
    """A folder catalog whose first ``failures`` reads fail (a registry not reachable yet)."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures
        self.reads = 0

    def refresh(self) -> dict:
        self.reads += 1
        if self.reads <= self.failures:
            raise OSError("registry unreachable")
        return super().refresh()


def test_start_retries_a_catalog_it_cannot_read_until_it_can(
    bundles: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = FlakyCatalog(bundles, failures=2)
    settings = ServeSettings(
        guard=OPEN,
        model=str(bundles),
        alias_poll_seconds=0,
        start_retry_seconds=0.01,
        start_retry_max_seconds=0.02,
    )
    with caplog.at_level(logging.INFO, logger="estimo.serve"):
        for client in ready_client(create_app(settings, catalog=catalog)):
            assert client.post("/v1/valuations", json=PROPERTY).status_code == 200
    assert catalog.reads == 3
    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 2, "one error per failed attempt"
    assert "attempt 1, next in 0.0 s" in failures[0] and "registry unreachable" in failures[0]
    assert "attempt 2" in failures[1]


def test_start_stops_retrying_when_the_app_stops(bundles: Path) -> None:
    router = ModelRouter(FlakyCatalog(bundles, failures=10**6), 10**9)
    stop = threading.Event()
    starting = threading.Thread(target=_start, args=(router, None, stop, (0.01, 0.05)))
    starting.start()
    time.sleep(0.2)
    stop.set()
    starting.join(timeout=2)
    assert not starting.is_alive()
    assert not router.ready and 3 <= router.catalog.reads < 20, "backoff capped, not spinning"


def test_openapi_has_examples_for_every_endpoint(client) -> None:
    spec = client.get("/openapi.json").json()
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if set(operation["responses"]) == {"501"}:  # the photo check without estimo[photos]
                assert "photos" in path, (path, method)
                continue
            ok = operation["responses"]["200"]["content"]
            assert any("example" in c or "examples" in c for c in ok.values()), (path, method)
            if "requestBody" in operation:  # JSON, or multipart for the photos
                body = next(iter(operation["requestBody"]["content"].values()))
                schema = body.get("schema", {})
                ref = schema.get("$ref", "").rsplit("/", 1)[-1]
                has = "examples" in body or "examples" in spec["components"]["schemas"][ref]
                assert has, (path, method)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("it", "it"),
        ("de-DE,it;q=0.5,en;q=0.7", "en"),
        ("en;q=0,it;q=0.1", "it"),
        ("es;Q=0, it;q=0.5", "it"),  # the weight's name in capitals: still not wanted
        ("es; q = 0", "en"),
    ],
)
def test_pick_language(header: str | None, expected: str) -> None:
    assert pick_language(header) == expected


def test_json_log_line_carries_request_id(client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="estimo.serve.access"):
        client.get("/healthz", headers={"X-Request-ID": "log-me"})
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    access = [line for line in lines if line["logger"] == "estimo.serve.access"]
    assert access[-1]["request_id"].startswith("log-me.")
    assert access[-1]["status"] == 200 and access[-1]["route"] == "/healthz"


def test_new_champion_is_served_without_restart(bundles: Path, tmp_path: Path) -> None:
    from estimo.registry.store import Registry

    registry = Registry(str(tmp_path / "registry"))
    registry.add_folder(str(bundles / "_global"))
    registry.add_folder(str(bundles / "_global"))
    registry.aliases.set("champion", "v1")
    settings = ServeSettings(
        guard=OPEN, registry=registry.url, alias_poll_seconds=0.05, hot_cities=["global"]
    )
    for client in ready_client(create_app(settings)):
        assert client.post("/v1/valuations", json=PROPERTY).json()["model"]["version"] == "v1"
        registry.aliases.set("champion", "v2")
        deadline = time.monotonic() + 10
        seen = []
        while time.monotonic() < deadline:
            response = client.post("/v1/valuations?explain=false", json=PROPERTY)
            assert response.status_code == 200
            seen.append(response.json()["model"]["version"])
            if seen[-1] == "v2":
                break
        assert seen[-1] == "v2"
        models = client.get("/v1/models").json()["bundles"]
        assert [(b["version"], b["state"]) for b in models] == [("v2", "loaded")]


def test_broken_city_bundle_answers_from_global_and_shows_in_models(
    bundle_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (bundle_copy / "Roma" / "model.json").write_text("{not json", encoding="utf-8")
    settings = ServeSettings(guard=OPEN, model=str(bundle_copy), alias_poll_seconds=0)
    for client in ready_client(create_app(settings)):
        response = client.post("/v1/valuations?explain=false", json={"city": "Roma", "area_m2": 70})
        assert response.status_code == 200
        body = response.json()
        assert body["model"] == {"bundle": "global", "version": "_global", "fallback": True}
        assert body["warnings"][0].startswith("the model for Roma could not be loaded")
        bundles = {b["bundle"]: b for b in client.get("/v1/models").json()["bundles"]}
        assert bundles["roma"]["state"] == "broken"
        assert str(bundle_copy) not in client.get("/v1/models").text
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert any("roma" in r.getMessage() and "cannot be loaded" in r.getMessage() for r in errors)
