"""Fast column access and text spelling for small frames (estimo.frames)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from estimo.frames import MISSING_TEXT, float_values, str_values

_values = st.one_of(
    st.text(max_size=6),
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.none(),
    st.just(pd.NA),
)


def _expected(values: list) -> list[str]:
    """What ``Series.astype(str)`` spells, with every missing value as MISSING_TEXT."""
    array = np.asarray(values, dtype=object)
    spelled = pd.Series(array, dtype=object).astype(str).to_numpy(dtype=object)
    spelled[pd.isna(array)] = MISSING_TEXT
    return spelled.tolist()


@given(st.lists(_values, max_size=150))
def test_str_values_spell_like_astype_str_for_few_and_many_values(values):
    # below and above the list-comprehension threshold the same text comes out
    out = str_values(pd.Series(values, dtype=object))
    assert out.dtype == object
    assert out.tolist() == _expected(values)
    assert str_values(values).tolist() == out.tolist()


def test_str_values_of_categories_numbers_and_scalars():
    cities = pd.Series(pd.Categorical(["Roma", None, "Milano"]))
    assert str_values(cities).tolist() == ["Roma", MISSING_TEXT, "Milano"]
    assert str_values(np.array([1.0, np.nan])).tolist() == ["1.0", MISSING_TEXT]
    assert str_values("Torino").tolist() == ["Torino"]
    assert str_values([]).shape == (0,)


_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**9), 10**9), st.none()
)


@given(st.lists(_numbers, max_size=80), st.sampled_from(["float", "object", "Int64", "str"]))
def test_float_values_read_like_to_numeric_coerce(values, kind):
    # every column kind gives what pd.to_numeric(errors="coerce") gives, as floats
    if kind == "float":
        column = pd.Series([np.nan if v is None else v for v in values], dtype=float)
    elif kind == "Int64":
        column = pd.Series(
            [None if v is None or isinstance(v, float) else v for v in values], dtype="Int64"
        )
    elif kind == "str":
        column = pd.Series([None if v is None else str(v) for v in values] + ["x"], dtype=object)
    else:
        column = pd.Series(values, dtype=object)
    expected = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    out = float_values(column)
    assert out.dtype == float
    np.testing.assert_array_equal(out, expected)


def test_float_values_of_booleans_are_zero_and_one():
    assert float_values(pd.Series([True, False])).tolist() == [1.0, 0.0]
