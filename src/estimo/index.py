"""House price index per city and time adjustment to a valuation date.

:class:`PriceIndex` learns a monthly log price index per city (and one pooled *global*
index for cities it has not seen) with a smoothed hedonic time-dummy regression::

    log(price / m2) = intercept + location cell + b * log(area) + sum_j step_j * [month >= j]

The monthly *increments* ``step_j`` are ridge-penalised (a random-walk prior), so a month
with few rows borrows strength from its neighbours instead of jumping; location cells (a
grid of about ``cell_km`` km, one set per city) and the area term control for the mix of
properties listed each month. Only each property's first appearance is used (re-listed
asking prices are sticky and would flatten the index).

**Extrapolation rule** (valuation dates past the data): the index carries forward the
average monthly trend of the last ``trend_months`` months, damped geometrically by
``damping`` per month (``damping=0`` means flat after the last month), and never more than
``max_extrapolation_months`` months of trend. Dates before the first month use the first
month's level. A date maps to its calendar month.

**Trend check** (``trend_check``): the carried trend is a forecast, and in many markets a
worse one than no change at all (a seasonal upswing in spring is not next year's trend; a
small city's index wiggles). For each city the rule is tried on the index's own history:
from every month with at least ``trend_months`` months behind it, the level 1 to 6 months
later is forecast by the carried trend and by the last level held flat; the trend is kept
for valuations past the data only where its mean absolute forecast error is lower
(``carry_``). The check reads only the training window.

Examples
--------
>>> from estimo.synth import generate_market
>>> market = generate_market(3_000, seed=1, faults=False)
>>> index = PriceIndex().fit(market.frame)
>>> factor = index.factor(["Milano"], ["2022-01-15"], pd.Timestamp("2023-12-01"))
>>> bool(factor[0] > 1.0)
True
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from estimo.bundle_folder import BundleFolder
from estimo.errors import DataError, NotFittedError
from estimo.frames import str_values
from estimo.hedonic import (
    FIRST_SMOOTHING,
    MAX_ROWS,
    HedonicDesign,
    characteristic_groups,
    characteristics,
    smoothed_curve,
    smoothing_by_left_out_months,
)
from estimo.params import json_params

log = logging.getLogger(__name__)

GLOBAL = "(global)"
_KM_PER_DEGREE = 111.2


def month_number(dates: Any) -> np.ndarray:
    """Months since year 0 of each date (``NaT`` becomes ``nan``).

    Examples
    --------
    >>> month_number(pd.to_datetime(["2024-01-31", "2024-02-01"])).tolist()
    [24288.0, 24289.0]
    """
    values = np.asarray(dates).ravel()
    if values.dtype.kind != "M":  # strings, Timestamps (maybe with a time zone), None
        parsed = pd.to_datetime(pd.Series(values.astype(object)))
        if parsed.dt.tz is not None:
            parsed = parsed.dt.tz_localize(None)  # the local calendar month
        values = parsed.to_numpy()  # its own unit: years past 2262 do not fit nanoseconds
    out = values.astype("datetime64[M]").astype(np.int64).astype(float) + 1970 * 12
    out[np.isnat(values)] = np.nan
    return out


class PriceIndex(BaseEstimator):
    """Monthly price index per city with a global fallback (see the module docstring).

    Parameters
    ----------
    cell_km : float
        Side of the location grid cells used as hedonic controls.
    controls : {"characteristics", "location"}
        What else the regression holds fixed besides the location cells and log area:
        every characteristic column of the data (:func:`estimo.hedonic.characteristics`:
        a month in which better homes sold is not a price rise), or nothing more.
    smoothing : float or "auto"
        Ridge penalty on the monthly increments, in rows: larger is smoother. ``"auto"``
        chooses per city the order (flat level or straight line) and the penalty of
        :data:`estimo.hedonic.SMOOTHING_GRID` that best foretell each month left out
        (:func:`estimo.hedonic.smoothing_by_left_out_months`): a month's wiggle that its
        neighbours do not foretell is smoothed away, a trend they share is kept.
    trend_months : int
        Months of recent trend carried forward past the data.
    damping : float
        Geometric damping of the carried trend per month, in [0, 1].
    max_extrapolation_months : int
        Months past the data after which the index stays flat.
    min_rows : int
        Cities with fewer first appearances use the global index.
    trend_check : bool
        Carry the trend past the data only in cities where it forecast the index's own past
        better than a flat level (see the module docstring).
    """

    def __init__(
        self,
        *,
        cell_km: float = 1.0,
        controls: str = "characteristics",
        smoothing: float | str = 50.0,
        trend_months: int = 3,
        damping: float = 0.8,
        max_extrapolation_months: int = 12,
        min_rows: int = 200,
        trend_check: bool = True,
    ) -> None:
        self.cell_km = cell_km
        self.controls = controls
        self.smoothing = smoothing
        self.trend_months = trend_months
        self.damping = damping
        self.max_extrapolation_months = max_extrapolation_months
        self.min_rows = min_rows
        self.trend_check = trend_check

    # ------------------------------------------------------------------ fitting
    def fit(self, frame: pd.DataFrame) -> PriceIndex:
        """Learn the index from a canonical frame (``price``, ``date``, ``city``).

        Raises
        ------
        DataError
            If a required column is missing or no row has a usable price and date.
        """
        if self.controls not in ("characteristics", "location"):
            raise ValueError(
                f"controls is {self.controls!r}; expected 'characteristics' or 'location'"
            )
        rows, source = _index_rows(frame, self.cell_km)
        groups = characteristic_groups(source) if self.controls == "characteristics" else None
        first, last = rows["month"].min(), rows["month"].max()
        self.first_month_ = int(first)
        self.last_month_ = int(last)
        months = np.arange(self.first_month_, self.last_month_ + 1)
        tables: dict[str, np.ndarray] = {}
        counts: dict[str, int] = {}
        chosen: dict[str, tuple[int, float]] = {}
        tables[GLOBAL], chosen[GLOBAL] = self._fit_one(rows, months, groups)
        counts[GLOBAL] = len(rows)
        for city, group in rows.groupby("city", sort=True):
            counts[str(city)] = len(group)
            if len(group) >= self.min_rows:
                tables[str(city)], chosen[str(city)] = self._fit_one(group, months, groups)
        self.months_ = months
        self.log_index_ = tables
        self.n_rows_ = counts
        self.smoothing_ = chosen
        self.carry_ = {
            name: (not self.trend_check) or self._trend_forecasts_better(curve)
            for name, curve in tables.items()
        }
        log.info(
            "price index: %d months, %d cities with their own index", len(months), len(tables) - 1
        )
        return self

    def _fit_one(
        self, rows: pd.DataFrame, months: np.ndarray, groups: dict[str, np.ndarray] | None
    ) -> tuple[np.ndarray, tuple[int, float]]:
        """The city's curve (0 at the last month) and its smoothing (order, penalty)."""
        if len(rows) > MAX_ROWS:  # a fixed random sample tells the months' levels as well
            keep = np.sort(np.random.default_rng(0).choice(len(rows), MAX_ROWS, replace=False))
            rows = rows.iloc[keep].reset_index(drop=True)
        controls = None
        if groups is not None:
            log_price = rows["y"].to_numpy() + np.nan_to_num(rows["log_area"].to_numpy())
            controls, _ = characteristics(
                groups, log_price, rows["month"].to_numpy(), rows["source"].to_numpy()
            )
        design = HedonicDesign(rows, months, controls)
        if self.smoothing != "auto":
            return design.curve(float(self.smoothing)), (1, float(self.smoothing))
        counts, means = design.month_means(design.solve(FIRST_SMOOTHING))
        order, penalty = smoothing_by_left_out_months(counts, means)
        return smoothed_curve(counts, means, order, penalty), (order, penalty)

    def _trend_forecasts_better(self, curve: np.ndarray) -> bool:
        """Whether the carried trend forecast ``curve``'s own levels 1-6 months ahead better
        (mean absolute error) than the last level held flat; True when the curve is too
        short to tell."""
        trend_errors, flat_errors = [], []
        for origin in range(max(self.trend_months, 1), len(curve) - 1):
            past = curve[: origin + 1]
            ahead = np.arange(1, min(6, len(curve) - 1 - origin) + 1, dtype=float)
            truth = curve[origin + 1 : origin + 1 + len(ahead)]
            trend_errors.append(np.abs(past[-1] + self._extrapolated_trend(past, ahead) - truth))
            flat_errors.append(np.abs(past[-1] - truth))
        if not trend_errors:
            return True
        return float(np.mean(np.concatenate(trend_errors))) < float(
            np.mean(np.concatenate(flat_errors))
        )

    def carries_trend(self, city: str) -> bool:
        """Whether valuations in ``city`` past the data carry its recent trend."""
        self._check_fitted()
        name = city if city in self.log_index_ else GLOBAL
        return bool(getattr(self, "carry_", {}).get(name, True))

    def smoothing_of(self, city: str) -> tuple[int, float]:
        """The smoothing ``city``'s curve was fitted with: the order of the differences
        penalised (1: towards a flat level, 2: towards a straight line) and the penalty (the
        global curve's for a city without its own; ``(1, nan)`` for a curve saved before
        the smoothing was kept with it and fitted with ``"auto"``)."""
        self._check_fitted()
        name = city if city in self.log_index_ else GLOBAL
        chosen = getattr(self, "smoothing_", {})
        if name in chosen:
            order, penalty = chosen[name]
            return int(order), float(penalty)
        return 1, float(self.smoothing) if self.smoothing != "auto" else float("nan")

    # ------------------------------------------------------------------ using
    def _check_fitted(self) -> None:
        if not hasattr(self, "log_index_"):
            raise NotFittedError("this PriceIndex is not fitted yet; call fit(frame) first")

    @property
    def cities_(self) -> tuple[str, ...]:
        """Cities with their own index."""
        self._check_fitted()
        return tuple(c for c in self.log_index_ if c != GLOBAL)

    @property
    def last_date_(self) -> pd.Timestamp:
        """First day of the last month of the data."""
        self._check_fitted()
        return _month_start(self.last_month_)

    def _curve(self, city: str) -> np.ndarray:
        return self.log_index_.get(city, self.log_index_[GLOBAL])

    def log_level(self, city: Any, date: Any) -> np.ndarray:
        """Log index level (0 at the last month of the data) of each (city, date).

        Parameters
        ----------
        city : array-like of str
            Cities; unknown ones use the global index.
        date : array-like of dates, or one date
            Dates (a scalar applies to every row).
        """
        self._check_fitted()
        cities = str_values(city)
        month = _broadcast_months(date, len(cities))
        out = np.zeros(len(cities))
        for name in np.unique(cities):
            rows = cities == name
            out[rows] = self._level_at(
                self._curve(name), month[rows], carry=self.carries_trend(name)
            )
        return out

    def _level_at(self, curve: np.ndarray, month: np.ndarray, carry: bool = True) -> np.ndarray:
        pos = month - self.first_month_
        last = len(curve) - 1
        # np.nan_to_num without its cost on a few values (an infinite month, never given,
        # would land on the same level and trend: the clip bounds both)
        inside = np.clip(np.where(np.isnan(pos), last, pos), 0, last).astype(int)
        level = curve[inside]
        ahead = pos - last
        ahead = np.where(np.isnan(ahead), 0.0, ahead)
        if carry and (ahead > 0).any():
            level = level + self._extrapolated_trend(curve, ahead)
        return level

    def _extrapolated_trend(self, curve: np.ndarray, ahead: np.ndarray) -> np.ndarray:
        k = min(self.trend_months, len(curve) - 1)
        if k <= 0:
            return np.zeros_like(ahead)
        slope = (curve[-1] - curve[-1 - k]) / k
        h = np.clip(np.floor(ahead), 0, self.max_extrapolation_months)
        d = float(self.damping)
        if d >= 1.0:
            return slope * h
        cumulative = d * (1 - d**h) / (1 - d) if d > 0 else np.minimum(h, 0)
        return slope * cumulative

    def log_factor(self, city: Any, from_date: Any, to_date: Any) -> np.ndarray:
        """Log of :meth:`factor`.

        Examples
        --------
        >>> from estimo.synth import generate_market
        >>> index = PriceIndex().fit(generate_market(2_000, seed=4, faults=False).frame)
        >>> float(index.log_factor(["Roma"], ["2023-01-01"], pd.Timestamp("2023-01-20"))[0])
        0.0
        """
        return self.log_level(city, to_date) - self.log_level(city, from_date)

    def factor(self, city: Any, from_date: Any, to_date: Any) -> np.ndarray:
        """Factor bringing a price at ``from_date`` to ``to_date`` in each city.

        Parameters
        ----------
        city : array-like of str
            Cities; one not seen in training uses the global index.
        from_date : array-like of dates
            Date of each price.
        to_date : Timestamp or array-like of dates
            Valuation date(s).

        Returns
        -------
        numpy.ndarray
            Multiplicative factors, one per row.
        """
        return np.exp(self.log_factor(city, from_date, to_date))

    def table(self) -> pd.DataFrame:
        """The index as a long table: ``city``, ``month``, ``log_index``, ``index``,
        ``n_rows``, ``carries_trend`` (whether valuations past the data carry the trend),
        ``smoothing_order`` and ``smoothing`` (see :meth:`smoothing_of`).

        The index is 1.0 at the last month of the data.
        """
        self._check_fitted()
        months = [_month_start(m) for m in self.months_]
        parts = [
            pd.DataFrame(
                {
                    "city": name,
                    "month": months,
                    "log_index": curve,
                    "index": np.exp(curve),
                    "n_rows": self.n_rows_.get(name, 0),
                    "carries_trend": self.carries_trend(name),
                    "smoothing_order": self.smoothing_of(name)[0],
                    "smoothing": self.smoothing_of(name)[1],
                }
            )
            for name, curve in self.log_index_.items()
        ]
        return pd.concat(parts, ignore_index=True)

    def to_bundle(self, folder: BundleFolder) -> dict[str, Any]:
        """Save the index table into ``folder``; returns the facts :meth:`from_bundle` reads."""
        folder.write_parquet("index.parquet", self.table())
        return {"params": json_params(self)}

    @classmethod
    def from_bundle(cls, folder: BundleFolder, meta: dict[str, Any]) -> PriceIndex:
        """A fitted index from :meth:`to_bundle`'s folder and facts."""
        return cls.from_table(folder.read_parquet("index.parquet"), meta["params"])

    @classmethod
    def from_table(cls, table: pd.DataFrame, params: dict[str, Any]) -> PriceIndex:
        """Rebuild a fitted index from :meth:`table` and :meth:`get_params` output."""
        index = cls(**params)
        months = month_number(table["month"].drop_duplicates().sort_values())
        index.first_month_ = int(months[0])
        index.last_month_ = int(months[-1])
        index.months_ = np.arange(index.first_month_, index.last_month_ + 1)
        index.log_index_ = {}
        index.n_rows_ = {}
        for name, group in table.groupby("city", sort=False):
            group = group.sort_values("month")
            index.log_index_[str(name)] = group["log_index"].to_numpy(float)
            index.n_rows_[str(name)] = int(group["n_rows"].iloc[0])
        index.smoothing_ = {  # tables saved before the choice: the fixed smoothing
            str(name): (int(group["smoothing_order"].iloc[0]), float(group["smoothing"].iloc[0]))
            for name, group in table.groupby("city", sort=False)
            if "smoothing" in group and "smoothing_order" in group
        }
        index.carry_ = {  # tables saved before the trend check: every city carried it
            str(name): bool(group["carries_trend"].iloc[0]) if "carries_trend" in group else True
            for name, group in table.groupby("city", sort=False)
        }
        return index


def _index_rows(frame: pd.DataFrame, cell_km: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows the index is fitted on (first appearance of each property with a price and
    a date: ``city``, ``month``, ``y``, ``log_area``, ``cell`` and ``source``, the row's
    position in the second frame returned, ``frame`` without re-listings)."""
    missing = [c for c in ("price", "date", "city") if c not in frame]
    if missing:
        raise DataError(
            [
                f"column {c!r} is missing; the price index needs price, date and city"
                for c in missing
            ],
            header="cannot fit the price index",
        )
    data = frame
    if "id" in frame:
        data = frame.sort_values("date", kind="stable").drop_duplicates("id", keep="first")
    price = pd.to_numeric(data["price"], errors="coerce").to_numpy(float)
    month = month_number(data["date"])
    area = (
        pd.to_numeric(data["area_m2"], errors="coerce").to_numpy(float)
        if "area_m2" in data
        else np.full(len(data), np.nan)
    )
    area = np.where(area > 0, area, np.nan)
    y = np.log(np.where(price > 0, price, np.nan)) - np.nan_to_num(np.log(area), nan=0.0)
    ok = np.isfinite(y) & np.isfinite(month)
    if not ok.any():
        raise DataError(
            ["no row has a positive price and a date"], header="cannot fit the price index"
        )
    city = data["city"].astype(str).to_numpy()
    rows = pd.DataFrame(
        {
            "city": city,
            "month": month,
            "y": y,
            "log_area": np.log(area),
            "cell": city,
            "source": np.arange(len(data)),  # position in the deduplicated frame
        }
    ).loc[ok]
    if "lat" in data and "lon" in data:
        lat = pd.to_numeric(data["lat"], errors="coerce").to_numpy(float)[ok]
        lon = pd.to_numeric(data["lon"], errors="coerce").to_numpy(float)[ok]
        step = cell_km / _KM_PER_DEGREE
        gy = np.floor(lat / step)
        gx = np.floor(lon * np.cos(np.radians(np.nan_to_num(lat))) / step)
        known = np.isfinite(gx) & np.isfinite(gy)
        cell = np.where(
            known,
            rows["city"].to_numpy()
            + ":"
            + np.nan_to_num(gx).astype(int).astype(str)
            + ":"
            + np.nan_to_num(gy).astype(int).astype(str),
            rows["city"].to_numpy(),
        )
        rows["cell"] = cell
    return rows.reset_index(drop=True), data


def _month_start(month: float) -> pd.Timestamp:
    m = int(month)
    return pd.Timestamp(year=m // 12, month=m % 12 + 1, day=1)


def _broadcast_months(date: Any, n: int) -> np.ndarray:
    if isinstance(date, pd.Timestamp):  # its own calendar month, as month_number reads it
        return np.full(n, float(date.year * 12 + date.month - 1))
    if isinstance(date, str) or np.ndim(date) == 0:
        return np.repeat(month_number([date]), n)
    months = month_number(date)
    if len(months) != n:
        raise DataError(
            [f"got {len(months)} dates for {n} cities; give one date or one per row"],
            header="cannot apply the price index",
        )
    return months


def data_period_months(dates: Any) -> int:
    """How many months apart the data's dates usually are: 1 for monthly or irregular data,
    3 for quarterly snapshots, 12 for yearly ones, 0 when there is a single date (no time
    at all: a cross-section).

    The period is the median gap between consecutive distinct months, so a few missing
    months do not change it.

    Examples
    --------
    >>> data_period_months(pd.to_datetime(["2023-03-01", "2023-06-01", "2023-09-01",
    ...                                    "2023-12-01", "2023-12-01"]))
    3
    >>> data_period_months(pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-11"]))
    1
    >>> data_period_months(pd.to_datetime(["2024-05-01"] * 3))
    0
    """
    months = np.unique(month_number(dates))
    months = months[np.isfinite(months)]
    if len(months) < 2:
        return 0
    return max(1, int(round(float(np.median(np.diff(months))))))
