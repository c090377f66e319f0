"""``POST /v1/photos/check`` through the real valuation service (estimo[photos] installed)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from estimo.serve.main import create_app
from estimo.serve.page.screenshots import synthetic_bundle
from estimo.serve.settings import ServeSettings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    folder = synthetic_bundle(Path(tmp_path_factory.mktemp("photo-service")) / "model", rows=800)
    settings = ServeSettings(
        model=str(folder), guard={"anonymous_tier": "partner"}, alias_poll_seconds=0
    )
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        yield client


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    pixels = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype("uint8")
    Image.fromarray(pixels).save(buffer, "JPEG")
    return buffer.getvalue()


def test_the_service_checks_a_listings_photos(client) -> None:
    files = [("photos", ("kitchen.jpg", _jpeg(), "image/jpeg"))]
    answer = client.post("/v1/photos/check", files=files, data={"property_type": "flat"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [p["file"] for p in body["photos"]] == ["kitchen.jpg"]
    assert body["checklist"]["required"] == ["kitchen", "bathroom", "bedroom"]
    assert body["photos"][0]["room"] in {"bathroom", "bedroom", "kitchen", "exterior", "other"}
    assert answer.headers["x-request-id"]


def test_an_unreadable_photo_is_a_field_level_problem(client) -> None:
    refused = client.post("/v1/photos/check", files=[("photos", ("x.jpg", b"no", "image/jpeg"))])
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"] == "urn:estimo:problem:invalid-input"
    assert problem["errors"][0]["field"] == "photos"


def test_the_photo_check_is_in_the_openapi_page(client) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/photos/check"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
