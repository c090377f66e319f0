"""Checklist of required rooms and near-duplicate photos."""

from __future__ import annotations

import io

import pytest
from _photo_helpers import scene
from PIL import Image, ImageEnhance

from estimo.photos.checklist import ChecklistPolicy, PhotoRoom, build_checklist
from estimo.photos.duplicates import duplicate_groups, hash_distance, photo_hash

ALL = ["exterior", "kitchen", "bathroom", "bedroom"]


def p(file: str, room: str, candidate: str | None = None, prob: float = 0.9) -> PhotoRoom:
    return PhotoRoom(file, room, candidate or room, prob)


@pytest.mark.parametrize(
    ("photos", "present", "doubtful", "missing"),
    [
        ([], [], [], ALL),
        (
            [p("a", "kitchen"), p("b", "kitchen")],
            ["kitchen"],
            [],
            ["exterior", "bathroom", "bedroom"],
        ),
        (
            [p("a", "other", "bathroom", 0.5), p("b", "exterior"), p("c", "bedroom")],
            ["exterior", "bedroom"],
            ["bathroom"],
            ["kitchen"],
        ),
        # a sure kitchen wins over an unsure one
        (
            [p("a", "other", "kitchen", 0.5), p("b", "kitchen")],
            ["kitchen"],
            [],
            ["exterior", "bathroom", "bedroom"],
        ),
        ([p(f, r) for f, r in zip("abcd", ALL, strict=True)], ALL, [], []),
    ],
)
def test_present_doubtful_missing(photos, present, doubtful, missing) -> None:
    checklist = build_checklist(photos, ALL)
    assert (checklist["present"], checklist["doubtful"], checklist["missing"]) == (
        present,
        doubtful,
        missing,
    )
    assert checklist["complete"] == (not doubtful and not missing)


def test_checklist_lists_files_per_room_and_duplicates() -> None:
    photos = [p("a.jpg", "kitchen"), p("b.jpg", "other", "bedroom", 0.4), p("c.jpg", "kitchen")]
    checklist = build_checklist(photos, ["kitchen", "bedroom"], [["a.jpg", "c.jpg"]])
    assert checklist["rooms"] == {"kitchen": ["a.jpg", "c.jpg"]}
    assert checklist["doubtful_files"] == {"bedroom": ["b.jpg"]}
    assert checklist["duplicates"] == [["a.jpg", "c.jpg"]]


@pytest.mark.parametrize(
    ("kind", "rooms"),
    [
        ("flat", ("kitchen", "bathroom", "bedroom")),
        ("LAND", ("exterior",)),
        (None, tuple(ALL)),
        ("castle", tuple(ALL)),
    ],
)
def test_default_policy_per_property_type(kind, rooms) -> None:
    assert ChecklistPolicy().required_for(kind) == rooms


def test_policy_from_yaml_and_its_errors(tmp_path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("default: [kitchen]\nVilla: [exterior, bathroom]\n")
    policy = ChecklistPolicy.from_file(path)
    assert policy.required_for("villa") == ("exterior", "bathroom")
    assert policy.required_for("flat") == ("kitchen",)
    with pytest.raises(ValueError, match="names room 'garden'.*expected rooms among"):
        ChecklistPolicy({"default": ["garden"]})
    with pytest.raises(ValueError, match="expected a 'default' entry"):
        ChecklistPolicy({"flat": ["kitchen"]})
    with pytest.raises(ValueError, match="expected a list of rooms"):
        ChecklistPolicy({"default": "kitchen"})


def _recompressed(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_near_duplicates_survive_resize_recompression_and_brightness() -> None:
    original = scene(7, size=(200, 150))
    variants = {
        "original": original,
        "smaller": original.resize((120, 90)),
        "recompressed": _recompressed(original, 40),
        "brighter": ImageEnhance.Brightness(original).enhance(1.15),
        "other": scene(8, size=(200, 150)),
        "other_flipped": scene(9, size=(200, 150)),
    }
    hashes = {name: photo_hash(image) for name, image in variants.items()}
    assert hash_distance(hashes["original"], hashes["other"]) > 10
    assert duplicate_groups(hashes) == [["original", "smaller", "recompressed", "brighter"]]


def test_duplicate_groups_are_transitive_and_ordered() -> None:
    hashes = {"c": "0000", "a": "ffff", "b": "0001", "d": "0003"}
    assert duplicate_groups(hashes, max_bits=1) == [["c", "b", "d"]]
    assert duplicate_groups(hashes, max_bits=0) == []
