"""Reading uploaded photos and writing them back without metadata.

Every photo enters through :func:`open_photo` (turned upright from its EXIF orientation, RGB)
and leaves through :func:`encode_clean_jpeg`, which writes the pixels only: no EXIF (so no GPS
position, camera serial or capture time), no XMP, no ICC profile, no comments.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from estimo.photos._deps import require

log = logging.getLogger(__name__)

Image = require("PIL.Image")
ImageOps = require("PIL.ImageOps")
UnidentifiedImageError = require("PIL").UnidentifiedImageError

MAX_PIXELS = 40_000_000
"""Larger images are refused (decompression bombs)."""

GPS_IFD = 0x8825
"""The EXIF tag that points to the GPS block."""

MIN_SIDE = 64
"""Photos with a shorter side below this many pixels are not photos of a room."""
MIN_SPREAD = 4.0
"""Photos whose grey levels spread less than this (standard deviation, 0..255) are blank."""
MIN_NEIGHBOUR_CORRELATION = 0.3
"""Photos whose neighbouring pixels correlate less than this are noise, not a picture.

Photos of rooms and houses correlate at 0.81 or more (all 1,600 in ``../shared/photos``);
random noise at about 0.
"""
CONTENT_LONG_SIDE = 512
"""Content is measured on a copy reduced by whole-pixel averaging to about this long side."""

HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
"""Greyscale modes with more than 8 bits a pixel (16-bit PNG/TIFF, 32-bit integer, float)."""

EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".png",
    ".webp",
    ".bmp",
    ".tif",
    ".tiff",
    ".gif",
)
"""Files read as photos (a GIF by its first frame)."""

UNREADABLE: dict[str, str] = {
    ".heic": "HEIC cannot be read; convert it to JPEG: export the photo as JPEG, or on an "
    "iPhone set Settings > Camera > Formats > Most Compatible",
    ".heif": "HEIF cannot be read; convert it to JPEG",
    ".avif": "AVIF cannot be read; convert it to JPEG",
    ".dng": "RAW (DNG) cannot be read; export it as JPEG",
    ".cr2": "RAW (CR2) cannot be read; export it as JPEG",
    ".nef": "RAW (NEF) cannot be read; export it as JPEG",
    ".arw": "RAW (ARW) cannot be read; export it as JPEG",
}
"""Photo formats known but not read, with what to do."""


class PhotoError(ValueError):
    """A file that is not a readable photo."""


@dataclass(frozen=True)
class Metadata:
    """What a photo file carries besides its pixels.

    Attributes
    ----------
    exif : bool
        The file has an EXIF block (any tag).
    gps : bool
        The EXIF block has a GPS position.
    other : tuple of str
        Other metadata blocks found (``xmp``, ``icc_profile``, ``comment``).
    """

    exif: bool
    gps: bool
    other: tuple[str, ...]

    @property
    def clean(self) -> bool:
        """True when the file carries no metadata at all."""
        return not (self.exif or self.gps or self.other)


def _decode(data: bytes, name: str) -> Image.Image:
    if not data:
        raise PhotoError(f"photo {name!r} is empty; expected a JPEG, PNG or WebP file")
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise PhotoError(
                f"photo {name!r} has {image.width}x{image.height} pixels; "
                f"expected at most {MAX_PIXELS:,}"
            )
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise PhotoError(
            f"photo {name!r} cannot be read as an image ({type(exc).__name__}); "
            "expected a JPEG, PNG or WebP file"
        ) from exc
    return image


def read_metadata(data: bytes, name: str = "photo") -> Metadata:
    """The metadata a photo file carries, read back from its bytes.

    Parameters
    ----------
    data : bytes
        The file's bytes.
    name : str
        The file name, for error messages.

    Returns
    -------
    Metadata
    """
    image = _decode(data, name)
    exif = image.getexif()
    gps = bool(exif.get_ifd(GPS_IFD)) or GPS_IFD in exif
    other = tuple(
        key for key in ("xmp", "icc_profile", "comment", "XML:com.adobe.xmp") if image.info.get(key)
    )
    return Metadata(exif=len(exif) > 0, gps=gps, other=other)


def _value_range(mode: str, high: float) -> float:
    """The value that is white in a high-depth greyscale image of ``mode``.

    16-bit modes span 0..65535. For 32-bit integer (``I``) and float (``F``) images the span
    is read from the brightest pixel: 1.0 (float 0..1), 255, 65535, or the maximum itself.

    >>> _value_range("I;16", 300.0), _value_range("F", 0.8), _value_range("I", 4000.0)
    (65535.0, 1.0, 65535.0)
    """
    if mode.startswith("I;16"):
        return 65535.0
    spans = (1.0, 255.0, 65535.0) if mode == "F" else (255.0, 65535.0)
    return next((span for span in spans if high <= span), float(high))


def to_8bit(image: Image.Image) -> Image.Image:
    """A greyscale image of more than 8 bits a pixel scaled to 8 bits (mode ``L``).

    Pillow's ``convert`` clips such values at 255 instead of scaling them (a 16-bit photo
    comes out white); other modes are returned unchanged.

    >>> import numpy as np
    >>> from PIL import Image
    >>> grey16 = Image.fromarray(np.array([[0, 32896, 65535]], dtype=np.uint16))
    >>> grey16.mode, np.asarray(to_8bit(grey16)).tolist()
    ('I;16', [[0, 128, 255]])
    """
    if image.mode not in HIGH_DEPTH_MODES:
        return image
    pixels = np.asarray(image, dtype=np.float64)
    finite = pixels[np.isfinite(pixels)]
    high = float(finite.max()) if finite.size else 0.0
    span = _value_range(image.mode, high)
    scaled = np.nan_to_num(pixels, nan=0.0) * (255.0 / span) if span > 0 else pixels * 0
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def open_photo(data: bytes, name: str = "photo") -> Image.Image:
    """Decode a photo, turned upright from its EXIF orientation, as an RGB image.

    The returned image holds pixels only: its ``info`` (EXIF, ICC profile, comments) is dropped.

    Parameters
    ----------
    data : bytes
        The file's bytes.
    name : str
        The file name, for error messages.

    Returns
    -------
    PIL.Image.Image
        An RGB image without metadata.

    Raises
    ------
    PhotoError
        When the bytes are not a readable image.
    """
    image = to_8bit(ImageOps.exif_transpose(_decode(data, name)))
    rgb = image.convert("RGB")
    pixels_only = Image.new("RGB", rgb.size)
    pixels_only.paste(rgb)
    return pixels_only


def _neighbour_correlation(grey: np.ndarray) -> float:
    """Mean correlation of each pixel with its right and lower neighbours (-1..1)."""
    pairs = [(grey[:, :-1], grey[:, 1:]), (grey[:-1], grey[1:])]
    values = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in pairs if a.size > 1]
    return float(np.nanmean(values)) if values else 0.0


def content_problem(image: Image.Image) -> str | None:
    """Why a decoded photo cannot show a room (too small, blank, noise), or None when it can.

    Parameters
    ----------
    image : PIL.Image.Image
        The decoded photo (from :func:`open_photo`).

    Returns
    -------
    str or None
        The reason, naming the measured value and what was expected.

    Examples
    --------
    >>> from PIL import Image
    >>> content_problem(Image.new("RGB", (1, 1)))
    '1x1 pixels; expected at least 64 px on each side'
    >>> content_problem(Image.new("RGB", (640, 480), "white"))
    'blank (grey levels spread 0.0; expected at least 4.0)'
    """
    if min(image.size) < MIN_SIDE:
        return f"{image.width}x{image.height} pixels; expected at least {MIN_SIDE} px on each side"
    grey = image.convert("L")
    factor = max(1, max(grey.size) // CONTENT_LONG_SIDE)
    pixels = np.asarray(grey.reduce(factor) if factor > 1 else grey, dtype=np.float64)
    spread = float(pixels.std())
    if spread < MIN_SPREAD:
        return f"blank (grey levels spread {spread:.1f}; expected at least {MIN_SPREAD})"
    correlation = _neighbour_correlation(pixels)
    if not correlation >= MIN_NEIGHBOUR_CORRELATION:
        return (
            f"noise, not a picture (neighbouring pixels correlate at {correlation:.2f}; "
            f"expected at least {MIN_NEIGHBOUR_CORRELATION})"
        )
    return None


def encode_clean_jpeg(image: Image.Image, quality: int = 90) -> bytes:
    """Encode an image as a JPEG with no metadata (no EXIF, GPS, XMP, ICC profile).

    >>> from PIL import Image
    >>> data = encode_clean_jpeg(Image.new("RGB", (8, 8), "white"))
    >>> read_metadata(data).clean
    True
    """
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality, exif=b"", icc_profile=None)
    return buffer.getvalue()


@dataclass(frozen=True)
class PhotoFolder:
    """The files of a photo folder: the photos read and the files skipped, with why.

    Attributes
    ----------
    photos : list of Path
        Photo files directly inside the folder, sorted by name.
    skipped : dict of str to str
        File or sub-folder name -> why it is not read (sub-folders are not searched).
    """

    photos: list[Path]
    skipped: dict[str, str]


def _skip_reason(path: Path) -> str:
    """Why a folder entry is not read as a photo."""
    if path.is_dir():
        return "a sub-folder: sub-folders are not searched"
    suffix = path.suffix.lower()
    if suffix in UNREADABLE:
        return UNREADABLE[suffix]
    return f"not a photo file ({suffix or 'no extension'}; expected {', '.join(EXTENSIONS)})"


def scan_folder(folder: Path) -> PhotoFolder:
    """The photo files directly inside a folder and the entries skipped (with the reason).

    Sub-folders are not searched: each is listed as skipped.

    Raises
    ------
    PhotoError
        When the folder does not exist, is a file or holds no photo (the skipped files are
        named).
    """
    if not folder.exists():
        raise PhotoError(
            f"photo folder {str(folder)!r} does not exist; expected a folder of photos"
        )
    if not folder.is_dir():
        raise PhotoError(
            f"photo folder {str(folder)!r} is a file; expected the folder holding the photos"
        )
    photos, skipped = [], {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in EXTENSIONS:
            photos.append(path)
        else:
            skipped[path.name] = _skip_reason(path)
    if not photos:
        detail = f"; {describe_skipped(skipped)}" if skipped else ""
        raise PhotoError(
            f"photo folder {str(folder)!r} holds no photo (sub-folders are not searched); "
            "expected files ending in " + ", ".join(EXTENSIONS) + detail
        )
    return PhotoFolder(photos=photos, skipped=skipped)


def describe_skipped(skipped: dict[str, str]) -> str:
    """One line naming every skipped file and why.

    >>> describe_skipped({"IMG_1.HEIC": "HEIC cannot be read", "notes": "a sub-folder"})
    'skipped 2 files: IMG_1.HEIC (HEIC cannot be read); notes (a sub-folder)'
    """
    n = len(skipped)
    return f"skipped {n} file{'s' if n != 1 else ''}: " + "; ".join(
        f"{name} ({reason})" for name, reason in skipped.items()
    )


def list_photos(folder: Path) -> list[Path]:
    """The photo files directly inside a folder, sorted by name (skipped files logged).

    Raises
    ------
    PhotoError
        When the folder does not exist or holds no photo (the skipped files are named).
    """
    found = scan_folder(folder)
    if found.skipped:
        log.warning("photo folder %r: %s", str(folder), describe_skipped(found.skipped))
    return found.photos
