"""Tests of estimo.evaluate.segments: per-segment metrics and the rich report table."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from estimo.evaluate.metrics import compute_metrics, iaao_passes
from estimo.evaluate.segments import (
    ALL_LABEL,
    MISSING_LABEL,
    format_metrics_table,
    metrics_by_segment,
)


def _frame(sizes: dict[object, int], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cities = [city for city, size in sizes.items() for _ in range(size)]
    n = len(cities)
    price = rng.uniform(1e5, 8e5, n)
    predicted = price * rng.lognormal(0.0, 0.1, n)
    return pd.DataFrame(
        {
            "city": cities,
            "type": rng.choice(["flat", "house"], n),
            "price": price,
            "predicted": predicted,
            "low": predicted * 0.85,
            "high": predicted * 1.15,
        }
    )


def _render(table) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(table)
    return console.file.getvalue()


@pytest.mark.parametrize(
    ("min_group_size", "expected_too_small"),
    [
        (1, {"lyon": False, "nice": False, "paris": False}),
        (12, {"lyon": False, "nice": False, "paris": False}),
        (13, {"lyon": False, "nice": True, "paris": False}),
        (30, {"lyon": False, "nice": True, "paris": True}),
        (100, {"lyon": True, "nice": True, "paris": True}),
    ],
)
def test_min_group_size_keeps_small_groups_with_nan_metrics(min_group_size, expected_too_small):
    frame = _frame({"paris": 29, "lyon": 40, "nice": 12})
    report = metrics_by_segment(frame, "city", min_group_size=min_group_size)
    segments = report[report["city"] != ALL_LABEL].set_index("city")
    assert list(segments.index) == ["lyon", "nice", "paris"]  # sorted, none dropped
    assert segments["n"].to_dict() == {"lyon": 40, "nice": 12, "paris": 29}
    assert segments["too_small"].to_dict() == expected_too_small
    for city, too_small in expected_too_small.items():
        row = segments.loc[city]
        assert np.isnan(row["mdape"]) == too_small
        assert np.isnan(row["cod"]) == too_small
        assert (row["cod_passed"] is pd.NA) == too_small


def test_overall_row_equals_compute_metrics_on_all_rows():
    frame = _frame({"paris": 50, "lyon": 40, "nice": 12})
    report = metrics_by_segment(frame, "city", low="low", high="high")
    overall = report[report["city"] == ALL_LABEL]
    assert len(overall) == 1 and report.index[-1] == overall.index[0]
    row = overall.iloc[0]
    expected = compute_metrics(
        frame["price"], frame["predicted"], low=frame["low"], high=frame["high"]
    )
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, rel=1e-12), name
    for name, passed in iaao_passes(expected).items():
        assert bool(row[name]) is passed
    assert row["n"] == len(frame) and not row["too_small"]


def test_group_rows_equal_compute_metrics_on_their_rows():
    frame = _frame({"paris": 50, "lyon": 40})
    report = metrics_by_segment(frame, "city", include_overall=False)
    assert ALL_LABEL not in set(report["city"])
    paris = frame[frame["city"] == "paris"]
    expected = compute_metrics(paris["price"], paris["predicted"])
    row = report.set_index("city").loc["paris"]
    assert row["mdape"] == pytest.approx(expected["mdape"])
    assert row["prb"] == pytest.approx(expected["prb"])
    assert "coverage" not in report.columns


@pytest.mark.parametrize("missing", [None, np.nan])
def test_missing_group_labelled_and_last(missing):
    frame = _frame({"paris": 35, missing: 31, "lyon": 33})
    report = metrics_by_segment(frame, "city")
    assert list(report["city"]) == ["lyon", "paris", MISSING_LABEL, ALL_LABEL]
    row = report.set_index("city").loc[MISSING_LABEL]
    assert row["n"] == 31 and not row["too_small"] and np.isfinite(row["mdape"])


def test_numeric_segment_with_missing_values():
    frame = _frame({"a": 60})
    frame["rooms"] = [1.0, 2.0, np.nan] * 20
    report = metrics_by_segment(frame, "rooms", min_group_size=5)
    assert list(report["rooms"]) == [1.0, 2.0, MISSING_LABEL, ALL_LABEL]
    assert list(report["n"]) == [20, 20, 20, 60]


def test_several_segment_columns():
    frame = _frame({"paris": 40, "lyon": 40})
    report = metrics_by_segment(frame, ["city", "type"], min_group_size=1)
    groups = report[report["city"] != ALL_LABEL]
    assert len(groups) == 4
    assert groups["n"].sum() == len(frame)
    assert report.iloc[-1][["city", "type"]].tolist() == [ALL_LABEL, ALL_LABEL]
    assert report.attrs["segment_by"] == ["city", "type"]


def test_overall_row_also_respects_min_group_size():
    report = metrics_by_segment(_frame({"paris": 5}), "city", min_group_size=10)
    assert report["too_small"].tolist() == [True, True]
    assert report["n"].tolist() == [5, 5]


def test_empty_frame_gives_too_small_overall_row():
    report = metrics_by_segment(_frame({"paris": 0}), "city")
    assert report["city"].tolist() == [ALL_LABEL]
    assert report["n"].tolist() == [0] and report["too_small"].tolist() == [True]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"by": "zone"}, r"column 'zone' not found in the frame"),
        ({"by": []}, "by must name at least one segment column"),
        ({"by": "city", "predicted": "pred"}, r"column 'pred' not found"),
        ({"by": "city", "min_group_size": 0}, "min_group_size must be an integer >= 1; got 0"),
        ({"by": "city", "low": "low"}, "give both low and high"),
    ],
)
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics_by_segment(_frame({"paris": 3}), **kwargs)


def test_bad_prices_name_the_column():
    frame = _frame({"paris": 3})
    frame.loc[1, "predicted"] = -5.0
    with pytest.raises(ValueError, match=r"column 'predicted' has 1 non-positive value, e\.g\. -5"):
        metrics_by_segment(frame, "city")


def test_table_renders_expected_cells():
    frame = _frame({"paris": 40, "nice": 12})
    # Make paris exact to the cent so its cells are known: all errors are exactly 10 %.
    paris = frame["city"] == "paris"
    frame.loc[paris, "price"] = 100_000.0
    frame.loc[paris, "predicted"] = [90_000.0, 110_000.0] * 20
    report = metrics_by_segment(frame, "city")
    text = _render(format_metrics_table(report, title="Accuracy by city"))
    assert "Accuracy by city" in text
    for header in ("city", "n", "MdAPE", "PE10", "PE20", "COD", "IAAO"):
        assert header in text
    paris_line = next(line for line in text.splitlines() if "paris" in line)
    # MdAPE 10.0 %, PE10 100.0 %, PE20 100.0 %, COD 10.0 % (within 5-15: pass)
    assert "10.0%" in paris_line and "100.0%" in paris_line
    assert "10.0% ✓" in paris_line
    nice_line = next(line for line in text.splitlines() if "nice" in line)
    assert "too small (n=12)" in nice_line
    all_line = next(line for line in text.splitlines() if ALL_LABEL in line)
    assert "52" in all_line and "too small" not in all_line


def test_table_marks_failures():
    frame = _frame({"paris": 40})
    frame["predicted"] = frame["price"] * 1.5  # ratio 1.5: level fails, COD 0 fails
    text = _render(format_metrics_table(metrics_by_segment(frame, "city")))
    paris_line = next(line for line in text.splitlines() if "paris" in line)
    assert "0.0% ✗" in paris_line
    assert "✗ median_ratio, cod" in paris_line


def test_table_rejects_other_frames():
    with pytest.raises(ValueError, match="df is missing column 'n'"):
        format_metrics_table(pd.DataFrame({"a": [1]}))
