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

import numpy as np
import pandas as pd

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

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame, possibly partial or with text in numeric columns.

    Returns
    -------
    PreparedFrame
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    out = frame.reset_index(drop=True).copy()
    result = PreparedFrame(out)
    for name in CANONICAL_COLUMNS:
        if name not in out:
            result.added_columns.append(name)
            kind = FIELDS[name].kind
            if kind == "numeric":
                out[name] = np.nan
            elif kind == "date":
                out[name] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
            else:
                out[name] = pd.Series([None] * len(out), index=out.index, dtype=object)
    for name in NUMERIC_FIELDS:
        values = out[name]
        if not pd.api.types.is_float_dtype(values):
            parsed = pd.to_numeric(values, errors="coerce").astype("float64")
            bad = values.notna() & parsed.isna()
            if bad.any():
                result.non_numeric[name] = int(bad.sum())
                result.non_numeric_examples[name] = values[bad].unique()[:3].tolist()
            out[name] = values = parsed
        infinite = np.isinf(values.to_numpy(float))
        if infinite.any():
            out[name] = values.mask(infinite)
    out["date"] = _as_datetime_ns(out["date"])
    if "id" in result.added_columns or out["id"].isna().any():
        generated = pd.Series([f"row-{i}" for i in range(len(out))], index=out.index)
        out["id"] = out["id"].where(out["id"].notna(), generated)
    out["id"] = out["id"].astype(str)
    for name in ("city", "neighbourhood", "country", "property_type", "condition", "price_kind"):
        if _text_or_none(out[name]):
            continue
        col = out[name].astype(object)
        col = col.where(col.notna(), None)
        if pd.api.types.infer_dtype(col, skipna=True) not in ("string", "empty"):
            col = col.map(lambda v: v if v is None or isinstance(v, str) else str(v))
        out[name] = col
    return result


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
