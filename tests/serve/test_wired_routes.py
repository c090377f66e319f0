"""Outcomes, the photo check's absence and the recording of served valuations, through the
real app (the photo check itself: tests/photos/test_photo_service.py)."""

from __future__ import annotations

import time
from pathlib import Path

from _serve_helpers import OPEN, PROPERTY, ready_client

from estimo.monitor.store import ValuationStore
from estimo.serve import routers
from estimo.serve.main import create_app
from estimo.serve.settings import ServeSettings


def _settings(bundles: Path, **extra) -> ServeSettings:
    return ServeSettings(model=str(bundles), guard=OPEN, alias_poll_seconds=0, **extra)


def _stored(url: str, n: int, timeout: float = 10.0) -> ValuationStore:
    store = ValuationStore.from_url(url)
    deadline = time.monotonic() + timeout
    while store.count_valuations() < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return store


def test_every_valuation_is_recorded_and_outcomes_link_to_it(bundles, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    monitor = {"store_url": url, "flush_seconds": 0.05}
    for client in ready_client(create_app(_settings(bundles, monitor=monitor))):
        one = client.post("/v1/valuations", json={**PROPERTY, "id": "P1"})
        assert one.status_code == 200
        rid = one.headers["x-request-id"]
        batch = client.post(
            "/v1/valuations:batch",
            json={"properties": [{**PROPERTY, "area_m2": 60}, {"city": "Roma", "area_m2": -1}]},
        )
        items = batch.json()["items"]
        assert items[0]["request_id"] == f"{batch.headers['x-request-id']}:0"
        store = _stored(url, 2)
        frame = store.valuations_frame().set_index("request_id")
        assert sorted(frame.index) == sorted([rid, items[0]["request_id"]])
        assert frame.loc[rid, "price"] == one.json()["price"]
        assert frame.loc[rid, "model_version"] == one.json()["model"]["version"]
        assert frame.loc[rid, "sub_model"] == one.json()["sub_model"]
        assert frame.loc[rid, "tier"] == "internal" and frame.loc[rid, "property_id"] == "P1"
        sale = {"kind": "sale", "request_id": rid, "price": 310000, "date": "2024-06-01"}
        posted = client.post("/v1/outcomes", json=[{**sale, "source": "notary"}])
        assert posted.json() == {"received": 1, "inserted": 1, "updated": 0, "unchanged": 0}
        again = client.post("/v1/outcomes", json={**sale, "source": "notary"})
        assert again.json()["unchanged"] == 1
        bad = client.post("/v1/outcomes", json=[{**sale, "price": -5}])
        assert bad.status_code == 422
        fields = {e["field"] for e in bad.json()["errors"]}
        assert {"0.price", "0.source"} <= fields
        assert store.outcomes_frame()["request_id"].tolist() == [rid]
        store.dispose()


def test_outcomes_need_a_store_and_an_internal_key(bundles) -> None:
    for client in ready_client(create_app(_settings(bundles))):
        body = {"kind": "sale", "property_id": "P1", "price": 1e5, "date": "2024-06-01"}
        answer = client.post("/v1/outcomes", json={**body, "source": "notary"})
        assert answer.status_code == 503
        assert "serve.monitor.store_url" in answer.json()["detail"]
    public = ServeSettings(model=str(bundles), guard={"anonymous_tier": "public"})
    for client in ready_client(create_app(public)):
        answer = client.post("/v1/outcomes", json={**body, "source": "notary"})
        assert answer.status_code == 403
        assert "'public'" in answer.json()["detail"]


def test_without_the_photos_extra_the_check_is_a_501_problem(bundles, monkeypatch) -> None:
    monkeypatch.setattr(routers.photos, "_installed", lambda module: module != "cv2")
    for client in ready_client(create_app(_settings(bundles))):
        answer = client.post("/v1/photos/check", files=[("photos", ("a.jpg", b"x"))])
        assert answer.status_code == 501
        problem = answer.json()
        assert problem["type"] == "urn:estimo:problem:not-installed"
        assert "opencv-python" in problem["detail"] and "estimo[photos]" in problem["detail"]
