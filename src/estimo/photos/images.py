"""Reading uploaded photos and writing them back without metadata.

Every photo enters through :func:`open_photo` (turned upright from its EXIF orientation, RGB)
and leaves through :func:`encode_clean_jpeg`, which writes the pixels only: no EXIF (so no GPS
position, camera serial or capture time), no XMP, no ICC profile, no comments.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from estimo.photos._deps import require

Image = require("PIL.Image")
ImageOps = require("PIL.ImageOps")
UnidentifiedImageError = require("PIL").UnidentifiedImageError

MAX_PIXELS = 40_000_000
"""Larger images are refused (decompression bombs)."""

GPS_IFD = 0x8825
"""The EXIF tag that points to the GPS block."""

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


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
    image = ImageOps.exif_transpose(_decode(data, name))
    rgb = image.convert("RGB")
    pixels_only = Image.new("RGB", rgb.size)
    pixels_only.paste(rgb)
    return pixels_only


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


def list_photos(folder: Path) -> list[Path]:
    """The photo files directly inside a folder, sorted by name.

    Raises
    ------
    PhotoError
        When the folder does not exist or holds no photo.
    """
    if not folder.is_dir():
        raise PhotoError(f"photo folder {str(folder)!r} does not exist or is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not files:
        raise PhotoError(
            f"photo folder {str(folder)!r} holds no photo; expected files ending in "
            + ", ".join(EXTENSIONS)
        )
    return files
