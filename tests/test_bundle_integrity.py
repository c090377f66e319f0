"""Model folders: written atomically, with checksums.json, verified at load (issue 17)."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import fsspec
import numpy as np
import pytest
from typer.testing import CliRunner

import estimo.bundle_folder as bundle_folder
from estimo import load_pipeline
from estimo.bundle_folder import CHECKSUM_FILE, MANIFEST_KEY, BundleFolder, lightgbm_problem
from estimo.cli import app
from estimo.errors import BundleError
from estimo.model.avm import AVM
from estimo.model.bundle import load_model, save_model
from estimo.pipeline import PIPELINE_FILE, ValuationPipeline
from estimo.serve.valuer import load_valuer
from estimo.synth import generate_market

SMALL = {"n_estimators": 15, "min_city_rows": 300, "n_jobs": 1}
RECORD = {"city": "Milano", "area_m2": 70, "rooms": 3, "date": "2024-01-15"}


def _fit(seed: int) -> ValuationPipeline:
    frame = generate_market(1_500, seed=seed, faults=False).frame
    return ValuationPipeline(engine=AVM(**SMALL, seed=seed), currency="EUR").fit(frame)


@pytest.fixture(scope="module")
def pipelines() -> tuple[ValuationPipeline, ValuationPipeline]:
    """Two different small pipelines (the second replaces the first in some tests)."""
    return _fit(5), _fit(6)


@pytest.fixture(scope="module")
def saved(pipelines, tmp_path_factory) -> Path:
    """The first pipeline saved once; tests damage copies of it."""
    folder = tmp_path_factory.mktemp("saved") / "model"
    pipelines[0].save(str(folder))
    return folder


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _copy(saved: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(saved, target)
    return target


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _load_pipeline(folder: Path) -> object:
    return load_pipeline(str(folder))


def _load_valuer(folder: Path) -> object:
    return load_valuer(str(folder))


def _as_saved_before_checksums(folder: Path) -> None:
    """Make ``folder`` look like one saved before manifests: no checksums.json, no claim."""
    (folder / CHECKSUM_FILE).unlink()
    meta = json.loads((folder / PIPELINE_FILE).read_text())
    del meta[MANIFEST_KEY]
    (folder / PIPELINE_FILE).write_text(json.dumps(meta))


def _price(pipeline: ValuationPipeline) -> float:
    return pipeline.value_one(RECORD, explain=False).price


def test_a_saved_pipeline_round_trips_with_a_checksum_of_every_file(pipelines, saved) -> None:
    manifest = json.loads((saved / CHECKSUM_FILE).read_text())
    assert sorted(manifest["files"]) == [f for f in _files(saved) if f != CHECKSUM_FILE]
    assert json.loads((saved / PIPELINE_FILE).read_text())[MANIFEST_KEY] == CHECKSUM_FILE
    again = load_pipeline(str(saved), cities=pipelines[0].cities_)
    assert _price(again) == _price(pipelines[0])
    assert _price(load_valuer(str(saved)).pipeline) == _price(pipelines[0])


@pytest.mark.parametrize("damage", [_truncate, _flip], ids=["truncated", "flipped"])
@pytest.mark.parametrize("loader", [_load_pipeline, _load_valuer], ids=["pipeline", "valuer"])
def test_every_damaged_file_is_refused_with_one_clear_error(saved, tmp_path, damage, loader):
    files = _files(saved)
    assert len(files) >= 10 and any(f.endswith(".txt") for f in files)
    for name in files:
        folder = _copy(saved, tmp_path / name.replace("/", "_"))
        damage(folder / name)
        with pytest.raises(BundleError) as info:
            loader(folder)
        message = str(info.value)
        assert "'model'" in message and "re-train" in message, message
        if name != CHECKSUM_FILE:  # a damaged manifest may name the file it now mismatches
            assert repr(name) in message, (name, message)


def test_a_missing_file_and_a_missing_manifest_are_refused(saved, tmp_path) -> None:
    folder = _copy(saved, tmp_path / "a")
    booster = next(f for f in _files(folder) if f.endswith(".txt"))
    (folder / booster).unlink()
    with pytest.raises(BundleError, match=f"{booster!r} is missing"):
        load_pipeline(str(folder))
    folder = _copy(saved, tmp_path / "b")
    (folder / CHECKSUM_FILE).unlink()
    with pytest.raises(BundleError, match="'checksums.json' is missing, though pipeline.json"):
        load_pipeline(str(folder))


def test_a_folder_saved_before_checksums_still_loads_with_a_warning(
    pipelines, saved, tmp_path, caplog
) -> None:
    folder = _copy(saved, tmp_path)
    _as_saved_before_checksums(folder)
    with caplog.at_level(logging.WARNING, logger="estimo.bundle_folder"):
        again = load_pipeline(str(folder), cities=pipelines[0].cities_)
    assert _price(again) == _price(pipelines[0])
    assert "saved by an older Estimo" in caplog.text


def test_an_old_folder_with_a_damaged_booster_gives_the_clear_error(pipelines, saved, tmp_path):
    """Without a manifest the LightGBM text is still checked before LightGBM parses it."""
    folder = _copy(saved, tmp_path)
    _as_saved_before_checksums(folder)
    boosters = [f for f in _files(folder) if f.endswith(".txt")]
    for name in boosters:
        _truncate(folder / name)
    with pytest.raises(BundleError, match="not a whole LightGBM model"):
        load_pipeline(str(folder), cities=pipelines[0].cities_)
    for name in boosters:
        (folder / name).write_text("garbage\n")
    with pytest.raises(BundleError, match="not a LightGBM text model"):
        load_pipeline(str(folder), cities=pipelines[0].cities_)


def test_lightgbm_problem_checks_the_header_and_the_end() -> None:
    assert lightgbm_problem("") is not None
    assert lightgbm_problem("version=v4\ntree\nend of trees") is not None
    assert lightgbm_problem("tree\nversion=v4\nTree=0\nend of trees\n", deep=False) is None


def _edit_tree(text: str, key: str, change) -> str:
    """``text`` with the first line of ``key`` in the second tree changed by ``change``."""
    start = text.index("\nTree=1\n")
    at = text.index(f"\n{key}=", start) + 1
    end = text.index("\n", at)
    return text[:at] + change(text[at:end]) + text[end:]


def _same_length_feature(text: str) -> str:
    """``text`` with one split's feature index replaced by 9s of the same length, out of
    the model's range (the first index long enough for that: a one-digit index cannot be
    out of range in a model of ten features or more)."""
    largest = int(text.split("\nmax_feature_idx=", 1)[1].split("\n", 1)[0])
    at = text.index("\nTree=1\n")
    while (at := text.find("\nsplit_feature=", at + 1)) >= 0:
        end = text.index("\n", at + 1)
        key, values = text[at + 1 : end].split("=")
        items = values.split(" ")
        for i, item in enumerate(items):
            if int("9" * len(item)) > largest:
                items[i] = "9" * len(item)
                return text[: at + 1] + f"{key}={' '.join(items)}" + text[end:]
    raise AssertionError("no split feature index long enough to be damaged in place")


def _no_tree_sizes(text: str) -> str:
    head, _, tail = text.partition("\ntree_sizes=")
    return head + "\n" + tail.split("\n", 1)[1]


DAMAGE_INSIDE = {
    "feature 999999 (tree_sizes off)": (
        lambda t: _edit_tree(t, "split_feature", lambda line: line.replace("=", "=999999 ", 1)),
        "tree_sizes",
    ),
    "feature out of range, same length": (
        _same_length_feature,
        "split_feature has 9",
    ),
    "feature 999999 without tree_sizes": (
        lambda t: _edit_tree(
            _no_tree_sizes(t), "split_feature", lambda line: line.replace("=", "=999999 ", 1)
        ),
        "split_feature has",
    ),
    "an array one value short": (
        lambda t: _no_tree_sizes(_edit_tree(t, "leaf_value", lambda line: line.rsplit(" ", 1)[0])),
        "leaf_value has",
    ),
    "a number that does not parse": (
        lambda t: _edit_tree(t, "threshold", lambda line: line.replace(".", "x", 1)),
        "threshold has a value that is not a number",
    ),
    "a missing key": (
        lambda t: _no_tree_sizes(_edit_tree(t, "left_child", lambda line: "left_chi=0")),
        "has no left_child",
    ),
    "a child outside the tree": (
        lambda t: _no_tree_sizes(
            _edit_tree(
                t, "right_child", lambda line: line.replace("=", "=-9999 ", 1).rsplit(" ", 1)[0]
            )
        ),
        "right_child has -9999",
    ),
    "a header without max_feature_idx": (
        lambda t: t.replace("max_feature_idx=", "max_feature_id=", 1),
        "max_feature_idx",
    ),
    "pandas_categorical cut": (
        lambda t: t.rstrip("\n")[:-3] + "\n" if "pandas_categorical:" in t else t + "x",
        "pandas_categorical",
    ),
    # a category named twice: pandas refuses to map the column (found by the fuzzer)
    "a category named twice": (
        lambda t: _repeat_a_category(t),
        "names a category twice",
    ),
    # LightGBM reads a parameter line without its colon out of bounds: a segmentation fault
    "a parameter line without its colon": (
        lambda t: t.replace("[boosting: gbdt]", "[boosting gbdt]", 1),
        "its parameters hold '[boosting gbdt]'",
    ),
    "parameters cut short": (
        lambda t: (
            t.split("\nend of parameters")[0].rsplit("\n", 3)[0]
            + "\n[objec"
            + "\nend of parameters"
            + t.split("\nend of parameters", 1)[1]
        ),
        "its parameters hold '[objec'",
    ),
    "parameters without their end": (
        lambda t: t.replace("\nend of parameters", "\nend of paramet", 1),
        'no "end of parameters"',
    ),
}


def _repeat_a_category(text: str) -> str:
    import json

    head, line = text.rstrip("\n").rsplit("\npandas_categorical:", 1)
    levels = json.loads(line)
    column = next(c for c in levels if len(c) >= 2)
    column[1] = column[0]
    return f"{head}\npandas_categorical:{json.dumps(levels)}\n"


@pytest.fixture(scope="module")
def booster_text(saved) -> str:
    return next(p for p in sorted(saved.rglob("*.txt"))).read_text()


def test_the_structural_check_passes_a_saved_model(booster_text) -> None:
    from estimo.lightgbm_text import lightgbm_text_problem

    assert lightgbm_text_problem(booster_text) is None


@pytest.mark.parametrize("damage", list(DAMAGE_INSIDE), ids=list(DAMAGE_INSIDE))
def test_damage_inside_a_tree_is_found_before_lightgbm_parses_it(booster_text, damage) -> None:
    """LightGBM aborted the process (exit 134, '[LightGBM] [Fatal] Model format error') on
    such a tree, or parsed it silently and read outside its arrays (issue 17)."""
    change, fragment = DAMAGE_INSIDE[damage]
    problem = lightgbm_problem(change(booster_text))
    assert problem is not None and fragment in problem, problem


@pytest.mark.parametrize("damage", list(DAMAGE_INSIDE)[:5], ids=list(DAMAGE_INSIDE)[:5])
def test_an_old_folder_with_damage_inside_a_tree_is_refused(
    saved, tmp_path, damage, pipelines
) -> None:
    folder = _copy(saved, tmp_path)
    _as_saved_before_checksums(folder)
    for path in folder.rglob("*.txt"):
        path.write_text(DAMAGE_INSIDE[damage][0](path.read_text()))
    with pytest.raises(BundleError, match="is a damaged LightGBM model: ") as info:
        _price(load_pipeline(str(folder), cities=pipelines[0].cities_))
    assert "re-train" in str(info.value)
    result = CliRunner().invoke(app, ["value", "-m", str(folder), "-p", json.dumps(RECORD)])
    assert result.exit_code == 1, result.output
    assert "damaged LightGBM model" in result.output and "Traceback" not in result.output


def _visible(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if not p.name.startswith("."))


def test_a_crash_while_replacing_leaves_the_old_folder_intact(pipelines, tmp_path, monkeypatch):
    old, new = pipelines
    folder = tmp_path / "model"
    old.save(str(folder))
    before = _files(folder)
    writes = {"n": 0}
    real = BundleFolder._write_bytes

    def crash_half_way(self, name, data, track=True):
        writes["n"] += 1
        if writes["n"] == 4:
            raise OSError("disk full (simulated)")
        return real(self, name, data, track)

    monkeypatch.setattr(BundleFolder, "_write_bytes", crash_half_way)
    with pytest.raises(OSError, match="simulated"):
        new.save(str(folder))
    assert os.listdir(tmp_path) == ["model"]  # no temporary folder left behind
    assert _files(folder) == before
    assert _price(load_pipeline(str(folder))) == _price(old)


def test_a_crash_at_the_swap_leaves_the_old_folder_and_no_visible_temp(
    pipelines, tmp_path, monkeypatch
) -> None:
    old, new = pipelines
    folder = tmp_path / "model"
    old.save(str(folder))

    def killed(staging: str, root: str) -> None:  # the process dies just before the swap
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle_folder, "_swap_into_place", killed)
    monkeypatch.setattr(bundle_folder.shutil, "rmtree", lambda *a, **k: None)  # no clean-up
    with pytest.raises(KeyboardInterrupt):
        new.save(str(folder))
    assert _visible(tmp_path) == ["model"]  # the half-done folder is hidden (dot-named)
    assert _price(load_pipeline(str(folder))) == _price(old)


def test_a_folder_being_written_is_not_served_as_a_city(tmp_path, monkeypatch) -> None:
    from estimo.serve.catalog import FolderCatalog

    frame = generate_market(1_200, seed=3, faults=False).frame
    save_model(AVM(**SMALL).fit(frame), str(tmp_path / "_global"))
    (tmp_path / ".Roma.saving-0123").mkdir()  # left by a save that was killed
    (tmp_path / ".Roma.saving-0123" / "model.json").write_text("{}")
    assert sorted(FolderCatalog(tmp_path).refresh()) == ["global"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "rename-aside"])
def test_a_completed_save_replaces_the_old_folder(pipelines, tmp_path, monkeypatch, exchange):
    old, new = pipelines
    if not exchange:
        monkeypatch.setattr(bundle_folder, "_exchange", lambda a, b: False)
    folder = tmp_path / "model"
    old.save(str(folder))
    (folder / "stale.txt").write_text("from the old folder")
    new.save(str(folder))
    assert os.listdir(tmp_path) == ["model"]
    assert not (folder / "stale.txt").exists()
    assert _price(load_pipeline(str(folder))) == _price(new) != _price(old)


def test_a_folder_of_other_files_is_not_replaced(pipelines, tmp_path) -> None:
    (tmp_path / "data.csv").write_text("id,price\n")
    with pytest.raises(BundleError, match="not a model folder"):
        pipelines[0].save(str(tmp_path))
    assert os.listdir(tmp_path) == ["data.csv"]


def test_an_object_store_folder_gets_its_manifest_and_is_verified(pipelines) -> None:
    url = "memory://bundle-integrity/model"
    pipelines[0].save(url)
    fs, root = fsspec.core.url_to_fs(url)
    manifest = json.loads(fs.cat_file(f"{root}/{CHECKSUM_FILE}"))
    assert f"{PIPELINE_FILE}" in manifest["files"]
    assert _price(load_pipeline(url)) == _price(pipelines[0])
    data = fs.cat_file(f"{root}/{PIPELINE_FILE}")
    fs.pipe_file(f"{root}/{PIPELINE_FILE}", data[:-10])
    with pytest.raises(BundleError, match="'pipeline.json' does not match the checksum"):
        load_pipeline(url)
    fs.rm(root, recursive=True)


def test_a_plain_engine_folder_is_verified_too(tmp_path) -> None:
    frame = generate_market(1_200, seed=3, faults=False).frame
    engine = AVM(**SMALL).fit(frame)
    folder = tmp_path / "engine"
    save_model(engine, str(folder))
    assert "model.json" in json.loads((folder / CHECKSUM_FILE).read_text())["files"]
    assert np.allclose(
        load_model(str(folder)).predict(frame.head(5)), engine.predict(frame.head(5))
    )
    _flip(folder / "model.json")
    with pytest.raises(BundleError, match="'model.json'"):
        load_model(str(folder))


def test_estimo_value_on_a_damaged_folder_prints_one_error_line(saved, tmp_path) -> None:
    folder = _copy(saved, tmp_path)
    _flip(folder / next(f for f in _files(folder) if f.endswith(".parquet")))
    result = CliRunner().invoke(app, ["value", "-m", str(folder), "-p", json.dumps(RECORD)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.count("error:") == 1, result.output
    assert result.output.lstrip().startswith("error:"), result.output
    assert "re-train" in " ".join(result.output.split())


def test_a_key_missing_from_a_json_file_of_an_old_folder_names_the_file(
    pipelines, saved, tmp_path
) -> None:
    """Found by the fuzz suite: a byte flipped in a key of explain_reference.json of a folder
    without checksums raised a bare KeyError('n') from the code reading it."""
    folder = _copy(saved, tmp_path)
    _as_saved_before_checksums(folder)
    path = folder / "explain_reference.json"
    path.write_text(path.read_text().replace('"n":', '"m":'))
    with pytest.raises(BundleError, match="'explain_reference.json' has no 'n'") as info:
        load_pipeline(str(folder), cities=pipelines[0].cities_)
    assert isinstance(info.value, KeyError) and "re-train" in str(info.value)


def test_staging_folders_left_by_killed_runs_are_removed_by_the_next(tmp_path) -> None:
    import os
    import time

    from estimo.bundle_folder import STALE_STAGING_SECONDS, publish_folder, staged_folder

    target = tmp_path / "model"
    stale = tmp_path / ".model.staged-deadbeef"
    running = tmp_path / ".model.staged-cafe"  # another run building its folder right now
    other = tmp_path / ".other.staged-old"  # another target's: not ours to remove
    for folder in (stale, running, other):
        folder.mkdir()
        (folder / "part.txt").write_text("x")
    long_ago = time.time() - STALE_STAGING_SECONDS - 60
    os.utime(stale, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    with staged_folder(str(target)) as staging:
        os.makedirs(staging)
        with open(os.path.join(staging, CHECKSUM_FILE), "w") as out:
            out.write("{}")
        publish_folder(staging, str(target))
    assert not stale.exists()
    assert running.exists() and other.exists()
    assert (target / CHECKSUM_FILE).is_file()
