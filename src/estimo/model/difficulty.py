"""How hard a property is to value: a learned scale of its error, and out-of-distribution flags.

:class:`DifficultyModel` predicts the typical size of a valuation's log error from what is
known before the price is: how far the comparables are and how well they agree, how dense
the data is around the property, how unusual the property is against the training rows.
It models ``log σ(x)`` as linear in the standardized *difficulty features* and their squares
(a quadratic in each), fitted by maximum likelihood of a Laplace law ``r ~ Laplace(0, σ(x))``
with a ridge penalty: the scale of ``|r|`` itself, robust to the heavy tails of valuation
errors (a regression of ``log |r|`` shrinks the spread of σ):

``log_nearest_km``
    ``log1p`` of the distance (km) to the nearest training property of the city.
``log_median_km``
    ``log1p`` of the median distance (km) of the comparables (data density: far
    comparables mean few homes around).
``log_dispersion``
    ``log(0.005 + weighted MAD)`` of the comparables' adjusted log prices (their agreement).
``dissimilarity``
    ``1 - mean similarity`` of the comparables.
``few_comps``
    ``log1p(k - n_comps)``: comparables missing out of the ``k`` looked for.
``unusual``
    How far the property's size, floor, year built and rooms lie outside the central 90 %
    of the training rows, in units of that central range (0 inside), the largest of them.
``unknown_facts``
    Share of those key facts that were not given.
``log_gap``
    ``log(0.005 + |model - comparables|)`` in log price: where the model and the
    comparables disagree, at least one of them is off.

The scale is ``exp(prediction)``, relative to the median scale of the rows it was fitted on
(so a typical property has scale about 1); :mod:`estimo.model.intervals` turns residuals
divided by it into locally adaptive conformal ranges.

:meth:`DifficultyModel.flags` lists why a property is *out of distribution*: farther than
``far_km`` from every known home, a city never seen, a size, floor or year built outside the
training range (0.5-99.5 % quantiles, widened by 10 %), or a valuation date more than
``stale_months`` after the data ends. Those are cases the calibration slice holds (almost)
none of, so the engine widens their ranges and lowers their confidence (or refuses them).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> n = 600
>>> frame = pd.DataFrame({"area_m2": rng.uniform(30, 150, n), "city": "A"})
>>> summary = pd.DataFrame({"nearest_m": rng.uniform(10, 3000, n), "n_comps": 8,
...     "median_distance_m": 500.0, "dispersion": rng.uniform(0.01, 0.3, n),
...     "mean_similarity": 0.5})
>>> residual = rng.normal(0, 1, n) * (0.03 + summary["dispersion"].to_numpy())
>>> model = DifficultyModel().fit_ranges(frame).fit(model_features(frame, summary), residual)
>>> scale = model.scale(model_features(frame, summary))
>>> bool(np.corrcoef(scale, summary["dispersion"])[0, 1] > 0.8)
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from estimo.errors import NotFittedError
from estimo.frames import column_array, column_floats, column_values, frame_of
from estimo.model.linear import row_dot

PAST_DATA = "past_data"
"""The flag of a valuation dated more than ``stale_months`` after the data ends."""

Z_LIMIT = 4.0
"""Standardized difficulty features are held within ±4 standard deviations (fit and use)."""

ROWS_PER_TERM = 20
"""Calibration rows needed per fitted slope: fewer than 20 per term of the quadratic and
only the linear terms are fitted, fewer than 20 per linear term and the scale is flat. On
49 rows the quadratic's 16 slopes bent the wrong way (a home without coordinates, held at
the farthest distance seen, got 0.15 times the typical range and "high" confidence)."""

__all__ = ["DIFFICULTY_FEATURES", "RANGE_FIELDS", "DifficultyModel", "model_features"]

DIFFICULTY_FEATURES: tuple[str, ...] = (
    "log_nearest_km",
    "log_median_km",
    "log_dispersion",
    "dissimilarity",
    "few_comps",
    "unusual",
    "unknown_facts",
    "log_gap",
)
RANGE_FIELDS: tuple[str, ...] = ("area_m2", "floor", "year_built", "rooms")
"""Facts whose training range is kept: outside it a property is unusual."""

_COMPS_K = 8


def model_features(
    frame: pd.DataFrame,
    summary: pd.DataFrame | None,
    ranges: dict[str, tuple[float, float, float, float]] | None = None,
    comps_k: int = _COMPS_K,
    model_log: Any = None,
) -> pd.DataFrame:
    """The difficulty features of each row (see the module docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        The properties (canonical columns).
    summary : pandas.DataFrame or None
        Their comparables summary (:attr:`estimo.model.comps.ComparablesResult.summary`);
        None when the engine has no comparables (the comparables features are then 0).
    ranges : dict, optional
        :attr:`DifficultyModel.ranges_`; without it ``unusual`` is 0.
    comps_k : int
        Comparables looked for per property.
    model_log : array-like, optional
        The model's log price of each row (without it, or without comparables, the gap is
        taken as the median gap of the fitted rows, i.e. ``log_gap`` is NaN here and the
        model fills it).
    """
    n = len(frame)

    def col(name: str, default: float) -> np.ndarray:
        if summary is None or name not in summary:
            return np.full(n, default)
        return column_floats(summary, name)

    nearest = col("nearest_m", 0.0) / 1000
    median_km = col("median_distance_m", 0.0) / 1000
    dispersion = col("dispersion", 0.0)
    similarity = col("mean_similarity", 1.0)
    n_comps = col("n_comps", float(comps_k))
    known = [_numeric(frame, f) for f in RANGE_FIELDS if ranges is None or f in (ranges or {})] or [
        np.zeros(n)
    ]
    comps_log = col("comps_log_price", np.nan)
    model = np.full(n, np.nan) if model_log is None else np.asarray(model_log, dtype=float)
    # no comparables: as far and as dissimilar as the worst seen (filled after fitting)
    columns = {
        "log_nearest_km": np.log1p(np.clip(np.nan_to_num(nearest, nan=50.0), 0, None)),
        "log_median_km": np.log1p(np.clip(np.nan_to_num(median_km, nan=50.0), 0, None)),
        "log_dispersion": np.log(0.005 + np.clip(np.nan_to_num(dispersion, nan=0.3), 0, None)),
        "dissimilarity": 1 - np.clip(np.nan_to_num(similarity, nan=0.0), 0, 1),
        "few_comps": np.log1p(np.clip(comps_k - np.nan_to_num(n_comps, nan=0.0), 0, None)),
        "unusual": unusualness(frame, ranges or {}),
        "unknown_facts": np.mean([~np.isfinite(v) for v in known], axis=0),
        "log_gap": np.log(0.005 + np.abs(model - comps_log)),
    }
    return frame_of(columns, n)


def _float_matrix(frame: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """``frame[list(names)].to_numpy(float)``, from the column arrays when they are floats
    already (no sub-frame built for one valuation's row)."""
    if frame.columns.is_unique and all(name in frame for name in names):
        columns = [column_values(frame, name) for name in names]
        if all(c.dtype == np.float64 for c in columns):
            return np.column_stack(columns) if columns else np.empty((len(frame), 0))
    return frame[list(names)].to_numpy(float)


def _numeric(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return column_floats(frame, name)


def unusualness(
    frame: pd.DataFrame, ranges: dict[str, tuple[float, float, float, float]]
) -> np.ndarray:
    """How far each row's facts lie outside the central 90 % of the training rows, in
    units of that central range (0 inside; the largest over the facts; unknown facts 0)."""
    out = np.zeros(len(frame))
    for name, (q05, q95, _, _) in ranges.items():
        values = _numeric(frame, name)
        width = max(q95 - q05, 1e-9)
        beyond = np.maximum(q05 - values, values - q95) / width
        out = np.maximum(out, np.nan_to_num(np.clip(beyond, 0, None), nan=0.0))
    return out


class DifficultyModel(BaseEstimator):
    """Predicted scale of a valuation's log error (see the module docstring).

    Parameters
    ----------
    l2 : float
        Ridge penalty on the standardized features.
    far_km : float
        Farther than this from every known home of its city, a property is out of
        distribution.
    stale_months : float
        A valuation date more than this many months after the data ends is out of
        distribution.
    """

    def __init__(self, *, l2: float = 1.0, far_km: float = 5.0, stale_months: float = 3.0) -> None:
        self.l2 = l2
        self.far_km = far_km
        self.stale_months = stale_months

    def fit_ranges(self, frame: pd.DataFrame) -> DifficultyModel:
        """Keep the training ranges of :data:`RANGE_FIELDS` (5 %, 95 %, 0.5 %, 99.5 %)."""
        ranges = {}
        for name in RANGE_FIELDS:
            values = _numeric(frame, name)
            values = values[np.isfinite(values)]
            if len(values) >= 20:
                q = np.quantile(values, [0.05, 0.95, 0.005, 0.995])
                ranges[name] = tuple(float(v) for v in q)
        self.ranges_ = ranges
        return self

    def fit(self, features: pd.DataFrame, residuals: Any) -> DifficultyModel:
        """Fit ``log σ(x)`` by the Laplace likelihood of the residuals (ridge)."""
        x = _float_matrix(features, DIFFICULTY_FEATURES)
        r = np.asarray(residuals, dtype=float)
        self.fill_ = np.array(
            [
                float(np.median(column[np.isfinite(column)])) if np.isfinite(column).any() else 0.0
                for column in x.T
            ]
        )
        x = np.where(np.isfinite(x), x, self.fill_)
        ok = np.isfinite(r)
        x = x[ok]
        self.center_ = x.mean(axis=0) if len(x) else np.zeros(x.shape[1])
        spread = x.std(axis=0) if len(x) else np.ones(x.shape[1])
        self.scale_ = np.where(spread > 1e-9, spread, 1.0)
        z = _basis(self._standardized(x))
        self.square_center_ = z[:, x.shape[1] :].mean(axis=0) if len(z) else np.zeros(x.shape[1])
        z[:, x.shape[1] :] -= self.square_center_
        self.coef_, self.intercept_ = _fit_laplace_scale(z, np.abs(r[ok]), self.l2)
        fitted = self.intercept_ + row_dot(z, self.coef_)
        self.level_ = float(np.median(fitted)) if len(fitted) else 0.0
        self.upper_ = (x.max(axis=0) if len(x) else np.zeros(x.shape[1])).astype(float)
        self.lower_ = (x.min(axis=0) if len(x) else np.zeros(x.shape[1])).astype(float)
        self.n_fit_ = int(ok.sum())
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("this DifficultyModel is not fitted; call fit first")

    def scale(self, features: pd.DataFrame) -> np.ndarray:
        """Relative error scale of each row (1: the median of the fitted rows).

        Features beyond the values seen in fitting are held at the nearest one (a quadratic
        does not extrapolate reliably); :meth:`flags` marks such rows instead.
        """
        self._check_fitted()
        x = _float_matrix(features, DIFFICULTY_FEATURES)
        x = np.clip(np.where(np.isfinite(x), x, self.fill_), self.lower_, self.upper_)
        z = _basis(self._standardized(x))
        z[:, x.shape[1] :] -= self.square_center_
        return np.exp(self.intercept_ + row_dot(z, self.coef_) - self.level_)

    def _standardized(self, x: np.ndarray) -> np.ndarray:
        """Features in standard deviations from the fitted mean, held within ±:data:`Z_LIMIT`:
        a heavy-tailed feature (a lot 50 times the usual size) has a few rows far out,
        where the fitted quadratic is not supported by data; unbounded, its square made a
        valuation's error scale thousands of times the median (King County without dates:
        two test homes got ranges up to infinity)."""
        return np.clip((x - self.center_) / self.scale_, -Z_LIMIT, Z_LIMIT)

    def flags(
        self,
        frame: pd.DataFrame,
        summary: pd.DataFrame | None,
        known_cities: Any,
        months_past: np.ndarray,
    ) -> list[list[str]]:
        """Why each row is out of distribution (an empty list when it is not).

        Flags: ``"far"`` (``far_km`` from every known home), ``"new_city"``,
        ``"outside_range:<field>"`` and ``"past_data"`` (valuation date more than
        ``stale_months`` after the data ends).
        """
        n = len(frame)
        out: list[list[str]] = [[] for _ in range(n)]
        if summary is not None and "nearest_m" in summary:
            nearest = column_floats(summary, "nearest_m")
            for i in np.flatnonzero(nearest > self.far_km * 1000):
                out[i].append("far")
        cities = set(str(c) for c in known_cities)
        if "city" in frame:
            for i, city in enumerate(column_array(frame, "city").tolist()):
                if (
                    city is None
                    or (isinstance(city, float) and math.isnan(city))
                    or str(city) not in cities
                ):
                    out[i].append("new_city")
        else:
            for flags in out:
                flags.append("new_city")
        for name, (_, _, lo, hi) in getattr(self, "ranges_", {}).items():
            values = _numeric(frame, name)
            margin = 0.1 * max(hi - lo, 1e-9)
            bad = (values < lo - margin) | (values > hi + margin)
            for i in np.flatnonzero(bad):
                out[i].append(f"outside_range:{name}")
        for i in np.flatnonzero(np.asarray(months_past, dtype=float) > self.stale_months):
            out[i].append(PAST_DATA)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Parameters as plain JSON-ready values."""
        self._check_fitted()
        return {
            "params": self.get_params(),
            "features": list(DIFFICULTY_FEATURES),
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_,
            "level": self.level_,
            "upper": self.upper_.tolist(),
            "fill": self.fill_.tolist(),
            "lower": self.lower_.tolist(),
            "square_center": self.square_center_.tolist(),
            "n_fit": self.n_fit_,
            "ranges": {k: list(v) for k, v in getattr(self, "ranges_", {}).items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DifficultyModel:
        """Rebuild a fitted model from :meth:`to_dict`."""
        out = cls(**data["params"])
        for name in ("center", "scale", "coef", "upper", "lower", "fill", "square_center"):
            setattr(out, f"{name}_", np.asarray(data[name], dtype=float))
        out.intercept_ = float(data["intercept"])
        out.level_ = float(data["level"])
        out.n_fit_ = int(data["n_fit"])
        out.ranges_ = {k: tuple(float(x) for x in v) for k, v in data["ranges"].items()}
        return out

    def coefficients(self) -> dict[str, float]:
        """Linear effect of one standard deviation of each feature on the log error scale
        (the quadratic terms are ``<feature>^2``)."""
        self._check_fitted()
        names = [*DIFFICULTY_FEATURES, *(f"{n}^2" for n in DIFFICULTY_FEATURES)]
        return dict(zip(names, (float(c) for c in self.coef_), strict=True))


def _fit_laplace_scale(z: np.ndarray, abs_r: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Slopes and intercept of ``log σ = a + z·b`` minimising the Laplace negative
    log-likelihood ``mean(log σ + |r| / σ) + l2 · |b|² / n``."""
    from scipy.optimize import minimize

    n, k = z.shape
    if n < ROWS_PER_TERM * k:
        linear = k // 2  # _basis: the features, then their squares
        if k % 2 == 0 and linear and n >= ROWS_PER_TERM * linear:
            slopes, level = _fit_laplace_scale(z[:, :linear], abs_r, l2)
            return np.r_[slopes, np.zeros(k - linear)], level
        level = float(np.log(max(np.mean(abs_r), 1e-6))) if n else 0.0
        return np.zeros(k), level
    a = np.maximum(abs_r, 1e-6)
    design = np.column_stack([np.ones(n), z])
    penalty = np.r_[0.0, np.full(k, l2 / n)]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        log_sigma = np.clip(design @ theta, -12, 5)
        ratio = a * np.exp(-log_sigma)
        value = float(np.mean(log_sigma + ratio)) + float(penalty @ theta**2)
        grad = design.T @ (1 - ratio) / n + 2 * penalty * theta
        return value, grad

    start = np.r_[np.log(np.mean(a)), np.zeros(k)]
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    return np.asarray(result.x[1:], dtype=float), float(result.x[0])


def _basis(z: np.ndarray) -> np.ndarray:
    """Standardized features and their squares (a quadratic in each feature)."""
    return np.hstack([z, z**2])
