"""Price ranges and confidence: split-conformal intervals on log price, Mondrian per city.

:class:`ConformalIntervals` is calibrated on out-of-time residuals ``log(actual) -
log(predicted)`` of a validation slice the models were not trained on. For every nominal
level it stores the lower and upper residual quantiles (with the split-conformal finite
sample correction) of each *group*, from the most specific group with enough rows:

1. city × segment (e.g. property type), if it has ``min_segment_rows`` rows,
2. city, if it has ``min_city_rows`` rows,
3. all rows (global).

With ``centre=True`` (the default) each city's residuals are first shifted by the city's
own bias relative to the market: its median residual minus the overall median (cities under
``min_city_rows`` are not shifted). The groups keep their own spread and the market-wide
bias, but not a city's particular bias in the validation slice. The engine refits its
models with the validation months, so a city's own bias there does not carry over to the
served model; its spread does, and so does a market-wide drift that both models miss when
they extrapolate in time. On a development cut-off before the Poland benchmark's (train to
2024-02, scored on March 2024), this brought the cities whose 80 % coverage is more than 5
points off nominal from 5 of 14 to 2 of 14 (overall 77.8 % -> 79.0 %); on a single-city
market (King County) it changes nothing.

The interval of a valuation ``p`` is ``[p · exp(q_low), p · exp(q_high)]``: asymmetric when
the residuals are. The *forecast standard deviation* (FSD, as AVM vendors report it) of a
group is half the width of its central 68 % residual range (a standard deviation for
normal errors); ``confidence = 1 - FSD``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> residuals = rng.normal(0, 0.1, 2_000)
>>> cities = np.where(np.arange(2_000) < 1_000, "A", "B")
>>> cal = ConformalIntervals(levels=(0.8,)).fit(residuals, cities)
>>> low, high = cal.bounds(["A"], level=0.8)
>>> bool(low[0] < 0 < high[0])
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from estimo.bundle_folder import BundleFolder
from estimo.errors import DataError, NotFittedError
from estimo.frames import frame_of, object_array, str_values, text_array
from estimo.model.difficulty import PAST_DATA
from estimo.params import json_params

GLOBAL = "(all)"
NO_SEGMENT = "(any)"


def conformal_quantiles(residuals: np.ndarray, level: float) -> tuple[float, float]:
    """Lower and upper split-conformal quantiles of ``residuals`` at nominal ``level``.

    Examples
    --------
    >>> conformal_quantiles(np.arange(-50, 51) / 100, 0.8)
    (-0.41, 0.41)
    """
    r = np.sort(np.asarray(residuals, dtype=float))
    n = len(r)
    alpha = 1.0 - level
    lo_rank = int(np.floor((n + 1) * alpha / 2))
    hi_rank = int(np.ceil((n + 1) * (1 - alpha / 2)))
    lo = r[max(lo_rank, 1) - 1]
    hi = r[min(hi_rank, n) - 1]
    return float(lo), float(hi)


def _fsd(residuals: np.ndarray) -> float:
    q16, q84 = np.quantile(residuals, [0.15866, 0.84134])
    return float((q84 - q16) / 2)


class ConformalIntervals(BaseEstimator):
    """Mondrian split-conformal intervals with a fallback (see the module docstring).

    Parameters
    ----------
    levels : tuple of float
        Nominal coverages, each in (0, 1).
    min_city_rows : int
        Calibration rows a city needs for its own quantiles.
    min_segment_rows : int
        Calibration rows a city × segment cell needs for its own quantiles.
    centre : bool
        Remove each city's bias relative to the market before taking quantiles.
    uncovered_share : float
        Share of future prices the calibration rows cannot stand for, in [0, 1): the price
        outliers the cleaning dropped from training (a range almost never holds
        them). Each level is calibrated at ``level / (1 - uncovered_share)`` (at most
        ``(1 + level) / 2``), so that the nominal share of *all* prices falls in the range.
    """

    def __init__(
        self,
        *,
        levels: tuple[float, ...] = (0.8, 0.9),
        min_city_rows: int = 150,
        min_segment_rows: int = 300,
        centre: bool = True,
        uncovered_share: float = 0.0,
    ) -> None:
        self.levels = levels
        self.min_city_rows = min_city_rows
        self.min_segment_rows = min_segment_rows
        self.centre = centre
        self.uncovered_share = uncovered_share

    def fit(self, residuals: Any, cities: Any, segments: Any | None = None) -> ConformalIntervals:
        """Calibrate on log residuals of a validation slice.

        Raises
        ------
        DataError
            If there are no finite residuals or a level is outside (0, 1).
        """
        for level in self.levels:
            if not 0 < float(level) < 1:
                raise DataError(
                    [f"interval level {level!r} is outside (0, 1); e.g. 0.8 for 80 %"],
                    header="bad interval levels",
                )
        checked_share(self.uncovered_share)
        r = np.asarray(residuals, dtype=float)
        ok = np.isfinite(r)
        if not ok.any():
            raise DataError(["no finite residual to calibrate on"], header="cannot calibrate")
        city = pd.Series(np.asarray(cities, dtype=object)).astype(str).to_numpy()
        seg = (
            np.full(len(r), NO_SEGMENT, dtype=object)
            if segments is None
            else pd.Series(np.asarray(segments, dtype=object)).fillna(NO_SEGMENT).astype(str)
        )
        seg = np.asarray(seg)
        r, city, seg = r[ok], city[ok], seg[ok]
        if self.centre:
            r = r - self._city_bias(r, city)
        rows = [self._row(GLOBAL, NO_SEGMENT, r)]
        for name in np.unique(city):
            in_city = city == name
            if in_city.sum() >= self.min_city_rows:
                rows.append(self._row(name, NO_SEGMENT, r[in_city]))
            if segments is None:
                continue
            for part in np.unique(seg[in_city]):
                cell = in_city & (seg == part)
                if part != NO_SEGMENT and cell.sum() >= self.min_segment_rows:
                    rows.append(self._row(name, part, r[cell]))
        self.table_ = pd.DataFrame(rows)
        self.use_segments_ = segments is not None
        return self

    def _city_bias(self, r: np.ndarray, city: np.ndarray) -> np.ndarray:
        """Each row's city bias relative to the market: city median - overall median (0 in
        cities with fewer than ``min_city_rows`` rows)."""
        frame = pd.DataFrame({"r": r, "city": city})
        grouped = frame.groupby("city")["r"]
        relative = grouped.transform("median").to_numpy(float) - float(np.median(r))
        small = grouped.transform("size").to_numpy() < self.min_city_rows
        return np.where(small, 0.0, relative)

    def _row(self, city: str, segment: str, r: np.ndarray) -> dict[str, Any]:
        row: dict[str, Any] = {"city": city, "segment": segment, "n": len(r), "fsd": _fsd(r)}
        for level in self.levels:
            lo, hi = conformal_quantiles(r, calibrated_level(float(level), self.uncovered_share))
            row[f"low_{_pct(level)}"] = lo
            row[f"high_{_pct(level)}"] = hi
        return row

    def _check_fitted(self) -> None:
        if not hasattr(self, "table_"):
            raise NotFittedError("these ConformalIntervals are not calibrated; call fit first")

    def _lookup(self, cities: Any, segments: Any | None) -> dict[str, np.ndarray]:
        """The calibration row of each (city, segment): its own, else its city's, else the
        global one, as the table's columns (arrays, one value per row) and ``group`` (a
        dictionary lookup per row on arrays kept per table: a single valuation builds no
        frame)."""
        at, groups = self._rows(cities, segments)
        _, columns = self._table_arrays()
        out = {name: values[at] for name, values in columns.items()}
        out["group"] = groups
        return out

    def _rows(self, cities: Any, segments: Any | None) -> tuple[np.ndarray, np.ndarray]:
        """The position in :attr:`table_` of each (city, segment)'s calibration row (see
        :meth:`_lookup`) and its ``group``."""
        self._check_fitted()
        city = str_values(cities).tolist()
        if segments is None or not self.use_segments_:
            seg = [NO_SEGMENT] * len(city)
        else:
            seg = [NO_SEGMENT if pd.isna(s) else str(s) for s in np.asarray(segments, dtype=object)]
        position, columns = self._table_arrays()
        rows, groups = [], []
        for c, s in zip(city, seg, strict=True):
            for key in ((c, s), (c, NO_SEGMENT), (GLOBAL, NO_SEGMENT)):
                if key in position:
                    rows.append(position[key])
                    groups.append(
                        "city×segment"
                        if key[1] != NO_SEGMENT
                        else ("city" if key[0] != GLOBAL else "global")
                    )
                    break
        return np.asarray(rows, dtype=int), np.array(groups, dtype=object)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        return {k: v for k, v in state.items() if k != "_arrays"}  # a cache, rebuilt on use

    def _table_arrays(self) -> tuple[dict[tuple[str, str], int], dict[str, np.ndarray]]:
        """The position of each (city, segment) in :attr:`table_` and its columns as
        arrays (built once per table, not pickled)."""
        cached = getattr(self, "_arrays", None)
        if cached is not None and cached[0] is self.table_:
            return cached[1], cached[2]
        table = self.table_
        position = {
            key: i
            for i, key in enumerate(
                zip(table["city"].astype(str), table["segment"].astype(str), strict=True)
            )
        }
        columns = {name: table[name].to_numpy() for name in table.columns}
        self._arrays = (table, position, columns)
        return position, columns

    def bounds(
        self, cities: Any, segments: Any | None = None, *, level: float = 0.8
    ) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper log offsets to add to each row's log valuation."""
        if _pct(level) not in {_pct(x) for x in self.levels}:
            raise DataError(
                [f"level {level!r} was not calibrated; calibrated levels: {list(self.levels)!r}"],
                header="bad interval level",
            )
        found = self._lookup(cities, segments)
        return (
            found[f"low_{_pct(level)}"].astype(float),
            found[f"high_{_pct(level)}"].astype(float),
        )

    def fsd(self, cities: Any, segments: Any | None = None) -> np.ndarray:
        """Forecast standard deviation (log scale, ≈ relative) of each row's valuation."""
        return self._lookup(cities, segments)["fsd"].astype(float)

    def groups(self, cities: Any, segments: Any | None = None) -> np.ndarray:
        """Which calibration group served each row: 'city×segment', 'city' or 'global'."""
        return self._lookup(cities, segments)["group"]

    def to_bundle(self, folder: BundleFolder) -> dict[str, Any]:
        """Save the calibration table (``calibration.parquet``) into ``folder``; returns the
        facts :meth:`from_bundle` reads."""
        self._check_fitted()
        folder.write_parquet("calibration.parquet", self.table_)
        return {"params": json_params(self), "use_segments": bool(self.use_segments_)}

    @classmethod
    def from_bundle(cls, folder: BundleFolder, meta: dict[str, Any]) -> ConformalIntervals:
        """Calibrated intervals from :meth:`to_bundle`'s folder and facts."""
        table = folder.read_parquet("calibration.parquet")
        return cls.from_table(table, meta["params"], bool(meta["use_segments"]))

    @classmethod
    def from_table(
        cls, table: pd.DataFrame, params: dict[str, Any], use_segments: bool
    ) -> ConformalIntervals:
        """Rebuild calibrated intervals from :attr:`table_` and :meth:`get_params`."""
        params = {**params, "levels": tuple(params["levels"])}
        out = cls(**params)
        out.table_ = table.reset_index(drop=True)
        out.use_segments_ = use_segments
        return out


def calibrated_level(level: float, uncovered_share: float) -> float:
    """The coverage to calibrate at on rows without the ``uncovered_share`` of prices that
    no range holds, for ``level`` of all prices: ``level / (1 - share)``, at most
    ``(1 + level) / 2`` (a level never becomes 1).

    Examples
    --------
    >>> calibrated_level(0.8, 0.0), round(calibrated_level(0.8, 0.04), 4)
    (0.8, 0.8333)
    >>> calibrated_level(0.9, 0.3)
    0.95
    """
    return min(level / (1.0 - uncovered_share), (1.0 + level) / 2)


def checked_share(
    share: Any, name: str = "uncovered_share", header: str = "bad interval settings"
) -> float:
    """``share`` as a float in [0, 1), or a DataError naming ``name``, the value and what
    was expected (also for text, None or NaN).

    Examples
    --------
    >>> checked_share(0.02)
    0.02
    """
    try:
        value = float(share)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value < 1.0:
        raise DataError(
            [f"{name} is {share!r}; expected a share in [0, 1), e.g. 0.02 for 2 %"],
            header=header,
        )
    return value


def _pct(level: float) -> str:
    return f"{round(float(level) * 100):d}"


# ---------------------------------------------------------------------- locally adaptive
CONFIDENCE_HIGH_PE10 = 0.75
"""A valuation is of *high* confidence when the calibration predicts at least this share of
valuations like it within 10 % of the price (the PE10 AVM lenders ask of "high")."""
CONFIDENCE_LOW_PE10 = 0.50
"""Below this predicted share within 10 %, the confidence is *low*."""
_GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)
_FSD_P = 0.68  # two valuations out of three


def _abs_column(p: float) -> str:
    return f"abs_{round(p * 100):02d}"


class _ScoreIntervals(ConformalIntervals):
    """Conformal quantiles of normalised scores, also keeping the quantiles of ``|score|``
    on a 1 %-grid (the predicted share of valuations within any distance)."""

    def _grid(self) -> np.ndarray:
        """The ``|score|`` quantiles on :data:`_GRID` of every row of :attr:`table_` as
        floats (rows x grid points), built once per table (not pickled)."""
        cached = self.__dict__.get("_grid_cache")
        if cached is not None and cached[0] is self.table_:
            return cached[1]
        _, columns = self._table_arrays()
        grid = np.column_stack([columns[_abs_column(p)].astype(float) for p in _GRID])
        self._grid_cache = (self.table_, grid)
        return grid

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        return {k: v for k, v in state.items() if k != "_grid_cache"}

    def _row(self, city: str, segment: str, r: np.ndarray) -> dict[str, Any]:
        row = super()._row(city, segment, r)
        quantiles = np.quantile(np.abs(r), _GRID)
        row.update({_abs_column(p): float(q) for p, q in zip(_GRID, quantiles, strict=True)})
        return row


class AdaptiveIntervals(BaseEstimator):
    """Locally adaptive (normalised) split-conformal ranges, Mondrian per city.

    A :class:`~estimo.model.difficulty.DifficultyModel` predicts each valuation's error
    scale ``σ(x)`` from its difficulty features; the calibration residuals divided by it,
    ``s = r / σ(x)``, are the conformity scores, whose quantiles are taken per city
    (× segment) as :class:`ConformalIntervals` does (same fallback and city centring). The
    range of a valuation is ``p · exp(σ(x) · [q_low, q_high])``: narrow for an easy home,
    wide for a hard one, with the nominal coverage on average in each group.

    ``σ`` of the calibration rows is *cross-fitted* (each fold's σ from a difficulty model
    fitted on the other folds): a σ fitted on the very residuals it normalises would be too
    small where the residuals are large and under-cover there. The scale is then used as
    ``σ(x)**γ``, with ``γ`` in [0, 1] chosen on those cross-fitted scales
    (:func:`sigma_power`, ``power_``) so that narrow and wide ranges cover alike.

    **Confidence.** The share of calibration scores with ``|s| <= 0.10 / σ(x)`` in the
    row's group is the *predicted PE10*, the chance that the valuation is within 10 % of the
    price. The word is ``high`` from :data:`CONFIDENCE_HIGH_PE10` (75 %), ``low`` under
    :data:`CONFIDENCE_LOW_PE10` (50 %), ``medium`` in between. The FSD is ``σ(x)`` times
    the group's 68 % quantile of ``|s|`` (two valuations out of three land within it).

    **Out of distribution.** A row with flags (see
    :meth:`~estimo.model.difficulty.DifficultyModel.flags`) has ``σ`` multiplied by
    ``ood_widen``, and its confidence goes one level below the word of that widened σ: the
    calibration slice holds almost no such rows, so no quantile can vouch for them. A
    valuation date past the data widens ``σ`` by
    ``sqrt(1 + months past the data beyond calibrated_months / horizon_months)`` instead
    (the index's error grows like a random walk; the calibration residuals already hold
    valuations about a month past their stage's data), and a date more than
    ``stale_months`` past it (flag ``past_data``) lowers the confidence as the other flags
    do. Measured on four markets, out of time: with the ``ood_widen`` factor on stale
    dates as well, a year-long backtest put 91 % of the prices in the 80 % range; counting
    the time from ``stale_months`` instead of ``calibrated_months``, a four-month one put
    76 % (King County).

    Parameters
    ----------
    levels, min_city_rows, min_segment_rows, centre :
        As :class:`ConformalIntervals`.
    folds : int
        Folds of the cross-fitted σ.
    ood_widen : float
        Factor on σ of an out-of-distribution row.
    horizon_months : float
        Months past the data over which the variance of the error doubles.
    calibrated_months : float
        Months past the data that the calibration residuals already span (the validation
        slice is valued about a month after its stage's data): the time term counts the
        months beyond.
    seed : int
        Seed of the folds.
    uncovered_share : float
        As :class:`ConformalIntervals`; the predicted share within 10 % is also scaled by
        ``1 - uncovered_share`` (those prices are never within 10 %).
    """

    def __init__(
        self,
        *,
        levels: tuple[float, ...] = (0.8, 0.9),
        min_city_rows: int = 150,
        min_segment_rows: int = 300,
        centre: bool = True,
        uncovered_share: float = 0.0,
        folds: int = 5,
        ood_widen: float = 1.5,
        horizon_months: float = 12.0,
        calibrated_months: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.levels = levels
        self.min_city_rows = min_city_rows
        self.min_segment_rows = min_segment_rows
        self.centre = centre
        self.uncovered_share = uncovered_share
        self.folds = folds
        self.ood_widen = ood_widen
        self.horizon_months = horizon_months
        self.calibrated_months = calibrated_months
        self.seed = seed

    def fit(
        self,
        residuals: Any,
        features: pd.DataFrame,
        cities: Any,
        segments: Any | None = None,
        difficulty: Any = None,
    ) -> AdaptiveIntervals:
        """Fit the difficulty model and calibrate the normalised scores.

        Parameters
        ----------
        residuals : array-like
            ``log(actual) - log(valuation)`` of the calibration rows.
        features : pandas.DataFrame
            Their difficulty features (:func:`estimo.model.difficulty.model_features`).
        cities, segments : array-like
            Mondrian groups, as :meth:`ConformalIntervals.fit`.
        difficulty : DifficultyModel, optional
            Unfitted difficulty model carrying the training ranges (default: a new one).
        """
        from estimo.model.difficulty import DifficultyModel

        r = np.asarray(residuals, dtype=float)
        base = difficulty if difficulty is not None else DifficultyModel()
        features = features.reset_index(drop=True)
        sigma = np.ones(len(r))
        fold = np.random.default_rng(self.seed).integers(0, max(self.folds, 2), len(r))
        for k in range(max(self.folds, 2)):
            inside = fold == k
            if not inside.any() or inside.all():
                continue
            model = _copy_ranges(base, DifficultyModel(**base.get_params()))
            model.fit(features.loc[~inside], r[~inside])
            sigma[inside] = model.scale(features.loc[inside])
        self.difficulty_ = _copy_ranges(base, DifficultyModel(**base.get_params())).fit(features, r)
        self.power_ = sigma_power(r, sigma, self.levels)
        self.scores_ = _ScoreIntervals(
            levels=tuple(self.levels),
            min_city_rows=self.min_city_rows,
            min_segment_rows=self.min_segment_rows,
            centre=self.centre,
            uncovered_share=self.uncovered_share,
        ).fit(r / sigma**self.power_, cities, segments)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "scores_"):
            raise NotFittedError("these AdaptiveIntervals are not calibrated; call fit first")

    def sigma(
        self, features: pd.DataFrame, flags: list[list[str]] | None = None, months_past: Any = None
    ) -> np.ndarray:
        """Error scale of each row, with the out-of-distribution widening."""
        self._check_fitted()
        sigma = self.difficulty_.scale(features) ** getattr(self, "power_", 1.0)
        if flags is not None:  # a date past the data widens by the time term below only
            odd = np.array([any(flag != PAST_DATA for flag in f) for f in flags], dtype=bool)
            # widened from at least a typical home's scale: an odd home never gets a range
            # narrower than an ordinary one's
            sigma = np.where(odd, np.maximum(sigma, 1.0) * self.ood_widen, sigma)
        sigma = np.minimum(sigma, MAX_SIGMA)
        if months_past is not None:
            beyond = np.clip(np.asarray(months_past, dtype=float) - self.calibrated_months, 0, None)
            sigma = sigma * np.sqrt(1.0 + np.nan_to_num(beyond) / self.horizon_months)
        return sigma

    def predict(
        self,
        features: pd.DataFrame,
        cities: Any,
        segments: Any | None = None,
        flags: list[list[str]] | None = None,
        months_past: Any = None,
    ) -> pd.DataFrame:
        """Per row: ``sigma``, ``low_<pct>``/``high_<pct>`` log offsets for every level,
        ``fsd``, ``pe10`` (predicted share within 10 %), ``confidence`` and ``group``; and
        ``flags`` and ``months_past`` as given, when given."""
        sigma = self.sigma(features, flags, months_past)
        # the calibration rows' columns read at their positions (not every column)
        at, groups = self.scores_._rows(cities, segments)
        _, columns = self.scores_._table_arrays()
        out: dict[str, Any] = {"sigma": sigma}
        for level in self.levels:
            pct = _pct(level)
            out[f"low_{pct}"] = sigma * columns[f"low_{pct}"][at].astype(float)
            out[f"high_{pct}"] = sigma * columns[f"high_{pct}"][at].astype(float)
        grid = self.scores_._grid()[at]
        out["fsd"] = sigma * columns[_abs_column(_FSD_P)][at].astype(float)
        target = 0.10 / sigma
        pe10 = np.array(
            [
                float(np.interp(t, np.maximum.accumulate(row), _GRID, left=0.0, right=1.0))
                for t, row in zip(target, grid, strict=True)
            ],
            dtype=float,
        )
        pe10 = pe10 * (1.0 - float(self.uncovered_share))
        out["pe10"] = pe10
        words = np.where(
            pe10 >= CONFIDENCE_HIGH_PE10,
            0,
            np.where(pe10 >= CONFIDENCE_LOW_PE10, 1, 2),
        )
        if flags is not None:
            words = np.minimum(words + np.array([bool(f) for f in flags], dtype=int), 2)
        out["confidence"] = text_array(np.array(["high", "medium", "low"], dtype=object)[words])
        out["group"] = text_array(groups)
        index = pd.RangeIndex(len(sigma))
        if flags is not None:
            out["flags"] = object_array(flags)
        if months_past is not None:
            out["months_past"] = np.broadcast_to(np.asarray(months_past, dtype=float), len(sigma))
        # pd.DataFrame(out), without its per-column checks; the flags stay Python lists
        return frame_of(out, index, object_as_is=True)

    def to_bundle(self, folder: BundleFolder) -> dict[str, Any]:
        """Save the score table (``adaptive_calibration.parquet``); returns the facts
        :meth:`from_bundle` reads."""
        self._check_fitted()
        folder.write_parquet("adaptive_calibration.parquet", self.scores_.table_)
        return {
            "params": json_params(self),
            "use_segments": bool(self.scores_.use_segments_),
            "score_params": json_params(self.scores_),
            "difficulty": self.difficulty_.to_dict(),
            "power": float(self.power_),
        }

    @classmethod
    def from_bundle(cls, folder: BundleFolder, meta: dict[str, Any]) -> AdaptiveIntervals:
        """Calibrated intervals from :meth:`to_bundle`'s folder and facts."""
        from estimo.model.difficulty import DifficultyModel

        params = {**meta["params"], "levels": tuple(meta["params"]["levels"])}
        out = cls(**params)
        table = folder.read_parquet("adaptive_calibration.parquet")
        score_params = {**meta["score_params"], "levels": tuple(meta["score_params"]["levels"])}
        out.scores_ = _ScoreIntervals(**score_params)
        out.scores_.table_ = table.reset_index(drop=True)
        out.scores_.use_segments_ = bool(meta["use_segments"])
        out.difficulty_ = DifficultyModel.from_dict(meta["difficulty"])
        out.power_ = float(meta.get("power", 1.0))  # bundles before the power: σ as fitted
        return out


#: Largest error scale, in typical homes' scales: beyond it a range says nothing more
#: (a quadratic's tail once gave an 800,000 home a range of 14,600 to 222 million)
MAX_SIGMA = 6.0

#: exponents tried on the difficulty scale (1: σ as fitted; 0: one range width per group)
SIGMA_POWERS = np.round(np.arange(0.0, 1.01, 0.1), 1)


def sigma_power(residuals: np.ndarray, sigma: np.ndarray, levels: Any, bins: int = 5) -> float:
    """The exponent ``γ`` on the cross-fitted scale ``σ`` whose ranges cover most evenly.

    A difficulty model fitted on a few hundred residuals tends to spread ``σ`` too far: the
    narrowest ranges then under-cover and the widest over-cover, although the coverage is
    right on average. For each ``γ`` in :data:`SIGMA_POWERS` the scores ``r / σ**γ`` are
    calibrated (one two-sided quantile per level) and their coverage is read in ``bins``
    quantile bins of ``σ``; the ``γ`` with the smallest squared gap to the nominal levels is
    kept (ties: the larger ``γ``). The scale is cross-fitted, so the choice is made on
    residuals the difficulty model did not see.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sigma = np.exp(rng.normal(0, 0.5, 2000))
    >>> r = rng.normal(0, 1, 2000) * sigma**0.5  # the true spread grows like σ**0.5
    >>> float(sigma_power(r, sigma, (0.8, 0.9)))
    0.5
    """
    r = np.asarray(residuals, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    ok = np.isfinite(r) & np.isfinite(sigma) & (sigma > 0)
    r, sigma = r[ok], sigma[ok]
    if len(r) < 20 * bins:
        return 1.0
    edges = np.quantile(sigma, np.linspace(0, 1, bins + 1)[1:-1])
    which = np.searchsorted(edges, sigma, side="right")
    best, best_gap = 1.0, np.inf
    for power in SIGMA_POWERS[::-1]:
        score = np.abs(r) / sigma**power
        gap = 0.0
        for level in levels:
            inside = score <= np.quantile(score, level)
            for b in range(bins):
                part = inside[which == b]
                if len(part):  # tied scales can leave a bin empty
                    gap += (part.mean() - level) ** 2
        if gap < best_gap - 1e-12:
            best, best_gap = float(power), gap
    return best


def _copy_ranges(source: Any, target: Any) -> Any:
    if hasattr(source, "ranges_"):
        target.ranges_ = dict(source.ranges_)
    return target
