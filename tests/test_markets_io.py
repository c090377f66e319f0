"""Loading other markets: semicolon CSVs, rent and sale in one table, data without dates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimo.config import DataConfig, ProjectConfig
from estimo.errors import DataError
from estimo.io import load_dataset, to_canonical

RAW = pd.DataFrame(
    {
        "Price": [2_000.0, 380_000.0, 2_500.0, 410_000.0],
        "Negotiation_Type": ["rent", "sale", "Rent", "sale"],
        "Size": [50.0, 60.0, 55.0, 70.0],
        "District": ["A/São Paulo", "B/São Paulo", "A/São Paulo", "C/São Paulo"],
    }
)
COLUMNS = {
    "price": "Price",
    "area_m2": "Size",
    "city": {"value": "São Paulo"},
    "neighbourhood": "District",
}


@pytest.mark.parametrize(
    ("keep", "kind", "prices"),
    [("rent", "rent", [2_000.0, 2_500.0]), ("sale", "sale", [380_000.0, 410_000.0])],
)
def test_operation_keeps_one_kind_of_price(keep, kind, prices) -> None:
    cfg = DataConfig(
        path="-",
        columns=COLUMNS,
        price_kind=kind,
        as_of="2019-06-01",
        operation={"column": "Negotiation_Type", "keep": keep},
    )
    result = to_canonical(RAW, cfg)
    assert result.frame["price"].tolist() == prices
    assert set(result.frame["price_kind"]) == {kind}
    assert result.report.n_other_operation == 2
    assert result.report.n_dropped == 0
    assert "Negotiation_Type" not in result.frame  # one value left: not a feature


def test_rent_and_sale_never_share_a_model() -> None:
    raw = RAW.assign(kind=RAW["Negotiation_Type"].str.lower())
    cfg = DataConfig(path="-", columns=COLUMNS, price_kind="kind", as_of="2019-06-01")
    with pytest.raises(DataError, match=r"mix monthly rents \(2 rows\).*data.operation"):
        to_canonical(raw, cfg)


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({"column": "Type", "keep": "sale"}, r"'Type' is not a column"),
        ({"column": "Negotiation_Type", "keep": "lease"}, r"values found: \['rent', 'sale'\]"),
    ],
)
def test_operation_errors_name_the_problem(operation, message) -> None:
    cfg = DataConfig(path="-", columns=COLUMNS, operation=operation, as_of="2019-06-01")
    with pytest.raises(DataError, match=message):
        to_canonical(RAW, cfg)


def test_data_without_a_date_is_dated_as_of(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    cfg = DataConfig(path="-", columns=COLUMNS, price_kind="sale", as_of="2019-06-01")
    with caplog.at_level(logging.INFO, logger="estimo.io"):
        pass_through = to_canonical(RAW.iloc[[1, 3]], cfg)
    assert "no date column" in caplog.text  # said (as_of given: information, not a warning)
    assert pass_through.report.undated
    assert set(pass_through.frame["date"]) == {pd.Timestamp("2019-06-01")}


def _semicolon_csv(tmp_path: Path) -> Path:
    path = tmp_path / "sales.csv"
    path.write_text("price;date;city;area\n100000;2024-01-05;Lodz;50\n200000;2024-02-07;Lodz;60\n")
    return path


def test_semicolon_csv_with_delimiter(tmp_path: Path) -> None:
    data = {
        "path": str(_semicolon_csv(tmp_path)),
        "columns": {"area_m2": "area"},
        "delimiter": ";",
        "price_kind": "sale",
    }
    result = load_dataset(ProjectConfig.model_validate({"data": data}))
    assert result.frame["price"].tolist() == [100_000.0, 200_000.0]
    assert result.frame["area_m2"].tolist() == [50.0, 60.0]


def test_semicolon_csv_without_delimiter_says_how_to_read_it(tmp_path: Path) -> None:
    data = {"path": str(_semicolon_csv(tmp_path)), "price_kind": "sale"}
    with pytest.raises(DataError, match=r"single column .*separated by ';'.*delimiter: ';'"):
        load_dataset(ProjectConfig.model_validate({"data": data}))


def test_rent_data_is_explained_as_monthly_rent() -> None:
    from _explain_helpers import fitted_model
    from estimo.config import validate_config

    config = validate_config({"data": {"path": "x.csv", "price_kind": "rent"}})
    assert config.explain.price_terms == "rent"
    kept = validate_config(
        {"data": {"path": "x.csv", "price_kind": "rent"}, "explain": {"price_terms": "price"}}
    )
    assert kept.explain.price_terms == "price"

    from estimo.explain.explainer import Explainer, explain_properties

    model, train, test = fitted_model()
    explainer = Explainer.from_config(config.explain).fit_reference(model, train)
    explanation = explain_properties(model, test.head(1), explainer, currency="PLN")[0]
    assert explanation.headings["title"] == "Monthly rent of your home"
    assert explanation.total_line.startswith("Our estimate of the monthly rent: ")


def test_the_commands_say_how_many_rows_of_other_operations_were_left_out(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from estimo.cli import app

    data = tmp_path / "listings.csv"
    RAW.assign(Date="2024-01-01").to_csv(data, index=False)
    project = tmp_path / "estimo.yaml"
    project.write_text(
        "data:\n"
        f"  path: {data}\n"
        "  columns: {price: Price, area_m2: Size, city: {value: Sao Paulo}, date: Date}\n"
        "  operation: {column: Negotiation_Type, keep: sale}\n"
        "  price_kind: sale\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["audit", str(project), "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "left out 2 rows of other operations than 'sale'" in result.output


def test_rents_and_sale_prices_mixed_without_a_column_saying_so_are_warned() -> None:
    rng = np.random.default_rng(3)
    n_rent, n_sale = 300, 500
    raw = pd.DataFrame(
        {
            "Price": np.r_[
                np.exp(rng.normal(np.log(1_800), 0.3, n_rent)),
                np.exp(rng.normal(np.log(350_000), 0.4, n_sale)),
            ],
            "Size": rng.uniform(40, 120, n_rent + n_sale),
            "Date": "2024-01-01",
        }
    )
    cfg = DataConfig(
        path="-",
        columns={"price": "Price", "area_m2": "Size", "city": {"value": "X"}, "date": "Date"},
    )
    report = to_canonical(raw, cfg).report
    (issue,) = [i for i in report.issues if "two groups" in i.problem]
    assert "data.operation" in issue.problem and issue.count == n_rent + n_sale
    sales_only = to_canonical(raw.iloc[n_rent:], cfg).report
    assert not [i for i in sales_only.issues if "two groups" in i.problem]
