from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estimo.config import DataConfig, ProjectConfig
from estimo.errors import DataError
from estimo.io import load_dataset, load_project, read_table, to_canonical
from estimo.schema import CANONICAL_COLUMNS, SQFT_TO_M2


def config(**kwargs) -> DataConfig:
    base = {"path": "-", "columns": {"price": "Price", "date": "Sold", "city": {"value": "Ames"}}}
    base.update(kwargs)
    return DataConfig(**base)


def raw(**extra) -> pd.DataFrame:
    data = {
        "Price": [100_000.0, 200_000.0, 300_000.0, 400_000.0],
        "Sold": ["2024-01-05", "2024-02-01", "2024-03-01", "2024-04-01"],
    }
    data.update(extra)
    return pd.DataFrame(data)


def test_every_canonical_column_is_present_with_extras_after() -> None:
    result = to_canonical(raw(Garden=[1, 0, 1, 0]), config())
    assert list(result.frame.columns[: len(CANONICAL_COLUMNS)]) == list(CANONICAL_COLUMNS)
    assert result.frame["Garden"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert result.frame["city"].eq("Ames").all()
    assert result.frame["price_kind"].eq("asking").all()


def test_without_an_id_each_row_is_its_own_property() -> None:
    frame = to_canonical(raw(), config()).frame
    assert frame["id"].nunique() == len(frame)


def test_sqft_is_converted_to_square_metres() -> None:
    cfg = config(
        columns={"price": "Price", "date": "Sold", "city": {"value": "A"}, "area_m2": "sqft"},
        area_unit="sqft",
    )
    frame = to_canonical(raw(sqft=[1000, 2000, 1500, 800]), cfg).frame
    np.testing.assert_allclose(frame["area_m2"], np.array([1000, 2000, 1500, 800]) * SQFT_TO_M2)


@pytest.mark.parametrize(
    ("values", "fmt", "expected"),
    [
        ([201803, 201804, 201805, 201806], "%Y%m", "2018-03-01"),
        (["2023-08", "2023-09", "2023-10", "2023-11"], "%Y-%m", "2023-08-01"),
        (["05/01/2024", "06/01/2024", "07/01/2024", "08/01/2024"], "%d/%m/%Y", "2024-01-05"),
        ([201803.0, 201804.0, 201805.0, 201806.0], "%Y%m", "2018-03-01"),
        ([1704412800, 1706745600, 1709251200, 1711929600], "unix", "2024-01-05"),
        ([1704412800000, 1706745600000, 1709251200000, 1711929600000], "unix", "2024-01-05"),
        ([45296, 45323, 45352, 45383], "excel", "2024-01-05"),
        (["45296", "45323", "45352", "45383"], "excel", "2024-01-05"),
        ([2019, 2020, 2021, 2022], "%Y", "2019-01-01"),
    ],
)
def test_date_formats(values: list, fmt: str, expected: str) -> None:
    frame = to_canonical(raw(Sold=values), config(date_format=fmt)).frame
    assert frame["date"].iloc[0] == pd.Timestamp(expected)


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        # offsets that change with daylight saving time, as a European export writes them
        (["2024-01-05T23:30:00+01:00", "2024-02-01T10:00:00+01:00"] * 2, None),
        (["2024-01-05T23:30:00Z", "2024-02-01T10:00:00Z"] * 2, None),
        (["2024-01-05 23:30-0500", "2024-02-01 10:00+0200"] * 2, None),
        (["2024-01-05T23:30:00+01:00", "2024-02-01T10:00:00+02:00"] * 2, "%Y-%m-%dT%H:%M:%S%z"),
    ],
)
def test_dates_with_a_utc_offset_keep_the_local_date(values: list, fmt: str | None) -> None:
    frame = to_canonical(raw(Sold=values), config(date_format=fmt)).frame
    assert frame["date"].dtype == "datetime64[ns]"
    assert frame["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05", "2024-02-01"] * 2


def test_time_zone_aware_dates_keep_their_local_date() -> None:
    local = pd.Series(pd.to_datetime(["2024-01-05 23:30", "2024-07-01 00:30"] * 2))
    frame = to_canonical(raw(Sold=local.dt.tz_localize("Europe/Rome")), config()).frame
    assert frame["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05", "2024-07-01"] * 2


def test_date_from_parts() -> None:
    cfg = config(
        columns={"price": "Price", "date": {"year": "Y", "month": "M"}, "city": {"value": "A"}}
    )
    frame = to_canonical(
        raw(Y=[2010, 2010, 2011, 2011], M=[1, 13, 2, 3]), cfg, max_dropped_share=1
    ).frame
    assert frame["date"].tolist() == [
        pd.Timestamp(d) for d in ("2010-01-01", "2011-02-01", "2011-03-01")
    ]


def test_row_problems_are_all_reported_with_counts_and_examples() -> None:
    table = raw(
        Price=[100_000, -5, None, "abc"],
        Sold=["2024-01", "2024-02", "2024-03", "x"],
        Rooms=["3", "three", "2", "4"],
    )
    cfg = config(
        columns={"price": "Price", "date": "Sold", "city": {"value": "A"}, "rooms": "Rooms"},
        date_format="%Y-%m",
    )
    result = to_canonical(table, cfg, max_dropped_share=1.0)
    issues = {(i.column, i.problem.split(" (")[0]): i for i in result.report.issues}
    assert issues[("price", "non-positive prices")].examples == [-5.0]
    assert issues[("price", "missing prices")].count == 1
    assert issues[("price", "non-numeric prices")].examples == ["abc"]
    assert issues[("rooms ('Rooms')", "non-numeric values")].examples == ["three"]
    assert result.report.n_dropped == 3
    assert len(result.frame) == 1
    assert result.report.n_rows + result.report.n_dropped == result.report.n_input_rows


def test_unknown_columns_are_all_named_at_once() -> None:
    cfg = config(columns={"price": "Prize", "date": "Sold", "city": "Town", "rooms": "R"})
    with pytest.raises(DataError) as info:
        to_canonical(raw(), cfg)
    message = str(info.value)
    for name in ("'Prize'", "'Town'", "'R'", "available columns"):
        assert name in message


def test_required_field_without_source() -> None:
    cfg = DataConfig(path="-", columns={"price": "Price", "date": "Sold"})
    with pytest.raises(DataError, match="required field 'city' has no source"):
        to_canonical(raw(), cfg)


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        (raw(Price=["a", "b", "c", "d"]), "no value is numeric"),
        (raw(Sold=["x", "y", "z", "w"]), "no value is a date"),
        (raw().iloc[:0], "the table is empty"),
        (raw(Price=[-1, -2, 3, 0]), "cannot be used"),
        (raw(Sold=[1, 2, 3, 4]), "dates are numbers"),
    ],
)
def test_unusable_tables_raise_one_clear_error(table: pd.DataFrame, fragment: str) -> None:
    with pytest.raises(DataError, match=fragment):
        to_canonical(table, config())


def test_price_kind_from_a_column() -> None:
    cfg = config(price_kind="Kind")
    result = to_canonical(raw(Kind=["Sale", "asking", "bogus", "appraisal"]), cfg)
    assert result.frame["price_kind"].tolist() == ["sale", "asking", "appraisal"]
    assert "Kind" not in result.frame


def test_extra_features_list_and_none() -> None:
    table = raw(a=[1, 2, 3, 4], b=["x", "y", "x", "y"])
    assert "a" not in to_canonical(table, config(extra_features="none")).frame
    frame = to_canonical(table, config(extra_features=["b"])).frame
    assert "b" in frame and "a" not in frame
    with pytest.raises(DataError, match="extra_features not found"):
        to_canonical(table, config(extra_features=["zzz"]))


def test_read_table_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_table(str(tmp_path / "missing.csv"))
    (tmp_path / "x.xlsx").write_text("a")
    with pytest.raises(DataError, match="unknown extension"):
        read_table(str(tmp_path / "x.xlsx"))


def test_csv_with_canonical_columns_loads_without_a_project_file(canonical_csv: Path) -> None:
    config = load_project(str(canonical_csv))
    result = load_dataset(config)
    assert len(result.frame) > 0
    assert result.frame["date"].dtype == "datetime64[ns]"
    assert set(result.frame["price_kind"]) <= {"asking", "sale"}


def test_fsspec_memory_filesystem(clean_market) -> None:
    import fsspec

    with fsspec.open("memory://estimo/market.parquet", "wb") as fh:
        clean_market.frame.to_parquet(fh, index=False)
    config = ProjectConfig(
        data={
            "path": "memory://estimo/market.parquet",
            "columns": {"price": "price", "date": "date", "city": "city"},
        }
    )
    assert len(load_dataset(config).frame) == len(clean_market.frame)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prices=st.lists(
        st.one_of(
            st.none(),
            st.floats(allow_nan=True, allow_infinity=True),
            st.text(max_size=4),
            st.integers(-10, 10**7),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_loader_accounts_for_every_row(prices: list) -> None:
    table = pd.DataFrame(
        {"Price": pd.Series(prices, dtype=object), "Sold": ["2024-01-01"] * len(prices)}
    )
    try:
        result = to_canonical(table, config(), max_dropped_share=1.0)
    except DataError as exc:
        assert exc.problems
        return
    report = result.report
    assert report.n_rows + report.n_dropped == report.n_input_rows
    dropped_by_issue = sum(i.count for i in report.issues if i.action == "row dropped")
    assert dropped_by_issue == report.n_dropped
    assert (result.frame["price"] > 0).all()


def test_infinite_numbers_in_a_category_column_load() -> None:
    """Found by the fuzz suite: an infinite number in a category column (a whole-number
    float column) raised OverflowError while loading."""
    table = raw(city=[1.0, float("inf"), 2.0, 1.0])
    cfg = DataConfig(path="-", columns={"price": "Price", "date": "Sold", "city": "city"})
    frame = to_canonical(table, cfg).frame
    assert frame["city"].tolist() == ["1.0", "inf", "2.0", "1.0"]


def test_extra_column_names_a_model_cannot_take_are_renamed_and_reported() -> None:
    """Found by the fuzz suite: LightGBM refused a feature named '[/x]' in the middle of
    training ('Do not support special JSON characters in feature name')."""
    table = raw(**{"area [m2]": [50.0, 60.0, 70.0, 80.0], 'a"b:c': [1.0, 2.0, 3.0, 4.0]})
    cfg = DataConfig(path="-", columns={"price": "Price", "date": "Sold", "city": {"value": "A"}})
    loaded = to_canonical(table, cfg)
    assert {"area (m2)", "a'b-c"} <= set(loaded.frame.columns)
    renamed = [i for i in loaded.report.issues if i.action == "renamed"]
    assert {i.column for i in renamed} == {"area [m2]", 'a"b:c'}


def test_spellings_of_one_city_are_one_city_and_reported() -> None:
    """Case, accents and spaces do not make another city (nor another neighbourhood)."""
    cfg = DataConfig(
        path="-",
        columns={"price": "Price", "date": "Sold", "city": "Town", "neighbourhood": "Area"},
    )
    table = raw(
        Town=["São Paulo", "sao paulo ", "SÃO PAULO", "São Paulo"],
        Area=["Vila Mariana", "vila mariana", "Moema", "Moema"],
    )
    result = to_canonical(table, cfg)
    assert result.frame["city"].tolist() == ["São Paulo"] * 4
    assert result.frame["neighbourhood"].tolist() == ["Vila Mariana"] * 2 + ["Moema"] * 2
    issue = next(i for i in result.report.issues if i.column == "city")
    assert issue.count == 2 and set(issue.examples) == {"sao paulo", "SÃO PAULO"}
    assert "São Paulo" in issue.action


@pytest.mark.parametrize("fmt", ["%s", "%Q-%m", "YYYY-MM-DD"])
def test_a_date_format_estimo_cannot_read_is_refused_naming_the_setting(fmt: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not a date format"):
        config(date_format=fmt)


def test_spellings_of_a_type_or_condition_are_one_word() -> None:
    cfg = DataConfig(
        path="-",
        columns={
            "price": "Price",
            "date": "Sold",
            "city": {"value": "Ames"},
            "property_type": "Type",
            "condition": "State",
        },
    )
    table = raw(Type=["Apartment", "APARTMENT", "Apartment", "House"], State=["Good"] * 4)
    frame = to_canonical(table, cfg).frame
    assert frame["property_type"].tolist() == ["Apartment"] * 3 + ["House"]


def _located(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Homes around Seattle (longitudes beyond ±90, so a swap shows)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "price": rng.uniform(2e5, 9e5, n).round(),
            "date": ["2015-01-10"] * n,
            "city": ["Seattle"] * n,
            "lat": 47.6 + rng.normal(0, 0.1, n),
            "lon": -122.3 + rng.normal(0, 0.1, n),
        }
    )


def test_latitude_and_longitude_swapped_on_every_row_are_swapped_back() -> None:
    """They were set to missing on every row (the cleaning's range rule), silently."""
    truth = _located()
    swapped = truth.assign(lat=truth["lon"], lon=truth["lat"])
    loaded = to_canonical(swapped, DataConfig(path="-"))
    assert np.allclose(loaded.frame["lat"], truth["lat"])
    assert np.allclose(loaded.frame["lon"], truth["lon"])
    (issue,) = [i for i in loaded.report.issues if i.column == "lat/lon"]
    assert issue.action == "swapped back" and issue.count == len(truth)
    kept = to_canonical(truth, DataConfig(path="-"))  # degrees as they are: untouched
    assert not [i for i in kept.report.issues if i.column == "lat/lon"]


def test_projected_coordinates_in_metres_become_features_not_missing_places() -> None:
    """UTM metres under lat/lon were all blanked: Estimo fell behind a plain LightGBM."""
    truth = _located()
    metres = truth.assign(lat=truth["lat"] * 111_000, lon=truth["lon"] * 75_000 + 9e6)
    loaded = to_canonical(metres, DataConfig(path="-"))
    frame = loaded.frame
    assert frame["lat"].isna().all() and frame["lon"].isna().all()
    assert np.allclose(frame["y_coordinate"], metres["lat"])
    assert np.allclose(frame["x_coordinate"], metres["lon"])
    (issue,) = [i for i in loaded.report.issues if i.column == "lat/lon"]
    assert "not degrees" in issue.problem and "x_coordinate" in issue.action


def test_undated_data_with_as_of_set_is_not_told_to_set_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """'every row is dated 2019-06-01 (set data.as_of)' was warned with as_of set to it."""
    import logging

    from estimo.io import undated_date_source

    with caplog.at_level(logging.INFO, logger="estimo.io"):
        assert undated_date_source(DataConfig(path="-", as_of="2019-06-01")).value == "2019-06-01"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="estimo.io"):
        undated_date_source(DataConfig(path="-"))
    assert any("set data.as_of" in r.getMessage() for r in caplog.records)
