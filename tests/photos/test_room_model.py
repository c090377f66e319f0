"""The room model on synthetic feature vectors: fit, calibrate, save/load, 'other' when unsure."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from estimo.photos.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    unsure_threshold,
)
from estimo.photos.features import N_FEATURES
from estimo.photos.room_model import RoomClassifier, load_default_classifier
from estimo.photos.rooms import OTHER, ROOMS
from estimo.photos.training import cross_validate

FAST = {"n_estimators": 15}


def synthetic(n_per_class: int = 30, seed: int = 0, spread: float = 1.0):
    """Four Gaussian clusters in feature space (class k shifted along its own directions)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, size=(len(ROOMS), N_FEATURES))
    labels = np.repeat(np.arange(len(ROOMS)), n_per_class)
    features = centres[labels] * 0.3 + rng.normal(0, spread, size=(len(labels), N_FEATURES))
    groups = np.arange(len(labels)) // 2  # pairs of photos share a "house"
    return features.astype(np.float32), labels, groups


@pytest.fixture(scope="module")
def fitted() -> RoomClassifier:
    features, labels, _ = synthetic()
    return RoomClassifier(lgbm_params=FAST).fit(features, labels)


def test_fit_separates_clear_clusters(fitted: RoomClassifier) -> None:
    features, labels, _ = synthetic(seed=1)  # new draws from new centres: not the same task
    train_features, train_labels, _ = synthetic(seed=0)
    probs = fitted.predict_proba(train_features)
    assert probs.shape == (len(train_labels), len(ROOMS))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-9)
    assert (probs.argmax(axis=1) == train_labels).mean() > 0.95
    assert features.shape[1] == N_FEATURES


def test_save_load_round_trip_is_exact_and_json(fitted: RoomClassifier, tmp_path) -> None:
    fitted.calibrate(1.7, 0.6, {"accuracy": 0.9})
    path = fitted.save(tmp_path / "model.json")
    state = json.loads(path.read_text())
    assert state["rooms"] == list(ROOMS) and state["temperature"] == 1.7
    loaded = RoomClassifier.load(path)
    features, _, _ = synthetic(seed=0)
    np.testing.assert_allclose(loaded.predict_proba(features), fitted.predict_proba(features))
    assert loaded.threshold_ == 0.6 and loaded.metrics_ == {"accuracy": 0.9}


def test_low_probability_answers_other(fitted: RoomClassifier) -> None:
    features, _, _ = synthetic(seed=0)
    fitted.calibrate(1.0, 1.01)  # nothing is ever sure enough
    assert {p.room for p in fitted.predict(features[:5])} == {OTHER}
    fitted.calibrate(1.0, 0.0)
    predictions = fitted.predict(features[:5])
    assert all(p.room == p.candidate and p.room in ROOMS for p in predictions)
    assert predictions[0].probability == max(predictions[0].probabilities.values())


@pytest.mark.parametrize(
    ("features", "message"),
    [(np.zeros((2, 5)), r"shape \(2, 5\)"), (np.zeros(N_FEATURES), rf"shape \({N_FEATURES},\)")],
)
def test_wrong_feature_shape_is_named(fitted: RoomClassifier, features, message) -> None:
    with pytest.raises(ValueError, match=message):
        fitted.predict_proba(features)


def test_unfitted_and_bad_labels_and_bad_files(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        RoomClassifier().predict_proba(np.zeros((1, N_FEATURES)))
    features, labels, _ = synthetic(n_per_class=5)
    with pytest.raises(ValueError, match="missing kitchen \\(expected photos of every room"):
        RoomClassifier(lgbm_params=FAST).fit(features, np.minimum(labels, 2))
    with pytest.raises(ValueError, match="room model format is 'x'"):
        RoomClassifier.from_dict({"format": "x"})


def test_temperature_softens_overconfident_probabilities() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 2000)
    right = rng.random(2000) < 0.7  # 70 % right but always 97 % sure
    predicted = np.where(right, labels, (labels + 1) % 4)
    probs = np.full((2000, 4), 0.01)
    probs[np.arange(2000), predicted] = 0.97
    assert expected_calibration_error(probs, labels) > 0.25
    temperature = fit_temperature(probs, labels)
    assert temperature > 1.5
    assert expected_calibration_error(apply_temperature(probs, temperature), labels) < 0.02


def test_unsure_threshold_reaches_the_precision() -> None:
    rng = np.random.default_rng(4)
    top = rng.uniform(0.3, 1.0, 3000)
    right = rng.random(3000) < top  # calibrated: right with probability top
    probs = np.column_stack([top, 1 - top])
    labels = np.where(right, 0, 1)
    threshold = unsure_threshold(probs, labels, precision=0.9)
    sure = top >= threshold
    assert (labels[sure] == 0).mean() >= 0.9
    assert 0.7 < threshold < 0.9


def test_cross_validation_is_grouped_and_calibrated() -> None:
    features, labels, groups = synthetic(n_per_class=20, spread=2.0)
    make = functools.partial(RoomClassifier, lgbm_params=FAST)
    cv = cross_validate(features, labels, groups, n_folds=3, make_model=make)
    for fold in range(3):  # no house on both sides of a fold
        inside = set(groups[cv.folds == fold])
        assert inside.isdisjoint(groups[cv.folds != fold])
    metrics = cv.metrics(labels, threshold=0.5)
    assert 0.5 < metrics["accuracy"] <= 1.0
    assert 0.0 <= metrics["coverage"] <= 1.0
    with pytest.raises(ValueError, match="from 3 groups"):
        cross_validate(features[:6], labels[:6], groups[:6], n_folds=5)


def test_shipped_model_loads_with_its_cross_validated_metrics() -> None:
    model = load_default_classifier()
    assert model.metrics_["accuracy"] >= 0.85 and model.metrics_["macro_f1"] >= 0.85
    assert model.metrics_["ece"] <= 0.05
    assert 0.3 < model.threshold_ < 1.0
    probs = model.predict_proba(np.zeros((1, N_FEATURES)))
    assert probs.shape == (1, len(ROOMS))
