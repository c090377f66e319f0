"""A second opinion inside the engine: a plain LightGBM blended with the engine's model.

The engine's model (:class:`~estimo.model.engine.EngineStage`: price index, neighbours'
offset, location features, Huber loss) is strong where its assumptions hold, and loses to a
plain LightGBM where they do not: a small market whose monthly index is mostly noise, a
market whose size-price relation is far from "price per m² × area", a period that moves
away from the validation months. Two models built differently make different errors;
averaging their log prices removes part of each one's error (the markets benchmark showed
the average of the engine and a plain LightGBM beating both on every dataset tried).

:class:`PlainMember` is that plain model as a part of the engine:

- the model is :class:`~estimo.model.valuation.ValuationModel` (log price, every feature
  column and the date as a number, L2 loss), trained on the same rows as the engine, with
  its number of trees chosen by early stopping on the engine's validation slice; with
  ``map_axes``, the rows' positions along rotated map axes are features too (the engine's
  own ``loc_axis_*``, :func:`estimo.features.location.map_axes`: trees cut a diagonal
  boundary in one split);
- its weight ``w`` in ``log_model = (1 - w) * log_engine + w * log_plain`` is the one of a
  grid in [0, 1] that values the validation slice best (mean absolute log error): chosen on
  validation rows only, so a market where the plain model adds nothing gets ``w = 0``;
- for serving, it is re-trained on the whole training window with the validated number of
  trees (grown with the square root of the data ratio, as the engine's sub-models).

The blend is linear in log space, so explanations stay exact: a row's contributions are
``(1 - w)`` times the engine's plus ``w`` times the plain model's TreeSHAP values (its date
feature counts as the time adjustment).

Examples
--------
>>> from estimo.synth import generate_market
>>> frame = generate_market(1_500, seed=2, faults=False).frame
>>> fit, held = frame.iloc[:1_200], frame.iloc[1_200:]
>>> engine_log = np.log(held["price"].to_numpy()) + 0.3  # a biased "engine"
>>> member = PlainMember(n_estimators=60).fit_validation(fit, None, held, engine_log)
>>> bool(member.weight_ > 0.5)  # the plain model is trusted over a biased engine
True
>>> member = member.refit(frame, None)
>>> member.predict_log(held.head(2), held["date"].head(2)).shape
(2,)
"""

from __future__ import annotations

import logging
import math
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from estimo.bundle_folder import BundleFolder
from estimo.errors import NotFittedError
from estimo.features.location import map_axes_of, median_latitude
from estimo.frames import column_arrays, with_columns, with_replaced
from estimo.model.booster_input import booster_predict
from estimo.model.valuation import (
    DATE_FEATURE,
    FeatureSpec,
    ValuationModel,
    feature_values_of,
    trained_on_spec,
)

log = logging.getLogger(__name__)

__all__ = ["PLAIN_MODEL_FILE", "PlainMember", "choose_weight"]

PLAIN_MODEL_FILE = "plain/model.txt"
MIN_ROWS_PER_THREAD = 50_000
"""Training rows per LightGBM thread below which the plain model trains on one thread."""
WEIGHT_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)
"""Weights of the plain model tried on the validation slice (steps of 0.05)."""


def choose_weight(engine_log: np.ndarray, plain_log: np.ndarray, actual_log: np.ndarray) -> float:
    """The weight of the plain model (from :data:`WEIGHT_GRID`) whose blend with the
    engine has the smallest mean absolute log error on the given rows; the smallest such
    weight on ties.

    Examples
    --------
    >>> truth = np.zeros(4)
    >>> choose_weight(truth + 0.2, truth, truth), choose_weight(truth, truth + 0.2, truth)
    (1.0, 0.0)
    >>> choose_weight(np.array([0.1, -0.1]), np.array([-0.1, 0.1]), np.zeros(2))
    0.5
    """
    engine_log = np.asarray(engine_log, dtype=float)
    plain_log = np.asarray(plain_log, dtype=float)
    actual_log = np.asarray(actual_log, dtype=float)
    ok = np.isfinite(engine_log) & np.isfinite(plain_log) & np.isfinite(actual_log)
    if not ok.any():
        return 0.0
    e, p, a = engine_log[ok], plain_log[ok], actual_log[ok]
    errors = [float(np.mean(np.abs((1 - w) * e + w * p - a))) for w in WEIGHT_GRID]
    best = int(np.argmin(np.round(errors, 12)))
    return float(WEIGHT_GRID[best])


class PlainMember(BaseEstimator):
    """The plain LightGBM blended into the engine's model (see the module docstring).

    Parameters
    ----------
    n_estimators : int
        Most trees of the plain model (early stopping on the validation slice chooses).
    learning_rate : float
        Its learning rate (0.03: the plain model of the data README).
    seed : int
        Seed of its random choices.
    n_jobs : int
        Threads LightGBM uses.
    early_stopping_rounds : int
        Rounds without improvement on the validation slice before it stops.
    map_axes : int
        Rotated map axes added as features (0: none; see the module docstring).
    """

    def __init__(
        self,
        *,
        n_estimators: int = 2000,
        learning_rate: float = 0.03,
        seed: int = 0,
        n_jobs: int = 2,
        early_stopping_rounds: int = 100,
        map_axes: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.seed = seed
        self.n_jobs = n_jobs
        self.early_stopping_rounds = early_stopping_rounds
        self.map_axes = map_axes

    def _new_model(self, n_estimators: int, n_rows: int = 0) -> ValuationModel:
        # LightGBM's threads cost more than they save on small tables (measured: 3,000
        # rows train 1.8x faster on one thread than on two, 30,000 rows 1.3x)
        threads = self.n_jobs if n_rows >= MIN_ROWS_PER_THREAD * self.n_jobs else 1
        return ValuationModel(
            n_estimators=n_estimators,
            learning_rate=self.learning_rate,
            seed=self.seed,
            n_jobs=threads,
        )

    # ------------------------------------------------------------------ fitting
    def fit_validation(
        self,
        fit_part: pd.DataFrame,
        weight: np.ndarray | None,
        validation: pd.DataFrame,
        engine_log: np.ndarray,
    ) -> PlainMember:
        """Train on the rows before the validation slice, stop early on the slice, and
        choose the weight against the engine's log prices of the slice (``engine_log``,
        each row valued at its own date).

        Sets ``model_``, ``rounds_``, ``n_fit_``, ``weight_`` and ``validation_log_``
        (the plain model's log prices of the slice).
        """
        actual = np.log(validation["price"].to_numpy(float))
        stopper = lgb.early_stopping(self.early_stopping_rounds, verbose=False)
        self.axis_lat_ = median_latitude(fit_part)
        validation = self._prepared(validation)
        model = self._new_model(self.n_estimators, len(fit_part)).fit(
            self._prepared(fit_part), weight, eval_frame=validation, callbacks=[stopper]
        )
        self.model_ = model
        self.rounds_ = int(model.booster_.current_iteration())
        self.n_fit_ = len(fit_part)
        self.validation_log_ = model.predict_log(validation)
        self.weight_ = choose_weight(engine_log, self.validation_log_, actual)
        log.info(
            "plain member: %d trees, weight %.2f on the validation slice",
            self.rounds_,
            self.weight_,
        )
        return self

    def refit(self, frame: pd.DataFrame, weight: np.ndarray | None) -> PlainMember:
        """A member trained on ``frame`` (the whole training window) with this member's
        weight and validated number of trees (times the square root of the data ratio).
        A member of weight 0 keeps no model (nothing to train, save or load)."""
        self._check_fitted()
        new = PlainMember(**self.get_params())
        new.weight_ = self.weight_
        new.n_fit_ = len(frame)
        new.axis_lat_ = median_latitude(frame)
        ratio = math.sqrt(max(len(frame) / max(self.n_fit_, 1), 1.0))
        new.rounds_ = max(10, int(round(self.rounds_ * ratio)))
        new.model_ = (
            self._new_model(new.rounds_, len(frame)).fit(new._prepared(frame), weight)
            if new.weight_ > 0
            else None
        )
        return new

    # ------------------------------------------------------------------ using
    def _check_fitted(self) -> None:
        if not hasattr(self, "weight_"):
            raise NotFittedError("this PlainMember is not fitted yet; call fit_validation first")

    @property
    def active(self) -> bool:
        """Whether the member takes part in valuations (a model with a positive weight)."""
        return getattr(self, "model_", None) is not None and getattr(self, "weight_", 0.0) > 0

    def _prepared(self, frame: pd.DataFrame, dates: Any = None) -> pd.DataFrame:
        """``frame`` as the model reads it: dated at ``dates`` (when given), with its map
        axes."""
        frame = self._dated(frame, dates)
        if not self.map_axes:
            return frame
        return with_columns(frame, map_axes_of(frame, self.axis_lat_, self.map_axes))

    def _dated(self, frame: pd.DataFrame, dates: Any) -> pd.DataFrame:
        if dates is None:
            return frame
        values = dates.to_numpy() if isinstance(dates, pd.Series) else dates
        parsed = pd.to_datetime(values)
        if isinstance(parsed, pd.DatetimeIndex):
            return with_replaced(frame, {"date": parsed.array})
        return frame.assign(date=parsed)

    def model_matrix(self, frame: pd.DataFrame, dates: Any = None) -> np.ndarray | pd.DataFrame:
        """What the plain model reads for ``frame`` at ``dates`` (default: its ``date``).

        The float matrix of a model trained on its spec is read from the columns of
        ``frame``, the dates and the map axes directly (the same numbers as from
        :meth:`_prepared`'s frame, without building it: most of the member's cost for one
        property); a caller that both values and explains the same rows builds it once.
        """
        self._check_fitted()
        model = self.model_
        arrays = self._prepared_arrays(frame, dates)
        if arrays is not None and trained_on_spec(
            model, model.feature_spec_, [model.booster_], with_date=True
        ):
            return feature_values_of(arrays, len(frame), model.feature_spec_, with_date=True)
        return model.model_matrix(self._prepared(frame, dates))

    def _prepared_arrays(self, frame: pd.DataFrame, dates: Any) -> dict[str, Any] | None:
        """The columns of :meth:`_prepared`'s frame by name, when the dates are parsed
        already (``datetime64[ns]``: the engine's) or not given; None otherwise."""
        if dates is not None:
            values = dates.to_numpy() if isinstance(dates, pd.Series) else dates
            if not (isinstance(values, np.ndarray) and values.dtype == np.dtype("datetime64[ns]")):
                return None
        if not frame.columns.is_unique or (dates is not None and values.shape != (len(frame),)):
            return None
        arrays = dict(zip(frame.columns.tolist(), column_arrays(frame), strict=True))
        if dates is not None:
            arrays["date"] = values
        if self.map_axes:
            arrays.update(map_axes_of(frame, self.axis_lat_, self.map_axes))
        return arrays

    def predict_log(self, frame: pd.DataFrame, dates: Any = None, matrix: Any = None) -> np.ndarray:
        """The plain model's log price of each row at ``dates`` (default: its ``date``);
        ``matrix``: :meth:`model_matrix` of the same rows and dates, when known."""
        self._check_fitted()
        if self.model_ is None:
            return np.full(len(frame), np.nan)
        if not len(frame):
            return np.empty(0)
        if matrix is None:
            matrix = self.model_matrix(frame, dates)
        return booster_predict(self.model_.booster_, matrix)

    def blend(
        self, engine_log: np.ndarray, frame: pd.DataFrame, dates: Any = None, matrix: Any = None
    ) -> np.ndarray:
        """``(1 - w) * engine_log + w * plain_log`` of each row (``engine_log`` unchanged
        when the member is not active; ``matrix`` as :meth:`predict_log`'s)."""
        engine_log = np.asarray(engine_log, dtype=float)
        if not self.active or not len(frame):
            return engine_log
        w = self.weight_
        return (1 - w) * engine_log + w * self.predict_log(frame, dates, matrix=matrix)

    def contributions(
        self, frame: pd.DataFrame, dates: Any = None, matrix: Any = None
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """The plain model's exact log contributions (TreeSHAP) of each row.

        Returns
        -------
        names : list of str
            Feature names (the date feature left out).
        values : numpy.ndarray
            Contribution of each named feature, one row per property.
        time : numpy.ndarray
            Contribution of the date (the plain model's time adjustment).
        base : numpy.ndarray
            The model's expected value (its bias term).

        ``matrix``: :meth:`model_matrix` of the same rows and dates, when known.
        """
        from estimo.model.treeshap import tree_contributions

        self._check_fitted()
        model = self.model_
        names = list(model.booster_.feature_name())
        if matrix is None:
            matrix = self.model_matrix(frame, dates)
        raw = np.asarray(tree_contributions(model.booster_, matrix), float)
        date_at = names.index(DATE_FEATURE) if DATE_FEATURE in names else None
        keep = [j for j in range(len(names)) if j != date_at]
        time = raw[:, date_at] if date_at is not None else np.zeros(len(raw))
        return [names[j] for j in keep], raw[:, keep], time, raw[:, -1]

    # ------------------------------------------------------------------ saving
    def to_bundle(self, folder: BundleFolder) -> dict[str, Any]:
        """Write the plain model (``plain/model.txt``) into ``folder``; returns the facts
        :meth:`from_bundle` reads."""
        self._check_fitted()
        meta: dict[str, Any] = {
            "params": self.get_params(),
            "weight": self.weight_,
            "rounds": self.rounds_,
            "n_fit": self.n_fit_,
            "axis_lat": getattr(self, "axis_lat_", 0.0),
            "file": None,
        }
        if self.model_ is not None:
            spec = self.model_.feature_spec_
            folder.write_text(PLAIN_MODEL_FILE, self.model_.booster_.model_to_string())
            meta.update(
                file=PLAIN_MODEL_FILE,
                numeric=list(spec.numeric),
                categorical={k: list(v) for k, v in spec.categorical.items()},
                cities=list(self.model_.cities_),
                trained_until=self.model_.trained_until_.isoformat(),
            )
        return meta

    @classmethod
    def from_bundle(cls, folder: BundleFolder, meta: dict[str, Any]) -> PlainMember:
        """A fitted member from :meth:`to_bundle`'s folder and facts."""
        member = cls(**meta["params"])
        member.weight_ = float(meta["weight"])
        member.rounds_ = int(meta["rounds"])
        member.n_fit_ = int(meta["n_fit"])
        member.axis_lat_ = float(meta.get("axis_lat", 0.0))  # none before the map axes
        member.model_ = None
        if meta.get("file"):
            model = member._new_model(member.rounds_)
            model.feature_spec_ = FeatureSpec(
                numeric=tuple(meta["numeric"]),
                categorical={k: tuple(v) for k, v in meta["categorical"].items()},
            )
            model.booster_ = lgb.Booster(model_str=folder.read_lightgbm(meta["file"]))
            model.cities_ = tuple(meta["cities"])
            model.trained_until_ = pd.Timestamp(meta["trained_until"])
            member.model_ = model
        return member
