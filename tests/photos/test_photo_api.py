"""``POST /v1/photos/check`` on its own small FastAPI app."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from _photo_helpers import jpeg_bytes, scene
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from estimo.photos import api
from estimo.photos.api import photos_router
from estimo.photos.images import read_metadata
from estimo.photos.room_model import load_default_classifier


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(photos_router(classifier=load_default_classifier()))
    return TestClient(app)


def _files(*photos: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("photos", (name, data, "image/jpeg")) for name, data in photos]


def test_check_returns_rooms_and_checklist(client: TestClient) -> None:
    photos = _files(("k.jpg", jpeg_bytes(scene(1), gps=True)), ("b.jpg", jpeg_bytes(scene(2))))
    response = client.post("/v1/photos/check", files=photos, data={"property_type": "land"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["file"] for p in body["photos"]] == ["k.jpg", "b.jpg"]
    assert body["photos"][0]["had_gps"] is True
    assert body["checklist"]["required"] == ["exterior"]
    assert body["property_type"] == "land"
    assert body["model"]["accuracy"] >= 0.85


def test_zip_download_holds_clean_photos_and_the_json(client: TestClient) -> None:
    photos = _files(("k.jpg", jpeg_bytes(scene(1), gps=True)))
    response = client.post("/v1/photos/check?download=zip", files=photos)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["check.json", "photos/k.jpg"]
    assert read_metadata(archive.read("photos/k.jpg")).clean
    assert json.loads(archive.read("check.json"))["photos"][0]["cleaned"] == "k.jpg"


def test_unreadable_photo_is_a_422_naming_it(client: TestClient) -> None:
    response = client.post(
        "/v1/photos/check", files=_files(("ok.jpg", jpeg_bytes(scene(1))), ("bad.jpg", b"nope"))
    )
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["field"] == "photos" and "'bad.jpg'" in problem["message"]


def test_too_large_and_missing_photos(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "MAX_PHOTO_BYTES", 100)
    response = client.post("/v1/photos/check", files=_files(("big.jpg", jpeg_bytes(scene(1)))))
    assert response.status_code == 413
    assert response.json()["detail"][0]["field"] == "photos[0]"
    assert client.post("/v1/photos/check", data={"property_type": "flat"}).status_code == 422


class _OneFace:
    """A face detector that finds one face in every photo."""

    def detect(self, image):
        from estimo.photos.faces import Face

        return [Face(10, 10, 40, 50, 0.91)]


def _shape(value):
    """The keys (recursively) and value types of a JSON answer, nulls left out as FastAPI does."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_openapi_example_has_the_shape_of_a_real_answer() -> None:
    app = FastAPI()
    app.include_router(photos_router(classifier=load_default_classifier(), detector=_OneFace()))
    photos = _files(
        ("IMG_0412.jpg", jpeg_bytes(scene(1, size=(160, 120)), gps=True)),
        ("IMG_0413.png", jpeg_bytes(Image.new("RGB", (160, 120), "white"))),
    )
    body = TestClient(app).post("/v1/photos/check", files=photos, data={"property_type": "flat"})
    real = body.json()
    responses = app.openapi()["paths"]["/v1/photos/check"]["post"]["responses"]
    example = responses["200"]["content"]["application/json"]["example"]
    assert _shape(example["photos"][0]) == _shape(real["photos"][0])
    assert example["photos"][0]["privacy_actions"] == real["photos"][0]["privacy_actions"]
    unusable = {**real["photos"][1], "face_boxes": [], "privacy_actions": []}
    assert _shape(example["photos"][1]) == _shape(unusable)
    assert set(example["checklist"]) == set(real["checklist"])
    assert set(example["model"]) == set(real["model"])
    assert set(example) == set(real)
