"""Fast access to the columns of small pandas frames, for the per-property hot path.

Valuing or explaining one property at a time touches every column of a one-row frame; a
``Series`` per column (``frame[c]``, ``frame.iloc[:, j]``) costs more there than the work
itself. :func:`column_arrays` walks the columns the way pandas does internally, and
:func:`str_values` spells a few values as text without building a ``Series``, and
:func:`float_values` reads a column as floats without parsing a column that is numeric
already.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"area_m2": [95.0], "city": pd.Categorical(["Milano"])})
>>> [type(a).__name__ for a in column_arrays(frame)]
['ndarray', 'Categorical']
>>> str_values(pd.Series(["Milano", None, 3.0])).tolist()
['Milano', 'nan', '3.0']
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MISSING_TEXT",
    "column_array",
    "column_arrays",
    "column_floats",
    "column_values",
    "complete_ns_dates",
    "empty_frame",
    "float_values",
    "frame_of",
    "object_array",
    "records",
    "str_values",
    "stored_array",
    "text_array",
    "whole_days",
    "with_columns",
    "with_replaced",
]

MISSING_TEXT = "nan"
"""How :func:`str_values` spells a missing value (``None``, ``NaN``, ``NA``, ``NaT``)."""

_FEW = 64  # up to this many values, a list comprehension beats building a Series
_SMALL_ROWS = 256  # up to this many rows, frame_of skips the constructor's per-column work


def column_arrays(frame: pd.DataFrame) -> list[Any]:
    """The columns of ``frame`` as their arrays: numpy arrays where pandas stores numpy,
    else pandas' own arrays (``Categorical``, ``DatetimeArray``, nullable and text arrays),
    so that ``.tolist()`` gives each value its Python type (``Timestamp``, ``NA``, ...)."""
    iterate = getattr(frame, "_iter_column_arrays", None)  # pandas' own walk, not public
    if iterate is not None:
        return list(iterate())
    out = []
    for _, column in frame.items():
        array = column.array
        out.append(array.to_numpy() if isinstance(array, pd.arrays.NumpyExtensionArray) else array)
    return out


def column_array(frame: pd.DataFrame, name: str) -> Any:
    """The array of column ``name`` as :func:`column_arrays` gives it (a numpy array, or
    pandas' own array: ``DatetimeArray``, ``Categorical``, ...) without building its
    ``Series``; not to be written to.

    Raises
    ------
    KeyError
        If ``frame`` has no column ``name``.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0], "d": pd.to_datetime(["2024-05-01"])})
    >>> type(column_array(frame, "a")).__name__, type(column_array(frame, "d")).__name__
    ('ndarray', 'DatetimeArray')
    """
    get = getattr(frame, "_get_column_array", None)  # pandas' own accessor, not public
    if get is not None and frame.columns.is_unique:
        return get(frame.columns.get_loc(name))
    array = frame[name].array
    return array.to_numpy() if isinstance(array, pd.arrays.NumpyExtensionArray) else array


def column_values(frame: pd.DataFrame, name: str) -> np.ndarray:
    """``frame[name].to_numpy()`` (read-only, as pandas gives it) without building the
    column's ``Series`` where pandas stores it as a numpy array (about 8 µs a column,
    paid for every column read on every valuation); pandas' own conversion otherwise.

    Raises
    ------
    KeyError
        If ``frame`` has no column ``name``.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, 2.0], "b": pd.Categorical(["x", "y"])})
    >>> column_values(frame, "a").tolist(), column_values(frame, "b").tolist()
    ([1.0, 2.0], ['x', 'y'])
    """
    get = getattr(frame, "_get_column_array", None)  # pandas' own accessor, not public
    if get is not None and frame.columns.is_unique:
        array = get(frame.columns.get_loc(name))
        if isinstance(array, np.ndarray):
            view = array.view()
            view.flags.writeable = False
            return view
    return frame[name].to_numpy()


def column_floats(frame: pd.DataFrame, name: str) -> np.ndarray:
    """``float_values(frame[name])`` without building the column's ``Series`` where pandas
    stores it as a numpy array of numbers or booleans (the usual case on the value path).

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1, 2], "b": ["3", "x"]})
    >>> column_floats(frame, "a").tolist(), column_floats(frame, "b").tolist()
    ([1.0, 2.0], [3.0, nan])
    """
    get = getattr(frame, "_get_column_array", None)  # pandas' own accessor, not public
    if get is not None and frame.columns.is_unique:
        array = get(frame.columns.get_loc(name))
        if isinstance(array, np.ndarray) and array.dtype.kind in "fiub":
            values = array.astype(float, copy=False)
            if values is array:  # floats already: pandas hands them out read-only
                values = values.view()
                values.flags.writeable = False
            return values
    return float_values(frame[name])


def str_values(values: Any) -> np.ndarray:
    """Values as a 1-d object array of ``str`` (``str(v)``; missing values as
    :data:`MISSING_TEXT`, whatever the pandas version).

    Same text as ``Series.astype(str)``, without its fixed cost of about 0.2 ms on a few
    values; city names are looked up this way on every valuation.
    """
    if isinstance(values, (pd.Series, pd.Index)):
        array = values.to_numpy(dtype=object)
    else:
        array = np.asarray(values, dtype=object)
    array = array.ravel()
    if len(array) <= _FEW:
        out = np.empty(len(array), dtype=object)
        out[:] = [str(value) for value in array]
    else:
        out = pd.Series(array, copy=False).astype(str).to_numpy(dtype=object)
    if _all_text(array):  # nothing missing: no look for it
        return out
    missing = pd.isna(array)
    if missing.any():
        out[missing] = MISSING_TEXT
    return out


def _all_text(values: np.ndarray) -> bool:
    """Whether a few values are all of type ``str`` (none missing, then, whatever
    ``pd.isna`` counts as missing), for the usual case that needs no ``pd.isna``."""
    return len(values) <= _FEW and all(type(value) is str for value in values)


def float_values(column: pd.Series) -> np.ndarray:
    """A column as a float array: numeric (and boolean) columns as they are, anything else
    through ``pd.to_numeric(errors="coerce")`` (text that is no number becomes NaN).

    The same values as ``pd.to_numeric(column, errors="coerce").to_numpy(float)``, without
    building a parsed ``Series`` for a column that needs no parsing.

    Examples
    --------
    >>> float_values(pd.Series([1, 2])).tolist(), float_values(pd.Series(["3", "x"])).tolist()
    ([1.0, 2.0], [3.0, nan])
    """
    if column.dtype.kind in "fiub" and not isinstance(
        column.dtype, pd.api.extensions.ExtensionDtype
    ):
        return column.to_numpy(dtype=float)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def empty_frame(columns: tuple[str, ...]) -> pd.DataFrame:
    """An empty frame of ``columns`` (a shallow copy of one built once: building an empty
    frame costs about 0.2 ms, which a one-property valuation paid several times).

    Examples
    --------
    >>> frame = empty_frame(("row", "rule"))
    >>> list(frame.columns), len(frame), frame is empty_frame(("row", "rule"))
    (['row', 'rule'], 0, False)
    """
    return _empty(tuple(columns)).copy(deep=False)


@lru_cache(maxsize=64)
def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


_NS_PER_DAY = 86_400 * 10**9


def whole_days(dates: Any, epoch: pd.Timestamp) -> np.ndarray:
    """Whole days from ``epoch`` (a midnight) to each date, floored, as floats (NaN where
    missing): ``(pd.to_datetime(dates) - epoch).dt.days``, without parsing or a ``Series``
    when the dates are ``datetime64[ns]`` already (the engine's dates).

    Examples
    --------
    >>> epoch = pd.Timestamp("2000-01-01")
    >>> whole_days(pd.Series(pd.to_datetime(["2000-01-02 18:00", None])), epoch)
    array([ 1., nan])
    >>> whole_days(["1999-12-31 12:00"], epoch)
    array([-1.])
    """
    values = np.asarray(dates).ravel()
    if values.dtype == np.dtype("datetime64[ns]") and epoch == epoch.normalize():
        # days since 1970 first (no overflow), then since the epoch
        days = np.floor_divide(values.view(np.int64), _NS_PER_DAY) - epoch.value // _NS_PER_DAY
        out = days.astype(float)
        out[np.isnat(values)] = np.nan
        return out
    parsed = pd.to_datetime(pd.Series(values))
    return (parsed - epoch).dt.days.to_numpy(float, na_value=np.nan)


_NS_DATES = np.dtype("datetime64[ns]")


def complete_ns_dates(values: Any) -> np.ndarray | None:
    """``values`` as a ``datetime64[ns]`` array (not to be written to) when they are such
    dates already and none is missing, else None: what ``pd.to_datetime(values)`` gives
    them and what filling missing dates would leave, without parsing (about 60 µs, paid
    several times per valuation on dates the engine has parsed already).

    Examples
    --------
    >>> stamps = pd.to_datetime(["2024-05-01", None]).as_unit("ns")
    >>> complete_ns_dates(stamps[:1].array).tolist()
    [1714521600000000000]
    >>> complete_ns_dates(stamps.array) is None  # a date is missing
    True
    >>> complete_ns_dates(np.array(["2024-05-01"], dtype=object)) is None
    True
    """
    if isinstance(values, pd.Series):
        values = values.array
    if getattr(values, "dtype", None) != _NS_DATES:
        return None
    array = np.asarray(values)
    if array.ndim != 1 or np.isnat(array).any():
        return None
    return array


def text_array(values: np.ndarray) -> Any:
    """A 1-d object array of ``str`` as the frame constructor stores it: pandas' text array
    where it infers text (pandas 3's default), else the object array itself; for
    :func:`frame_of`, which takes an object array as it is.

    Examples
    --------
    >>> text = text_array(np.array(["high"], dtype=object))
    >>> text.dtype == pd.DataFrame({"c": np.array(["high"], dtype=object)})["c"].dtype
    True
    """
    dtype = _inferred_text_dtype()
    if dtype == np.dtype(object):
        return values
    # what pd.array(values, dtype=dtype) calls, without its look-up of the dtype
    return dtype.construct_array_type()._from_sequence(values, dtype=dtype)


@lru_cache(maxsize=1)
def _inferred_text_dtype() -> Any:
    """The dtype the frame constructor gives a column of text (asked once)."""
    return pd.DataFrame({"c": np.array(["x"], dtype=object)})["c"].dtype


_DATE_UNITS = frozenset(np.dtype(f"datetime64[{unit}]") for unit in ("s", "ms", "us", "ns"))


def stored_array(values: Any) -> Any:
    """A 1-d numpy array as the frame constructor would store it, where that is plain:
    dates (``datetime64`` of seconds to nanoseconds) as pandas' date array, and text (every
    value a ``str`` or missing, at least one ``str``) as :func:`text_array`; anything else
    unchanged. A column so given lets :func:`frame_of` build its frame directly.

    Examples
    --------
    >>> stored_array(np.array(["x", None], dtype=object)).tolist()
    ['x', nan]
    >>> type(stored_array(np.array(["2024-05-01"], dtype="M8[ns]"))).__name__
    'DatetimeArray'
    >>> stored_array(np.array(["x", 1], dtype=object)).dtype
    dtype('O')
    """
    if not isinstance(values, np.ndarray) or values.ndim != 1:
        return values
    if values.dtype in _DATE_UNITS:  # what pd.array(values) calls
        return pd.arrays.DatetimeArray._from_sequence(values, dtype=values.dtype)
    text = values.dtype == np.dtype(object) and len(values)
    if text and pd.api.types.infer_dtype(values, skipna=True) == "string":
        return text_array(values)
    return values


def object_array(items: Any) -> np.ndarray:
    """A 1-d object array holding each item as it is (numpy would read a list of equally
    long lists as a 2-d array); what pandas makes of a list of lists or dicts set as a
    column.

    Examples
    --------
    >>> object_array([["far"], ["new_city"]]).shape
    (2,)
    """
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def with_columns(frame: pd.DataFrame, columns: dict[str, Any]) -> pd.DataFrame:
    """``frame`` with ``columns`` set: replaced in place where ``frame`` has them, the others
    added after its columns in one step (one insertion per column costs about 0.1 ms each on
    a one-row frame). Returns ``frame`` itself when nothing is added, else a new frame.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0]})
    >>> with_columns(frame, {"a": [2.0], "b": [3.0]}).to_dict("records")
    [{'a': 2.0, 'b': 3.0}]
    """
    added = {name: values for name, values in columns.items() if name not in frame}
    for name, values in columns.items():
        if name not in added:
            frame[name] = values
    if not added:
        return frame
    return pd.concat([frame, frame_of(added, frame.index)], axis=1)


def frame_of(
    columns: dict[str, Any], index: pd.Index | range | int, *, object_as_is: bool = False
) -> pd.DataFrame:
    """``pd.DataFrame(columns, index=index)``, the same frame, built from the column arrays
    directly when the frame is small (up to 256 rows) and every column is a 1-d numpy array
    of numbers or booleans, a pandas array, or a ``Series`` on ``index``.

    The constructor checks, aligns and converts every column on its own (about 0.3 ms for
    a one-row frame of 40 columns, paid several times per valuation); the arrays here are
    copied and handed to pandas as they are. Anything else (lists, scalars, an object or
    date ``ndarray``, whose type the constructor infers) takes the constructor.

    ``object_as_is``: an object ``ndarray`` stays a column of Python objects, as an object
    ``Series`` on ``index`` would (the constructor would read its text as pandas' ``str``).

    Examples
    --------
    >>> frame = frame_of({"a": np.array([1.0]), "b": pd.Series(["x"], dtype=object)}, 1)
    >>> frame.dtypes.astype(str).tolist(), frame.index.equals(pd.RangeIndex(1))
    (['float64', 'object'], True)
    """
    if isinstance(index, int):
        index = pd.RangeIndex(index)
    elif not isinstance(index, pd.Index):
        index = pd.Index(index)
    if columns and len(index) <= _SMALL_ROWS:
        arrays = [_block_array(values, index, object_as_is) for values in columns.values()]
        if all(array is not None for array in arrays):
            return pd.DataFrame._from_arrays(
                arrays, columns=_column_index(list(columns)), index=index, verify_integrity=False
            )
    if object_as_is:
        columns = {
            name: pd.Series(values, index=index, dtype=object, copy=False)
            if isinstance(values, np.ndarray) and values.dtype == object
            else values
            for name, values in columns.items()
        }
    return pd.DataFrame(columns, index=index)


def _column_index(names: list[Any]) -> pd.Index:
    """``pd.Index(names)``: for names that are all ``str``, a view of one built once per
    set of names, which shares its look-up table (building the index of a frame's column
    names and its table cost about 0.1 ms, paid by every frame built on the value path;
    a view has its own ``name``)."""
    if all(type(name) is str for name in names):
        return _text_index(tuple(names)).view()
    return pd.Index(names)


@lru_cache(maxsize=256)
def _text_index(names: tuple[str, ...]) -> pd.Index:
    return pd.Index(list(names))


def _block_array(values: Any, index: pd.Index, object_as_is: bool = False) -> Any:
    """A copy of ``values`` as pandas would store it in a frame on ``index``, or None when
    only the constructor can tell (see :func:`frame_of`)."""
    if isinstance(values, pd.Series):
        if not (values.index is index or values.index.equals(index)):
            return None
        values = values._values  # numpy or pandas array, as the Series holds it
        if isinstance(values, np.ndarray) and values.dtype.kind in "mM":
            return None
    elif isinstance(values, np.ndarray):
        if values.dtype.kind not in ("fbiuO" if object_as_is else "fbiu"):
            return None
    elif not isinstance(values, pd.api.extensions.ExtensionArray):
        return None
    if values.ndim != 1 or len(values) != len(index):
        return None
    return values.copy()


def with_replaced(frame: pd.DataFrame, columns: dict[str, Any]) -> pd.DataFrame:
    """``frame.assign(**columns)`` (a new frame; ``frame`` unchanged), built in one step
    from the column arrays when ``frame`` is small and every new column is a numpy array of
    numbers or booleans, or a pandas array (each column set on a frame costs about 30 µs;
    assigning a valuation's few columns cost more than building its frame anew);
    ``assign`` otherwise.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0], "b": pd.Series(["x"], dtype=object)})
    >>> out = with_replaced(frame, {"a": np.array([2.0]), "c": np.array([True])})
    >>> out.to_dict("records"), frame["a"].tolist(), out["b"].dtype
    ([{'a': 2.0, 'b': 'x', 'c': True}], [1.0], dtype('O'))
    """
    simple = all(
        (isinstance(v, np.ndarray) and v.dtype.kind in "fbiu")
        or isinstance(v, pd.api.extensions.ExtensionArray)
        for v in columns.values()
    ) and all(np.shape(v) == (len(frame),) for v in columns.values())
    if not simple or len(frame) > _SMALL_ROWS or not frame.columns.is_unique:
        return frame.assign(**columns)
    data = dict(zip(frame.columns.tolist(), column_arrays(frame), strict=True))
    data.update(columns)
    return frame_of(data, frame.index, object_as_is=True)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts of Python values, from its columns read once
    (``frame.to_dict("records")`` without its per-value cost; a nullable column's missing
    values stay ``pd.NA`` here).

    Examples
    --------
    >>> records(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))
    [{'a': 1.0, 'b': 'x'}, {'a': 2.0, 'b': 'y'}]
    """
    names = frame.columns.tolist()
    if not names:
        return [{} for _ in range(len(frame))]
    columns = [values.tolist() for values in column_arrays(frame)]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
