"""How properties become comparable vectors for :class:`~estimo.model.comps.ComparablesFinder`.

The finder compares a subject with the reference rows (the priced training rows, checked by
:func:`check_reference`) on vectors built here:

* **Numeric features** (numeric or boolean columns among the weighted features, see
  :func:`split_features`): :func:`numeric_matrix` reads them as floats (unreadable values
  become NaN) and takes the log of those in :data:`LOG_FEATURES` (``area_m2``: a difference
  of 10 m2 matters more for a studio than for a villa; non-positive values become NaN). The
  finder centres each column on its median on the reference rows and divides it by its
  robust standard deviation (:func:`robust_scale`), so that a feature term of the distance
  is in squared standard units; a NaN on either side costs ``missing_penalty`` instead.
* **Categorical features** (the other weighted columns): :func:`category_codes` gives each
  value its position among the reference rows' levels (:func:`levels`), -1 when missing
  (half a mismatch) and -2 for a level never seen in the reference rows (a mismatch).
* **Location**: :func:`coordinates` turns ``lat``/``lon`` into radians for the haversine
  search and flags rows without valid coordinates (missing, out of range, or exactly
  (0, 0)); those are matched on :func:`feature_vectors` instead.
* **Dates**: :func:`resolve_valuation_dates` gives each subject its valuation date and
  :func:`months` counts months since :data:`EPOCH` (of :data:`DAYS_PER_MONTH` days), so that
  ages are differences of months.
* **Identity**: :func:`property_ids` reads ``id`` as text (None when missing) and
  :func:`id_codes` numbers them, so that re-listings of one property can be told apart.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"area_m2": [50.0, 0.0], "property_type": ["flat", None]})
>>> split_features(frame, {"area_m2": 4.0, "property_type": 4.0, "rooms": 0.5})
(['area_m2'], ['property_type'])
>>> numeric_matrix(frame, ["area_m2"]).round(3).tolist()
[[3.912], [nan]]
>>> category_codes(frame["property_type"], ("flat", "house")).tolist()
[0, -1]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import DataError
from estimo.frames import column_array, column_floats, complete_ns_dates, whole_days

log = logging.getLogger(__name__)

__all__ = [
    "DAYS_PER_MONTH",
    "EPOCH",
    "LOG_FEATURES",
    "category_codes",
    "check_reference",
    "column",
    "coordinates",
    "feature_vectors",
    "id_codes",
    "levels",
    "months",
    "numeric_matrix",
    "property_ids",
    "resolve_valuation_dates",
    "robust_scale",
    "split_features",
]

LOG_FEATURES = frozenset({"area_m2"})
"""Numeric features compared on the log scale."""

DAYS_PER_MONTH = 30.4375
"""Average days per month (365.25 / 12): the unit of ages."""

EPOCH = pd.Timestamp("2000-01-01")
"""Origin of :func:`months`."""


def check_reference(frame: pd.DataFrame) -> pd.DataFrame:
    """The usable rows of a reference table, with float prices and parsed dates.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical training rows (``price``, ``date`` and ``city`` required).

    Returns
    -------
    pandas.DataFrame
        The rows with a price, a date and a city (the others are left out and logged), with a
        fresh positional index.

    Raises
    ------
    DataError
        If a required column is missing, a price is not positive, or no row is usable.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"price": ["1e5", None], "date": ["2024-01-05"] * 2,
    ...                       "city": ["Town", "Town"]})
    >>> reference = check_reference(frame)
    >>> len(reference), reference["price"].tolist(), str(reference["date"].dtype)
    (1, [100000.0], 'datetime64[us]')
    """
    missing = [c for c in ("price", "date", "city") if c not in frame]
    if missing:
        raise DataError(
            [f"the reference table has no {c!r} column" for c in missing],
            header="cannot fit comparables",
        )
    price = pd.to_numeric(frame["price"], errors="coerce")
    bad = price.notna() & (price <= 0)
    if bad.any():
        example = frame.loc[bad, "price"].iloc[0]
        raise DataError(
            [
                f"column 'price' has {int(bad.sum())} non-positive values, e.g. {example!r}; "
                "prices must be > 0"
            ],
            header="cannot fit comparables",
        )
    usable = price.notna() & frame["date"].notna() & frame["city"].notna()
    if not usable.any():
        raise DataError(["no row has a price, a date and a city"], header="cannot fit comparables")
    if not usable.all():
        log.info("comparables: %d rows without price, date or city left out", (~usable).sum())
    reference = frame.loc[usable].reset_index(drop=True).copy()
    reference["price"] = price[usable].to_numpy(float)
    reference["date"] = pd.to_datetime(reference["date"])
    return reference


def split_features(
    frame: pd.DataFrame, weights: Mapping[str, float]
) -> tuple[list[str], list[str]]:
    """Split the weighted features into numeric and categorical ones.

    Parameters
    ----------
    frame : pandas.DataFrame
        The reference rows.
    weights : mapping of str to float
        Weight per feature.

    Returns
    -------
    numeric, categorical : list of str
        Features in the order of ``weights``: numeric (or boolean) columns, then the others.
        Features absent from ``frame``, entirely missing or weighted 0 are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"rooms": [2, 3], "condition": ["good", "new"], "floor": [1, 2]})
    >>> split_features(frame, {"rooms": 1.0, "condition": 1.0, "floor": 0.0, "pool": 1.0})
    (['rooms'], ['condition'])
    """
    numeric, categorical = [], []
    for name, weight in weights.items():
        if name not in frame or weight <= 0 or frame[name].isna().all():
            continue
        if pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name]):
            numeric.append(name)
        else:
            categorical.append(name)
    return numeric, categorical


def levels(values: pd.Series) -> tuple[str, ...]:
    """Sorted distinct values of a categorical column, as text (missing values left out).

    Examples
    --------
    >>> import pandas as pd
    >>> levels(pd.Series(["house", None, "flat", "house"]))
    ('flat', 'house')
    """
    return tuple(sorted(values.dropna().astype(str).unique()))


def category_codes(values: Any, levels: tuple[str, ...]) -> np.ndarray:
    """Position of each value (a ``Series`` or an array) in ``levels``: -1 when missing,
    -2 for an unseen level.

    Examples
    --------
    >>> import pandas as pd
    >>> category_codes(pd.Series(["house", None, "villa"]), ("flat", "house")).tolist()
    [1, -1, -2]
    """
    lookup = {level: i for i, level in enumerate(levels)}
    if isinstance(values, pd.Series | pd.api.extensions.ExtensionArray):
        text = values.to_numpy(dtype=object)
    else:
        text = np.asarray(values, dtype=object)
    missing = pd.isna(text)
    return np.array(
        [-1 if gone else lookup.get(str(v), -2) for v, gone in zip(text, missing, strict=True)],
        dtype=np.int64,
    )


def column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as floats (NaN where unreadable, all NaN when absent).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"lat": ["45.1", "x"]})
    >>> column(frame, "lat").tolist(), column(frame, "lon").tolist()
    ([45.1, nan], [nan, nan])
    """
    if name not in frame:
        return np.full(len(frame), np.nan)
    return column_floats(frame, name)


def numeric_matrix(frame: pd.DataFrame, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Numeric features as an (n, len(names)) float array, :data:`LOG_FEATURES` logged.

    Non-positive values of a logged feature become NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"area_m2": [100.0, -1.0], "rooms": [3, 2]})
    >>> numeric_matrix(frame, ["area_m2", "rooms"]).round(3).tolist()
    [[4.605, 3.0], [nan, 2.0]]
    """
    columns = []
    for name in names:
        values = column(frame, name)
        if name in LOG_FEATURES:
            with np.errstate(invalid="ignore", divide="ignore"):
                values = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
        columns.append(values)
    return np.column_stack(columns) if columns else np.empty((len(frame), 0))


def robust_scale(raw: np.ndarray) -> np.ndarray:
    """Robust standard deviation of each column of ``raw`` (NaN ignored).

    The interquartile range / 1.349; the standard deviation where that is 0, and 1 where
    both are 0 or undefined.

    Examples
    --------
    >>> import numpy as np
    >>> raw = np.array([[1.0, 5.0, 2.0], [2.0, 5.0, np.nan], [3.0, 5.0, np.nan]])
    >>> robust_scale(raw).round(3).tolist()
    [0.741, 1.0, 1.0]
    """
    if raw.shape[1] == 0:
        return np.empty(0)
    q75, q25 = np.nanpercentile(raw, [75, 25], axis=0)
    scale = (q75 - q25) / 1.349
    fallback = np.nanstd(raw, axis=0)
    scale = np.where(scale > 0, scale, fallback)
    return np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)


def months(dates: Any) -> np.ndarray:
    """Months (of :data:`DAYS_PER_MONTH` days) from :data:`EPOCH` to each date (NaN if NaT).

    Examples
    --------
    >>> months(["2000-01-01", "2001-01-01", None]).round(3).tolist()
    [0.0, 12.025, nan]
    """
    return whole_days(dates, EPOCH) / DAYS_PER_MONTH


def resolve_valuation_dates(
    subjects: pd.DataFrame, valuation_date: Any, default: pd.Timestamp
) -> pd.Series:
    """Valuation date of each subject (positional index).

    Parameters
    ----------
    subjects : pandas.DataFrame
        The subjects (their ``date`` is used when ``valuation_date`` is None).
    valuation_date : date, array of dates or None
        ``None`` uses each subject's ``date`` and, where missing, ``default``; a single date
        applies to every subject; an array gives one date per subject (``default`` where
        missing).
    default : pandas.Timestamp
        The date of subjects without one (the finder's last reference date).

    Returns
    -------
    pandas.Series
        ``datetime64[ns]`` dates with a fresh positional index.

    Raises
    ------
    DataError
        If ``valuation_date`` is not a date or has not one value per subject.

    Examples
    --------
    >>> import pandas as pd
    >>> subjects = pd.DataFrame({"date": ["2024-03-01", None]})
    >>> last = pd.Timestamp("2024-06-30")
    >>> resolve_valuation_dates(subjects, None, last).dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-01', '2024-06-30']
    >>> resolve_valuation_dates(subjects, "2025-01-01", last).dt.strftime("%Y-%m-%d").tolist()
    ['2025-01-01', '2025-01-01']
    """
    n = len(subjects)
    if valuation_date is None:
        known = complete_ns_dates(column_array(subjects, "date")) if "date" in subjects else None
        if known is not None:  # nothing to parse or fill
            return pd.Series(known.copy(), index=pd.RangeIndex(n), name="date")
        dates = (
            pd.to_datetime(subjects["date"]).reset_index(drop=True)
            if "date" in subjects
            else pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
        )
        return dates.fillna(default).astype("datetime64[ns]")
    if np.ndim(valuation_date) == 0:
        try:
            stamp = pd.Timestamp(valuation_date)
        except (TypeError, ValueError) as exc:
            raise DataError(
                [f"valuation_date is {valuation_date!r}; expected a date such as 2024-05-01"]
            ) from exc
        return pd.Series([stamp] * n, dtype="datetime64[ns]")
    known = complete_ns_dates(np.asarray(valuation_date))
    if known is not None and len(known) == n:  # the engine's dates: nothing to parse or fill
        return pd.Series(known.copy(), index=pd.RangeIndex(n))
    dates = pd.Series(pd.to_datetime(np.asarray(valuation_date)))
    if len(dates) != n:
        raise DataError(
            [f"valuation_date has {len(dates)} values for {n} subjects; expected one each"]
        )
    return dates.fillna(default).astype("datetime64[ns]")


def coordinates(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in radians for the haversine search, and which rows have valid ones.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with ``lat`` and ``lon`` (degrees) when known.

    Returns
    -------
    coords : numpy.ndarray
        (n, 2) latitude and longitude in radians; (0, 0) where not valid.
    ok : numpy.ndarray
        True where both are finite, within range and not exactly (0, 0).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"lat": [45.0, 0.0, 95.0], "lon": [9.0, 0.0, 9.0]})
    >>> coords, ok = coordinates(frame)
    >>> ok.tolist(), coords[0].round(4).tolist()
    ([True, False, False], [0.7854, 0.1571])
    """
    lat = column(frame, "lat")
    lon = column(frame, "lon")
    ok = (
        np.isfinite(lat)
        & np.isfinite(lon)
        & (np.abs(lat) <= 90)
        & (np.abs(lon) <= 180)
        & ~((lat == 0) & (lon == 0))
    )
    coords = np.radians(np.column_stack([np.where(ok, lat, 0.0), np.where(ok, lon, 0.0)]))
    return coords, ok


def property_ids(frame: pd.DataFrame) -> np.ndarray:
    """The ``id`` of each row as text in an object array (None when missing or absent).

    Examples
    --------
    >>> import pandas as pd
    >>> property_ids(pd.DataFrame({"id": [7, None]})).tolist()
    ['7.0', None]
    >>> property_ids(pd.DataFrame(index=range(2))).tolist()
    [None, None]
    """
    if "id" in frame:
        ids = frame["id"].to_numpy(dtype=object)
        missing = pd.isna(ids)
        out = np.empty(len(ids), dtype=object)
        out[:] = [None if gone else str(v) for v, gone in zip(ids, missing, strict=True)]
        return out
    return np.full(len(frame), None, dtype=object)


def id_codes(ids: np.ndarray) -> np.ndarray:
    """Integer code per id; rows without an id get codes of their own.

    Examples
    --------
    >>> import numpy as np
    >>> id_codes(np.array(["a", None, "b", "a", None], dtype=object)).tolist()
    [0, 2, 1, 0, 3]
    """
    codes, _ = pd.factorize(pd.Series(ids, dtype=object), use_na_sentinel=True)
    missing = codes < 0
    codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


def feature_vectors(z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Points of the feature-only search: standardized features times sqrt(weight).

    Squared Euclidean distances between them are the numeric feature terms of the
    distance (a missing value counts as the reference median). Without numeric features
    every row is the same point.

    Examples
    --------
    >>> import numpy as np
    >>> feature_vectors(np.array([[1.0, np.nan]]), np.array([4.0, 1.0])).tolist()
    [[2.0, 0.0]]
    >>> feature_vectors(np.empty((2, 0)), np.empty(0)).tolist()
    [[0.0], [0.0]]
    """
    if z.shape[1] == 0:
        return np.zeros((len(z), 1))
    return np.nan_to_num(z, nan=0.0) * np.sqrt(weights)
