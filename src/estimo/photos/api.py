"""``POST /v1/photos/check``: the photos of one listing -> checklist, room types, privacy.

A self-contained FastAPI router; the service mounts it with
``app.include_router(photos_router())`` (add the service's guard with
``dependencies=[...]``). Photos arrive as multipart files named ``photos``; the answer is the
JSON of :meth:`estimo.photos.check.ListingCheck.to_dict`, or with ``?download=zip`` a ZIP
holding ``check.json`` and the cleaned photos (faces blurred, no EXIF/GPS). The uploaded
originals are never returned.

Importing this module is light (FastAPI only): the image libraries, the room model and the
face detector are imported and loaded on the first request, so the service's start-up does
not pay for them.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import Response

if TYPE_CHECKING:
    from estimo.photos.checklist import ChecklistPolicy
    from estimo.photos.faces import FaceDetector
    from estimo.photos.room_model import RoomClassifier

MAX_PHOTO_BYTES = 15 * 1024 * 1024
"""Largest accepted photo file."""

EXAMPLE_CHECK: dict[str, Any] = {
    "photos": [
        {
            "file": "IMG_0412.jpg",
            "room": "kitchen",
            "probability": 0.93,
            "candidate": "kitchen",
            "probabilities": {"bathroom": 0.02, "bedroom": 0.03, "exterior": 0.02, "kitchen": 0.93},
            "unusable": None,
            "faces": 1,
            "people": 1,
            "face_boxes": [{"box": [102, 40, 141, 88], "score": 0.91}],
            "had_exif": True,
            "had_gps": True,
            "privacy_checked": True,
            "privacy_actions": ["blurred 1 face", "removed GPS position", "removed EXIF data"],
            "cleaned": "IMG_0412.jpg",
            "hash": "a98eb846c5a79bab",
        },
        {
            "file": "IMG_0413.png",
            "room": "other",
            "probability": 0.0,
            "candidate": None,
            "probabilities": {},
            "unusable": "blank (grey levels spread 0.0; expected at least 4.0)",
            "faces": 0,
            "people": 0,
            "face_boxes": [],
            "had_exif": False,
            "had_gps": False,
            "privacy_checked": True,
            "privacy_actions": [],
            "cleaned": "IMG_0413.jpg",
            "hash": "0000000000000000",
        },
    ],
    "checklist": {
        "required": ["kitchen", "bathroom", "bedroom"],
        "present": ["kitchen"],
        "doubtful": [],
        "missing": ["bathroom", "bedroom"],
        "rooms": {"kitchen": ["IMG_0412.jpg"]},
        "doubtful_files": {},
        "duplicates": [],
        "unusable": {"IMG_0413.png": "blank (grey levels spread 0.0; expected at least 4.0)"},
        "complete": False,
    },
    "property_type": "flat",
    "model": {
        "unsure_threshold": 0.7894,
        "accuracy": 0.8894,
        "macro_f1": 0.8893,
        "ece": 0.0134,
        "ece_uncalibrated": 0.0242,
        "coverage": 0.8113,
        "accuracy_when_sure": 0.9499,
        "n_photos": 1600,
        "n_folds": 5,
    },
}
"""An answer of ``POST /v1/photos/check`` (the OpenAPI example; it omits null values:
``candidate`` is null and ``unusable`` a reason only for a file that is not a photo of a
room, ``unusable`` is null otherwise)."""


def _problem(field: str, value: object, message: str) -> dict[str, str]:
    text = repr(value)
    return {
        "field": field,
        "value": text if len(text) <= 80 else text[:77] + "...",
        "message": message,
    }


def _read_uploads(photos: list[UploadFile]) -> list[tuple[str, bytes]]:
    from estimo.photos.check import MAX_PHOTOS

    if len(photos) > MAX_PHOTOS:
        raise HTTPException(
            422,
            [_problem("photos", len(photos), f"expected at most {MAX_PHOTOS} photos a listing")],
        )
    out, problems = [], []
    for i, upload in enumerate(photos):
        name = upload.filename or f"photo-{i + 1}"
        data = upload.file.read(MAX_PHOTO_BYTES + 1)
        if len(data) > MAX_PHOTO_BYTES:
            problems.append(
                _problem(f"photos[{i}]", name, f"larger than {MAX_PHOTO_BYTES // 2**20} MiB")
            )
        out.append((name, data))
    if problems:
        raise HTTPException(413, problems)
    return out


def _zip(result: dict[str, Any], cleaned: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("check.json", json.dumps(result, indent=2))
        for name, data in cleaned.items():
            archive.writestr(f"photos/{name}", data)
    return buffer.getvalue()


def photos_router(
    *,
    classifier: RoomClassifier | Callable[[], RoomClassifier] | None = None,
    detector: FaceDetector | Callable[[], FaceDetector] | None = None,
    policy: ChecklistPolicy | None = None,
    prefix: str = "/v1/photos",
) -> APIRouter:
    """The photo-check router.

    Parameters
    ----------
    classifier : RoomClassifier or callable, optional
        The room model, or a function returning it (called once, on the first request);
        default: the shipped model (``load_default_classifier``).
    detector : FaceDetector or callable, optional
        The face detector, or a function returning it (called once, on the first request);
        default: ``default_detector``.
    policy : ChecklistPolicy, optional
        Required rooms per property type.
    prefix : str
        Path prefix of the routes.

    Returns
    -------
    fastapi.APIRouter
    """
    router = APIRouter(prefix=prefix, tags=["photos"])
    loaded: dict[str, Any] = {}

    def models() -> tuple[RoomClassifier, FaceDetector]:
        if not loaded:
            from estimo.photos.faces import default_detector
            from estimo.photos.room_model import load_default_classifier

            rooms = classifier if classifier is not None else load_default_classifier
            faces = detector if detector is not None else default_detector
            loaded["classifier"] = rooms() if callable(rooms) else rooms
            loaded["detector"] = faces() if callable(faces) else faces
        return loaded["classifier"], loaded["detector"]

    @router.post(
        "/check",
        summary="Check a listing's photos: required rooms, room types, faces blurred, EXIF removed",
        responses={
            200: {
                "content": {
                    "application/json": {"example": EXAMPLE_CHECK},
                    "application/zip": {},
                },
                "description": (
                    "JSON, or a ZIP download. Per photo, `unusable` is null for a photo of a "
                    "room, else why it is not one (its `candidate` is then null)"
                ),
            },
            413: {"description": "a photo is too large"},
            422: {"description": "a photo cannot be read; one problem per photo"},
        },
        openapi_extra={
            "requestBody": {
                "content": {
                    "multipart/form-data": {
                        "examples": {
                            "listing": {
                                "summary": "three photos of a flat",
                                "value": {
                                    "photos": ["kitchen.jpg", "bath.jpg", "front.jpg"],
                                    "property_type": "flat",
                                    "privacy": True,
                                },
                            }
                        }
                    }
                }
            }
        },
    )
    def check(
        photos: Annotated[list[UploadFile], File(description="the listing's photos")],
        property_type: Annotated[
            str | None, Form(description="chooses the required rooms, e.g. flat, house, land")
        ] = None,
        privacy: Annotated[bool, Form(description="blur faces, remove EXIF/GPS")] = True,
        download: Annotated[
            Literal["json", "zip"] | None,
            Query(description="zip: check.json plus the cleaned photos in one ZIP download"),
        ] = None,
    ) -> Any:
        from estimo.photos.check import check_listing
        from estimo.photos.images import PhotoError

        uploads = _read_uploads(photos)
        room_model, face_detector = models()
        try:
            result = check_listing(
                uploads,
                property_type=property_type,
                policy=policy,
                privacy=privacy or download == "zip",
                classifier=room_model,
                detector=face_detector,
            )
        except PhotoError as exc:
            raise HTTPException(
                422, [_problem("photos", [name for name, _ in uploads], str(exc))]
            ) from exc
        body = result.to_dict()
        if download == "zip":
            return Response(
                _zip(body, result.cleaned_files()),
                media_type="application/zip",
                headers={"Content-Disposition": 'attachment; filename="photos-checked.zip"'},
            )
        return body

    return router
