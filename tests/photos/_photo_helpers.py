"""Generated test images: smooth random scenes and JPEGs with EXIF/GPS written by PIL."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

GPS_IFD = 0x8825


def scene(seed: int, size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A random but smooth RGB picture (blocks of colour with noise)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(4, 6, 3), dtype=np.uint8)
    image = Image.fromarray(coarse).resize(size, Image.BILINEAR)
    noise = rng.normal(0, 6, size=(size[1], size[0], 3))
    return Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype(np.uint8))


def jpeg_bytes(image: Image.Image, *, gps: bool = False, orientation: int | None = None) -> bytes:
    """Encode as JPEG, optionally with EXIF camera data, a GPS position and an orientation."""
    exif = Image.Exif()
    if gps or orientation:
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x0110] = "Phone 12"  # Model
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (45.0, 27.0, 50.4), 3: "E", 4: (9.0, 11.0, 24.0)}
    if orientation:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, quality=92)
    return buffer.getvalue()


ROOM_COLOURS = {
    "bathroom": (60, 120, 230),
    "bedroom": (200, 170, 120),
    "kitchen": (220, 60, 50),
    "frontal": (60, 170, 60),
}


def coloured_room(room: str, seed: int, size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A generated "photo" whose room shows in its colour (an easy, learnable task)."""
    rng = np.random.default_rng(seed)
    base = np.array(ROOM_COLOURS[room], dtype=float) + rng.normal(0, 12, 3)
    pixels = base + rng.normal(0, 18, size=(size[1], size[0], 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def write_labelled_folder(folder, n_houses: int = 8) -> list[str]:
    """``<house>_<room>.jpg`` for every house and room; returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for house in range(n_houses):
        for i, room in enumerate(ROOM_COLOURS):
            name = f"{house}_{room}.jpg"
            coloured_room(room, seed=house * 10 + i).save(folder / name, quality=90)
            names.append(name)
    return names
