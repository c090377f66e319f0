"""Fast column access and text spelling for small frames (estimo.frames)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from estimo.frames import MISSING_TEXT, str_values

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
