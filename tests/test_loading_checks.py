"""Loading checks (issue 17): day/month order, plausible dates, price-derived features, area
units, ordered ranges and every dropped row accounted for."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from estimo.cli import app
from estimo.config import DataConfig, ProjectConfig, load_config
from estimo.errors import ConfigError, DataError
from estimo.io import load_dataset, load_project, to_canonical
from estimo.load_checks import day_month_order, derived_from_price
from estimo.quality.prepare import prepare_training_data
from estimo.synth import SyntheticMarket

runner = CliRunner()


def write_project(tmp_path: Path, frame: pd.DataFrame, data: str = "", kind: str = "csv") -> Path:
    """A project file around ``frame`` written as CSV or Parquet."""
    path = tmp_path / f"listings.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    project = tmp_path / "estimo.yaml"
    project.write_text(
        f"data:\n  path: {path.name}\n"
        "  columns: {price: Price, date: Sold, city: {value: Ames}, area_m2: Area}\n" + data
    )
    return project


def table(dates: list[str], **extra: list) -> pd.DataFrame:
    n = len(dates)
    rng = np.random.default_rng(0)
    data = {
        "Price": rng.uniform(1e5, 5e5, n).round(),
        "Sold": dates,
        "Area": rng.uniform(40, 160, n).round(),
    }
    data.update(extra)
    return pd.DataFrame(data)


# ------------------------------------------------------------------------ day/month order
def test_ambiguous_day_month_order_is_refused_naming_column_examples_and_setting(tmp_path):
    project = write_project(tmp_path, table(["03/04/2023", "01/02/2023", "11/12/2023"]))
    with pytest.raises(DataError) as info:
        load_dataset(load_project(project))
    message = str(info.value)
    assert "'Sold'" in message
    assert "'03/04/2023'" in message and "'01/02/2023'" in message
    assert "data.date_format" in message and "'%d/%m/%Y'" in message


def test_a_first_number_above_12_decides_day_first(tmp_path):
    project = write_project(tmp_path, table(["03/04/2023", "25/12/2023", "01/02/2024"]))
    frame = load_dataset(load_project(project)).frame
    assert frame["date"].tolist() == [
        pd.Timestamp("2023-04-03"),
        pd.Timestamp("2023-12-25"),
        pd.Timestamp("2024-02-01"),
    ]


def test_a_second_number_above_12_decides_month_first(tmp_path):
    project = write_project(tmp_path, table(["04/03/2023", "12/25/2023", "02/01/2024 10:30"]))
    frame = load_dataset(load_project(project)).frame
    assert frame["date"].dt.normalize().tolist() == [
        pd.Timestamp("2023-04-03"),
        pd.Timestamp("2023-12-25"),
        pd.Timestamp("2024-02-01"),
    ]


def test_both_orders_in_one_column_are_refused(tmp_path):
    project = write_project(tmp_path, table(["25/12/2023", "12/25/2023", "01/02/2024"]))
    with pytest.raises(DataError, match="both day first .* and month first"):
        load_dataset(load_project(project))


def test_iso_dates_are_never_ambiguous(tmp_path):
    project = write_project(tmp_path, table(["2023-03-04", "2023-01-02", "2023-11-12"]), kind="pq")
    frame = load_dataset(load_project(project)).frame
    assert frame["date"].iloc[0] == pd.Timestamp("2023-03-04")


def test_a_given_date_format_settles_the_order(tmp_path):
    dates = ["03/04/2023", "01/02/2023", "11/12/2023"]
    project = write_project(tmp_path, table(dates), data='  date_format: "%m/%d/%Y"\n')
    frame = load_dataset(load_project(project)).frame
    assert frame["date"].iloc[0] == pd.Timestamp("2023-03-04")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dates=st.lists(
        st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2025, 12, 31)),
        min_size=1,
        max_size=20,
    ),
    day_first=st.booleans(),
    separator=st.sampled_from(["/", ".", "-"]),
)
def test_the_detected_order_reads_every_date_back(dates, day_first, separator):
    fmt = f"%d{separator}%m{separator}%Y" if day_first else f"%m{separator}%d{separator}%Y"
    text = pd.Series([d.strftime(fmt) for d in dates])
    found = day_month_order(text)
    decisive = any(d.day > 12 for d in dates)
    if not decisive:
        assert found.order == "ambiguous"
        return
    assert found.order == ("day" if day_first else "month")
    assert found.format == fmt
    raw = pd.DataFrame({"Price": [1e5] * len(dates), "Sold": text})
    cfg = DataConfig(path="-", columns={"price": "Price", "date": "Sold", "city": {"value": "X"}})
    parsed = to_canonical(raw, cfg).frame["date"]
    assert parsed.dt.date.tolist() == dates


# ------------------------------------------------------------------------ plausible dates
def test_dates_outside_the_window_are_dropped_with_the_reason(tmp_path):
    dates = ["1850-06-01", "2023-01-02", "2023-05-06", "2200-01-01", "2024-02-03"]
    project = write_project(tmp_path, table(dates))
    loaded = load_dataset(load_project(project))
    assert len(loaded.frame) == 3
    issue = next(i for i in loaded.report.issues if "plausible window" in i.problem)
    assert issue.count == 2 and issue.action == "row dropped"
    assert "1900-01-01" in issue.problem and "data.min_date" in issue.problem
    assert loaded.report.dropped["row"].tolist() == [0, 3]
    assert set(loaded.report.dropped["rule"]) == {"load.date"}


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize(
    "far", [["1500-01-01", "3000-06-01"], ["15/03/1500", "16/03/2999"], ["March 3, 1500", "x"]]
)
def test_dates_beyond_the_calendar_are_dropped_like_the_window(tmp_path, kind, far):
    """Dates before 1677 or after 2262 do not fit a nanosecond timestamp: they are dropped
    with the plausible window's reason (they crashed loading with OutOfBoundsDatetime)."""
    good = ["21/03/2023", "22/05/2023", "23/07/2023"] if "/" in far[0] else ["2023-01-02"] * 3
    dates = [*far, *good]
    frame = table(dates)
    if kind == "parquet" and far[0] == "1500-01-01":
        frame["Sold"] = pd.to_datetime(frame["Sold"], format="ISO8601").astype("datetime64[us]")
    project = write_project(tmp_path, frame, kind=kind)
    loaded = load_dataset(load_project(project), max_dropped_share=0.5)
    assert len(loaded.frame) == 3
    issue = next(i for i in loaded.report.issues if "plausible window" in i.problem)
    assert issue.action == "row dropped"
    assert "1500" in str(issue.examples[0])
    window = loaded.report.dropped[loaded.report.dropped["reason"].str.contains("window")]
    assert 0 in window["row"].tolist()
    assert set(loaded.report.dropped["rule"]) == {"load.date"}
    assert loaded.report.dropped["row"].tolist() == [0, 1]


def test_audit_of_dates_beyond_the_calendar_exits_0(tmp_path, clean_market):
    frame = clean_market.frame.head(200).copy()
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    frame.loc[[1, 5], "date"] = ["1500-01-01", "2300-01-01"]
    frame.to_csv(tmp_path / "far.csv", index=False)
    result = runner.invoke(app, ["audit", str(tmp_path / "far.csv"), "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    dropped = pd.read_parquet(tmp_path / "a" / "dropped.parquet")
    assert dropped["row"].tolist() == [1, 5]
    assert dropped["reason"].str.contains("plausible window").all()


def test_the_date_window_is_configurable(tmp_path):
    dates = ["2019-06-01", "2023-01-02", "2023-05-06", "2024-02-03"]
    data = '  min_date: "2020-01-01"\n  max_date: "2023-12-31"\n'
    loaded = load_dataset(load_project(write_project(tmp_path, table(dates), data=data)))
    assert loaded.frame["date"].dt.year.tolist() == [2023, 2023]
    assert loaded.report.dropped["row"].tolist() == [0, 3]


# -------------------------------------------------------------------- price-derived features
def frame_with(**extra: list) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 40
    area = rng.uniform(40, 160, n).round()
    price = (area * rng.uniform(2000, 4000, n)).round()
    data = {"Price": price, "Sold": ["2023-01-01"] * n, "Area": area}
    data.update({k: v(price, area) for k, v in extra.items()})
    return pd.DataFrame(data)


@pytest.mark.parametrize(
    ("column", "make", "why"),
    [
        ("price_per_m2", lambda p, a: np.full(len(p), 1.0), "its name says a price per unit"),
        ("LogPrice", lambda p, a: np.zeros(len(p)), "its name says a logarithm"),
        ("feature_a", lambda p, a: p / a, "it equals the price / area_m2"),
        ("feature_b", lambda p, a: p / (a / 0.09290304), "it equals the price / area_m2"),
        ("feature_c", lambda p, a: np.log(p), "it equals the logarithm of the price"),
        ("feature_d", lambda p, a: np.log10(p), "it equals the logarithm of the price"),
        ("feature_e", lambda p, a: 1.1 * p, "constant multiple of the price"),
        ("feature_f", lambda p, a: 0.5 * p + 50_000, "its correlation with the price"),
    ],
)
def test_price_derived_features_are_refused(tmp_path, column, make, why):
    project = write_project(tmp_path, frame_with(**{column: make}))
    with pytest.raises(DataError) as info:
        load_dataset(load_project(project))
    message = str(info.value)
    assert f"extra feature {column!r}" in message and why in message
    assert "data.allow_price_derived" in message


def test_an_allowed_price_derived_feature_loads(tmp_path):
    data = "  allow_price_derived: [feature_a]\n"
    project = write_project(tmp_path, frame_with(feature_a=lambda p, a: p / a), data=data)
    assert "feature_a" in load_dataset(load_project(project)).frame


def test_ordinary_features_are_not_taken_for_price_derived(tmp_path):
    rng = np.random.default_rng(2)
    project = write_project(
        tmp_path,
        frame_with(
            Garden=lambda p, a: rng.integers(0, 2, len(p)),
            LotSize=lambda p, a: a * rng.uniform(2, 8, len(p)),
            PriceReduced=lambda p, a: rng.integers(0, 2, len(p)),
        ),
    )
    frame = load_dataset(load_project(project)).frame
    assert {"Garden", "LotSize", "PriceReduced"} <= set(frame.columns)


def test_the_calibrations_asking_price_is_not_refused(tmp_path):
    project = write_project(
        tmp_path,
        frame_with(ListPrice=lambda p, a: p * 1.05),
        data="quality:\n  calibration: {asking_price_column: ListPrice}\n",
    )
    assert "ListPrice" in load_dataset(load_project(project)).frame


@pytest.mark.parametrize(
    ("column", "make", "why"),
    [
        ("SPLPPct", lambda p, lst: (100 * p / lst).round(2), "ratio of the price to 'ListPrice'"),
        ("LPSPRatio", lambda p, lst: lst / p, "ratio of the price to 'ListPrice'"),
        ("Discount", lambda p, lst: lst - p, "difference between the price and 'ListPrice'"),
    ],
)
def test_a_ratio_to_or_difference_from_another_price_is_refused(tmp_path, column, make, why):
    rng = np.random.default_rng(3)
    listed = lambda p, a: (p * rng.uniform(1.0, 1.15, len(p))).round(-2)  # noqa: E731
    frame = frame_with(ListPrice=listed)
    frame[column] = make(frame["Price"].to_numpy(), frame["ListPrice"].to_numpy())
    project = write_project(
        tmp_path, frame, data="quality:\n  calibration: {asking_price_column: ListPrice}\n"
    )
    with pytest.raises(DataError) as info:
        load_dataset(load_project(project))
    message = str(info.value)
    assert f"extra feature {column!r}" in message and why in message
    assert "extra feature 'ListPrice'" not in message  # the calibration's own column


def test_a_column_on_the_price_scale_is_not_a_ratio_by_itself(tmp_path):
    rng = np.random.default_rng(4)
    project = write_project(
        tmp_path,
        frame_with(
            TaxValue=lambda p, a: (p * rng.uniform(0.5, 1.5, len(p))).round(),
            Pct=lambda p, a: rng.uniform(80, 110, len(p)).round(2),
        ),
    )
    frame = load_dataset(load_project(project)).frame
    assert {"TaxValue", "Pct"} <= set(frame.columns)


def test_derived_from_price_on_values():
    frame = pd.DataFrame({"price": [1e5, 2e5, 3e5, 4e5, 5e5, 6e5], "rooms": [1, 2, 2, 3, 4, 4]})
    assert "rooms" in derived_from_price(frame["price"] / frame["rooms"], frame)
    assert derived_from_price(pd.Series([3.0, 1.0, 4.0, 1.0, 5.0, 9.0]), frame) is None


# ---------------------------------------------------------------------------- area units
@pytest.mark.parametrize(
    ("area", "column", "unit", "expected"),
    [
        ([900.0, 1200.0, 1500.0, 2000.0], "Area", "m2", "data.area_unit: sqft"),
        ([90.0, 120.0, 150.0, 200.0], "sqft_living", "m2", "the column name says square feet"),
        ([50.0, 60.0, 70.0, 80.0], "Area", "sqft", "data.area_unit: m2"),
        ([50.0, 60.0, 70.0, 80.0], "Area", "m2", None),
        ([900.0, 1200.0, 1500.0, 2000.0], "Area", "sqft", None),
    ],
)
def test_area_units_that_do_not_fit_are_warned(tmp_path, area, column, unit, expected):
    frame = table(["2023-01-01"] * 4, Area=area).rename(columns={"Area": column})
    project = write_project(tmp_path, frame, data=f"  area_unit: {unit}\n")
    project.write_text(project.read_text().replace("area_m2: Area", f"area_m2: {column}"))
    report = load_dataset(load_project(project)).report
    said = [i.problem for i in report.issues if i.column.startswith("area_m2")]
    if expected is None:
        assert said == []
    else:
        assert len(said) == 1 and expected in said[0]


@pytest.mark.parametrize(
    ("area", "column"),
    [([900.0, 1200.0, 1500.0, 2000.0], "Area"), ([90.0, 120.0, 150.0, 200.0], "sqft_living")],
)
def test_area_units_left_to_the_default_that_do_not_fit_are_refused(tmp_path, area, column):
    """Square feet read as m² (King County: median '1,910 m²') were only warned (issue 17)."""
    frame = table(["2023-01-01"] * 4, Area=area).rename(columns={"Area": column})
    project = write_project(tmp_path, frame)
    project.write_text(project.read_text().replace("area_m2: Area", f"area_m2: {column}"))
    with pytest.raises(DataError) as info:
        load_dataset(load_project(project))
    assert info.value.exit_code == 2
    message = str(info.value)
    assert "areas implausible for m²" in message and "data.area_unit: sqft" in message
    assert "data.check_area_unit: false" in message
    project.write_text(project.read_text() + "  check_area_unit: false\n")
    report = load_dataset(load_project(project)).report
    assert any("implausible for m²" in i.problem for i in report.issues)


@pytest.mark.parametrize("command", ["train", "backtest", "audit", "clean"])
def test_every_command_refuses_square_feet_read_as_m2(tmp_path, clean_market, command):
    frame = clean_market.frame.head(600).copy()
    frame["area_m2"] = frame["area_m2"] * 10.7639
    path = tmp_path / "sqft.parquet"
    frame.to_parquet(path, index=False)
    out = tmp_path / "out"
    result = runner.invoke(app, [command, str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "data.area_unit" in result.output and "implausible for m²" in result.output
    result = runner.invoke(
        app, [command, str(path), "--out", str(out)], env={"ESTIMO_DATA__AREA_UNIT": "sqft"}
    )
    assert "implausible" not in result.output


# ------------------------------------------------------------------------ ordered ranges
@pytest.mark.parametrize(
    ("section", "named"),
    [
        ("quality:\n  ranges:\n    area_m2: {min: 100, max: 10}\n", "quality.ranges.area_m2"),
        ("quality:\n  labels: {min_sale_to_asking: 1.5, max_sale_to_asking: 1.2}\n", "labels"),
        ('  min_date: "2024-01-01"\n  max_date: "2020-01-01"\n', "data.min_date"),
    ],
)
def test_a_range_whose_min_exceeds_its_max_is_refused(tmp_path, section, named):
    project = tmp_path / "estimo.yaml"
    project.write_text("data:\n  path: x.csv\n" + section)
    with pytest.raises(ConfigError) as info:
        load_config(project)
    message = str(info.value)
    assert named in message and "expected min" in message
    if "area_m2" in named:
        assert "min 100 exceeds max 10" in message


def test_a_date_that_is_not_a_date_is_refused():
    with pytest.raises(ValueError, match="'yesterday' is not a date"):
        DataConfig(path="-", min_date="yesterday")


# ------------------------------------------------------------- every dropped row accounted
@pytest.fixture()
def broken_parquet(tmp_path: Path, clean_market: SyntheticMarket) -> Path:
    frame = clean_market.frame.head(400).copy()
    frame.loc[[3, 7, 11], "price"] = np.nan
    frame.loc[[20, 21], "date"] = pd.Timestamp("1850-01-01")
    path = tmp_path / "broken.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_clean_lists_loading_drops_in_dropped_parquet(broken_parquet, tmp_path):
    out = tmp_path / "clean"
    result = runner.invoke(app, ["clean", str(broken_parquet), "--out", str(out)])
    assert result.exit_code == 0, result.output
    cleaned = pd.read_parquet(out / "cleaned.parquet")
    dropped = pd.read_parquet(out / "dropped.parquet")
    assert len(cleaned) + len(dropped) == 400
    loading = dropped[dropped["rule"].str.startswith("load.")]
    assert loading.groupby("rule")["row"].apply(list).to_dict() == {
        "load.date": [20, 21],
        "load.price": [3, 7, 11],
    }
    assert loading["reason"].str.len().gt(0).all()
    summary = json.loads((out / "cleaning.json").read_text())
    assert summary["n_input"] == 400
    assert summary["n_dropped"] == len(dropped)
    assert summary["n_dropped_loading"] == 5
    assert summary["dropped_by_rule"]["load.date"] == 2
    assert summary["dropped_by_rule"]["load.price"] == 3
    assert sum(summary["dropped_by_rule"].values()) == len(dropped)


def test_audit_writes_the_loading_drops(broken_parquet, tmp_path):
    result = runner.invoke(app, ["audit", str(broken_parquet), "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    dropped = pd.read_parquet(tmp_path / "a" / "dropped.parquet")
    assert sorted(dropped["row"]) == [3, 7, 11, 20, 21]


def test_training_data_writes_the_loading_drops(broken_parquet, tmp_path):
    loaded = load_dataset(load_project(str(broken_parquet)))
    prepared = prepare_training_data(loaded.frame, ProjectConfig(data={"path": "-"}).quality)
    prepared.write(tmp_path / "q", load_dropped=loaded.report.dropped)
    dropped = pd.read_parquet(tmp_path / "q" / "dropped.parquet")
    assert len(dropped) == len(prepared.dropped) + 5
    assert len(prepared.frame) + len(dropped) == 400
    summary = json.loads((tmp_path / "q" / "cleaning.json").read_text())
    assert summary["n_dropped"] == len(dropped)
    assert summary["dropped_by_rule"]["load.price"] == 3


# ------------------------------------------------------------- a repeated price column
def test_a_repeated_price_column_is_named_as_written_without_false_positives(
    tmp_path, clean_market
):
    """pandas reads the second 'price' as 'price.1'; it made 'floors_in_building' look like
    'the difference between the price and price.1' (issue 17)."""
    frame = clean_market.frame.head(300).copy()
    frame["floors_in_building"] = np.random.default_rng(0).integers(1, 12, len(frame))
    frame["price_again"] = frame["price"]
    path = tmp_path / "dup.csv"
    frame.to_csv(path, index=False)
    text = path.read_text().replace("price_again", "price", 1)
    path.write_text(text)
    position = list(frame.columns).index("price_again") + 1
    result = runner.invoke(app, ["audit", str(path), "--out", str(tmp_path / "a")])
    message = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert f"'price (column {position})'" in message and "a copy of it" in message
    assert "floors_in_building" not in message and "price.1" not in message


def test_a_copy_of_the_price_is_no_reference_for_differences():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"price": rng.uniform(1e5, 5e5, 200)})
    small = pd.Series(rng.integers(1, 12, 200).astype(float))
    assert derived_from_price(small, frame, {"copy": frame["price"].to_numpy()}) is None
    listed = frame["price"].to_numpy() * rng.uniform(1.0, 1.2, 200)
    gap = pd.Series(listed - frame["price"].to_numpy())
    assert "difference" in derived_from_price(gap, frame, {"list": listed})


def test_the_price_derived_check_of_a_table_without_prices_warns_nothing():
    """Found by the fuzz suite: numpy's 'All-NaN slice' warning when no price is a number."""
    frame = pd.DataFrame({"price": [np.nan] * 6})
    assert derived_from_price(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), frame) is None


def test_clean_writes_a_text_column_the_cleaning_filled_with_numbers(tmp_path, clean_market):
    """Found by the fuzz suite: 'estimo clean' failed with an unexpected ArrowTypeError
    writing cleaned.parquet when a column of words also held 1.0 after cleaning."""
    frame = clean_market.frame.head(300).copy()
    frame["has_elevator"] = None  # words on a few rows: the cleaning fills 1.0 from the text
    frame["has_elevator"] = frame["has_elevator"].astype(object)
    frame.loc[:3, "has_elevator"] = ["👍", "1e16", "-2e16", "x"]
    frame.to_csv(tmp_path / "mixed.csv", index=False)
    out = tmp_path / "c"
    result = runner.invoke(app, ["clean", str(tmp_path / "mixed.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    cleaned = pd.read_parquet(out / "cleaned.parquet")
    assert len(cleaned) + len(pd.read_parquet(out / "dropped.parquet")) == 300
