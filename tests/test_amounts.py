"""Numbers written with currency signs, units and grouped digits read back as numbers."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimo.amounts import read_amounts

CENTS = st.lists(st.integers(1, 10**11), min_size=1, max_size=20)
AROUND = st.sampled_from([("€", ""), ("$ ", ""), ("R$ ", ""), ("", " zł"), ("", " PLN"), ("", "")])


def _us(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def _european(cents: int) -> str:
    return _us(cents).replace(",", "_").replace(".", ",").replace("_", ".")


def _spaced(cents: int) -> str:
    return _us(cents).replace(",", "\u00a0")


@given(CENTS, AROUND, st.sampled_from([_us, _european, _spaced]))
def test_a_column_written_one_way_reads_back(cents, around, style) -> None:
    prefix, suffix = around
    written = pd.Series([f"{prefix}{style(c)}{suffix}" for c in cents])
    assert read_amounts(written).tolist() == pytest.approx([c / 100 for c in cents])


@given(st.lists(st.integers(1, 10**9), min_size=1, max_size=20), AROUND)
def test_whole_amounts_with_grouped_thousands_read_back(units, around) -> None:
    prefix, suffix = around
    written = pd.Series([f"{prefix}{u:,}{suffix}" for u in units])
    assert read_amounts(written).tolist() == [float(u) for u in units]


@pytest.mark.parametrize(
    "text", ["3 rooms, 85 m2", "2024-01-05", "80-90", "about", "1.2.3,4,5", ""]
)
def test_text_that_is_not_one_number_is_missing(text: str) -> None:
    assert read_amounts(pd.Series([text])).isna().all()
