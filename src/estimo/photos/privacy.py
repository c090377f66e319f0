"""Privacy for a photo before anyone else sees it: faces blurred, metadata removed."""

from __future__ import annotations

from dataclasses import dataclass, field

from estimo.photos._deps import require
from estimo.photos.faces import Face, FaceDetector, default_detector
from estimo.photos.images import Metadata, encode_clean_jpeg

Image = require("PIL.Image")
ImageDraw = require("PIL.ImageDraw")
ImageFilter = require("PIL.ImageFilter")

MARGIN = 0.25
"""Each face box is widened by this share of its size on every side before blurring."""


@dataclass
class PrivacyResult:
    """What privacy protection found and did to one photo.

    Attributes
    ----------
    faces : list of Face
        The faces found (and blurred).
    metadata : Metadata
        What the uploaded file carried (EXIF, GPS, ...) before it was removed.
    cleaned : bytes
        The photo as a JPEG with faces blurred and no metadata.
    original : bytes or None
        The uploaded bytes, only when asked for with ``keep_original``.
    """

    faces: list[Face]
    metadata: Metadata
    cleaned: bytes
    original: bytes | None = field(default=None, repr=False)

    @property
    def actions(self) -> list[str]:
        """Plain descriptions of what was done, e.g. ``["blurred 2 faces", "removed GPS"]``."""
        done = []
        if self.faces:
            done.append(f"blurred {len(self.faces)} face{'s' if len(self.faces) > 1 else ''}")
        if self.metadata.gps:
            done.append("removed GPS position")
        if self.metadata.exif:
            done.append("removed EXIF data")
        if self.metadata.other:
            done.append("removed " + ", ".join(self.metadata.other))
        return done


def blur_faces(image: Image.Image, faces: list[Face], margin: float = MARGIN) -> Image.Image:
    """A copy of ``image`` with each face (widened by ``margin``) blurred beyond recognition.

    The blur radius scales with the face, and an elliptic mask keeps the blur on the head.

    >>> from PIL import Image
    >>> img = Image.new("RGB", (40, 40), "white")
    >>> img.putpixel((20, 20), (0, 0, 0))
    >>> out = blur_faces(img, [Face(10, 10, 30, 30, 0.9)])
    >>> out.getpixel((20, 20)) != (0, 0, 0), out.getpixel((0, 0))
    (True, (255, 255, 255))
    """
    out = image.convert("RGB").copy()
    for face in faces:
        w, h = face.x1 - face.x0, face.y1 - face.y0
        box = (
            max(0, int(face.x0 - margin * w)),
            max(0, int(face.y0 - margin * h)),
            min(out.width, int(face.x1 + margin * w)),
            min(out.height, int(face.y1 + margin * h)),
        )
        if box[2] <= box[0] or box[3] <= box[1]:
            continue
        region = out.crop(box)
        radius = max(4.0, max(region.size) / 4.0)
        # pixelate first, then blur: no detail survives even a sharpening attempt
        tiny = region.resize((max(1, region.width // 12), max(1, region.height // 12)))
        blurred = tiny.resize(region.size, Image.BILINEAR).filter(ImageFilter.GaussianBlur(radius))
        mask = Image.new("L", region.size, 0)
        ImageDraw.Draw(mask).ellipse((0, 0, region.width - 1, region.height - 1), fill=255)
        region.paste(blurred, (0, 0), mask)
        out.paste(region, box[:2])
    return out


def protect(
    image: Image.Image,
    metadata: Metadata,
    *,
    detector: FaceDetector | None = None,
    original: bytes | None = None,
    keep_original: bool = False,
) -> PrivacyResult:
    """Blur the faces in a decoded photo and encode it without metadata.

    Parameters
    ----------
    image : PIL.Image.Image
        The decoded photo (pixels only, from :func:`estimo.photos.images.open_photo`).
    metadata : Metadata
        What the uploaded file carried, for the report.
    detector : FaceDetector, optional
        Defaults to the shared CenterFace detector.
    original : bytes, optional
        The uploaded bytes; returned only with ``keep_original=True``.
    keep_original : bool
        Return the original bytes too (for the owner's own use; never shown to others).

    Returns
    -------
    PrivacyResult
    """
    faces = (detector or default_detector()).detect(image)
    cleaned = encode_clean_jpeg(blur_faces(image, faces) if faces else image)
    return PrivacyResult(
        faces=faces,
        metadata=metadata,
        cleaned=cleaned,
        original=original if keep_original else None,
    )
