"""Input checking and robust statistics shared by the quality rules.

Every rule works on a *prepared* frame: a copy of a canonical frame with every canonical
column present, numeric columns as ``float64`` (text that is not a number becomes missing and
is counted), dates as ``datetime64[ns]`` and a fresh ``RangeIndex``.

Examples
--------
>>> import pandas as pd
>>> prepared = prepare_frame(pd.DataFrame({"price": ["1", "x"], "city": ["A", "B"]}))
>>> prepared.frame["price"].tolist(), prepared.non_numeric["price"]
([1.0, nan], 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from estimo.frames import column_arrays, column_values, frame_of
from estimo.schema import CANONICAL_COLUMNS, FIELDS, NUMERIC_FIELDS

MAD_TO_SD = 1.4826
KM_PER_DEGREE = 111.2
_SMALL_FRAME = 256


@dataclass
class PreparedFrame:
    """A canonical frame ready for the rules and what had to be coerced.

    Attributes
    ----------
    frame : pandas.DataFrame
        Copy with every canonical column, numeric columns as floats and a ``RangeIndex``.
    non_numeric : dict
        Numeric column -> number of values that were not numbers (now missing).
    non_numeric_examples : dict
        Numeric column -> up to three of those values.
    added_columns : list of str
        Canonical columns that were absent and were added as all-missing.
    """

    frame: pd.DataFrame
    non_numeric: dict[str, int] = field(default_factory=dict)
    non_numeric_examples: dict[str, list] = field(default_factory=dict)
    added_columns: list[str] = field(default_factory=list)


def prepare_frame(frame: pd.DataFrame) -> PreparedFrame:
    """Copy ``frame`` with canonical columns present and typed (see module docstring).

    The columns are typed one by one and the frame is built once from them (a column set
    on a frame costs more than cleaning one property's values).

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame, possibly partial or with text in numeric columns.

    Returns
    -------
    PreparedFrame

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame.
    ValueError
        If ``frame`` has two columns of the same name.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if not frame.columns.is_unique:
        twice = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise ValueError(f"columns {twice} appear more than once; expected one of each")
    n = len(frame)
    index = pd.RangeIndex(n)
    # the columns' own arrays, an object array kept as Python objects (not pandas' str)
    names = frame.columns.tolist()  # one call, not one per name of a text index
    columns: dict[str, Any] = dict(zip(names, column_arrays(frame), strict=True))
    result = PreparedFrame(frame)  # the frame is set once built
    for name in CANONICAL_COLUMNS:
        if name not in columns:
            result.added_columns.append(name)
            kind = FIELDS[name].kind
            if kind == "numeric":
                columns[name] = np.full(n, np.nan)
            elif kind == "date":
                columns[name] = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
            else:
                columns[name] = np.full(n, None, dtype=object)
    for name in NUMERIC_FIELDS:
        columns[name] = _as_float(name, columns[name], index, result)
    columns["date"] = _as_datetime_ns(columns["date"], index)
    columns["id"] = _as_ids(columns["id"], index, "id" in result.added_columns)
    for name in ("city", "neighbourhood", "country", "property_type", "condition", "price_kind"):
        columns[name] = _as_text(columns[name], index)
    result.frame = frame_of(columns, index, object_as_is=True)
    return result


def _as_ids(values: Any, index: pd.Index, added: bool) -> Any:
    """The ids as pandas' ``str`` (``row-<i>`` where missing, or for every row when the
    frame had no ``id`` column)."""
    if not added and _all_text(values, none=False):  # a few ids, each a str already
        return pd.array(values, dtype=str)
    ids = _object_series(values, index)
    if added or ids.isna().any():
        generated = pd.Series([f"row-{i}" for i in range(len(index))], index=index)
        ids = ids.where(ids.notna(), generated)
    return ids.astype(str)


def _object_series(values: Any, index: pd.Index) -> pd.Series:
    """``values`` as a Series on ``index``, an object array kept as Python objects."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return pd.Series(values, index=index, dtype=object, copy=False)
    return pd.Series(values, index=index, copy=False)


def _as_float(name: str, values: Any, index: pd.Index, result: PreparedFrame) -> Any:
    """A numeric column as float64 (text that is no number, and infinities, missing);
    the values that were not numbers are counted in ``result``."""
    if not (isinstance(values, np.ndarray) and values.dtype == np.float64):
        column = _object_series(values, index)
        parsed = pd.to_numeric(column, errors="coerce").astype("float64")
        bad = column.notna() & parsed.isna()
        if bad.any():
            result.non_numeric[name] = int(bad.sum())
            result.non_numeric_examples[name] = column[bad].unique()[:3].tolist()
        values = parsed.to_numpy()
    infinite = np.isinf(values)
    if infinite.any():
        values = np.where(infinite, np.nan, values)
    return values


def _as_text(values: Any, index: pd.Index) -> Any:
    """A text column as Python objects: ``str`` or None."""
    if _all_text(values, none=True):
        return values
    col = _object_series(values, index).astype(object)
    col = col.where(col.notna(), None)
    if pd.api.types.infer_dtype(col, skipna=True) not in ("string", "empty"):
        col = col.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return col


def _all_text(values: Any, *, none: bool) -> bool:
    """Whether ``values`` is an object array of ``str`` only (and None, with ``none``):
    already what :func:`prepare_frame` makes of a text column; checked value by value on
    small frames only, where the conversion costs more than the check."""
    if not isinstance(values, np.ndarray) or values.dtype != object or len(values) > _SMALL_FRAME:
        return False
    if none:
        return all(v is None or type(v) is str for v in values)
    return all(type(v) is str for v in values)


def _as_datetime_ns(values: Any, index: pd.Index) -> Any:
    """Dates as ``datetime64[ns]``; unparsable or out-of-range values become NaT."""
    if values.dtype == "datetime64[ns]":  # naive nanoseconds: in range by construction
        return pd.array(values) if isinstance(values, np.ndarray) else values
    values = _object_series(values, index)
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values.astype(object), errors="coerce", format="mixed", utc=True)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert(None)
    low, high = pd.Timestamp.min, pd.Timestamp.max
    values = values.where((values >= low) & (values <= high))
    return values.astype("datetime64[ns]")


def float_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """``frame[name].to_numpy(float)``, without the column's ``Series`` for a float column
    (every numeric column of a prepared frame; read-only then).

    Examples
    --------
    >>> float_column(pd.DataFrame({"a": [1.0], "b": [2]}), "b")
    array([2.])
    """
    values = column_values(frame, name)
    return values if values.dtype == np.float64 else frame[name].to_numpy(float)


def robust_location_scale(values: np.ndarray) -> tuple[float, float]:
    """Median and MAD-based standard deviation of the finite values (NaN if none).

    Examples
    --------
    >>> robust_location_scale(np.array([1.0, 2.0, 3.0, 100.0]))
    (2.5, 1.4826)
    """
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    median = float(np.median(finite))
    return median, float(MAD_TO_SD * np.median(np.abs(finite - median)))


def group_robust_stats(values: pd.Series, keys: list[pd.Series] | pd.DataFrame) -> pd.DataFrame:
    """Per-group count, median and MAD-based scale of ``values`` (missing values ignored).

    Parameters
    ----------
    values : pandas.Series
        Numeric values.
    keys : list of Series or DataFrame
        Group keys aligned with ``values``; rows with a missing key are left out.

    Returns
    -------
    pandas.DataFrame
        Indexed by the group keys, with columns ``n``, ``median`` and ``scale``.
    """
    if isinstance(keys, list):
        frame = pd.DataFrame({f"_k{i}": np.asarray(k) for i, k in enumerate(keys)})
    else:
        frame = keys.reset_index(drop=True).copy()
    frame["_v"] = np.asarray(values, dtype=float)
    frame = frame[np.isfinite(frame["_v"].to_numpy())]
    frame = frame.dropna()
    by = list(frame.columns[:-1])
    if frame.empty:
        return pd.DataFrame(columns=["n", "median", "scale"], dtype=float)
    grouped = frame.groupby(by, sort=False, observed=True)["_v"]
    median = grouped.median()
    deviation = (frame["_v"] - grouped.transform("median")).abs()
    mad = deviation.groupby([frame[c] for c in by], sort=False, observed=True).median()
    return pd.DataFrame({"n": grouped.size(), "median": median, "scale": MAD_TO_SD * mad})


def distance_km(
    lat: np.ndarray, lon: np.ndarray, lat0: np.ndarray | float, lon0: np.ndarray | float
) -> np.ndarray:
    """Equirectangular distance in km (accurate enough within a country).

    Examples
    --------
    >>> round(float(distance_km(np.array([45.0]), np.array([9.0]), 45.0, 10.0)[0]), 1)
    78.6
    """
    dy = (np.asarray(lat) - lat0) * KM_PER_DEGREE
    dx = (np.asarray(lon) - lon0) * KM_PER_DEGREE * np.cos(np.radians(lat0))
    return np.hypot(dx, dy)


def log_positive(values: pd.Series | np.ndarray) -> np.ndarray:
    """Natural log of positive values; NaN elsewhere (no warnings)."""
    arr = np.asarray(values, dtype=float)
    out = np.full(arr.shape, np.nan)
    ok = np.isfinite(arr) & (arr > 0)
    out[ok] = np.log(arr[ok])
    return out
