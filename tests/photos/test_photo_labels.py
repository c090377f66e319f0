"""Label quality: confident-learning issues, labelling value, the labelled-folder readers."""

from __future__ import annotations

import numpy as np
import pytest
from _photo_helpers import coloured_room, write_labelled_folder

from estimo.photos.dataset import extract_features, read_labelled_folder
from estimo.photos.features import N_FEATURES
from estimo.photos.images import PhotoError
from estimo.photos.labels import (
    label_issue_mask,
    label_report,
    labelling_value,
    rank_label_issues,
)
from estimo.photos.rooms import ROOMS


def test_flipped_labels_rank_first_on_noisy_probabilities() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    truth = rng.integers(0, 4, n)
    logits = rng.normal(0, 1, (n, 4))
    logits[np.arange(n), truth] += 3.0  # a decent classifier, about 90 % right
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    flipped = rng.choice(n, n // 10, replace=False)
    given = truth.copy()
    given[flipped] = (truth[flipped] + rng.integers(1, 4, len(flipped))) % 4
    top = set(rank_label_issues(probs, given)[: int(0.15 * n)].tolist())
    assert np.mean([i in top for i in flipped]) >= 0.85
    issues = label_issue_mask(probs, given)
    assert (
        issues[flipped].mean() > 0.65 and issues[np.setdiff1d(np.arange(n), flipped)].mean() < 0.15
    )


@pytest.mark.parametrize(
    ("probs", "order"),
    [
        ([[0.25, 0.25, 0.25, 0.25], [0.97, 0.01, 0.01, 0.01], [0.5, 0.5, 0, 0]], [0, 2, 1]),
        ([[1, 0], [0.9, 0.1]], [1, 0]),
    ],
)
def test_labelling_value_prefers_uncertain_photos(probs, order) -> None:
    value = labelling_value(np.array(probs, dtype=float))
    assert np.argsort(-value, kind="stable").tolist() == order
    assert ((value >= 0) & (value <= 1 + 1e-12)).all()


def test_read_labelled_folder_both_layouts(tmp_path) -> None:
    names = write_labelled_folder(tmp_path / "flat", n_houses=2)
    (tmp_path / "flat" / "notes_misc.jpg").write_bytes(b"")  # no room word: ignored
    photos = read_labelled_folder(tmp_path / "flat")
    assert sorted(p.name for p in photos.files) == sorted(names)
    assert ROOMS[photos.labels[[p.name for p in photos.files].index("1_frontal.jpg")]] == "exterior"
    assert set(photos.groups) == {"0", "1"}
    for room in ("kitchen", "outside"):
        (tmp_path / "nested" / room).mkdir(parents=True)
        coloured_room("kitchen", 1).save(tmp_path / "nested" / room / "a.jpg")
    nested = read_labelled_folder(tmp_path / "nested")
    assert [ROOMS[i] for i in nested.labels] == ["kitchen", "exterior"]
    with pytest.raises(PhotoError, match="has no labelled photo"):
        read_labelled_folder(tmp_path / "nested" / "kitchen")
    with pytest.raises(PhotoError, match="does not exist"):
        read_labelled_folder(tmp_path / "missing")


def test_feature_cache_returns_the_same_vectors(tmp_path) -> None:
    write_labelled_folder(tmp_path / "p", n_houses=1)
    files = read_labelled_folder(tmp_path / "p").files
    fresh = extract_features(files)
    cached_once = extract_features(files, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npy"))) == len(files)
    np.testing.assert_array_equal(fresh, cached_once)
    np.testing.assert_array_equal(fresh, extract_features(files, tmp_path / "cache"))


def test_label_report_finds_the_flipped_photo_and_ranks_unlabelled(tmp_path) -> None:
    write_labelled_folder(tmp_path / "labelled", n_houses=8)
    wrong = tmp_path / "labelled" / "3_kitchen.jpg"
    wrong.rename(tmp_path / "labelled" / "3x_bathroom.jpg")  # a kitchen labelled bathroom
    (tmp_path / "new").mkdir()
    coloured_room("kitchen", 999).save(tmp_path / "new" / "clear.jpg")
    mixed = (
        np.asarray(coloured_room("kitchen", 5)) // 2 + np.asarray(coloured_room("bathroom", 6)) // 2
    )
    from PIL import Image

    Image.fromarray(mixed.astype(np.uint8)).save(tmp_path / "new" / "mixed.jpg")
    report = label_report(tmp_path / "labelled", tmp_path / "new", n_folds=4)
    first = report.suspects[0]
    assert first["file"].endswith("3x_bathroom.jpg")
    assert first["issue"] and first["suggested"] == "kitchen"
    assert sum(row["issue"] for row in report.suspects) <= 3
    assert [row["file"].rsplit("/", 1)[-1] for row in report.to_label] == ["mixed.jpg", "clear.jpg"]
    assert report.to_dict(top=1)["suspects"] == report.suspects[:1]


def test_report_top_must_not_be_negative() -> None:
    from estimo.photos.labels import LabelReport

    report = LabelReport(suspects=[{"issue": False}] * 3, to_label=[], metrics={})
    assert len(report.to_dict(top=0)["suspects"]) == 0
    with pytest.raises(ValueError, match="--top is -1; expected 0 or more"):
        report.to_dict(top=-1)


def test_cross_validation_names_folds_and_rooms() -> None:
    from estimo.photos.training import cross_validate

    features = np.zeros((8, N_FEATURES))
    labels = np.array([0, 1, 2, 3] * 2)
    groups = np.array(list("aabbccdd"))
    with pytest.raises(ValueError, match=r"--folds \(n_folds\) is 1; expected at least 2"):
        cross_validate(features, labels, groups, n_folds=1)
    with pytest.raises(ValueError, match="only kitchen; missing bathroom, bedroom, exterior"):
        cross_validate(features, np.full(8, 3), groups, n_folds=2)
