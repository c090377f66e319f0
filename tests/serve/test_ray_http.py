"""The Ray Serve replica's HTTP handler, called directly with Starlette requests (no Ray
needed; the Ray tests start no HTTP proxy): the FastAPI service's request schema, problems,
batch and answers, and a new version picked up by the alias poll."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from _serve_helpers import PROPERTY
from starlette.requests import Request

from estimo.serve.ray_app import BundleSlot, ValuationsReplica
from estimo.serve.valuer import PRICE_ONLY, load_valuer


def call(
    replica: ValuationsReplica,
    body: Any,
    path: str = "/v1/valuations",
    query: str = "",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """POST ``body`` (JSON, or bytes as they are) to the replica's handler."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    response = asyncio.run(replica(Request(scope, receive)))
    return response.status_code, dict(response.headers), json.loads(response.body)


@pytest.fixture(scope="module")
def replica(bundles: Path) -> ValuationsReplica:
    return ValuationsReplica({"model": str(bundles), "batch_max": 3, "alias_poll_seconds": 0})


def test_one_property_is_valued_like_the_service(replica, bundles: Path) -> None:
    status, headers, body = call(replica, PROPERTY, headers={"X-Request-ID": "ray-1"})
    assert status == 200
    assert headers["x-request-id"].startswith("ray-1.") and headers["content-language"] == "en"
    local = load_valuer(str(bundles / "_global")).value_one(PROPERTY)
    assert body["price"] == pytest.approx(local["price"], rel=1e-12)
    assert body["model"] == {"bundle": "global", "version": "_global", "fallback": False}
    assert body["explanation"]["reasons"] and body["comparables"]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({**PROPERTY, "pool": True, "garden_m2": 20}, {"pool", "garden_m2"}),
        ({**PROPERTY, "area_m2": -80, "pool": 1}, {"area_m2", "pool"}),
        ({"area_m2": 80}, {"city"}),
        ({**PROPERTY, "rooms": "many"}, {"rooms"}),
        ([PROPERTY], {"body"}),
        (b"{not json", {"body"}),
    ],
)
def test_bad_input_is_a_422_problem_naming_the_fields(replica, payload, fields: set) -> None:
    status, headers, problem = call(replica, payload)
    assert status == 422
    assert headers["content-type"] == "application/problem+json"
    assert problem["type"] == "urn:estimo:problem:invalid-input"
    assert problem["instance"] == "/v1/valuations"
    assert problem["request_id"] == headers["x-request-id"]
    assert {e["field"] for e in problem["errors"]} == fields


def test_a_property_the_model_refuses_is_a_cannot_value_problem(replica) -> None:
    status, _, problem = call(replica, {**PROPERTY, "date": "2199-01-01"})
    assert status == 422
    assert problem["type"] == "urn:estimo:problem:cannot-value", problem
    assert problem["errors"][0]["field"] == "date"
    assert "Traceback" not in json.dumps(problem)


def test_batch_answers_each_item_and_fails_none_for_one_bad(replica) -> None:
    payload = {
        "properties": [PROPERTY, {"city": "Roma", "pool": 1}, {"city": "Roma", "area_m2": 50}]
    }
    status, headers, body = call(
        replica, payload, "/v1/valuations:batch", "explain=false", {"X-Request-ID": "b"}
    )
    assert status == 200
    assert (body["n_ok"], body["n_failed"]) == (2, 1)
    items = body["items"]
    assert [i["index"] for i in items] == [0, 1, 2]
    assert items[1]["problem"]["errors"][0]["field"] == "pool"
    assert items[2]["valuation"]["model"]["bundle"] == "roma"
    assert items[2]["request_id"] == f"{headers['x-request-id']}:2"
    assert items[2]["request_id"].startswith("b.")
    assert set(items[0]["valuation"]) == set(PRICE_ONLY)
    too_many = call(replica, {"properties": [PROPERTY] * 4}, "/v1/valuations:batch")
    assert too_many[0] == 413 and "at most 3" in too_many[2]["errors"][0]["message"]
    empty = call(replica, {"properties": []}, "/v1/valuations:batch")
    assert empty[0] == 422 and empty[2]["errors"][0]["field"] == "properties"


def test_explain_false_and_the_language_as_the_service(replica) -> None:
    status, headers, body = call(
        replica, PROPERTY, query="explain=false", headers={"Accept-Language": "it-IT"}
    )
    assert status == 200 and headers["content-language"] == "it"
    assert set(body) == set(PRICE_ONLY)
    assert any(w.startswith("Piano: dato non indicato") for w in body["warnings"]), body["warnings"]


class CachingReplica(ValuationsReplica):
    """Keeps each slot per model id, as Ray Serve's multiplexing does."""

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self.cache: dict[str, BundleSlot] = {}

    async def get_model(self, key: str) -> BundleSlot:
        if key not in self.cache:
            self.cache[key] = await ValuationsReplica.get_model(self, key)
        return self.cache[key]


def test_a_new_version_is_picked_up_by_the_poll_without_restart(bundle_copy: Path) -> None:
    replica = CachingReplica({"model": str(bundle_copy), "alias_poll_seconds": 0.01})
    roma = {"city": "Roma", "area_m2": 70}
    assert call(replica, roma)[2]["model"]["version"] == "Roma"
    shutil.move(bundle_copy / "Roma", bundle_copy / "roma")  # the same city, a new version
    versions, deadline = [], time.monotonic() + 10
    while not versions or versions[-1] != "roma" and time.monotonic() < deadline:
        time.sleep(0.02)
        status, _, body = call(replica, roma)  # the first one after the poll time starts it
        assert status == 200
        versions.append(body["model"]["version"])
    assert versions[-1] == "roma" and set(versions) <= {"Roma", "roma"}
    assert replica.cache["roma"].current[0].version == "roma", "the cached slot was swapped"
