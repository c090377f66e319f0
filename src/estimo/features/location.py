"""Location features learned from training rows only.

:class:`LocationFeatures` turns coordinates into what a valuer reads from a map: the
time-adjusted log price per m² of the nearest training properties (a k-nearest-neighbour
*spatial lag*, plain, distance-weighted and from the very nearest ones), the same for the
same building (neighbours within ``building_m`` metres), how far the k-th neighbour is
(density), the distance to the city centre (learned as the centre of the dearest
training properties of each city) and a smoothed neighbourhood encoding.

*Map axes* (``loc_axis_1`` ... ``loc_axis_k``, ``axes`` of them) are the position read along
``k`` directions evenly spread between east and north (the coordinates projected on a plane
at the training rows' median latitude, then rotated): trees split along one feature at a
time, so with latitude and longitude alone a diagonal river, coast or boundary between
dearer and cheaper areas costs many steps; a rotated axis makes it one split. Six axes
(about every 26°) lowered the MdAPE on every shared market with coordinates, none tuned
alone (``benchmarks/RESULTS.md``, "Every market").

*Twins* are the same flat listed before under another id (portals re-post flats under new
ids) or an identical flat nearby (same development, same layout): training rows within
``twin_m`` metres, with ``|log area difference| < twin_log_area`` and the same number of
rooms and floor where both rows know them (with ``twin_past_only``, listed strictly before
the row; by default a training row's twins may also be later listings, which scored better
on the validation slice; new rows only ever see training rows, all of them earlier in a
backtest). The defaults (100 m, 1 % area) were chosen on the Poland validation slice (the
two months before the benchmark's cut-off; blend MdAPE / PE10): 15 m and 2 % 6.52 % /
67.2 %, 50 m and 2 % 6.43 / 67.4, 100 m and 2 % 6.35 / 67.1, **100 m and 1 % 6.27 / 67.6**,
100 m and 0.5 % 6.31 / 67.5, 200 m and 1 % 6.25 / 67.8; on King County (houses, 1-4 % of
rows have a twin) 100 m and 1 % scored 8.20 % / 57.6 % against 8.20 / 58.3 with 15 m and 2 %.
``loc_twin`` is the time-adjusted log price per
m² of the most recent twin (mean over twins of that date), ``loc_twin_mean`` the mean over
all twins, ``loc_twin_n`` their number (0 when none), ``loc_twin_diff`` = ``loc_twin``
minus ``loc_knn_weighted`` and ``loc_twin_days`` the days from the most recent twin to the
row; missing when there is no twin. The model learns how much to trust them.

On training rows (:meth:`LocationFeatures.fit_transform`) every statistic is
*leave-one-out*: a row never sees its own price, nor the price of another row of the same
property ``id``. New rows (:meth:`LocationFeatures.transform`) see training rows only, so
no test price can influence any feature.

Examples
--------
>>> import numpy as np, pandas as pd
>>> frame = pd.DataFrame({"id": list("abcd"), "city": ["X"] * 4,
...     "lat": [50.0, 50.001, 50.002, 50.1], "lon": [19.0, 19.0, 19.001, 19.1]})
>>> values = np.log([10_000.0, 11_000.0, 12_000.0, 6_000.0])
>>> feats = LocationFeatures(k=2, k_near=1).fit_transform(frame, values)
>>> bool(feats["loc_knn"].iloc[0] > np.log(10_000))
True
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.neighbors import KDTree

from estimo.bundle_folder import BundleFolder
from estimo.errors import DataError, NotFittedError
from estimo.features.tree_arrays import restore_tree, tree_table
from estimo.frames import column_array, column_floats, frame_of, str_values, with_replaced
from estimo.params import json_params

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0
FEATURE_NAMES: tuple[str, ...] = (
    "loc_knn",
    "loc_knn_weighted",
    "loc_near",
    "loc_knn_std",
    "loc_kth_km",
    "loc_building",
    "loc_building_n",
    "loc_centre_km",
    "loc_neighbourhood",
)
AXIS_PREFIX = "loc_axis_"
"""Name of the map axes' columns: ``loc_axis_1`` ... (see the module docstring)."""
TWIN_FEATURE_NAMES: tuple[str, ...] = (
    "loc_twin",
    "loc_twin_mean",
    "loc_twin_n",
    "loc_twin_diff",
    "loc_twin_days",
)
TREE_FILE = "location_tree.parquet"
"""The search tree's arrays in a bundle (:mod:`estimo.features.tree_arrays`)."""
TWIN_KEY_COLUMNS: tuple[str, ...] = ("twin_log_area", "twin_rooms", "twin_floor", "twin_day")


def to_xyz(lat: Any, lon: Any) -> np.ndarray:
    """Coordinates on a sphere of Earth's radius in km (chord distance ≈ great-circle).

    Examples
    --------
    >>> xyz = to_xyz([0.0, 0.0], [0.0, 1.0])
    >>> round(float(np.linalg.norm(xyz[0] - xyz[1])), 1)
    111.2
    """
    la = np.radians(np.asarray(lat, dtype=float))
    lo = np.radians(np.asarray(lon, dtype=float))
    return EARTH_RADIUS_KM * np.column_stack(
        [np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]
    )


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column as floats, all ``nan`` when the frame does not have it."""
    if name not in frame:
        return np.full(len(frame), np.nan)
    return column_floats(frame, name)


def _days(frame: pd.DataFrame) -> np.ndarray:
    """Listing date of each row in days since 1970, ``nan`` when unknown."""
    if "date" not in frame:
        return np.full(len(frame), np.nan)
    days = _whole_second_days(column_array(frame, "date"))
    if days is not None:
        return days
    dates = pd.to_datetime(frame["date"], errors="coerce")
    days = (dates - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy(float) / 86_400.0
    return np.where(dates.isna().to_numpy(), np.nan, days)


def _whole_second_days(values: Any) -> np.ndarray | None:
    """:func:`_days` of ``datetime64[ns]`` dates at whole seconds (NaT: ``nan``) from their
    integers, by pandas' own arithmetic (``Timedelta.total_seconds``: whole seconds plus
    the remainder); None for other dates (to be parsed)."""
    if getattr(values, "dtype", None) != np.dtype("datetime64[ns]"):
        return None
    stamps = np.asarray(values)
    missing = np.isnat(stamps)
    seconds, residual = np.divmod(stamps.view(np.int64), 10**9)
    if stamps.ndim != 1 or (residual[~missing] != 0).any():
        return None  # below a second: pandas' rounding guards apply
    days = (seconds + residual / 10**9) / 86_400.0
    return np.where(missing, np.nan, days)


def _twin_keys(frame: pd.DataFrame) -> np.ndarray:
    """Columns compared between twins: log area, rooms, floor and listing day."""
    area = _column(frame, "area_m2")
    with np.errstate(invalid="ignore", divide="ignore"):
        log_area = np.where(area > 0, np.log(np.where(area > 0, area, 1.0)), np.nan)
    return np.column_stack(
        [log_area, _column(frame, "rooms"), _column(frame, "floor"), _days(frame)]
    )


def located_lat_lon(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of each row, missing where the row has no usable coordinates
    (none given, out of range, or the (0, 0) of a failed geocoding)."""
    n = len(frame)
    if "lat" not in frame or "lon" not in frame:
        return np.full(n, np.nan), np.full(n, np.nan)
    _, ok = _coords(frame)
    return (
        np.where(ok, column_floats(frame, "lat"), np.nan),
        np.where(ok, column_floats(frame, "lon"), np.nan),
    )


def median_latitude(frame: pd.DataFrame) -> float:
    """Median latitude of the rows with usable coordinates (0 when none): where
    :func:`map_axes` projects the map on a plane."""
    lat = located_lat_lon(frame)[0]
    lat = lat[np.isfinite(lat)]
    return float(np.median(lat)) if len(lat) else 0.0


def map_axes_of(frame: pd.DataFrame, axis_lat: float, axes: int) -> dict[str, np.ndarray]:
    """:func:`map_axes` of the rows of ``frame`` (missing where they are not located)."""
    if not axes:
        return {}
    return map_axes(*located_lat_lon(frame), axis_lat, axes)


def map_axes(lat: Any, lon: Any, axis_lat: float, axes: int) -> dict[str, np.ndarray]:
    """Position along ``axes`` map axes (``loc_axis_1`` ...; see the module docstring).

    The coordinates are projected on a plane at latitude ``axis_lat`` (east = longitude x
    cos(latitude), in degrees of latitude) and read along directions at ``j * 180° / (axes
    + 1)`` from east, ``j = 1 .. axes`` (an even number avoids the north itself, which
    latitude already is). Missing coordinates give missing positions.

    Examples
    --------
    >>> out = map_axes([45.0, 45.0, None], [9.0, 9.5, 9.0], axis_lat=60.0, axes=2)
    >>> list(out)  # at 60° and 120° from east
    ['loc_axis_1', 'loc_axis_2']
    >>> [round(float(v), 3) for v in out["loc_axis_1"]]  # 0.5 * 0.5 * lon + 0.866 * lat
    [41.221, 41.346, nan]
    """
    lat = np.asarray(lat, dtype=float)
    east = np.asarray(lon, dtype=float) * math.cos(math.radians(axis_lat))
    out = {}
    for j in range(1, axes + 1):
        angle = math.pi * j / (axes + 1)
        out[f"{AXIS_PREFIX}{j}"] = east * math.cos(angle) + lat * math.sin(angle)
    return out


def _coords(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """xyz of every row and a mask of rows with usable coordinates."""
    n = len(frame)
    if "lat" not in frame or "lon" not in frame:
        return np.full((n, 3), np.nan), np.zeros(n, dtype=bool)
    lat = column_floats(frame, "lat")
    lon = column_floats(frame, "lon")
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    ok &= ~((lat == 0) & (lon == 0))
    return to_xyz(np.where(ok, lat, 0.0), np.where(ok, lon, 0.0)), ok


def has_twins(features: pd.DataFrame) -> np.ndarray:
    """Per row of location features, whether it has twins (``loc_twin_n`` > 0): the rows
    whose features differ from their :func:`without_twins`."""
    if "loc_twin_n" not in features:
        return np.zeros(len(features), dtype=bool)
    with np.errstate(invalid="ignore"):
        return column_floats(features, "loc_twin_n") > 0


def without_twins(features: pd.DataFrame) -> pd.DataFrame:
    """Features computed with twins, as :meth:`LocationFeatures.transform` with
    ``twins=False`` gives them for the same rows: ``loc_twin_n`` 0 where it is known (a
    located row), every other ``loc_twin*`` column missing; the other columns as they are.

    Examples
    --------
    >>> import pandas as pd
    >>> with_twins = pd.DataFrame({"loc_knn": [8.1, 8.2, None], "loc_twin": [8.3, None, None],
    ...                            "loc_twin_n": [2.0, 0.0, None]})
    >>> without_twins(with_twins)["loc_twin_n"].tolist()
    [0.0, 0.0, nan]
    >>> without_twins(with_twins)["loc_twin"].isna().all()
    np.True_
    """
    present = [name for name in TWIN_FEATURE_NAMES if name in features]
    if not present:
        return features
    n = len(features)
    blank = {name: np.full(n, np.nan) for name in present}
    if "loc_twin_n" in blank:
        known = np.isfinite(column_floats(features, "loc_twin_n"))
        blank["loc_twin_n"] = np.where(known, 0.0, np.nan)
    return with_replaced(features, blank)


class LocationFeatures(BaseEstimator):
    """Spatial-lag, distance and neighbourhood features (see the module docstring).

    Parameters
    ----------
    k : int
        Neighbours of the spatial lag.
    k_near : int
        Neighbours of the "very near" lag.
    building_m : float
        Radius (metres) within which a neighbour counts as the same building.
    centre_share : float
        Share of the dearest training rows of a city whose median position is its centre.
    neighbourhood_smoothing : float
        Rows of prior weight (the city mean) in the neighbourhood encoding.
    twins : bool
        Add the twin features (the same flat listed before under another id, or an
        identical flat nearby).
    twin_m : float
        Radius (metres) within which a training row can be a twin.
    twin_log_area : float
        Largest ``|log(area) - log(area of the twin)|``.
    twin_past_only : bool
        Only rows listed strictly before the row (by ``date``) are its twins.
    axes : int
        Map axes (rotated coordinates, ``loc_axis_1`` ...; 0: none).
    """

    def __init__(
        self,
        *,
        k: int = 20,
        k_near: int = 5,
        building_m: float = 40.0,
        centre_share: float = 0.1,
        neighbourhood_smoothing: float = 20.0,
        twins: bool = True,
        twin_m: float = 100.0,
        twin_log_area: float = 0.01,
        twin_past_only: bool = False,
        axes: int = 6,
    ) -> None:
        self.k = k
        self.k_near = k_near
        self.building_m = building_m
        self.centre_share = centre_share
        self.neighbourhood_smoothing = neighbourhood_smoothing
        self.twins = twins
        self.twin_m = twin_m
        self.twin_log_area = twin_log_area
        self.twin_past_only = twin_past_only
        self.axes = axes

    def fit(self, frame: pd.DataFrame, values: np.ndarray) -> LocationFeatures:
        """Remember the training rows' positions and ``values`` (time-adjusted log price/m²).

        Raises
        ------
        DataError
            If ``values`` does not have one finite value per row.
        """
        values = np.asarray(values, dtype=float)
        if values.shape != (len(frame),) or not np.isfinite(values).all():
            raise DataError(
                [f"values has shape {values.shape!r}; expected {len(frame)} finite numbers"],
                header="cannot fit location features",
            )
        if not isinstance(self.axes, int | np.integer) or self.axes < 0:
            raise ValueError(f"axes is {self.axes!r}; expected a whole number >= 0")
        xyz, ok = _coords(frame)
        self.axis_lat_ = median_latitude(frame)
        self.xyz_ = xyz[ok]
        self.values_ = values[ok]
        self.ids_ = (
            frame["id"].astype(str).to_numpy()[ok]
            if "id" in frame
            else np.array([f"#{i}" for i in np.flatnonzero(ok)], dtype=object)
        )
        self.twin_keys_ = _twin_keys(frame)[ok]
        self.tree_ = KDTree(self.xyz_) if ok.sum() > 0 else None
        self.centres_ = self._learn_centres(frame.loc[ok], self.values_, xyz[ok])
        self._fit_neighbourhoods(frame, values)
        self.n_train_ = len(frame)
        return self

    def _learn_centres(
        self, frame: pd.DataFrame, values: np.ndarray, xyz: np.ndarray
    ) -> dict[str, np.ndarray]:
        centres: dict[str, np.ndarray] = {}
        if len(frame) == 0 or "city" not in frame:
            return centres
        cities = str_values(frame["city"])
        for city in np.unique(cities):
            rows = np.flatnonzero(cities == city)
            top = rows[values[rows] >= np.quantile(values[rows], 1 - self.centre_share)]
            centres[city] = np.median(xyz[top], axis=0)
        return centres

    def _fit_neighbourhoods(self, frame: pd.DataFrame, values: np.ndarray) -> None:
        self.neighbourhood_table_ = None
        if "neighbourhood" not in frame or frame["neighbourhood"].isna().all():
            return
        city = frame["city"].astype(str) if "city" in frame else pd.Series("", index=frame.index)
        table = pd.DataFrame(
            {"city": city.to_numpy(), "nb": frame["neighbourhood"].astype(str).to_numpy()}
        )
        table["v"] = values
        city_sum = table.groupby("city")["v"].sum()
        city_count = table.groupby("city")["v"].count()
        stats = table.groupby(["city", "nb"])["v"].agg(["sum", "count"]).reset_index()
        stats["city_sum"] = stats["city"].map(city_sum)
        stats["city_count"] = stats["city"].map(city_count)
        self.neighbourhood_table_ = stats
        self.city_mean_ = city_sum / city_count

    def _check_fitted(self) -> None:
        if not hasattr(self, "xyz_"):
            raise NotFittedError("these LocationFeatures are not fitted yet; call fit first")

    def fit_transform(self, frame: pd.DataFrame, values: np.ndarray) -> pd.DataFrame:
        """Fit, then leave-one-out features of the training rows themselves."""
        self.fit(frame, values)
        return self._features(frame, values=np.asarray(values, dtype=float), training=True)

    def transform(self, frame: pd.DataFrame, twins: bool = True) -> pd.DataFrame:
        """Features of new rows, from training rows only (``twins=False``: every row as
        one without twins, and no search for them)."""
        self._check_fitted()
        return frame_of(self.transform_arrays(frame, twins=twins), frame.index)

    def transform_arrays(self, frame: pd.DataFrame, twins: bool = True) -> dict[str, np.ndarray]:
        """:meth:`transform`'s columns as arrays by name, in its order (for a caller that
        builds a frame of them with other columns: one frame instead of two)."""
        self._check_fitted()
        return self._feature_arrays(frame, values=None, training=False, twins=twins)

    def _features(
        self,
        frame: pd.DataFrame,
        values: np.ndarray | None,
        training: bool,
        twins: bool = True,
    ) -> pd.DataFrame:
        return frame_of(self._feature_arrays(frame, values, training, twins), frame.index)

    def _feature_arrays(
        self,
        frame: pd.DataFrame,
        values: np.ndarray | None,
        training: bool,
        twins: bool = True,
    ) -> dict[str, np.ndarray]:
        n = len(frame)
        # columns filled as arrays, one frame built at the end (a column set on a frame
        # costs more than computing it, for one property)
        out = {name: np.full(n, np.nan) for name in self.feature_names}
        xyz, ok = _coords(frame)
        if self.tree_ is not None and ok.any():
            # the ids tell a training row's own listings apart; new rows have none to skip
            ids = frame["id"].astype(str).to_numpy() if training and "id" in frame else None
            self._spatial_lag(out, xyz, ok, ids, training)
            out["loc_centre_km"] = self._centre_distance(frame, xyz, ok)
            out.update(map_axes_of(frame, self.axis_lat_, self.axes))
            if self.twins:
                out["loc_twin_n"] = np.where(ok, 0.0, np.nan)  # none until some are found
                if twins:
                    self._twin_features(out, frame, xyz, ok, ids, training)
        if self.neighbourhood_table_ is not None and "neighbourhood" in frame:
            out["loc_neighbourhood"] = self._neighbourhood(frame, values if training else None)
        return out

    def _spatial_lag(
        self,
        out: dict[str, np.ndarray],
        xyz: np.ndarray,
        ok: np.ndarray,
        ids: np.ndarray | None,
        training: bool,
    ) -> None:
        n_train = len(self.values_)
        extra = 0
        if training:
            extra = 1 + (0 if ids is None else int(pd.Series(self.ids_).value_counts().max()) - 1)
            extra = min(extra, 20)
        k = min(self.k + extra, n_train)
        dist, idx = self.tree_.query(xyz[ok], k=k)
        keep = np.ones_like(idx, dtype=bool)
        if training:
            own = (
                self.ids_[idx] == ids[ok][:, None]
                if ids is not None
                else (dist <= 1e-9) & (np.cumsum(dist <= 1e-9, axis=1) == 1)
            )
            keep &= ~own
        # first k kept neighbours of each row
        rank = np.cumsum(keep, axis=1)
        keep &= rank <= self.k
        vals = np.where(keep, self.values_[idx], np.nan)
        dists = np.where(keep, dist, np.nan)
        counts = keep.sum(axis=1)
        has = counts > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nanmean(np.where(has[:, None], vals, 0.0), axis=1)
            w = 1.0 / (np.nan_to_num(dists, nan=np.inf) + 0.05)
            weighted = np.nansum(np.nan_to_num(vals) * w, axis=1) / w.sum(axis=1)
            near_mask = keep & (rank <= self.k_near)
            near = (np.nan_to_num(vals) * near_mask).sum(axis=1) / near_mask.sum(axis=1)
            std = np.nanstd(np.where(has[:, None], vals, 0.0), axis=1)
            kth = np.nanmax(dists, axis=1)
            bmask = keep & (np.nan_to_num(dists, nan=np.inf) <= self.building_m / 1000.0)
            bn = bmask.sum(axis=1)
            building = np.where(bn > 0, (np.nan_to_num(vals) * bmask).sum(axis=1) / bn, np.nan)
        for name, value in (
            ("loc_knn", mean),
            ("loc_knn_weighted", weighted),
            ("loc_near", near),
            ("loc_knn_std", std),
            ("loc_kth_km", kth),
            ("loc_building", building),
            ("loc_building_n", bn.astype(float)),
        ):
            column = np.full(len(ok), np.nan)
            column[np.flatnonzero(ok)] = np.where(has, value, np.nan)
            out[name] = column

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the columns :meth:`transform` returns."""
        axes = tuple(f"{AXIS_PREFIX}{j}" for j in range(1, self.axes + 1))
        return FEATURE_NAMES + axes + (TWIN_FEATURE_NAMES if self.twins else ())

    def _twin_features(
        self,
        out: dict[str, np.ndarray],
        frame: pd.DataFrame,
        xyz: np.ndarray,
        ok: np.ndarray,
        ids: np.ndarray | None,
        training: bool,
    ) -> None:
        """Fill the ``loc_twin*`` columns of rows with twins (see the module docstring)."""
        n = len(frame)
        keys = getattr(self, "twin_keys_", None)
        if keys is None or len(keys) == 0:
            return
        rows = np.flatnonzero(ok)
        found = self.tree_.query_radius(xyz[ok], r=self.twin_m / 1000.0)
        counts = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
        if counts.sum() == 0:
            return
        subject = np.repeat(rows, counts)
        other = np.concatenate(found).astype(np.int64)
        own = _twin_keys(frame)
        a, b = own[subject], keys[other]
        match = np.abs(a[:, 0] - b[:, 0]) < self.twin_log_area  # nan area: no twin
        for col in (1, 2):  # rooms, floor: equal where both rows know them
            known = np.isfinite(a[:, col]) & np.isfinite(b[:, col])
            match &= ~known | (a[:, col] == b[:, col])
        if self.twin_past_only:
            match &= ~(b[:, 3] >= a[:, 3])  # an unknown date does not exclude
        if training:
            if ids is not None:
                match &= self.ids_[other] != ids[subject]
            else:  # no ids: exclude the row itself (same position and values)
                match &= ~((np.abs(a[:, 0] - b[:, 0]) == 0) & (a[:, 3] == b[:, 3]))
        subject, other = subject[match], other[match]
        if len(subject) == 0:
            return
        value = self.values_[other]
        day = np.nan_to_num(b[match, 3], nan=-np.inf)
        # per row (``subject`` is sorted): twins, their mean, the latest day and the mean
        # of the twins of that day, by reductions over each row's run of pairs
        starts = np.flatnonzero(np.r_[True, subject[1:] != subject[:-1]])
        where = subject[starts]
        sizes = np.diff(np.r_[starts, len(subject)])
        latest_day = np.maximum.reduceat(day, starts)
        at_latest = day == np.repeat(latest_day, sizes)
        latest_sum = np.add.reduceat(np.where(at_latest, value, 0.0), starts)
        twin = np.full(n, np.nan)
        twin[where] = latest_sum / np.add.reduceat(at_latest.astype(float), starts)
        mean = np.full(n, np.nan)
        mean[where] = np.add.reduceat(value, starts) / sizes
        count = out["loc_twin_n"].copy()
        count[where] = sizes
        last = np.full(n, np.nan)
        last[where] = latest_day
        with np.errstate(invalid="ignore"):
            gap = own[:, 3] - np.where(np.isfinite(last), last, np.nan)
        out["loc_twin"] = twin
        out["loc_twin_mean"] = mean
        out["loc_twin_n"] = count
        out["loc_twin_diff"] = twin - out["loc_knn_weighted"]
        out["loc_twin_days"] = gap

    def _centre_distance(self, frame: pd.DataFrame, xyz: np.ndarray, ok: np.ndarray) -> np.ndarray:
        result = np.full(len(frame), np.nan)
        if "city" not in frame:
            return result
        cities = str_values(column_array(frame, "city"))
        for city, centre in self.centres_.items():
            rows = ok & (cities == city)
            result[rows] = np.linalg.norm(xyz[rows] - centre, axis=1)
        return result

    def _neighbourhood(self, frame: pd.DataFrame, values: np.ndarray | None) -> np.ndarray:
        n = len(frame)
        city = np.full(n, "", dtype=object)
        if "city" in frame:
            city = str_values(column_array(frame, "city"))
        neighbourhood = column_array(frame, "neighbourhood")
        position, columns, city_mean = self._neighbourhood_lookup(city, neighbourhood)
        found = position >= 0

        def looked_up(name: str, fill: float) -> np.ndarray:
            out = np.full(n, fill)
            out[found] = columns[name][position[found]]
            return out

        total = looked_up("sum", 0.0)
        count = looked_up("count", 0.0)
        prior = np.array([city_mean.get(c, np.nan) for c in city], dtype=float)
        if values is not None:  # leave-one-out on training rows, prior included
            total = total - values
            count = count - 1
            city_sum = looked_up("city_sum", np.nan)
            city_count = looked_up("city_count", np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                loo_prior = (city_sum - values) / (city_count - 1)
            prior = np.where(city_count > 1, loo_prior, prior)
        m = self.neighbourhood_smoothing
        encoded = (total + m * prior) / (count + m)
        missing = np.asarray(pd.isna(neighbourhood))
        return np.where(missing, np.nan, encoded)

    def _neighbourhood_lookup(
        self, city: np.ndarray, neighbourhood: Any
    ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float]]:
        """Row of :attr:`neighbourhood_table_` of each (city, neighbourhood) (-1: none), the
        table's columns and the city means: a dictionary look-up, built once per table (a
        merge costs milliseconds, most of a single valuation's neighbourhood step)."""
        table = self.neighbourhood_table_
        cached = getattr(self, "_neighbourhood_cache", None)
        if cached is None or cached[0] is not table:
            keys = zip(str_values(table["city"]), str_values(table["nb"]), strict=True)
            rows = {key: i for i, key in enumerate(keys)}
            names = ("sum", "count", "city_sum", "city_count")
            columns = {c: table[c].to_numpy(float) for c in names}
            city_mean = {str(k): float(v) for k, v in self.city_mean_.items()}
            cached = (table, rows, columns, city_mean)
            self._neighbourhood_cache = cached
        _, rows, columns, city_mean = cached
        keys = zip(city, str_values(neighbourhood), strict=True)
        position = np.fromiter((rows.get(key, -1) for key in keys), dtype=np.int64, count=len(city))
        return position, columns, city_mean

    def to_bundle(self, folder: BundleFolder) -> dict[str, Any]:
        """Save the training positions, values, ids and twin keys (``location.parquet``)
        and the neighbourhood table into ``folder``; returns the facts :meth:`from_bundle`
        reads."""
        self._check_fitted()
        table = pd.DataFrame(self.xyz_, columns=["x", "y", "z"])
        table["value"] = self.values_
        table["id"] = self.ids_.astype(str)
        for i, name in enumerate(TWIN_KEY_COLUMNS):
            table[name] = self.twin_keys_[:, i]
        folder.write_parquet("location.parquet", table)
        tree = None
        if self.tree_ is not None and len(self.xyz_):
            tree_arrays, tree = tree_table(self.tree_)
            folder.write_parquet(TREE_FILE, tree_arrays)
        if self.neighbourhood_table_ is not None:
            folder.write_parquet("neighbourhoods.parquet", self.neighbourhood_table_)
        return {
            "params": json_params(self),
            "centres": {k: [float(x) for x in v] for k, v in self.centres_.items()},
            "city_mean": None
            if self.neighbourhood_table_ is None
            else {str(k): float(v) for k, v in self.city_mean_.items()},
            "n_train": self.n_train_,
            "tree": tree,
            "axis_lat": self.axis_lat_,
        }

    @classmethod
    def from_bundle(cls, folder: BundleFolder, meta: dict[str, Any]) -> LocationFeatures:
        """Fitted location features from :meth:`to_bundle`'s folder and facts (the search
        tree as stored; built from the stored positions when it was saved by another
        scikit-learn version or before trees were stored)."""
        # a bundle written before the twin features has no "twins" parameter, one written
        # before the map axes no "axes"
        loc = cls(**{"twins": False, "axes": 0, **meta["params"]})
        loc.axis_lat_ = float(meta.get("axis_lat", 0.0))
        table = folder.read_parquet("location.parquet")
        loc.xyz_ = table[["x", "y", "z"]].to_numpy(float)
        loc.values_ = table["value"].to_numpy(float)
        loc.ids_ = table["id"].to_numpy(dtype=object)
        if all(name in table for name in TWIN_KEY_COLUMNS):
            loc.twin_keys_ = table[list(TWIN_KEY_COLUMNS)].to_numpy(float)
        else:  # a bundle written before the twin features
            loc.twin_keys_ = np.full((len(table), len(TWIN_KEY_COLUMNS)), np.nan)
        loc.tree_ = None
        if len(table):  # the stored search tree (the same answers), else built again
            if meta.get("tree"):
                stored = folder.read_parquet(TREE_FILE)
                loc.tree_ = restore_tree(KDTree, loc.xyz_, stored, meta["tree"])
            if loc.tree_ is None:
                loc.tree_ = KDTree(loc.xyz_)
        loc.centres_ = {k: np.asarray(v, dtype=float) for k, v in meta["centres"].items()}
        loc.neighbourhood_table_ = None
        if meta["city_mean"] is not None:
            loc.neighbourhood_table_ = folder.read_parquet("neighbourhoods.parquet")
            loc.city_mean_ = pd.Series(meta["city_mean"], dtype=float)
        loc.n_train_ = int(meta["n_train"])
        return loc
