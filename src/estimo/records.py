"""Properties given as records (JSON objects, mappings) as one canonical frame.

What ``estimo value`` and :meth:`estimo.pipeline.ValuationPipeline.value_many` read:
canonical fields are parsed to their kind (numbers as float, dates as timestamps, text as
Python objects); other fields pass through as extra features. Every problem of every record
is reported at once, naming the field, the bad value and what was expected.

Examples
--------
>>> frame = records_frame([{"city": "Milano", "area_m2": "80", "date": "2024-05-01"}])
>>> frame["area_m2"].tolist(), str(frame["date"].iloc[0].date())
([80.0], '2024-05-01')
>>> records_frame([{"area_m2": "big"}])
Traceback (most recent call last):
...
estimo.errors.DataError: cannot value these properties:
  - field 'city' is missing; every property needs its city
  - field 'area_m2' is 'big'; expected a number
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import DataError
from estimo.frames import frame_of
from estimo.schema import FIELDS

_SHOWN = 60  # characters of a bad value quoted in a message


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def records_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A canonical frame of property records (see the module docstring).

    Raises
    ------
    DataError
        Listing every problem: a record that is not a mapping, a missing city, a value that
        does not parse as its field's kind.
    """
    records = list(records)
    bad = [i for i, r in enumerate(records) if not isinstance(r, Mapping)]
    if bad:
        raise DataError(
            [
                f"property {i + 1} is {_shown(records[i])}; expected an object of fields"
                for i in bad[:5]
            ],
            header="cannot value these properties",
        )
    return canonical_types(pd.DataFrame.from_records([dict(r) for r in records]))


def parsed_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The canonical frame of records the input contract has parsed already
    (:meth:`estimo.property_input.PropertyContract.check`: numbers as float, dates as naive
    timestamps, text as ``str``, extra features as float, ``str`` or bool; no None values).

    What :func:`records_frame` gives for them, built column by column from typed arrays in
    one constructor call instead of parsing every column again (one property's frame is
    what the one-property path pays for on every request): numbers as float64 (NaN where a
    record lacks the field), dates as ``datetime64[ns]``, text as Python objects (None
    where missing); an extra feature is float64 when every given value is a number, bool
    when every record gives a bool, else Python objects.

    Examples
    --------
    >>> frame = parsed_frame([{"city": "Milano", "area_m2": 80.0, "garden": True}])
    >>> frame.dtypes.astype(str).to_dict()
    {'city': 'object', 'area_m2': 'float64', 'garden': 'bool'}
    """
    names = list(dict.fromkeys(name for record in records for name in record))
    index = pd.RangeIndex(len(records))
    columns: dict[str, Any] = {}
    for name in names:
        values = [record.get(name) for record in records]
        spec = FIELDS.get(name)
        kind = spec.kind if spec is not None else _extra_kind(values)
        if kind == "numeric":
            columns[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif kind == "date":
            columns[name] = pd.DatetimeIndex(values).as_unit("ns").array
        elif kind == "bool":
            columns[name] = np.array(values, dtype=bool)
        else:
            column = np.empty(len(values), dtype=object)
            column[:] = values
            columns[name] = pd.Series(column, index=index, dtype=object)  # not pandas' str
    return frame_of(columns, index)


def _extra_kind(values: list[Any]) -> str:
    """``numeric``, ``bool`` or ``text`` (anything else): how :func:`parsed_frame` stores
    an extra feature's parsed values."""
    given = [v for v in values if v is not None]
    if given and all(isinstance(v, float) for v in given):
        return "numeric"
    if len(given) == len(values) and all(isinstance(v, bool) for v in given):
        return "bool"
    return "text"


def canonical_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Parse the canonical columns of ``frame`` in place (see :func:`records_frame`).

    Raises
    ------
    DataError
        As :func:`records_frame`.
    """
    problems = []
    if "city" not in frame or frame["city"].isna().any():
        problems.append("field 'city' is missing; every property needs its city")
    for name in frame.columns:
        spec = FIELDS.get(name)
        if spec is None:
            continue
        if spec.kind == "numeric":
            parsed = pd.to_numeric(frame[name], errors="coerce")
            wrong = parsed.isna() & frame[name].notna()
            if wrong.any():
                value = _shown(frame.loc[wrong, name].iloc[0])
                problems.append(f"field {name!r} is {value}; expected a number")
            frame[name] = parsed.astype(float)
        elif spec.kind == "date":
            parsed = pd.to_datetime(frame[name], errors="coerce")
            wrong = parsed.isna() & frame[name].notna()
            if wrong.any():
                value = _shown(frame.loc[wrong, name].iloc[0])
                problems.append(f"field {name!r} is {value}; expected a date such as '2024-05-01'")
            frame[name] = parsed
        elif spec.kind in ("category", "id", "text"):
            frame[name] = frame[name].astype(object)
    if problems:
        raise DataError(problems, header="cannot value these properties")
    return frame
