"""Tests of estimo.evaluate.metrics: known values, invariants (hypothesis), validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimo.evaluate import metric_ci
from estimo.evaluate import metrics as metrics_module
from estimo.evaluate.metrics import (
    IAAO_STANDARDS,
    bootstrap_ci,
    cod,
    compute_metrics,
    iaao_ratio_study,
    mae,
    mape,
    mdae,
    mdape,
    median_ratio,
    pe,
    prb,
    prd,
    share_over,
)

# ----------------------------------------------------------------------------- known values

ACTUAL = [100.0, 200.0, 300.0]
PREDICTED = [90.0, 200.0, 360.0]  # ratios 0.9, 1.0, 1.2; abs errors 10, 0, 60


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (mae, 70.0 / 3.0),
        (mdae, 10.0),
        (mape, (0.1 + 0.0 + 0.2) / 3.0),
        (mdape, 0.1),
        (median_ratio, 1.0),
        (cod, (0.1 + 0.0 + 0.2) / 3.0 / 1.0),
        # mean ratio 31/30 divided by aggregate ratio 650/600
        (prd, (31.0 / 30.0) / (650.0 / 600.0)),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_known_values(fn, expected):
    assert fn(ACTUAL, PREDICTED) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("actual", "predicted", "expected"),
    [
        ([100.0, 100.0, 100.0], [90.0, 100.0, 120.0], 0.1),  # |dev| 0.1, 0, 0.2 / median 1
        ([100.0, 100.0, 100.0], [180.0, 200.0, 240.0], 0.1),  # same shape, median ratio 2
        ([100.0, 100.0, 100.0, 100.0], [80.0, 100.0, 100.0, 140.0], 0.15),  # median 1
        ([50.0], [80.0], 0.0),
    ],
)
def test_cod_known_values(actual, predicted, expected):
    assert cod(actual, predicted) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("within", "expected"),
    [
        (0.0, 0.2),  # only the exact hit
        (0.05, 0.4),  # 95
        (0.10, 0.6),  # 110 counts: the bound is inclusive despite 1.1 - 1 = 0.10000000000000009
        (0.20, 0.8),  # 80 counts
        (0.29, 0.8),
        (0.30, 1.0),  # 130 counts
    ],
)
def test_pe_known_values_and_inclusive_bound(within, expected):
    actual = [100.0] * 5
    predicted = [100.0, 95.0, 110.0, 80.0, 130.0]
    assert pe(actual, predicted, within) == pytest.approx(expected)
    assert share_over(actual, predicted, within) == pytest.approx(1.0 - expected)


def test_compute_metrics_keys_and_values():
    actual = [100.0] * 5
    predicted = [100.0, 95.0, 110.0, 80.0, 130.0]
    m = compute_metrics(actual, predicted)
    assert m["n"] == 5 and isinstance(m["n"], int)
    assert set(metrics_module.METRIC_NAMES) == set(m)
    assert m["pe5"] == pytest.approx(0.4)
    assert m["pe10"] == pytest.approx(0.6)
    assert m["pe20"] == pytest.approx(0.8)
    assert m["over20"] == pytest.approx(0.2)
    assert m["over30"] == pytest.approx(0.0)
    assert m["mdape"] == pytest.approx(0.1)
    assert m["mae"] == pytest.approx((0 + 5 + 10 + 20 + 30) / 5)
    assert m["median_ratio"] == pytest.approx(1.0)
    assert all(isinstance(v, float) for k, v in m.items() if k != "n")


def test_compute_metrics_interval():
    actual = [100.0, 100.0, 100.0, 100.0]
    predicted = [100.0, 100.0, 200.0, 50.0]
    low = [90.0, 100.0, 150.0, 40.0]
    high = [110.0, 120.0, 250.0, 60.0]
    m = compute_metrics(actual, predicted, low=low, high=high)
    assert m["coverage"] == pytest.approx(0.5)  # 100 is inside [90,110] and [100,120] only
    widths = [20 / 100, 20 / 100, 100 / 200, 20 / 50]
    assert m["mean_relative_width"] == pytest.approx(np.mean(widths))


# ----------------------------------------------------------------------------- PRB


def _prb_data(slope: float, noise: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Prices whose PRB regression is y = slope * (x - centre) exactly (plus optional noise).

    With median ratio 1, value = (predicted + actual) / 2 = actual * (1 + r) / 2, so
    actual = 2 * value / (1 + r) and predicted = r * actual.
    """
    x = np.log2(100_000.0) + np.arange(7.0)  # value proxies 100k .. 6.4M, far from 0
    y = slope * (x - x[3])  # middle value is 0, so the median ratio is exactly 1
    if noise is not None:
        y = y + noise
    r = 1.0 + y
    value = 2.0**x
    actual = 2.0 * value / (1.0 + r)
    return actual, r * actual


@pytest.mark.parametrize("slope", [-0.08, -0.03, 0.0, 0.02, 0.1])
def test_prb_recovers_known_slope_not_intercept(slope):
    actual, predicted = _prb_data(slope)
    assert median_ratio(actual, predicted) == pytest.approx(1.0)
    result = prb(actual, predicted)
    # The intercept of this line is -slope * x[3] (about -17 * slope): returning it would fail.
    assert result.estimate == pytest.approx(slope, abs=1e-9)
    assert result.low == pytest.approx(slope, abs=1e-6)  # exact line: zero-width interval
    assert result.high == pytest.approx(slope, abs=1e-6)


def test_prb_interval_with_noise_contains_slope_and_matches_t_interval():
    noise = np.array([0.004, -0.003, 0.002, 0.0, -0.004, 0.003, -0.002])
    actual, predicted = _prb_data(0.04, noise)
    result = prb(actual, predicted)
    assert result.low < 0.04 < result.high
    assert result.low < result.estimate < result.high
    assert result.estimate == pytest.approx(0.04, abs=0.003)
    narrower = prb(actual, predicted, level=0.5)
    assert result.low < narrower.low < narrower.high < result.high


def test_prb_degenerate_cases_are_nan_without_warnings():
    single = prb([100.0], [110.0])
    assert math.isnan(single.low) and math.isnan(single.high)
    constant = prb([100.0, 100.0, 100.0], [110.0, 110.0, 110.0])
    assert all(math.isnan(v) for v in constant)
    two = prb([100.0, 200.0], [110.0, 190.0])
    assert math.isfinite(two.estimate) and math.isnan(two.low)


# ----------------------------------------------------------------------------- IAAO standards


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("median_ratio", 0.90, 1.10), ("cod", 0.05, 0.15), ("prd", 0.98, 1.03), ("prb", -0.05, 0.05)],
)
def test_iaao_standards(name, low, high):
    standard = IAAO_STANDARDS[name]
    assert (standard.low, standard.high) == (low, high)
    assert standard.passes(low) and standard.passes(high)
    assert not standard.passes(low - 1e-3) and not standard.passes(high + 1e-3)
    assert not standard.passes(float("nan"))
    with pytest.raises(TypeError):
        IAAO_STANDARDS[name] = standard  # read-only


def test_cod_docstring_mentions_sales_chasing():
    assert "sales chasing" in IAAO_STANDARDS["cod"].description


def test_iaao_ratio_study_pass_and_fail():
    rng = np.random.default_rng(1)
    actual = rng.uniform(1e5, 1e6, 400)
    good = iaao_ratio_study(actual, actual * rng.lognormal(0.0, 0.1, 400))
    assert good["passed"] is True
    assert good["cod"]["passed"] and good["cod"]["low"] == 0.05
    assert good["prb"]["ci_low"] <= good["prb"]["value"] <= good["prb"]["ci_high"]
    perfect = iaao_ratio_study(actual, actual)
    assert perfect["cod"]["value"] == 0.0 and perfect["cod"]["passed"] is False  # < 5: suspicious
    assert perfect["passed"] is False
    overvalued = iaao_ratio_study(actual, 1.2 * actual * rng.lognormal(0.0, 0.1, 400))
    assert overvalued["median_ratio"]["passed"] is False


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("actual", "predicted", "match"),
    [
        ([100.0, -5.0, 0.0, -1.0], [1.0] * 4, r"actual has 3 non-positive values, e\.g\. -5\.0"),
        ([100.0, 200.0], [100.0, 0.0], r"predicted has 1 non-positive value, e\.g\. 0\.0"),
        ([100.0, float("nan")], [1.0, 1.0], r"actual has 1 non-finite value, e\.g\. nan"),
        ([100.0, 1.0], [float("inf"), 1.0], r"predicted has 1 non-finite value, e\.g\. inf"),
        ([100.0, 200.0, 300.0], [1.0, 2.0], r"same length; got 3 and 2"),
        ([], [], r"actual is empty"),
        ([[1.0, 2.0]], [[1.0, 2.0]], r"actual must be one-dimensional"),
        (["a", "b"], [1.0, 2.0], r"actual must contain numbers"),
    ],
)
@pytest.mark.parametrize("fn", [mdape, cod, compute_metrics, iaao_ratio_study])
def test_validation_errors(fn, actual, predicted, match):
    with pytest.raises(ValueError, match=match):
        fn(actual, predicted)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"low": [1.0, 1.0]}, "give both low and high"),
        ({"low": [1.0], "high": [2.0]}, r"low must have the same length as actual; got 1 and 2"),
        ({"low": [1.0, 1.0], "high": [2.0, float("nan")]}, "high has 1 non-finite value"),
        ({"low": [1.0, 3.0], "high": [2.0, 2.0]}, r"row 1: 3\.0 > 2\.0"),
    ],
)
def test_interval_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compute_metrics([1.0, 2.0], [1.0, 2.0], **kwargs)


@pytest.mark.parametrize("within", [-0.1, float("nan"), float("inf")])
def test_pe_rejects_bad_within(within):
    with pytest.raises(ValueError, match="within must be a finite fraction"):
        pe([1.0], [1.0], within)


# ----------------------------------------------------------------------------- bootstrap

RNG = np.random.default_rng(7)
BOOT_ACTUAL = RNG.uniform(1e5, 1e6, 300)
BOOT_PREDICTED = BOOT_ACTUAL * RNG.lognormal(0.0, 0.12, 300)


@pytest.mark.parametrize(
    ("name", "fn"),
    [
        ("mae", mae),
        ("mdae", mdae),
        ("mape", mape),
        ("mdape", mdape),
        ("median_ratio", median_ratio),
        ("cod", cod),
        ("prd", prd),
        ("prb", lambda a, p: prb(a, p).estimate),
        ("pe10", lambda a, p: pe(a, p, 0.10)),
        ("over20", lambda a, p: share_over(a, p, 0.20)),
        ("pe7.5", lambda a, p: pe(a, p, 0.075)),
    ],
)
def test_bootstrap_names_match_callables(name, fn):
    by_name = bootstrap_ci(BOOT_ACTUAL, BOOT_PREDICTED, name, n_boot=200, seed=3)
    by_callable = bootstrap_ci(BOOT_ACTUAL, BOOT_PREDICTED, fn, n_boot=200, seed=3)
    assert by_name == pytest.approx(by_callable, rel=1e-9, abs=1e-12)
    estimate, low, high = by_name
    assert estimate == pytest.approx(fn(BOOT_ACTUAL, BOOT_PREDICTED))
    assert low <= estimate <= high
    assert low < high


def test_bootstrap_is_reproducible_and_level_widens():
    first = bootstrap_ci(BOOT_ACTUAL, BOOT_PREDICTED, "mdape", n_boot=300, seed=11)
    assert first == bootstrap_ci(BOOT_ACTUAL, BOOT_PREDICTED, "mdape", n_boot=300, seed=11)
    _, low90, high90 = bootstrap_ci(BOOT_ACTUAL, BOOT_PREDICTED, "mdape", n_boot=300, level=0.9)
    _, low99, high99 = bootstrap_ci(BOOT_ACTUAL, BOOT_PREDICTED, "mdape", n_boot=300, level=0.99)
    assert low99 <= low90 < high90 <= high99


def test_bootstrap_chunks_give_same_result(monkeypatch):
    full = bootstrap_ci(BOOT_ACTUAL, BOOT_PREDICTED, "cod", n_boot=50, seed=5)
    monkeypatch.setattr(metric_ci, "_BOOTSTRAP_CHUNK_ELEMENTS", 7 * BOOT_ACTUAL.size)
    assert bootstrap_ci(BOOT_ACTUAL, BOOT_PREDICTED, "cod", n_boot=50, seed=5) == pytest.approx(
        full
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "rmse"}, "unknown metric name 'rmse'"),
        ({"metric": "mdape", "n_boot": 0}, "n_boot must be a positive integer; got 0"),
        ({"metric": "mdape", "level": 1.5}, "level must be strictly between 0 and 1; got 1.5"),
        ({"metric": 3}, "metric must be a metric name or a callable; got 3"),
    ],
)
def test_bootstrap_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_ci(BOOT_ACTUAL, BOOT_PREDICTED, **kwargs)


# ----------------------------------------------------------------------------- properties

prices = st.floats(min_value=1.0, max_value=1e7, allow_nan=False, allow_infinity=False)
ratios = st.floats(min_value=0.2, max_value=5.0, allow_nan=False, allow_infinity=False)


@st.composite
def price_pairs(draw, min_size: int = 1, max_size: int = 30):
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    actual = np.array(draw(st.lists(prices, min_size=n, max_size=n)))
    ratio = np.array(draw(st.lists(ratios, min_size=n, max_size=n)))
    return actual, actual * ratio


PERCENT_METRICS = ["mape", "mdape", "median_ratio", "cod", "prd", "pe10", "pe20", "over20"]


@settings(max_examples=40, deadline=None)
@given(pair=price_pairs(), c=st.floats(min_value=1e-3, max_value=1e3))
def test_percentage_metrics_are_scale_invariant(pair, c):
    actual, predicted = pair
    base = compute_metrics(actual, predicted)
    scaled = compute_metrics(actual * c, predicted * c)
    for name in PERCENT_METRICS:
        assert scaled[name] == pytest.approx(base[name], rel=1e-9, abs=1e-12), name
    assert scaled["mae"] == pytest.approx(base["mae"] * c, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    pair=price_pairs(),
    w1=st.floats(min_value=0.0, max_value=2.0),
    w2=st.floats(min_value=0.0, max_value=2.0),
)
def test_pe_is_monotone_in_within_and_a_share(pair, w1, w2):
    actual, predicted = pair
    small, large = sorted((w1, w2))
    pe_small, pe_large = pe(actual, predicted, small), pe(actual, predicted, large)
    assert 0.0 <= pe_small <= pe_large <= 1.0
    assert pe_small + share_over(actual, predicted, small) == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(actual=st.lists(prices, min_size=1, max_size=30))
def test_perfect_prediction(actual):
    m = compute_metrics(actual, actual)
    assert m["mdape"] == 0.0 and m["mape"] == 0.0 and m["mae"] == 0.0
    assert m["pe5"] == m["pe10"] == m["pe20"] == 1.0
    assert m["over20"] == 0.0
    assert m["cod"] == 0.0
    assert m["median_ratio"] == 1.0
    assert m["prd"] == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(pair=price_pairs(), k=st.floats(min_value=0.1, max_value=10.0))
def test_scaling_predictions_scales_median_ratio_and_keeps_cod(pair, k):
    actual, predicted = pair
    c0 = cod(actual, predicted)
    assert c0 >= 0.0
    assert 0.0 <= pe(actual, predicted, 0.10) <= 1.0
    assert median_ratio(actual, predicted * k) == pytest.approx(
        k * median_ratio(actual, predicted), rel=1e-9
    )
    assert cod(actual, predicted * k) == pytest.approx(c0, rel=1e-9, abs=1e-12)
    assert prd(actual, predicted * k) == pytest.approx(prd(actual, predicted), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(actual=st.lists(prices, min_size=1, max_size=30), k=st.floats(min_value=0.1, max_value=10))
def test_prd_is_one_for_constant_multiple(actual, k):
    actual_arr = np.array(actual)
    assert prd(actual_arr, actual_arr * k) == pytest.approx(1.0, rel=1e-9)
    assert cod(actual_arr, actual_arr * k) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(pair=price_pairs(min_size=3))
def test_prb_interval_brackets_estimate(pair):
    actual, predicted = pair
    result = prb(actual, predicted)
    if math.isfinite(result.low):
        assert result.low <= result.estimate + 1e-12
        assert result.estimate <= result.high + 1e-12
