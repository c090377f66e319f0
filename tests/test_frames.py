"""Fast column access and text spelling for small frames (estimo.frames)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimo.frames import (
    MISSING_TEXT,
    column_floats,
    column_values,
    float_values,
    frame_of,
    str_values,
    with_replaced,
)

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


def _column(kind: str, n: int, rng: np.random.Generator, index: pd.Index) -> object:
    """One column of ``kind`` (what the value path hands to a frame) with ``n`` values."""
    floats = rng.normal(size=n)
    floats[rng.random(n) < 0.3] = np.nan
    words = np.array(rng.choice(["a", "b", None], n), dtype=object)
    return {
        "float": floats,
        "int": rng.integers(-5, 5, n),
        "bool": rng.random(n) < 0.5,
        "object series": pd.Series(words, index=index, dtype=object),
        "text series": pd.Series(words, index=index),
        "float series": pd.Series(floats, index=index),
        "date series": pd.Series(pd.to_datetime(rng.integers(0, 10**9, n), unit="s")),
        "categorical": pd.Categorical(words),
        "dates array": pd.array(pd.to_datetime(rng.integers(0, 10**9, n), unit="s")),
        # the constructor infers these: frame_of must hand them to it
        "object ndarray": words,
        "date ndarray": np.array(rng.integers(0, 10**9, n), dtype="datetime64[s]"),
        "list": floats.tolist(),
        "misaligned series": pd.Series(floats, index=np.arange(n)[::-1]),
    }[kind]


KINDS = [
    "float",
    "int",
    "bool",
    "object series",
    "text series",
    "float series",
    "date series",
    "categorical",
    "dates array",
    "object ndarray",
    "date ndarray",
    "list",
    "misaligned series",
]


@given(
    kinds=st.lists(st.sampled_from(KINDS), max_size=8),
    n=st.sampled_from([0, 1, 2, 7, 256, 257]),
    seed=st.integers(0, 2**16),
    range_index=st.booleans(),
)
def test_frame_of_builds_the_frame_the_constructor_builds(kinds, n, seed, range_index):
    rng = np.random.default_rng(seed)
    index = pd.RangeIndex(n) if range_index else pd.Index(np.arange(n) * 2)
    columns = {f"c{i}": _column(kind, n, rng, index) for i, kind in enumerate(kinds)}
    if any(k in ("date series", "misaligned series") for k in kinds) and not range_index:
        columns = {k: v for k, v in columns.items() if not isinstance(v, pd.Series)}
    expected = pd.DataFrame(columns, index=index)
    built = frame_of(columns, index)
    pd.testing.assert_frame_equal(built, expected, check_index_type=True, check_column_type=True)
    # a copy: writing into the frame leaves the caller's arrays alone
    before = {k: np.array(v, dtype=object, copy=True) for k, v in columns.items()}
    for name in built.columns:
        if built[name].dtype.kind == "f":
            built.loc[built.index[:1], name] = 1
    for name, values in columns.items():
        after = np.array(values, dtype=object)
        assert ((after == before[name]) | pd.isna(after)).all(), name


def test_frame_of_takes_a_length_or_a_range():
    one = frame_of({"a": np.array([1.0])}, 1)
    assert one.index.equals(pd.RangeIndex(1))
    assert frame_of({"a": np.array([1.0, 2.0])}, range(2))["a"].tolist() == [1.0, 2.0]
    assert frame_of({}, 3).shape == (3, 0)


@given(kind=st.sampled_from(KINDS[:9]), n=st.sampled_from([0, 1, 5]), seed=st.integers(0, 99))
def test_column_values_are_what_to_numpy_gives(kind, n, seed):
    rng = np.random.default_rng(seed)
    index = pd.RangeIndex(n)
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "c": _column(kind, n, rng, index)})
    got, expected = column_values(frame, "c"), frame["c"].to_numpy()
    assert got.dtype == expected.dtype
    assert got.tolist() == expected.tolist() or pd.isna(got).tolist() == pd.isna(expected).tolist()
    assert np.array_equal(pd.isna(got), pd.isna(expected))
    # never a way to write into the frame where pandas gives none
    assert got.flags.writeable <= expected.flags.writeable


def test_column_values_of_a_missing_column_raise_key_error():
    with pytest.raises(KeyError):
        column_values(pd.DataFrame({"a": [1.0]}), "b")


@given(
    kinds=st.lists(st.sampled_from(KINDS[:9]), min_size=1, max_size=6),
    new=st.lists(
        st.sampled_from(["float", "int", "bool", "object ndarray", "list", "dates array"]),
        max_size=4,
    ),
    replace_first=st.booleans(),
    n=st.sampled_from([0, 1, 3, 300]),
    seed=st.integers(0, 99),
)
def test_with_replaced_is_assign(kinds, new, replace_first, n, seed):
    rng = np.random.default_rng(seed)
    index = pd.RangeIndex(n)
    frame = pd.DataFrame({f"c{i}": _column(k, n, rng, index) for i, k in enumerate(kinds)})
    columns = {f"n{i}": _column(k, n, rng, index) for i, k in enumerate(new)}
    if replace_first:
        columns["c0"] = rng.normal(size=n)
    before = frame.copy()
    got = with_replaced(frame, columns)
    pd.testing.assert_frame_equal(got, frame.assign(**columns), check_column_type=True)
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is left alone


@given(kind=st.sampled_from(KINDS[:9]), n=st.sampled_from([0, 1, 5]), seed=st.integers(0, 99))
def test_column_floats_are_float_values_of_the_column(kind, n, seed):
    rng = np.random.default_rng(seed)
    index = pd.RangeIndex(n)
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "c": _column(kind, n, rng, index)})
    if kind in ("date series", "dates array"):
        return  # dates are never read as floats
    got, expected = column_floats(frame, "c"), float_values(frame["c"])
    assert got.dtype == expected.dtype == np.float64
    assert got.tobytes() == expected.tobytes()
    assert got.flags.writeable <= expected.flags.writeable


@given(
    kinds=st.lists(st.sampled_from(KINDS[:10]), max_size=6),
    n=st.sampled_from([0, 1, 7, 300]),
    seed=st.integers(0, 2**16),
)
def test_frame_of_keeps_object_arrays_as_python_objects_when_told(kinds, n, seed):
    rng = np.random.default_rng(seed)
    index = pd.RangeIndex(n)
    columns = {f"c{i}": _column(kind, n, rng, index) for i, kind in enumerate(kinds)}
    as_objects = {
        k: pd.Series(v, index=index, dtype=object)
        if isinstance(v, np.ndarray) and v.dtype == object
        else v
        for k, v in columns.items()
    }
    expected = pd.DataFrame(as_objects, index=index)
    got = frame_of(columns, index, object_as_is=True)
    pd.testing.assert_frame_equal(got, expected, check_column_type=True)
