"""A simple reference model: a hedonic regression on a handful of features.

External "5-feature" AVMs value a home from its location, size, rooms, age and the date.
:class:`HedonicReference` is that kind of model, reported beside every evaluation so a
reader sees what Estimo's model adds over a textbook baseline::

    log price ~ log area + rooms + age + age² + property type
                + city + neighbourhood (shrunk towards its city) + month (shrunk)
                + a linear time trend per city

It is a ridge regression: the fixed effects (neighbourhood, month, type) are penalised by
``alpha`` so small groups borrow strength from their city; the numeric terms are not.
Missing values are imputed inside: numbers by the training median of their city (then of all
rows), with a missing-indicator column; an unknown neighbourhood, type or city contributes 0
(its city's level or the overall level). Months after the training window use the last
month's effect plus the city's trend.

Examples
--------
>>> from estimo.synth import generate_market
>>> market = generate_market(2_000, seed=1, faults=False)
>>> model = HedonicReference().fit(market.frame)
>>> bool((model.predict(market.frame.head(3)) > 0).all())
True
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import DataError, NotFittedError

log = logging.getLogger(__name__)

__all__ = ["REFERENCE_FEATURES", "HedonicReference"]

#: Canonical columns the reference model reads (all optional except ``city`` and ``date``).
REFERENCE_FEATURES: tuple[str, ...] = (
    "city",
    "neighbourhood",
    "area_m2",
    "rooms",
    "year_built",
    "property_type",
    "date",
)
_NUMERIC = ("area_m2", "rooms", "year_built")
_DEFAULTS = {"area_m2": 80.0, "rooms": 3.0, "year_built": 1970.0}
_EPOCH = pd.Timestamp("2000-01-01")


def _months(dates: pd.Series) -> np.ndarray:
    d = pd.to_datetime(dates)
    return (d.dt.year * 12 + d.dt.month - 1).to_numpy(dtype=float, na_value=np.nan)


def _text(values: pd.Series) -> np.ndarray:
    return values.astype(object).where(values.notna(), "").astype(str).to_numpy()


class HedonicReference:
    """Hedonic ridge regression on log price (see the module docstring).

    Parameters
    ----------
    alpha : float, default 5.0
        Ridge penalty (in rows) on the fixed effects: a neighbourhood with ``alpha`` rows is
        shrunk half-way towards its city.
    trend : bool, default True
        Add a linear time trend per city (extrapolated after the training window).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"city": ["a"] * 4, "date": pd.to_datetime(["2024-01-01"] * 4),
    ...                       "area_m2": [50.0, 100.0, None, 80.0],
    ...                       "price": [100.0, 200.0, 150.0, 160.0]})
    >>> HedonicReference().fit(frame).predict(frame.head(1)).round(-1).tolist()
    [100.0]
    """

    def __init__(self, alpha: float = 5.0, trend: bool = True) -> None:
        self.alpha = alpha
        self.trend = trend

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, as scikit-learn's ``get_params``."""
        return {"alpha": self.alpha, "trend": self.trend}

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame, sample_weight: np.ndarray | None = None) -> HedonicReference:
        """Learn the regression from a canonical frame's ``price`` column.

        Parameters
        ----------
        frame : pandas.DataFrame
            Canonical frame with ``price``, ``date``, ``city`` and any of ``area_m2``,
            ``rooms``, ``year_built``, ``neighbourhood``, ``property_type``.
        sample_weight : array, optional
            Weight of each row.

        Raises
        ------
        DataError
            If a required column is missing, a price is not positive, or ``alpha`` is
            negative.
        """
        _check_frame(frame, training=True)
        if not (np.isfinite(self.alpha) and self.alpha >= 0):
            raise DataError([f"alpha is {self.alpha!r}; it must be a number >= 0"], "bad setting")
        self._learn_imputation(frame)
        months = _months(frame["date"])
        self.first_month_ = float(np.nanmin(months))
        self.last_month_ = float(np.nanmax(months))
        self.cities_ = tuple(sorted(frame["city"].dropna().astype(str).unique()))
        self.levels_ = {
            "neighbourhood": self._levels(frame, "neighbourhood", with_city=True),
            "property_type": self._levels(frame, "property_type", with_city=False),
            "month": tuple(str(int(m)) for m in np.unique(months[np.isfinite(months)])),
        }
        X, penalised = self._design(frame)
        y = np.log(frame["price"].to_numpy(float))
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        if w.shape != y.shape or not np.isfinite(w).all() or (w < 0).any():
            raise DataError(
                [f"sample_weight must hold {len(y)} finite weights >= 0; got shape {w.shape!r}"],
                header="cannot train the reference model",
            )
        sw = np.sqrt(w)[:, None]
        penalty = np.diag(np.where(penalised, self.alpha, 1e-6))
        gram = (X * sw).T @ (X * sw) + penalty
        self.coef_ = np.linalg.solve(gram, (X * sw).T @ (y * sw[:, 0]))
        self.train_residual_sd_ = float(np.std(y - X @ self.coef_))
        self.trained_until_ = pd.Timestamp(frame["date"].max())
        log.info("fitted the hedonic reference on %d rows, %d terms", len(y), X.shape[1])
        return self

    def _learn_imputation(self, frame: pd.DataFrame) -> None:
        medians: dict[str, dict[str, float]] = {}
        overall: dict[str, float] = {}
        for name in _NUMERIC:
            values = self._numeric(frame, name)
            overall[name] = float(np.nanmedian(values)) if np.isfinite(values).any() else np.nan
            if not np.isfinite(overall[name]):
                overall[name] = _DEFAULTS[name]
            by_city = pd.Series(values).groupby(_text(frame["city"])).median().dropna()
            medians[name] = {str(k): float(v) for k, v in by_city.items()}
        self.city_medians_ = medians
        self.medians_ = overall

    @staticmethod
    def _numeric(frame: pd.DataFrame, name: str) -> np.ndarray:
        if name not in frame:
            return np.full(len(frame), np.nan)
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
        if name == "area_m2":
            values = np.where(values > 0, values, np.nan)
        if name == "year_built":
            values = np.where(values > 1000, values, np.nan)
        return values

    @staticmethod
    def _levels(frame: pd.DataFrame, name: str, *, with_city: bool) -> tuple[str, ...]:
        if name not in frame:
            return ()
        keys = _group_keys(frame, name, with_city)
        return tuple(sorted(set(keys[frame[name].notna().to_numpy()])))

    # ------------------------------------------------------------------ design
    def _impute(self, frame: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
        values = self._numeric(frame, name)
        missing = ~np.isfinite(values)
        if missing.any():
            cities = _text(frame["city"])
            fill = np.array(
                [self.city_medians_[name].get(c, self.medians_[name]) for c in cities[missing]]
            )
            values = values.copy()
            values[missing] = fill
        return values, missing.astype(float)

    def _design(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The design matrix and which of its columns are penalised fixed effects."""
        cols: list[np.ndarray] = [np.ones(len(frame))]
        penalised: list[bool] = [False]
        area, area_missing = self._impute(frame, "area_m2")
        rooms, rooms_missing = self._impute(frame, "rooms")
        year, year_missing = self._impute(frame, "year_built")
        dates = pd.to_datetime(frame["date"])
        age = np.clip((dates.dt.year.to_numpy(float) - year) / 50.0, -0.5, 5.0)
        age = np.nan_to_num(age, nan=1.0)
        for column in (np.log(area / 80.0), rooms - 3.0, age, age**2):
            cols.append(column)
            penalised.append(False)
        for column in (area_missing, rooms_missing, year_missing):
            cols.append(column)
            penalised.append(True)
        cities = _text(frame["city"])
        months = _months(frame["date"])
        years = (np.nan_to_num(months, nan=self.last_month_) - self.last_month_) / 12.0
        for city in self.cities_:
            in_city = (cities == city).astype(float)
            cols.append(in_city)
            penalised.append(True)
            if self.trend:
                cols.append(in_city * years)
                penalised.append(True)
        clamped = np.clip(np.nan_to_num(months, nan=self.last_month_), None, self.last_month_)
        keys = {
            "neighbourhood": _group_keys(frame, "neighbourhood", True)
            if "neighbourhood" in frame
            else None,
            "property_type": _group_keys(frame, "property_type", False)
            if "property_type" in frame
            else None,
            "month": np.array([str(int(m)) for m in clamped]),
        }
        for name, levels in self.levels_.items():
            if keys[name] is None:
                cols.extend(np.zeros(len(frame)) for _ in levels)
            else:
                cols.extend((keys[name] == level).astype(float) for level in levels)
            penalised.extend([True] * len(levels))
        return np.column_stack(cols), np.array(penalised)

    # ------------------------------------------------------------------ predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("this HedonicReference is not fitted yet; call fit(frame) first")

    def predict_log(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted log prices."""
        self._check_fitted()
        _check_frame(frame, training=False)
        if len(frame) == 0:
            return np.empty(0)
        X, _ = self._design(frame)
        return X @ self.coef_

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted prices of a canonical frame (``city`` and ``date`` are required)."""
        return np.exp(self.predict_log(frame))


def _group_keys(frame: pd.DataFrame, name: str, with_city: bool) -> np.ndarray:
    values = _text(frame[name])
    if not with_city:
        return values
    cities = _text(frame["city"])
    return np.char.add(np.char.add(cities.astype(str), "|"), values.astype(str))


def _check_frame(frame: pd.DataFrame, *, training: bool) -> None:
    required = ["city", "date"] + (["price"] if training else [])
    missing = [c for c in required if c not in frame]
    problems = [f"column {c!r} is missing; the reference model needs it" for c in missing]
    if training and not missing:
        if len(frame) == 0:
            problems.append("the training table has no rows")
        prices = pd.to_numeric(frame["price"], errors="coerce")
        bad = prices.isna() | (prices <= 0)
        if bad.any():
            problems.append(
                f"column 'price' has {int(bad.sum())} missing or non-positive values, "
                f"e.g. {frame.loc[bad, 'price'].iloc[0]!r}; prices must be > 0"
            )
        if pd.to_datetime(frame["date"]).isna().all():
            problems.append("column 'date' has no valid dates")
    if problems:
        header = "cannot train the reference model" if training else "cannot value"
        raise DataError(problems, header=header)
