"""Label quality: probably-mislabelled photos and which unlabelled photos to label first.

Mislabelled photos are found the confident-learning way (Northcutt et al., "Confident
Learning: Estimating Uncertainty in Dataset Labels", JAIR 2021), written small here:

1. out-of-fold probabilities, from folds grouped by house, so no photo is scored by a model
   that saw it (or its house);
2. a per-class threshold: the mean probability of class *j* over the photos labelled *j*;
3. a photo is a *label issue* when another class clears its threshold and is more probable
   than the given label among the classes that do (an off-diagonal cell of the confident
   joint);
4. every photo is ranked by its normalised margin: probability of the given label minus the
   largest other probability (lowest first), issues before the rest.

Unlabelled photos are ranked by how much a label would help: the entropy of the model's
calibrated probabilities (a label the model could not guess teaches it most), highest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from estimo.photos.dataset import extract_features, read_labelled_folder
from estimo.photos.images import list_photos
from estimo.photos.rooms import ROOMS
from estimo.photos.training import train_room_model


def per_class_thresholds(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean probability of each class over the photos labelled with it.

    >>> per_class_thresholds(np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8]]), np.array([0, 0, 1]))
    array([0.8, 0.8])
    """
    k = probs.shape[1]
    return np.array(
        [probs[labels == j, j].mean() if (labels == j).any() else 1.0 for j in range(k)]
    )


def label_issue_mask(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """True for photos whose confident class is not their given label (confident joint).

    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.95, 0.05]])
    >>> label_issue_mask(p, np.array([0, 0, 1, 1, 1])).tolist()
    [False, False, False, False, True]
    """
    thresholds = per_class_thresholds(probs, labels)
    above = probs >= thresholds
    masked = np.where(above, probs, -1.0)
    confident = masked.argmax(axis=1)
    return above.any(axis=1) & (confident != labels)


def label_quality(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Normalised margin: p(given label) minus the largest other probability (low = suspect).

    >>> label_quality(np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1]]), np.array([0, 1])).round(2)
    array([ 0.5, -0.3])
    """
    rows = np.arange(len(labels))
    given = probs[rows, labels]
    others = probs.copy()
    others[rows, labels] = -np.inf
    return given - others.max(axis=1)


def rank_label_issues(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Photo indices, most probably mislabelled first (issues first, then by label quality)."""
    issue = label_issue_mask(probs, labels)
    quality = label_quality(probs, labels)
    return np.lexsort((quality, ~issue))


def labelling_value(probs: np.ndarray) -> np.ndarray:
    """Expected value of labelling each photo: normalised entropy of its probabilities (0..1).

    >>> labelling_value(np.array([[1.0, 0.0], [0.5, 0.5]])).round(3)
    array([0., 1.])
    """
    p = np.clip(probs, 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=1) / np.log(probs.shape[1])


@dataclass
class LabelReport:
    """Suspected label errors of a labelled folder and the labelling order of unlabelled photos.

    Attributes
    ----------
    suspects : list of dict
        Every labelled photo, most suspect first: ``file``, ``label``, ``suggested``,
        ``label_probability``, ``quality`` (normalised margin), ``issue``.
    to_label : list of dict
        Unlabelled photos, most valuable first: ``file``, ``candidate``, ``probability``,
        ``value``.
    metrics : dict
        Cross-validated metrics of the room model trained on the labelled photos.
    """

    suspects: list[dict[str, Any]]
    to_label: list[dict[str, Any]]
    metrics: dict[str, float]

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """JSON-ready report; ``top`` keeps only the first entries of each list.

        Raises
        ------
        ValueError
            When ``top`` is negative.
        """
        if top is not None and top < 0:
            raise ValueError(f"--top is {top}; expected 0 or more suspects to show")
        issues = sum(1 for row in self.suspects if row["issue"])
        return {
            "n_labelled": len(self.suspects),
            "n_issues": issues,
            "suspects": self.suspects[:top],
            "to_label": self.to_label[:top],
            "metrics": self.metrics,
        }


def label_report(
    labelled: Path,
    unlabelled: Path | None = None,
    *,
    cache_dir: Path | None = None,
    n_folds: int = 5,
    progress: bool = False,
) -> LabelReport:
    """Find probably-mislabelled photos in ``labelled`` and rank the photos of ``unlabelled``.

    Parameters
    ----------
    labelled : Path
        Folder of labelled photos (``<house>_<room>.jpg`` or one sub-folder per room).
    unlabelled : Path, optional
        Folder of photos without labels, to rank for labelling.
    cache_dir : Path, optional
        Feature cache folder.
    n_folds : int
        Cross-validation folds (grouped by house).
    progress : bool
        Show progress bars.

    Returns
    -------
    LabelReport
    """
    photos = read_labelled_folder(labelled)
    features = extract_features(photos.files, cache_dir, progress=progress)
    model, cv = train_room_model(features, photos.labels, photos.groups, n_folds=n_folds)
    probs = cv.calibrated
    issue = label_issue_mask(probs, photos.labels)
    quality = label_quality(probs, photos.labels)
    suspects = [
        {
            "file": str(photos.files[i]),
            "label": ROOMS[photos.labels[i]],
            "suggested": ROOMS[int(probs[i].argmax())],
            "label_probability": round(float(probs[i, photos.labels[i]]), 4),
            "quality": round(float(quality[i]), 4),
            "issue": bool(issue[i]),
        }
        for i in rank_label_issues(probs, photos.labels)
    ]
    to_label: list[dict[str, Any]] = []
    if unlabelled is not None:
        files = list_photos(unlabelled)
        new_probs = model.predict_proba(extract_features(files, cache_dir, progress=progress))
        value = labelling_value(new_probs)
        to_label = [
            {
                "file": str(files[i]),
                "candidate": ROOMS[int(new_probs[i].argmax())],
                "probability": round(float(new_probs[i].max()), 4),
                "value": round(float(value[i]), 4),
            }
            for i in np.argsort(-value, kind="stable")
        ]
    return LabelReport(suspects=suspects, to_label=to_label, metrics=model.metrics_)
