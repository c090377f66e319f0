"""JSON-ready values: every nesting of Python, numpy and pandas values, strict JSON out."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from estimo.jsonutil import to_jsonable


def _reference(value):
    """What a JSON-ready value is, spelled out case by case (the specification)."""
    if isinstance(value, dict):
        return {str(k): _reference(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        return [_reference(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str | int):
        return value
    return str(value)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(np.float32),
    st.floats(allow_nan=True, allow_infinity=True).map(np.float64),
    st.integers(-(2**62), 2**62).map(np.int64),
    st.booleans().map(np.bool_),
    st.datetimes(min_value=pd.Timestamp("1900-01-01"), max_value=pd.Timestamp("2200-01-01")).map(
        pd.Timestamp
    ),
    st.sampled_from([pd.NA, pd.NaT]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=4), st.integers(0, 9)), inner, max_size=4),
        st.lists(st.floats(allow_nan=True), max_size=4).map(np.array),
    ),
    max_leaves=20,
)


@given(values)
def test_values_become_strict_json_as_specified(value) -> None:
    got = to_jsonable(value)
    assert got == _reference(value)
    json.dumps(got, allow_nan=False)  # no NaN or infinity left anywhere


def test_plain_values_pass_through_and_non_finite_floats_become_null() -> None:
    answer = {"price": 1.5, "n": 3, "ok": True, "why": "x", "low": float("inf"), "id": None}
    assert to_jsonable(answer) == {**answer, "low": None}
    assert to_jsonable({1: (np.float64("nan"), np.int64(2))}) == {"1": [None, 2]}
