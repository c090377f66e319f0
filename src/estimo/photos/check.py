"""Checking the photos of one listing: room types, checklist, duplicates, privacy."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import numpy as np

from estimo.photos.checklist import ChecklistPolicy, PhotoRoom, build_checklist
from estimo.photos.duplicates import NEAR_BITS, duplicate_groups, photo_hash
from estimo.photos.faces import FaceDetector
from estimo.photos.features import photo_features
from estimo.photos.images import (
    Metadata,
    PhotoError,
    content_problem,
    open_photo,
    read_metadata,
)
from estimo.photos.privacy import PrivacyResult, protect
from estimo.photos.room_model import RoomClassifier, RoomPrediction, load_default_classifier
from estimo.photos.rooms import OTHER

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

MAX_PHOTOS = 100
"""A listing with more photos is refused (one request, one listing)."""


@dataclass
class PhotoCheck:
    """The check of one photo.

    Attributes
    ----------
    file : str
        The name it was uploaded with.
    prediction : RoomPrediction or None
        Room type and probabilities; None for a photo that is not a photo of a room.
    hash : str
        Perceptual hash (dHash).
    metadata : Metadata
        Metadata the upload carried.
    privacy : PrivacyResult or None
        Faces found, what was removed, the cleaned JPEG; None when privacy was off.
    cleaned_name : str or None
        File name of the cleaned photo.
    unusable : str or None
        Why the file is not a photo of a room (too small, blank, noise); it is then answered
        ``other`` with no candidate and never counts for the checklist.
    """

    file: str
    prediction: RoomPrediction | None
    hash: str
    metadata: Metadata
    privacy: PrivacyResult | None = None
    cleaned_name: str | None = None
    unusable: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no image bytes)."""
        faces = self.privacy.faces if self.privacy else []
        prediction = self.prediction
        return {
            "file": self.file,
            "room": prediction.room if prediction else OTHER,
            "probability": prediction.probability if prediction else 0.0,
            "candidate": prediction.candidate if prediction else None,
            "probabilities": prediction.probabilities if prediction else {},
            "unusable": self.unusable,
            "faces": len(faces),
            "people": len(faces),
            "face_boxes": [face.to_dict() for face in faces],
            "had_exif": self.metadata.exif,
            "had_gps": self.metadata.gps,
            "privacy_checked": self.privacy is not None,
            "privacy_actions": self.privacy.actions if self.privacy else [],
            "cleaned": self.cleaned_name,
            "hash": self.hash,
        }


@dataclass
class ListingCheck:
    """The check of a listing's photos: one :class:`PhotoCheck` each and the checklist."""

    photos: list[PhotoCheck]
    checklist: dict[str, Any]
    property_type: str | None = None
    model: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready result: ``photos``, ``checklist``, ``property_type``, ``model``."""
        return {
            "photos": [photo.to_dict() for photo in self.photos],
            "checklist": self.checklist,
            "property_type": self.property_type,
            "model": self.model,
        }

    def cleaned_files(self) -> dict[str, bytes]:
        """Cleaned photo name -> JPEG bytes (faces blurred, no metadata)."""
        return {
            p.cleaned_name: p.privacy.cleaned
            for p in self.photos
            if p.privacy is not None and p.cleaned_name
        }


def cleaned_names(files: Sequence[str]) -> list[str]:
    """The file name of each photo's cleaned JPEG: its stem plus ``.jpg``, made unique.

    >>> cleaned_names(["a.png", "a.jpg", "b.webp"])
    ['a.jpg', 'a-2.jpg', 'b.jpg']
    """
    names: list[str] = []
    seen: set[str] = set()
    for file in files:
        stem = PurePath(file).stem or "photo"
        name, n = f"{stem}.jpg", 1
        while name in seen:
            n += 1
            name = f"{stem}-{n}.jpg"
        seen.add(name)
        names.append(name)
    return names


def _predict_rooms(
    classifier: RoomClassifier, images: Sequence[Image.Image]
) -> Iterator[RoomPrediction]:
    """The room of each image, in order (nothing to compute for an empty list)."""
    if not images:
        return iter(())
    return iter(classifier.predict(np.vstack([photo_features(image) for image in images])))


def check_listing(
    photos: Sequence[tuple[str, bytes]],
    *,
    property_type: str | None = None,
    policy: ChecklistPolicy | None = None,
    privacy: bool = True,
    keep_original: bool = False,
    classifier: RoomClassifier | None = None,
    detector: FaceDetector | None = None,
) -> ListingCheck:
    """Check the photos of one listing.

    Parameters
    ----------
    photos : sequence of (str, bytes)
        File name and bytes of each uploaded photo.
    property_type : str, optional
        Chooses the required rooms from ``policy``.
    policy : ChecklistPolicy, optional
        Required rooms per property type (default:
        :data:`estimo.photos.checklist.DEFAULT_REQUIRED`).
    privacy : bool
        Detect and blur faces and write cleaned photos without metadata.
    keep_original : bool
        Also keep the uploaded bytes in each :class:`PrivacyResult` (never by default).
    classifier : RoomClassifier, optional
        Defaults to the model shipped in the package.
    detector : FaceDetector, optional
        Defaults to the shared CenterFace detector.

    Returns
    -------
    ListingCheck

    Raises
    ------
    PhotoError
        When there is no photo, too many, or any file is not a readable image (every bad
        file is named in one message).
    """
    if not photos:
        raise PhotoError("photos: none given; expected at least one photo of the listing")
    if len(photos) > MAX_PHOTOS:
        raise PhotoError(f"photos: {len(photos)} given; expected at most {MAX_PHOTOS} a listing")
    decoded, problems = [], []
    for name, data in photos:
        try:
            decoded.append((name, data, open_photo(data, name), read_metadata(data, name)))
        except PhotoError as exc:
            problems.append(str(exc))
    if problems:
        raise PhotoError(
            f"{len(problems)} of {len(photos)} photos cannot be read: " + "; ".join(problems)
        )

    classifier = classifier or load_default_classifier()
    policy = policy or ChecklistPolicy()
    reasons = [content_problem(image) for _, _, image, _ in decoded]
    predictions = _predict_rooms(
        classifier,
        [image for (_, _, image, _), why in zip(decoded, reasons, strict=True) if not why],
    )
    names = cleaned_names([name for name, *_ in decoded])
    checks = []
    for (name, data, image, metadata), cleaned, why in zip(decoded, names, reasons, strict=True):
        if why:
            log.info("photo %r is not a photo of a room: %s", name, why)
        result = (
            protect(image, metadata, detector=detector, original=data, keep_original=keep_original)
            if privacy
            else None
        )
        checks.append(
            PhotoCheck(
                file=name,
                prediction=None if why else next(predictions),
                hash=photo_hash(image),
                metadata=metadata,
                privacy=result,
                cleaned_name=cleaned if result is not None else None,
                unusable=why,
            )
        )
    groups = duplicate_groups({c.file: c.hash for c in checks if not c.unusable}, NEAR_BITS)
    checklist = build_checklist(
        [
            PhotoRoom(c.file, c.prediction.room, c.prediction.candidate, c.prediction.probability)
            for c in checks
            if c.prediction is not None
        ],
        policy.required_for(property_type),
        groups,
        unusable={c.file: c.unusable for c in checks if c.unusable},
    )
    model = {"unsure_threshold": round(classifier.threshold_, 4), **classifier.metrics_}
    return ListingCheck(
        photos=checks, checklist=checklist, property_type=property_type, model=model
    )
