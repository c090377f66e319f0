"""Face detection on large photos: a coarse and a fine pass, boxes merged (issue sweepE-14).

CenterFace is replaced by a stand-in that "finds" a dark square as a face when it is at least
20 px across in the image it is given (CenterFace's own limit), so the tests show which
sizes each pass sees without needing a photo of a person.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from estimo.photos.faces import Face, FaceDetector, detection_scales, merge_faces
from estimo.photos.images import Metadata
from estimo.photos.privacy import protect

MIN_FACE = 20


class SquareNet:
    """Stands in for CenterFace: each dark square of at least ``MIN_FACE`` px is a face."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, int]] = []

    def __call__(self, pixels: np.ndarray, threshold: float = 0.5):
        self.shapes.append(pixels.shape[:2])
        dark = pixels.max(axis=2) < 40
        boxes = []
        for x0, x1 in _runs(dark.any(axis=0)):
            for y0, y1 in _runs(dark[:, x0:x1].any(axis=1)):
                if min(x1 - x0, y1 - y0) >= MIN_FACE:
                    boxes.append([x0, y0, x1, y1, 0.9])
        return np.asarray(boxes, dtype=np.float32).reshape(-1, 5), None


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _detector() -> tuple[FaceDetector, SquareNet]:
    detector = FaceDetector()
    net = SquareNet()
    detector._net = net
    return detector, net


def _photo(size: tuple[int, int], squares: list[tuple[int, int, int]]) -> Image.Image:
    """A light grey photo with dark squares ``(x, y, side)``."""
    pixels = np.full((size[1], size[0], 3), 200, dtype=np.uint8)
    for x, y, side in squares:
        pixels[y : y + side, x : x + side] = 10
    return Image.fromarray(pixels)


def test_a_small_face_in_a_12_megapixel_photo_is_found() -> None:
    detector, _ = _detector()
    photo = _photo((4032, 3024), [(300, 200, 48), (2500, 1500, 900)])
    faces = detector.detect(photo)
    assert len(faces) == 2
    small = min(faces, key=lambda f: f.area)
    box = (small.x0, small.y0, small.x1, small.y1)
    assert np.abs(np.subtract(box, (300, 200, 348, 248))).max() <= 3  # rounding at half size


def test_the_fine_pass_is_bounded_and_small_photos_take_one_pass() -> None:
    detector, net = _detector()
    detector.detect(_photo((7000, 5000), [(10, 10, 30)]))
    assert net.shapes[-1][0] * net.shapes[-1][1] <= 2048 * 1536 * 1.01
    net.shapes.clear()
    detector.detect(_photo((600, 400), [(10, 10, 30)]))
    assert net.shapes == [(400, 600)]
    assert detection_scales((600, 400)) == [1.0]


def test_a_face_seen_by_both_passes_is_counted_once_and_fully_blurred() -> None:
    detector, _ = _detector()
    photo = _photo((2400, 1800), [(1000, 600, 400)])
    result = protect(photo, Metadata(exif=False, gps=False, other=()), detector=detector)
    assert len(result.faces) == 1 and result.actions == ["blurred 1 face"]


@pytest.mark.parametrize(
    ("boxes", "expected"),
    [
        ([Face(0, 0, 10, 10, 0.8), Face(100, 100, 110, 110, 0.9)], 2),
        ([Face(0, 0, 100, 100, 0.8), Face(10, 10, 60, 60, 0.9)], 1),
        ([Face(0, 0, 100, 100, 0.8), Face(90, 90, 190, 190, 0.9)], 2),
    ],
)
def test_merge_keeps_one_box_per_face(boxes: list[Face], expected: int) -> None:
    merged = merge_faces(boxes)
    assert len(merged) == expected
    assert merged[0].score == 0.9
