"""`estimo photos check | labels` with CliRunner on generated photos."""

from __future__ import annotations

import json

import pytest
from _photo_helpers import coloured_room, jpeg_bytes, scene, write_labelled_folder
from PIL import Image
from typer.testing import CliRunner

from estimo.cli import app
from estimo.photos.images import read_metadata

runner = CliRunner()


def _listing(folder):
    folder.mkdir()
    (folder / "a.jpg").write_bytes(jpeg_bytes(scene(1), gps=True))
    (folder / "b.jpg").write_bytes(jpeg_bytes(scene(2)))
    coloured_room("kitchen", 3).save(folder / "c.png")
    (folder / "readme.txt").write_text("not a photo")
    return folder


def test_check_json_prints_one_object_with_photos_and_checklist(tmp_path) -> None:
    folder = _listing(tmp_path / "listing")
    result = runner.invoke(app, ["photos", "check", str(folder), "--json", "-t", "flat"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [p["file"] for p in body["photos"]] == ["a.jpg", "b.jpg", "c.png"]
    for photo in body["photos"]:
        assert {"file", "room", "probability", "faces", "people"} <= set(photo)
    assert body["checklist"]["required"] == ["kitchen", "bathroom", "bedroom"]


def test_check_out_writes_clean_photos_and_the_report(tmp_path) -> None:
    folder = _listing(tmp_path / "listing")
    out = tmp_path / "out"
    result = runner.invoke(app, ["photos", "check", str(folder), "--out", str(out), "--no-privacy"])
    assert result.exit_code == 0, result.output
    assert "present:" in result.stdout and "missing:" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.jpg", "c.jpg", "check.json"]
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        assert read_metadata((out / name).read_bytes()).clean  # --out always cleans
    assert json.loads((out / "check.json").read_text())["photos"][0]["had_gps"] is True


def test_check_errors_are_one_line_with_exit_codes(tmp_path) -> None:
    result = runner.invoke(app, ["photos", "check", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "does not exist" in result.stderr
    folder = _listing(tmp_path / "listing")
    (folder / "broken.jpg").write_bytes(b"garbage")
    result = runner.invoke(app, ["photos", "check", str(folder)])
    assert result.exit_code == 1 and "'broken.jpg'" in result.stderr
    policy = tmp_path / "policy.yaml"
    policy.write_text("default: [garden]\n")
    (folder / "broken.jpg").unlink()
    result = runner.invoke(app, ["photos", "check", str(folder), "--policy", str(policy)])
    assert result.exit_code == 2 and "'garden'" in result.stderr
    assert "Traceback" not in result.output


def test_labels_command_lists_the_suspect_first(tmp_path) -> None:
    write_labelled_folder(tmp_path / "labelled", n_houses=8)
    (tmp_path / "labelled" / "2_bedroom.jpg").rename(tmp_path / "labelled" / "2x_frontal.jpg")
    args = ["photos", "labels", str(tmp_path / "labelled"), "--folds", "4", "--top", "3"]
    result = runner.invoke(app, [*args, "--json", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["suspects"][0]["file"].endswith("2x_frontal.jpg") and len(body["suspects"]) == 3
    full = json.loads((tmp_path / "out" / "labels.json").read_text())
    assert len(full["suspects"]) == 32
    text = runner.invoke(app, args)
    assert text.exit_code == 0 and "2x_frontal.jpg" in text.stdout


def _digests(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_out_equal_to_or_inside_the_photo_folder_is_refused_and_originals_kept(tmp_path) -> None:
    folder = _listing(tmp_path / "listing")
    before = _digests(folder)
    for out in (folder, folder / "cleaned", folder / "." / "x" / ".."):
        result = runner.invoke(app, ["photos", "check", str(folder), "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert "--out" in result.output and "photo folder" in result.output
        assert "Traceback" not in result.output
    assert _digests(folder) == before
    assert not (folder / "cleaned").exists()


def test_out_holding_files_of_the_same_name_needs_force(tmp_path) -> None:
    folder = _listing(tmp_path / "listing")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.jpg").write_bytes(b"someone else's original")
    args = ["photos", "check", str(folder), "--out", str(out), "--no-privacy"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "a.jpg" in result.output and "--force" in result.output
    assert (out / "a.jpg").read_bytes() == b"someone else's original"
    result = runner.invoke(app, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert read_metadata((out / "a.jpg").read_bytes()).clean


def test_check_names_a_1x1_png_as_not_a_room_photo(tmp_path) -> None:
    folder = tmp_path / "listing"
    folder.mkdir()
    Image.new("RGB", (1, 1), "white").save(folder / "tiny.png")
    result = runner.invoke(app, ["photos", "check", str(folder), "--no-privacy"])
    assert result.exit_code == 0, result.output
    assert "present: -" in result.stdout
    assert "not a photo of a room: tiny.png: 1x1 pixels" in result.stdout


def test_check_lists_skipped_files_on_stderr_and_in_check_json(tmp_path) -> None:
    folder = tmp_path / "listing"
    folder.mkdir()
    scene(1, size=(160, 120)).save(folder / "kitchen.jpg")
    scene(2, size=(160, 120)).save(folder / "bath.jfif", format="JPEG")
    scene(3, size=(160, 120)).save(folder / "bathroom.gif")
    (folder / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic")
    out = tmp_path / "out"
    args = ["photos", "check", str(folder), "--no-privacy", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "skipped 1 file: IMG_0001.HEIC (HEIC cannot be read" in result.stderr
    body = json.loads((out / "check.json").read_text())
    assert [p["file"] for p in body["photos"]] == ["bath.jfif", "bathroom.gif", "kitchen.jpg"]
    assert list(body["skipped"]) == ["IMG_0001.HEIC"]


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--top", "-1"], "'--top'"),
        (["--folds", "1"], "'--folds'"),
        (["--folds", "0"], "'--folds'"),
    ],
)
def test_labels_refuses_a_negative_top_and_fewer_than_two_folds(tmp_path, extra, option) -> None:
    write_labelled_folder(tmp_path / "labelled", n_houses=4)
    result = runner.invoke(app, ["photos", "labels", str(tmp_path / "labelled"), *extra])
    assert result.exit_code == 2, result.output
    assert option in result.output and "n_splits" not in result.output


def test_labels_with_one_room_names_the_rooms_not_class_indices(tmp_path) -> None:
    folder = tmp_path / "labelled"
    folder.mkdir()
    for house in range(6):
        coloured_room("kitchen", house).save(folder / f"{house}_kitchen.jpg")
    result = runner.invoke(app, ["photos", "labels", str(folder), "--folds", "2"])
    assert result.exit_code == 2
    assert "only kitchen; missing bathroom, bedroom, exterior" in result.stderr
    assert "[3]" not in result.stderr
