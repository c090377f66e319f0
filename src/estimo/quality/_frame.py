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

from estimo.frames import column_arrays, frame_of
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
    columns: dict[str, Any] = {
        name: pd.Series(values, index=index, dtype=object, copy=False)  # not pandas' str
        if isinstance(values, np.ndarray) and values.dtype == object
        else values
        for name, values in zip(frame.columns, column_arrays(frame), strict=True)
    }
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
                columns[name] = pd.Series([None] * n, index=index, dtype=object)
    for name in NUMERIC_FIELDS:
        columns[name] = _as_float(name, columns[name], index, result)
    columns["date"] = _as_datetime_ns(pd.Series(columns["date"], index=index, copy=False))
    ids = pd.Series(columns["id"], index=index, copy=False)
    if "id" in result.added_columns or ids.isna().any():
        generated = pd.Series([f"row-{i}" for i in range(n)], index=index)
        ids = ids.where(ids.notna(), generated)
    columns["id"] = ids.astype(str)
    for name in ("city", "neighbourhood", "country", "property_type", "condition", "price_kind"):
        columns[name] = _as_text(pd.Series(columns[name], index=index, copy=False))
    result.frame = frame_of(columns, index)
    return result


def _as_float(name: str, values: Any, index: pd.Index, result: PreparedFrame) -> Any:
    """A numeric column as float64 (text that is no number, and infinities, missing);
    the values that were not numbers are counted in ``result``."""
    if not (isinstance(values, np.ndarray) and values.dtype == np.float64):
        column = pd.Series(values, index=index, copy=False)
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


def _as_text(values: pd.Series) -> pd.Series:
    """A text column as Python objects: ``str`` or None."""
    if _text_or_none(values):
        return values
    col = values.astype(object)
    col = col.where(col.notna(), None)
    if pd.api.types.infer_dtype(col, skipna=True) not in ("string", "empty"):
        col = col.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return col


def _text_or_none(values: pd.Series) -> bool:
    """Whether ``values`` is an object column of ``str`` and ``None`` only (already what
    :func:`prepare_frame` makes of a text column; checked value by value on small frames
    only, where the conversion costs more than the check)."""
    if values.dtype != object or len(values) > _SMALL_FRAME:
        return False
    return all(v is None or type(v) is str for v in values.to_numpy())


def _as_datetime_ns(values: pd.Series) -> pd.Series:
    """Dates as ``datetime64[ns]``; unparsable or out-of-range values become NaT."""
    if values.dtype == "datetime64[ns]":  # naive nanoseconds: in range by construction
        return values
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values.astype(object), errors="coerce", format="mixed", utc=True)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert(None)
    low, high = pd.Timestamp.min, pd.Timestamp.max
    values = values.where((values >= low) & (values <= high))
    return values.astype("datetime64[ns]")


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
