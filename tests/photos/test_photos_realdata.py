"""Real-data floors of issue 21 on ../shared/photos (pytest -m realdata; fails without the data).

Slow (two 5-fold cross-validations on 1,600 photos: minutes); the figures themselves are in
benchmarks/RESULTS.md (benchmarks/photos.py).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from estimo.photos.check import check_listing
from estimo.photos.dataset import LabelledPhotos, extract_features, read_labelled_folder
from estimo.photos.faces import FaceDetector
from estimo.photos.images import open_photo, read_metadata
from estimo.photos.labels import rank_label_issues
from estimo.photos.room_model import load_default_classifier
from estimo.photos.training import cross_validate

pytestmark = pytest.mark.realdata
VISIBLE_FACES = {"bus.jpg": 2, "zidane.jpg": 2, "multiface.jpg": 6}


@pytest.fixture(scope="module")
def dev(shared_photos: Path, tmp_path_factory) -> tuple[LabelledPhotos, np.ndarray]:
    photos = read_labelled_folder(shared_photos / "houses")
    assert len(photos) == 1600 and len(set(photos.groups)) == 400
    return photos, extract_features(photos.files, tmp_path_factory.mktemp("features"))


def test_room_type_floors_grouped_by_house(dev) -> None:
    photos, features = dev
    metrics = cross_validate(features, photos.labels, photos.groups).metrics(photos.labels)
    assert metrics["accuracy"] >= 0.85
    assert metrics["macro_f1"] >= 0.85
    assert metrics["ece"] <= 0.05


def test_mislabel_finder_puts_flipped_labels_on_top(dev) -> None:
    photos, features = dev
    rng = np.random.default_rng(0)
    labels = photos.labels
    flipped = rng.choice(len(labels), len(labels) // 10, replace=False)
    noisy = labels.copy()
    noisy[flipped] = (labels[flipped] + rng.integers(1, 4, len(flipped))) % 4
    cv = cross_validate(features, noisy, photos.groups)
    top = set(rank_label_issues(cv.calibrated, noisy)[: int(0.15 * len(noisy))].tolist())
    assert np.mean([i in top for i in flipped]) >= 0.70


def test_faces_found_in_people_and_none_in_rooms(shared_photos: Path, dev) -> None:
    detector = FaceDetector()
    for name, expected in VISIBLE_FACES.items():
        data = (shared_photos / "people" / name).read_bytes()
        assert len(detector.detect(open_photo(data, name))) >= expected, name
    photos, _ = dev
    false = [p.name for p in photos.files if detector.detect(open_photo(p.read_bytes(), p.name))]
    assert false == []


def test_people_photos_come_out_blurred_and_without_metadata(shared_photos: Path) -> None:
    files = sorted((shared_photos / "people").glob("*.jpg"))
    uploads = [(p.name, p.read_bytes()) for p in files]
    assert read_metadata(uploads[0][1]).gps  # bus.jpg carries the phone's GPS position
    result = check_listing(uploads)
    body = {p["file"]: p for p in result.to_dict()["photos"]}
    assert (
        body["bus.jpg"]["had_gps"] and "removed GPS position" in body["bus.jpg"]["privacy_actions"]
    )
    assert sum(p["faces"] for p in body.values()) >= sum(VISIBLE_FACES.values())
    for data in result.cleaned_files().values():
        assert read_metadata(data).clean
    # the blurred faces no longer trigger the detector
    detector = FaceDetector()
    for data in result.cleaned_files().values():
        assert detector.detect(open_photo(data)) == []


def test_check_speed_with_privacy_on_one_core(dev) -> None:
    import cv2
    import threadpoolctl

    photos, _ = dev
    classifier = load_default_classifier()
    listings: dict[str, list[Path]] = {}
    for path in photos.files[:80]:
        listings.setdefault(path.stem.rsplit("_", 1)[0], []).append(path)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with threadpoolctl.threadpool_limits(1):
            check_listing(
                [(p.name, p.read_bytes()) for p in photos.files[:4]], classifier=classifier
            )
            start = time.process_time()
            for files in listings.values():
                check_listing([(p.name, p.read_bytes()) for p in files], classifier=classifier)
            cpu = time.process_time() - start
    finally:
        cv2.setNumThreads(threads)
    assert 80 / cpu >= 10.0


@pytest.mark.parametrize("name", sorted(VISIBLE_FACES))
def test_faces_in_a_12_megapixel_photo_are_found_as_at_full_size(
    shared_photos: Path, name: str
) -> None:
    """The people pasted at their own size into a 4032x3024 room photo (sweepE-14)."""
    from PIL import Image

    room = Image.open(shared_photos / "houses" / "100_bedroom.jpg").convert("RGB")
    canvas = room.resize((4032, 3024))
    canvas.paste(Image.open(shared_photos / "people" / name).convert("RGB"), (0, 0))
    assert len(FaceDetector().detect(canvas)) >= VISIBLE_FACES[name]
