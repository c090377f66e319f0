"""The check of a listing's photos, end to end on generated images, with the shipped model."""

from __future__ import annotations

import io

import numpy as np
import pytest
from _photo_helpers import jpeg_bytes, scene
from PIL import Image

from estimo.photos.check import check_listing
from estimo.photos.checklist import ChecklistPolicy
from estimo.photos.faces import Face, FaceDetector
from estimo.photos.images import PhotoError, read_metadata
from estimo.photos.privacy import blur_faces, protect
from estimo.photos.rooms import ANSWERS


@pytest.fixture(scope="module")
def listing() -> list[tuple[str, bytes]]:
    a = scene(1, size=(160, 120))
    return [
        ("a.jpg", jpeg_bytes(a, gps=True)),
        ("a-copy.png", _png(a.resize((120, 90)))),
        ("b.jpg", jpeg_bytes(scene(2, size=(160, 120)))),
    ]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_listing_check_reports_rooms_checklist_duplicates_and_privacy(listing) -> None:
    result = check_listing(listing, property_type="studio")
    body = result.to_dict()
    assert [p["file"] for p in body["photos"]] == ["a.jpg", "a-copy.png", "b.jpg"]
    for photo in body["photos"]:
        assert photo["room"] in ANSWERS
        assert photo["probability"] == max(photo["probabilities"].values())
        assert photo["faces"] == 0 and photo["privacy_checked"]
    assert (
        body["photos"][0]["had_gps"]
        and "removed GPS position" in body["photos"][0]["privacy_actions"]
    )
    checklist = body["checklist"]
    assert checklist["required"] == ["kitchen", "bathroom"]
    assert sorted(checklist["present"] + checklist["doubtful"] + checklist["missing"]) == [
        "bathroom",
        "kitchen",
    ]
    assert checklist["duplicates"] == [["a.jpg", "a-copy.png"]]
    cleaned = result.cleaned_files()
    assert sorted(cleaned) == ["a-copy.jpg", "a.jpg", "b.jpg"]
    for data in cleaned.values():
        assert read_metadata(data).clean
    assert all(p.privacy.original is None for p in result.photos)


def test_original_only_when_asked(listing) -> None:
    result = check_listing(listing[:1], keep_original=True)
    assert result.photos[0].privacy.original == listing[0][1]
    without = check_listing(listing[:1], privacy=False)
    assert without.photos[0].privacy is None and without.cleaned_files() == {}
    assert without.to_dict()["photos"][0]["privacy_checked"] is False


def test_policy_decides_the_required_rooms(listing) -> None:
    policy = ChecklistPolicy({"default": ["exterior"], "flat": ["kitchen", "bedroom"]})
    result = check_listing(listing[2:], property_type="flat", policy=policy)
    assert result.checklist["required"] == ["kitchen", "bedroom"]


def test_every_unreadable_photo_is_named_at_once(listing) -> None:
    photos = [listing[0], ("broken.jpg", b"\xff\xd8garbage"), ("empty.png", b"")]
    with pytest.raises(
        PhotoError, match=r"2 of 3 photos cannot be read.*'broken\.jpg'.*'empty\.png'"
    ):
        check_listing(photos)
    with pytest.raises(PhotoError, match="none given"):
        check_listing([])


def test_detector_finds_no_face_in_a_plain_scene_and_blur_changes_only_the_face() -> None:
    image = scene(5, size=(200, 160))
    assert FaceDetector().detect(image) == []
    faces = [Face(60, 40, 120, 110, 0.9)]
    out = blur_faces(image, faces)
    before, after = image.load(), out.load()
    assert before[5, 5] == after[5, 5] and before[195, 155] == after[195, 155]
    changed = sum(before[x, y] != after[x, y] for x in range(60, 120, 4) for y in range(40, 110, 4))
    assert changed > 150
    result = protect(image, read_metadata(jpeg_bytes(image, gps=True)), original=b"x")
    assert result.original is None and result.faces == []
    assert result.actions == ["removed GPS position", "removed EXIF data"]


def _noise(size: tuple[int, int] = (640, 480)) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (Image.new("RGB", (640, 480), "white"), "blank"),
        (Image.new("RGB", (640, 480), (128, 128, 128)), "blank"),
        (Image.new("RGB", (1, 1), "white"), "1x1 pixels; expected at least 64 px"),
        (Image.new("RGB", (800, 40), "white"), "800x40 pixels"),
        (_noise(), "noise"),
        (_noise((4032, 3024)), "noise"),
    ],
)
def test_images_without_content_are_not_rooms_and_tick_nothing(image, reason) -> None:
    result = check_listing([("x.png", _png(image))], property_type="land", privacy=False)
    photo = result.to_dict()["photos"][0]
    assert photo["room"] == "other" and photo["candidate"] is None
    assert photo["probability"] == 0.0 and reason in photo["unusable"]
    checklist = result.checklist
    assert checklist["present"] == [] and checklist["doubtful"] == []
    assert checklist["missing"] == ["exterior"] and reason in checklist["unusable"]["x.png"]


def test_a_blank_photo_next_to_real_ones_changes_nothing_else(listing) -> None:
    blank = ("blank.jpg", jpeg_bytes(Image.new("RGB", (640, 480), "white")))
    alone = check_listing(listing, privacy=False).to_dict()
    both = check_listing([*listing, blank], privacy=False).to_dict()
    assert both["photos"][:3] == alone["photos"]
    assert both["checklist"]["duplicates"] == alone["checklist"]["duplicates"]
    assert both["checklist"]["present"] == alone["checklist"]["present"]
    assert list(both["checklist"]["unusable"]) == ["blank.jpg"]
