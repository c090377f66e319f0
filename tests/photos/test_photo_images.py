"""Reading photos and writing them back without metadata (EXIF, GPS)."""

from __future__ import annotations

import io

import pytest
from _photo_helpers import jpeg_bytes, scene
from PIL import Image

from estimo.photos.images import (
    PhotoError,
    encode_clean_jpeg,
    list_photos,
    open_photo,
    read_metadata,
)


def test_gps_written_with_pil_is_read_back_then_gone_after_cleaning() -> None:
    data = jpeg_bytes(scene(1), gps=True)
    before = read_metadata(data)
    assert before.exif and before.gps
    cleaned = encode_clean_jpeg(open_photo(data))
    after = read_metadata(cleaned)
    assert not after.exif and not after.gps and after.clean
    assert Image.open(io.BytesIO(cleaned)).getexif().get_ifd(0x8825) == {}
    assert b"PhoneMaker" not in cleaned and b"Exif" not in cleaned


def test_exif_orientation_is_applied_before_the_metadata_goes() -> None:
    data = jpeg_bytes(scene(2, size=(80, 40)), orientation=6)  # 6: rotate 90 degrees
    image = open_photo(data)
    assert image.size == (40, 80)
    assert image.mode == "RGB" and image.info == {}


def test_png_with_alpha_becomes_rgb() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (10, 12), (255, 0, 0, 128)).save(buffer, format="PNG")
    assert open_photo(buffer.getvalue()).mode == "RGB"


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "is empty"), (b"not an image at all", "cannot be read as an image")],
)
def test_bad_bytes_name_the_file(data: bytes, message: str) -> None:
    with pytest.raises(PhotoError, match=rf"photo 'x\.jpg' {message}"):
        open_photo(data, "x.jpg")


def test_list_photos_errors_name_the_folder(tmp_path) -> None:
    with pytest.raises(PhotoError, match="does not exist"):
        list_photos(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(PhotoError, match="holds no photo"):
        list_photos(tmp_path)
    (tmp_path / "b.JPG").write_bytes(b"1")
    (tmp_path / "a.png").write_bytes(b"1")
    assert [p.name for p in list_photos(tmp_path)] == ["a.png", "b.JPG"]
