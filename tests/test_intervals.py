from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimo.errors import DataError, NotFittedError
from estimo.model.intervals import ConformalIntervals, calibrated_level, conformal_quantiles


def _residuals(n: int = 4_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    city = np.where(rng.uniform(size=n) < 0.9, "Big", "Small")
    seg = rng.choice(["flat", "house"], n)
    scale = np.where(city == "Big", np.where(seg == "house", 0.2, 0.08), 0.15)
    return rng.normal(0, 1, n) * scale, city, seg


@pytest.mark.parametrize("level", [0.8, 0.9])
def test_intervals_cover_new_draws_at_the_nominal_level(level) -> None:
    r, city, seg = _residuals()
    cal = ConformalIntervals(levels=(0.8, 0.9)).fit(r, city, seg)
    new, new_city, new_seg = _residuals(seed=1)
    lo, hi = cal.bounds(new_city, new_seg, level=level)
    covered = (new >= lo) & (new <= hi)
    assert covered.mean() == pytest.approx(level, abs=0.03)
    for name in ("Big", "Small"):
        assert covered[new_city == name].mean() == pytest.approx(level, abs=0.05)


@pytest.mark.parametrize(
    ("city", "segment", "group"),
    [("Big", "house", "city×segment"), ("Small", "house", "city"), ("Nowhere", "flat", "global")],
)
def test_mondrian_groups_fall_back_when_small(city, segment, group) -> None:
    r, c, s = _residuals()
    cal = ConformalIntervals(min_city_rows=150, min_segment_rows=300).fit(r, c, s)
    assert cal.groups([city], [segment])[0] == group


def test_wider_where_errors_are_larger() -> None:
    r, c, s = _residuals()
    cal = ConformalIntervals().fit(r, c, s)
    lo_h, hi_h = cal.bounds(["Big"], ["house"], level=0.8)
    lo_f, hi_f = cal.bounds(["Big"], ["flat"], level=0.8)
    assert hi_h[0] - lo_h[0] > 1.5 * (hi_f[0] - lo_f[0])
    assert cal.fsd(["Big"], ["house"])[0] == pytest.approx(0.2, abs=0.03)


def test_quantiles_are_conservative_with_few_rows() -> None:
    lo, hi = conformal_quantiles(np.array([-0.1, 0.0, 0.1]), 0.9)
    assert (lo, hi) == (-0.1, 0.1)


def test_table_round_trip() -> None:
    r, c, s = _residuals()
    cal = ConformalIntervals().fit(r, c, s)
    again = ConformalIntervals.from_table(cal.table_, cal.get_params(), cal.use_segments_)
    np.testing.assert_array_equal(
        again.bounds(c[:50], s[:50], level=0.9)[1], cal.bounds(c[:50], s[:50], level=0.9)[1]
    )


def test_a_pickled_calibration_leaves_its_cache_behind_and_rebuilds_it() -> None:
    r, c, s = _residuals()
    cal = ConformalIntervals().fit(r, c, s)
    before = cal.bounds(c[:50], s[:50], level=0.8)
    assert "_arrays" in cal.__dict__  # built by the first use
    again = pickle.loads(pickle.dumps(cal))
    assert "_arrays" not in again.__dict__
    np.testing.assert_array_equal(again.bounds(c[:50], s[:50], level=0.8)[0], before[0])


def test_errors_are_clear() -> None:
    with pytest.raises(NotFittedError, match="not calibrated"):
        ConformalIntervals().bounds(["A"])
    with pytest.raises(DataError, match="outside"):
        ConformalIntervals(levels=(1.5,)).fit([0.1], ["A"])
    cal = ConformalIntervals(levels=(0.8,)).fit(np.zeros(10), ["A"] * 10)
    with pytest.raises(DataError, match="was not calibrated"):
        cal.bounds(["A"], level=0.95)
    with pytest.raises(DataError, match="no finite residual"):
        ConformalIntervals().fit([np.nan], pd.Series(["A"]))


def test_centring_keeps_a_citys_spread_but_not_its_own_validation_bias() -> None:
    r, c, s = _residuals()
    biased = np.where(c == "Big", r + 0.05, r)  # the validation model overvalued Big by 5 %
    centred = ConformalIntervals(levels=(0.8,)).fit(biased, c)
    raw = ConformalIntervals(levels=(0.8,), centre=False).fit(biased, c)
    lo, hi = centred.bounds(["Big"], level=0.8)
    lo_raw, hi_raw = raw.bounds(["Big"], level=0.8)
    assert hi[0] - lo[0] == pytest.approx(hi_raw[0] - lo_raw[0], rel=1e-9)
    # relative to the market (90 % Big) both cities end up with the same centre
    lo_s, hi_s = centred.bounds(["Small"], level=0.8)
    assert (hi_s[0] + lo_s[0]) / 2 == pytest.approx((hi[0] + lo[0]) / 2, abs=0.02)
    assert centred.fsd(["Big"])[0] == pytest.approx(raw.fsd(["Big"])[0])


def test_a_market_wide_bias_is_kept_and_a_citys_own_bias_removed() -> None:
    rng = np.random.default_rng(3)
    city = np.repeat(["A", "B"], 2_000)
    r = rng.normal(0, 0.1, 4_000) + np.where(city == "A", 0.06, 0.0)  # A alone is biased
    r_market = rng.normal(0, 0.1, 4_000) + 0.04  # every city misses the same drift
    centred = ConformalIntervals(levels=(0.8,)).fit(r, city)
    lo, hi = centred.bounds(["A", "B"], level=0.8)
    mid = (lo + hi) / 2
    assert mid[0] == pytest.approx(mid[1], abs=0.015)  # A's own bias is gone
    market = ConformalIntervals(levels=(0.8,)).fit(r_market, city)
    lo, hi = market.bounds(["A", "B"], level=0.8)
    np.testing.assert_allclose((lo + hi) / 2, 0.04, atol=0.015)  # the drift is kept


@pytest.mark.parametrize("level", [0.8, 0.9])
def test_prices_the_cleaning_dropped_are_counted_in_the_coverage(level) -> None:
    """Calibrated on clean residuals, the ranges of a market where 5 % of the prices are
    outliers (dropped from training, never inside a range) hold the nominal share of all
    prices only when told that share; told nothing, they hold ~5 % fewer."""
    r, city, seg = _residuals(20_000)
    new, new_city, new_seg = _residuals(20_000, seed=1)
    wild = np.random.default_rng(2).uniform(size=len(new)) < 0.05
    new = np.where(wild, 10.0 * np.sign(new), new)  # outliers: far outside every range
    coverage = {}
    for share in (0.0, 0.05):
        cal = ConformalIntervals(levels=(0.8, 0.9), uncovered_share=share).fit(r, city, seg)
        lo, hi = cal.bounds(new_city, new_seg, level=level)
        coverage[share] = ((new >= lo) & (new <= hi)).mean()
    assert coverage[0.05] == pytest.approx(level, abs=0.01)
    assert coverage[0.0] == pytest.approx(level * 0.95, abs=0.01)


@pytest.mark.parametrize("share", [-0.1, 1.0, 2.5])
def test_an_uncovered_share_outside_zero_to_one_is_refused(share) -> None:
    r, city, seg = _residuals()
    with pytest.raises(DataError, match=rf"uncovered_share is {share!r}; expected a share"):
        ConformalIntervals(uncovered_share=share).fit(r, city, seg)


@given(
    level=st.floats(0.01, 0.99),
    share=st.floats(0.0, 0.999),
    more=st.floats(0.0, 0.5),
)
def test_a_calibrated_level_lies_between_the_level_and_one(level, share, more) -> None:
    """Never below the level asked for, never 1, equal to it without outliers, and growing
    with the share of prices no range holds."""
    calibrated = calibrated_level(level, share)
    assert level <= calibrated < 1.0
    assert calibrated <= (1 + level) / 2
    assert calibrated_level(level, 0.0) == level
    assert calibrated_level(level, min(share + more, 0.999)) >= calibrated
