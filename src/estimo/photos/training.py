"""Training the room model: grouped cross-validation, out-of-fold calibration, final fit."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold

from estimo.photos.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
    unsure_threshold,
)
from estimo.photos.room_model import RoomClassifier, check_every_room

log = logging.getLogger(__name__)

TARGET_PRECISION = 0.95
"""Answers above the unsure threshold are right this often (out of fold)."""


@dataclass
class CrossValidation:
    """Out-of-fold results of the room model.

    Attributes
    ----------
    raw : numpy.ndarray
        Uncalibrated out-of-fold probabilities, shape (n, k).
    calibrated : numpy.ndarray
        Probabilities calibrated by a temperature fitted on the *other* folds' predictions
        (so the calibration error is measured on data the temperature has not seen).
    folds : numpy.ndarray
        Fold index of each row.
    """

    raw: np.ndarray
    calibrated: np.ndarray
    folds: np.ndarray

    def metrics(self, labels: np.ndarray, threshold: float | None = None) -> dict[str, float]:
        """Accuracy, macro F1, ECE and (with a threshold) coverage and accuracy when sure."""
        predicted = self.calibrated.argmax(axis=1)
        out = {
            "accuracy": float(accuracy_score(labels, predicted)),
            "macro_f1": float(f1_score(labels, predicted, average="macro")),
            "ece": expected_calibration_error(self.calibrated, labels),
            "ece_uncalibrated": expected_calibration_error(self.raw, labels),
        }
        if threshold is not None:
            sure = self.calibrated.max(axis=1) >= threshold
            out["coverage"] = float(sure.mean())
            if sure.any():
                out["accuracy_when_sure"] = float((predicted[sure] == labels[sure]).mean())
        return {k: round(v, 4) for k, v in out.items()}


def cross_validate(
    features: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    *,
    n_folds: int = 5,
    make_model: type[RoomClassifier] = RoomClassifier,
) -> CrossValidation:
    """Out-of-fold probabilities with folds grouped by house (never split a group).

    Parameters
    ----------
    features, labels, groups : numpy.ndarray
        Feature rows, class indices and group names (houses).
    n_folds : int
        Number of folds.
    make_model : callable
        Builds an unfitted classifier with ``fit`` and ``raw_proba``.
    """
    if n_folds < 2:
        raise ValueError(f"--folds (n_folds) is {n_folds}; expected at least 2")
    n_groups = len(np.unique(groups))
    if n_groups < n_folds:
        raise ValueError(
            f"photos come from {n_groups} groups (houses); grouped {n_folds}-fold "
            f"cross-validation needs at least {n_folds} (lower --folds)"
        )
    check_every_room(labels)
    raw = np.zeros((len(labels), int(labels.max()) + 1))
    folds = np.zeros(len(labels), dtype=np.int64)
    for fold, (train, test) in enumerate(GroupKFold(n_folds).split(features, labels, groups)):
        raw[test] = make_model().fit(features[train], labels[train]).raw_proba(features[test])
        folds[test] = fold
        log.info("room model: fold %d of %d done", fold + 1, n_folds)
    calibrated = np.zeros_like(raw)
    for fold in range(n_folds):
        test = folds == fold
        temperature = fit_temperature(raw[~test], labels[~test])
        calibrated[test] = apply_temperature(raw[test], temperature)
    return CrossValidation(raw=raw, calibrated=calibrated, folds=folds)


def train_room_model(
    features: np.ndarray, labels: np.ndarray, groups: np.ndarray, *, n_folds: int = 5
) -> tuple[RoomClassifier, CrossValidation]:
    """Cross-validate, then fit on every photo and calibrate on the out-of-fold predictions.

    Returns
    -------
    RoomClassifier
        Fitted on all rows; temperature and unsure threshold from the out-of-fold
        probabilities; its ``metrics_`` are the cross-validated figures.
    CrossValidation
        The out-of-fold results.
    """
    cv = cross_validate(features, labels, groups, n_folds=n_folds)
    temperature = fit_temperature(cv.raw, labels)
    threshold = unsure_threshold(apply_temperature(cv.raw, temperature), labels, TARGET_PRECISION)
    metrics = cv.metrics(labels, threshold) | {"n_photos": len(labels), "n_folds": n_folds}
    model = RoomClassifier().fit(features, labels)
    return model.calibrate(temperature, threshold, metrics), cv
