"""Blend the model value with the comparables value, trusting comparables by their quality.

The blend is made in log space::

    log_final = (1 - w) * model_log + w * comps_log
              = model_log + w * (comps_log - model_log)

so the comparables' contribution to a valuation is the additive term
``w * (comps_log - model_log)`` (the explanation layer shows it as one line).

:class:`BlendWeights` learns ``w`` as a function of the quality of each subject's
comparables (:attr:`estimo.model.comps.ComparablesResult.summary`)::

    w = w_max * sigmoid(a + sum_j b_j * s_j * x_j),   b_j >= 0

with standardized quality features ``x``: ``log1p(n_comps)`` (s=+1), ``log1p(median distance
in km)`` (s=-1), ``log(dispersion + 0.005)`` (s=-1) and ``mean_similarity`` (s=+1). The sign
constraints make the weight monotone: it never grows when comparables get fewer, farther,
more dispersed or less similar. ``w = 0`` when there are fewer than ``min_comps``
comparables (or no comparables value), so the valuation falls back to the model. The
parameters minimise the mean absolute log error of the blend (smoothed as
``sqrt(r**2 + 1e-4)``) plus ``l2 * sum(b**2)`` on **validation rows**: rows dated before the
test cut-off that neither the model nor the comparables finder were fitted on (the model
values must be out-of-sample, otherwise the blend learns to ignore the comparables).

The learned parameters are plain numbers: :meth:`BlendWeights.to_dict` and
:meth:`BlendWeights.from_dict` save and load them as JSON (no pickles).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> quality = pd.DataFrame({"n_comps": rng.integers(0, 9, 400),
...     "median_distance_m": rng.uniform(100, 4000, 400), "dispersion": rng.uniform(0, 0.2, 400),
...     "mean_similarity": rng.uniform(0.05, 0.6, 400)})
>>> truth = rng.normal(12, 0.5, 400)
>>> model_log = truth + rng.normal(0, 0.10, 400)
>>> comps_log = truth + rng.normal(0, 0.05, 400)
>>> blend = BlendWeights().fit(quality, model_log, comps_log, truth)
>>> w = blend.weight(quality)
>>> bool(w[quality["n_comps"] < 3].max() == 0), bool(w.max() > 0.3)
(True, True)
>>> BlendWeights.from_dict(blend.to_dict()).weight(quality).round(6).tolist() == w.round(6).tolist()
True
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.base import BaseEstimator

from estimo.errors import DataError, NotFittedError
from estimo.frames import column_floats
from estimo.model.linear import row_dot

log = logging.getLogger(__name__)

__all__ = ["BLEND_REASONS", "QUALITY_FEATURES", "BlendWeights", "blend_log"]

QUALITY_FEATURES: tuple[str, ...] = (
    "n_comps",
    "median_distance_m",
    "dispersion",
    "mean_similarity",
)
"""Columns of the comparables summary the weight depends on."""

_SIGNS = np.array([1.0, -1.0, -1.0, 1.0])
_REASON_NAMES = ("count", "distance", "agreement", "similarity")
BLEND_REASONS: tuple[str, ...] = (
    "none",
    "few",
    "fixed",
    *(f"{name}_{way}" for name in _REASON_NAMES for way in ("up", "down")),
)
"""What :meth:`BlendWeights.reasons` can answer: no comparables value (``none``), fewer than
``min_comps`` (``few``), a weight learned the same for every home (``fixed``: every slope
is 0), or the quality signal that moved this home's weight most from the typical one and
which way (``count_up``: more comparables than usual raised it; ``distance_down``: farther
than usual lowered it; ``agreement_*``: their dispersion; ``similarity_*``)."""
_FLAT = 1e-3  # slopes below this (on standardized features) count as 0
_SMOOTH = 1e-4
_OFF = -30.0  # intercept of a blend that never uses comparables
_FORMAT = "estimo.BlendWeights/1"


def blend_log(model_log: Any, comps_log: Any, weight: Any) -> np.ndarray:
    """``(1 - w) * model_log + w * comps_log``, the model value where ``w`` is 0.

    Examples
    --------
    >>> blend_log([10.0, 10.0], [11.0, float("nan")], [0.5, 0.0]).tolist()
    [10.5, 10.0]
    """
    m = np.asarray(model_log, dtype=float)
    c = np.asarray(comps_log, dtype=float)
    w = np.asarray(weight, dtype=float)
    use = (w > 0) & np.isfinite(c)
    return np.where(use, m + w * (np.where(use, c, m) - m), m)


class BlendWeights(BaseEstimator):
    """Weight of the comparables value per valuation (see the module docstring).

    Parameters
    ----------
    w_max : float
        Largest weight the comparables can get, in (0, 1].
    min_comps : int
        Fewer comparables than this give weight 0.
    l2 : float
        Ridge penalty on the slopes (standardized features), on the scale of the mean
        absolute log error (about 0.05-0.10), so keep it small.
    min_rows : int
        With fewer usable validation rows the blend never uses comparables.
    """

    def __init__(
        self, *, w_max: float = 0.8, min_comps: int = 3, l2: float = 1e-4, min_rows: int = 30
    ) -> None:
        self.w_max = w_max
        self.min_comps = min_comps
        self.l2 = l2
        self.min_rows = min_rows

    def fit(
        self,
        quality: pd.DataFrame,
        model_log: Any,
        comps_log: Any,
        actual_log: Any,
        sample_weight: Any = None,
    ) -> BlendWeights:
        """Learn the weight function on validation rows.

        Parameters
        ----------
        quality : pandas.DataFrame
            Comparables quality per row (:data:`QUALITY_FEATURES` columns).
        model_log, comps_log, actual_log : array-like
            Out-of-sample model log price, comparables log price (NaN when none) and the
            true log price of each row.
        sample_weight : array-like, optional
            Weight per row.

        Returns
        -------
        BlendWeights
            ``self``.
        """
        self._check_params()
        m, c, y = (
            _vector(v, name, len(quality))
            for v, name in (
                (model_log, "model_log"),
                (comps_log, "comps_log"),
                (actual_log, "actual_log"),
            )
        )
        sw = np.ones(len(quality)) if sample_weight is None else np.asarray(sample_weight, float)
        raw = self._raw_features(quality, fitting=True)
        usable = self._eligible(quality, c) & np.isfinite(m) & np.isfinite(y)
        self.n_fit_ = int(usable.sum())
        self.center_ = np.zeros(len(QUALITY_FEATURES))
        self.scale_ = np.ones(len(QUALITY_FEATURES))
        self.intercept_ = _OFF
        self.coef_ = np.zeros(len(QUALITY_FEATURES))
        self.mae_model_ = _mean_abs(m[usable] - y[usable], sw[usable])
        if self.n_fit_ < self.min_rows:
            log.warning(
                "blend: only %d validation rows with >= %d comparables (need %d); "
                "valuations will use the model alone",
                self.n_fit_,
                self.min_comps,
                self.min_rows,
            )
            self.mae_blend_ = self.mae_model_
            return self
        x = raw[usable]
        self.center_ = x.mean(axis=0)
        spread = x.std(axis=0)
        self.scale_ = np.where(spread > 1e-9, spread, 1.0)
        z = (x - self.center_) / self.scale_ * _SIGNS
        theta = self._optimise(z, m[usable], c[usable], y[usable], sw[usable] / sw[usable].mean())
        self.intercept_, self.coef_ = float(theta[0]), theta[1:]
        blended = blend_log(m, c, self.weight(quality))
        self.mae_blend_ = _mean_abs(blended[usable] - y[usable], sw[usable])
        log.info(
            "blend fitted on %d rows: mean |log error| %.4f (model alone %.4f)",
            self.n_fit_,
            self.mae_blend_,
            self.mae_model_,
        )
        return self

    def _optimise(
        self, z: np.ndarray, m: np.ndarray, c: np.ndarray, y: np.ndarray, sw: np.ndarray
    ) -> np.ndarray:
        gap = c - m
        design = np.column_stack([np.ones(len(z)), z])
        n = len(z)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            s = _sigmoid(design @ theta)
            r = m + self.w_max * s * gap - y
            root = np.sqrt(r**2 + _SMOOTH)
            penalty = self.l2 * float(np.sum(theta[1:] ** 2))
            dr = sw * r / root * self.w_max * s * (1 - s) * gap
            grad = design.T @ dr / n
            grad[1:] += 2 * self.l2 * theta[1:]
            return float(np.sum(sw * root) / n) + penalty, grad

        bounds = [(-20.0, 20.0)] + [(0.0, 20.0)] * z.shape[1]
        start = np.zeros(z.shape[1] + 1)
        result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
        return np.asarray(result.x, dtype=float)

    def _check_params(self) -> None:
        problems = []
        if not isinstance(self.w_max, int | float) or not 0 < self.w_max <= 1:
            problems.append(f"parameter 'w_max' is {self.w_max!r}; expected a number in (0, 1]")
        if isinstance(self.min_comps, bool) or not isinstance(self.min_comps, int):
            problems.append(f"parameter 'min_comps' is {self.min_comps!r}; expected an int")
        if not isinstance(self.l2, int | float) or self.l2 < 0:
            problems.append(f"parameter 'l2' is {self.l2!r}; expected a number >= 0")
        if problems:
            raise DataError(problems, header="invalid BlendWeights settings")

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(
                "this BlendWeights is not fitted yet; call fit(...) on validation rows "
                "or BlendWeights.from_dict(saved)"
            )

    def _raw_features(self, quality: pd.DataFrame, fitting: bool = False) -> np.ndarray:
        missing = [c for c in QUALITY_FEATURES if c not in quality]
        if missing:
            raise DataError(
                [f"the comparables quality table has no {c!r} column" for c in missing]
                + [f"expected the columns {list(QUALITY_FEATURES)}"],
                header="cannot compute blend weights",
            )
        n = _nan_as_zero(column_floats(quality, "n_comps"))
        km = column_floats(quality, "median_distance_m") / 1e3
        if fitting:
            known = km[np.isfinite(km)]
            self.distance_fill_km_ = float(np.percentile(known, 95)) if len(known) else 5.0
        km = np.where(np.isfinite(km), km, self.distance_fill_km_)
        disp = column_floats(quality, "dispersion")
        disp = np.where(np.isfinite(disp), disp, 0.0)
        sim = _nan_as_zero(column_floats(quality, "mean_similarity"))
        return np.column_stack(
            [np.log1p(n), np.log1p(np.maximum(km, 0.0)), np.log(np.maximum(disp, 0) + 0.005), sim]
        )

    def _eligible(self, quality: pd.DataFrame, comps_log: np.ndarray | None) -> np.ndarray:
        n = _nan_as_zero(column_floats(quality, "n_comps"))
        ok = n >= max(self.min_comps, 1)
        if comps_log is not None:
            ok &= np.isfinite(comps_log)
        return ok

    def weight(self, quality: pd.DataFrame, comps_log: Any = None) -> np.ndarray:
        """Weight of the comparables value for each row of ``quality``, in [0, w_max].

        Parameters
        ----------
        quality : pandas.DataFrame
            :data:`QUALITY_FEATURES` columns (e.g. a comparables summary).
        comps_log : array-like, optional
            Rows whose comparables value is NaN get weight 0 (default: ``quality``'s
            ``comps_log_price`` column when present).
        """
        self._check_fitted()
        if comps_log is None and "comps_log_price" in quality:
            comps_log = quality["comps_log_price"]
        c = None if comps_log is None else _vector(comps_log, "comps_log", len(quality))
        z = (self._raw_features(quality) - self.center_) / self.scale_ * _SIGNS
        w = self.w_max * _sigmoid(self.intercept_ + row_dot(z, self.coef_))
        return np.where(self._eligible(quality, c), w, 0.0)

    def reasons(self, quality: pd.DataFrame, comps_log: Any = None) -> list[str]:
        """Why each row's weight is what it is: one of :data:`BLEND_REASONS`.

        The reason is read from the learned function itself: the term ``b_j · z_j`` with the
        largest magnitude names the quality signal that moved the weight most from that of
        a typical home, and its sign the direction. With every slope 0 the weight is the
        same whatever the comparables (``fixed``): a sentence must then not claim it
        follows their similarity.

        Examples
        --------
        >>> flat = BlendWeights.from_dict({**BlendWeights().fit(
        ...     pd.DataFrame({c: [0.0] * 3 for c in QUALITY_FEATURES}), [0] * 3, [0] * 3,
        ...     [0] * 3).to_dict()})
        >>> flat.reasons(pd.DataFrame({"n_comps": [1, 8], "median_distance_m": [100, 100],
        ...     "dispersion": [0.1, 0.1], "mean_similarity": [0.5, 0.5]}), [12.0, 12.0])
        ['few', 'fixed']
        """
        self._check_fitted()
        if comps_log is None and "comps_log_price" in quality:
            comps_log = quality["comps_log_price"]
        c = None if comps_log is None else _vector(comps_log, "comps_log", len(quality))
        z = (self._raw_features(quality) - self.center_) / self.scale_ * _SIGNS
        terms = z * self.coef_
        enough = self._eligible(quality, None)
        flat = bool(np.all(np.abs(self.coef_) < _FLAT)) or self.intercept_ <= _OFF
        out = []
        for i in range(len(quality)):
            if c is not None and not np.isfinite(c[i]):
                out.append("none")
            elif not enough[i]:
                out.append("few")
            elif flat:
                out.append("fixed")
            else:
                j = int(np.argmax(np.abs(terms[i])))
                out.append(f"{_REASON_NAMES[j]}_{'up' if terms[i, j] >= 0 else 'down'}")
        return out

    def blend(
        self, model_log: Any, comps_log: Any, quality: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray]:
        """Blended log prices and the weights used.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            ``log_final`` and ``w`` per row.
        """
        c = _vector(comps_log, "comps_log", len(quality))
        w = self.weight(quality, c)
        return blend_log(_vector(model_log, "model_log", len(quality)), c, w), w

    def to_dict(self) -> dict[str, Any]:
        """Parameters as plain JSON-ready values."""
        self._check_fitted()
        return {
            "format": _FORMAT,
            "params": self.get_params(),
            "features": list(QUALITY_FEATURES),
            "signs": _SIGNS.tolist(),
            "center": [float(v) for v in self.center_],
            "scale": [float(v) for v in self.scale_],
            "intercept": float(self.intercept_),
            "coef": [float(v) for v in self.coef_],
            "distance_fill_km": float(self.distance_fill_km_),
            "n_fit": int(self.n_fit_),
            "mae_model": _finite_or_none(self.mae_model_),
            "mae_blend": _finite_or_none(self.mae_blend_),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlendWeights:
        """Rebuild a fitted :class:`BlendWeights` from :meth:`to_dict` output.

        Raises
        ------
        DataError
            If the dict is not a saved blend of this format.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise DataError(
                [f"blend parameters have format {found!r}; expected {_FORMAT!r}"],
                header="cannot load blend weights",
            )
        if list(data.get("features", [])) != list(QUALITY_FEATURES):
            raise DataError(
                [f"blend features are {data.get('features')!r}; expected {list(QUALITY_FEATURES)}"],
                header="cannot load blend weights",
            )
        blend = cls(**data["params"])
        blend.center_ = np.asarray(data["center"], dtype=float)
        blend.scale_ = np.asarray(data["scale"], dtype=float)
        blend.intercept_ = float(data["intercept"])
        blend.coef_ = np.asarray(data["coef"], dtype=float)
        blend.distance_fill_km_ = float(data["distance_fill_km"])
        blend.n_fit_ = int(data["n_fit"])
        blend.mae_model_ = math.nan if data["mae_model"] is None else float(data["mae_model"])
        blend.mae_blend_ = math.nan if data["mae_blend"] is None else float(data["mae_blend"])
        return blend


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _vector(values: Any, name: str, n: int) -> np.ndarray:
    out = np.asarray(values, dtype=float).ravel()
    if len(out) != n:
        raise DataError(
            [f"{name!r} has {len(out)} values for {n} rows; expected one per row"],
            header="cannot blend",
        )
    return out


def _mean_abs(errors: np.ndarray, weights: np.ndarray) -> float:
    if len(errors) == 0:
        return math.nan
    return float(np.sum(np.abs(errors) * weights) / np.sum(weights))


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _nan_as_zero(values: np.ndarray) -> np.ndarray:
    """``values`` with NaN as 0 (infinities kept, as ``Series.fillna(0)``)."""
    return np.where(np.isnan(values), 0.0, values)
