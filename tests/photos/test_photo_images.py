"""Reading photos and writing them back without metadata (EXIF, GPS)."""

from __future__ import annotations

import io

import numpy as np
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


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _gradient() -> np.ndarray:
    """A 0..1 horizontal ramp with a darker band, 64x48."""
    ramp = np.tile(np.linspace(0.0, 1.0, 64), (48, 1))
    ramp[20:28] *= 0.5
    return ramp


@pytest.mark.parametrize(
    ("pixels", "fmt", "mode"),
    [
        ((_gradient() * 65535).astype(np.uint16), "PNG", "I;16"),
        ((_gradient() * 65535).astype(np.int32), "TIFF", "I"),
        (_gradient().astype(np.float32), "TIFF", "F"),
    ],
)
def test_high_bit_depth_greyscale_is_scaled_to_8_bits_not_clipped_white(
    pixels: np.ndarray, fmt: str, mode: str
) -> None:
    data = _encoded(Image.fromarray(pixels), fmt)
    assert Image.open(io.BytesIO(data)).mode == mode
    rgb = np.asarray(open_photo(data, f"scan.{fmt.lower()}"))
    expected = np.rint(_gradient() * 255)
    assert rgb.shape == (48, 64, 3)
    assert np.abs(rgb[..., 0] - expected).max() <= 1
    assert (rgb[..., 0] == rgb[..., 2]).all()  # still grey


def test_16_bit_png_comes_out_of_the_check_as_a_grey_photo_not_white() -> None:
    from estimo.photos.check import check_listing

    data = _encoded(Image.fromarray((_gradient() * 65535).astype(np.uint16)), "PNG")
    result = check_listing([("scan16.png", data)], privacy=True)
    cleaned = np.asarray(Image.open(io.BytesIO(result.cleaned_files()["scan16.jpg"])))
    assert cleaned.min() < 30 and 100 < cleaned.mean() < 160


def test_jfif_and_gif_are_read_and_every_skipped_file_is_named(tmp_path) -> None:
    from estimo.photos.images import scan_folder

    scene(1, size=(96, 64)).save(tmp_path / "bath.jfif", format="JPEG")
    scene(2, size=(96, 64)).save(tmp_path / "front.gif")
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "more").mkdir()
    found = scan_folder(tmp_path)
    assert [p.name for p in found.photos] == ["bath.jfif", "front.gif"]
    assert open_photo((tmp_path / "front.gif").read_bytes()).size == (96, 64)
    assert open_photo((tmp_path / "bath.jfif").read_bytes()).mode == "RGB"
    assert sorted(found.skipped) == ["IMG_0001.HEIC", "more", "notes.txt"]
    assert "convert it to JPEG" in found.skipped["IMG_0001.HEIC"]
    assert "sub-folders are not searched" in found.skipped["more"]


def test_a_folder_with_photos_only_in_sub_folders_says_so(tmp_path) -> None:
    (tmp_path / "kitchen").mkdir()
    scene(1).save(tmp_path / "kitchen" / "k.jpg")
    with pytest.raises(PhotoError, match="sub-folders are not searched.*kitchen"):
        list_photos(tmp_path)
    with pytest.raises(PhotoError, match="is a file; expected the folder"):
        list_photos(tmp_path / "kitchen" / "k.jpg")
