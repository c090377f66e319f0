"""Money rule: reasons add up exactly to the price (property-based), within one unit each."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimo.explain.money import allocate_money, log_mean, round_parts, round_to_unit

contribution_lists = st.lists(
    st.floats(min_value=-1.5, max_value=1.5, allow_nan=False), min_size=0, max_size=15
)
baselines = st.floats(min_value=math.log(20_000), max_value=math.log(5e7))
units = st.sampled_from([1, 10, 100, 1000])


@settings(max_examples=300, deadline=None)
@given(contribution_lists, baselines, units)
def test_amounts_add_up_to_the_rounded_price(contributions, baseline_log, unit):
    c = np.array(contributions)
    base, amounts = allocate_money(c, baseline_log, unit=unit)
    price = round_to_unit(math.exp(baseline_log + c.sum()), unit)
    assert base + int(amounts.sum()) == price
    assert all(a % unit == 0 for a in amounts) and base % unit == 0


@settings(max_examples=300, deadline=None)
@given(contribution_lists, baselines, st.floats(min_value=-0.05, max_value=0.05))
def test_given_price_is_matched_and_each_amount_is_close_to_its_share(
    contributions, baseline_log, price_noise
):
    """A shown price slightly off the contributions (rounding) is still matched exactly."""
    c = np.array(contributions)
    price = math.exp(baseline_log + c.sum() + price_noise)
    base, amounts = allocate_money(c, baseline_log, price=price)
    assert base + int(amounts.sum()) == round(price)
    if len(c):
        rate = log_mean(round(price), base)
        exact = rate * c
        gap = (round(price) - base) - exact.sum()
        weights = (
            np.abs(c) / np.abs(c).sum() if np.abs(c).sum() > 0 else np.full(len(c), 1 / len(c))
        )
        assert np.all(np.abs(amounts - (exact + gap * weights)) < 1.0 + 1e-6)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=12))
def test_round_parts_hits_the_total(parts):
    p = np.array(parts)
    total = round(p.sum()) + 3
    out = round_parts(p, total)
    assert int(out.sum()) == total


@pytest.mark.parametrize(
    ("contributions", "baseline", "expected_base", "expected"),
    [
        ([0.2, -0.2], 1000.0, 1000, [200, -200]),  # cancelling effects cancel in money
        ([0.0, 0.0], 1000.0, 1000, [0, 0]),
        ([math.log(2)], 1000.0, 1000, [1000]),  # doubling adds the baseline once
        ([math.log(2) / 2, math.log(2) / 2], 1000.0, 1000, [500, 500]),  # symmetric shares
    ],
)
def test_documented_examples(contributions, baseline, expected_base, expected):
    base, amounts = allocate_money(np.array(contributions), math.log(baseline))
    assert base == expected_base
    assert amounts.tolist() == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"contributions": np.array([np.nan]), "baseline_log": 10.0}, "finite"),
        ({"contributions": np.array([0.1]), "baseline_log": 10.0, "unit": 0}, "unit"),
        ({"contributions": np.array([0.1]), "baseline_log": 10.0, "price": -5.0}, "price"),
    ],
)
def test_bad_input_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        allocate_money(**kwargs)
