"""The room-type model: two classifiers on photo features, averaged, temperature-calibrated.

A standardised multinomial logistic regression and a LightGBM classifier are trained on the
features of :mod:`estimo.photos.features`; their probabilities are averaged, then softened by
a temperature fitted on out-of-fold predictions. A photo whose top probability is below the
``unsure`` threshold (also chosen out of fold) is answered "other".

The model is saved as one JSON file (the LightGBM model is embedded as its text format): no
pickles, nothing executed on load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from estimo.photos.calibration import apply_temperature
from estimo.photos.features import FEATURE_VERSION, N_FEATURES
from estimo.photos.rooms import OTHER, ROOMS

FORMAT = "estimo.photos.room_model/1"
DEFAULT_MODEL = "room_model.json"

LOGISTIC_C = 0.005
LGBM_PARAMS: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.06,
    "num_leaves": 15,
    "min_child_samples": 10,
    "colsample_bytree": 0.3,
    "subsample": 0.8,
    "subsample_freq": 1,
    "n_jobs": 1,
    "random_state": 0,
    "deterministic": True,
    "verbose": -1,
}


@dataclass(frozen=True)
class RoomPrediction:
    """The room type of one photo.

    Attributes
    ----------
    room : str
        One of bathroom, bedroom, exterior, kitchen, or ``other`` when unsure.
    probability : float
        Calibrated probability of ``candidate``.
    candidate : str
        The most probable room, even when ``room`` is ``other``.
    probabilities : dict
        Calibrated probability of each room.
    """

    room: str
    probability: float
    candidate: str
    probabilities: dict[str, float]


def check_every_room(labels: np.ndarray, where: str = "the labelled photos") -> None:
    """Refuse labels that do not cover every room, naming the rooms shown and missing.

    Parameters
    ----------
    labels : numpy.ndarray
        Class indices into :data:`ROOMS`.
    where : str
        What the labels are, for the message.

    Raises
    ------
    ValueError
        When a room has no labelled photo.

    Examples
    --------
    >>> check_every_room(np.array([3, 3]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the labelled photos show only kitchen; missing bathroom, bedroom, exterior (...)
    """
    shown = {int(label) for label in np.unique(labels)}
    missing = [room for i, room in enumerate(ROOMS) if i not in shown]
    if missing:
        names = [ROOMS[i] for i in sorted(shown) if 0 <= i < len(ROOMS)]
        raise ValueError(
            f"{where} show only {', '.join(names) or 'no room'}; missing {', '.join(missing)} "
            f"(expected photos of every room: {', '.join(ROOMS)})"
        )


class RoomClassifier:
    """Room type of listing photos from their feature vectors.

    Parameters
    ----------
    logistic_c : float
        Inverse L2 strength of the logistic regression.
    lgbm_params : dict, optional
        LightGBM parameters (defaults in :data:`LGBM_PARAMS`).

    Attributes
    ----------
    temperature_ : float
        Calibration temperature (1.0 until :meth:`calibrate`).
    threshold_ : float
        Below this calibrated top probability the answer is ``other``.
    """

    def __init__(self, logistic_c: float = LOGISTIC_C, lgbm_params: dict | None = None) -> None:
        self.logistic_c = logistic_c
        self.lgbm_params = lgbm_params

    # -- training ---------------------------------------------------------------------------
    def fit(self, features: np.ndarray, labels: np.ndarray) -> RoomClassifier:
        """Fit both classifiers on features (n, N_FEATURES) and class indices into ROOMS."""
        features = _check_features(features)
        labels = np.asarray(labels, dtype=np.int64)
        check_every_room(labels)
        scaler = StandardScaler().fit(features)
        logistic = LogisticRegression(C=self.logistic_c, max_iter=5000)
        logistic.fit(scaler.transform(features), labels)
        self.mean_ = scaler.mean_.astype(np.float64)
        self.scale_ = scaler.scale_.astype(np.float64)
        self.coef_ = logistic.coef_.astype(np.float64)
        self.intercept_ = logistic.intercept_.astype(np.float64)
        params = {**LGBM_PARAMS, **(self.lgbm_params or {})}
        booster = lgb.LGBMClassifier(**params).fit(features, labels).booster_
        self.booster_ = lgb.Booster(model_str=booster.model_to_string())
        self.temperature_ = 1.0
        self.threshold_ = 0.0
        self.metrics_: dict[str, float] = {}
        return self

    def calibrate(
        self, temperature: float, threshold: float, metrics: dict[str, float] | None = None
    ) -> RoomClassifier:
        """Set the temperature and unsure threshold found out of fold (and their metrics)."""
        self.temperature_ = float(temperature)
        self.threshold_ = float(threshold)
        self.metrics_ = dict(metrics or {})
        return self

    # -- prediction -------------------------------------------------------------------------
    def raw_proba(self, features: np.ndarray) -> np.ndarray:
        """Uncalibrated probabilities (average of both classifiers), shape (n, len(ROOMS))."""
        self._check_fitted()
        features = _check_features(features)
        logits = ((features - self.mean_) / self.scale_) @ self.coef_.T + self.intercept_
        booster = np.asarray(self.booster_.predict(features, num_threads=1)).reshape(-1, len(ROOMS))
        return (softmax(logits, axis=1) + booster) / 2.0

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, shape (n, len(ROOMS)), columns in ROOMS order."""
        return apply_temperature(self.raw_proba(features), self.temperature_)

    def predict(self, features: np.ndarray) -> list[RoomPrediction]:
        """One :class:`RoomPrediction` per row."""
        out = []
        for row in self.predict_proba(features):
            best = int(row.argmax())
            probability = float(row[best])
            out.append(
                RoomPrediction(
                    room=ROOMS[best] if probability >= self.threshold_ else OTHER,
                    probability=round(probability, 4),
                    candidate=ROOMS[best],
                    probabilities={r: round(float(p), 4) for r, p in zip(ROOMS, row, strict=True)},
                )
            )
        return out

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state (the LightGBM model as text)."""
        self._check_fitted()
        return {
            "format": FORMAT,
            "feature_version": FEATURE_VERSION,
            "rooms": list(ROOMS),
            "logistic_c": self.logistic_c,
            "lgbm_params": self.lgbm_params,
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_.tolist(),
            "temperature": self.temperature_,
            "threshold": self.threshold_,
            "metrics": self.metrics_,
            "lightgbm": self.booster_.model_to_string(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> RoomClassifier:
        """Rebuild a fitted classifier from :meth:`to_dict` output."""
        if state.get("format") != FORMAT:
            raise ValueError(f"room model format is {state.get('format')!r}; expected {FORMAT!r}")
        if state.get("feature_version") != FEATURE_VERSION or state.get("rooms") != list(ROOMS):
            raise ValueError(
                f"room model was trained on features v{state.get('feature_version')!r} and rooms "
                f"{state.get('rooms')!r}; this code computes v{FEATURE_VERSION} for {list(ROOMS)!r}"
            )
        model = cls(logistic_c=state["logistic_c"], lgbm_params=state["lgbm_params"])
        model.mean_ = np.asarray(state["mean"], dtype=np.float64)
        model.scale_ = np.asarray(state["scale"], dtype=np.float64)
        model.coef_ = np.asarray(state["coef"], dtype=np.float64)
        model.intercept_ = np.asarray(state["intercept"], dtype=np.float64)
        model.booster_ = lgb.Booster(model_str=state["lightgbm"])
        return model.calibrate(state["temperature"], state["threshold"], state["metrics"])

    def save(self, path: str | Path) -> Path:
        """Write the model as one JSON file (written to a temporary name, then renamed)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), separators=(",", ":")))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> RoomClassifier:
        """Read a model written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise RuntimeError("RoomClassifier is not fitted; call fit() or load() first")


def _check_features(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != N_FEATURES:
        raise ValueError(
            f"features have shape {features.shape!r}; expected (n, {N_FEATURES}) "
            "from estimo.photos.features.photo_features"
        )
    return features


@lru_cache(maxsize=1)
def load_default_classifier() -> RoomClassifier:
    """The room model shipped in the package (``estimo/photos/model/room_model.json``).

    Loaded once per process and shared: do not re-calibrate the returned instance.
    """
    with resources.as_file(resources.files("estimo.photos") / "model" / DEFAULT_MODEL) as path:
        if not path.exists():
            raise FileNotFoundError(
                f"the shipped room model {str(path)!r} is missing; rebuild it with "
                "scripts/train_photos.py"
            )
        return RoomClassifier.load(path)
