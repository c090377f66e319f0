"""`estimo init`: a project file inferred from a table, in several languages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.config import load_config
from estimo.infer import infer_date_format, infer_project
from estimo.io import load_dataset

runner = CliRunner()

TABLES = {
    "en": pd.DataFrame(
        {
            "SalePrice": [350_000, 420_000],
            "sqft_living": [1800, 2400],
            "bedrooms": [3, 4],
            "lat": [47.5, 47.6],
            "long": [-122.3, -122.2],
            "date": ["20141013T000000", "20150102T000000"],
        }
    ),
    "it": pd.DataFrame(
        {
            "Prezzo": [250_000, 180_000],
            "Superficie": [90, 70],
            "Locali": [3, 2],
            "Città": ["Roma", "Milano"],
            "Data": ["31/01/2024", "15/02/2024"],
        }
    ),
    "es": pd.DataFrame(
        {
            "Precio": [900, 1_200],
            "Metros": [60, 80],
            "Habitaciones": [2, 3],
            "Ciudad": ["Madrid", "Madrid"],
            "Fecha": ["2024-01", "2024-02"],
        }
    ),
    "pl": pd.DataFrame(
        {
            "cena": [650_000, 720_000],
            "powierzchnia": [48.0, 55.0],
            "pokoje": [2, 3],
            "miasto": ["krakow", "lodz"],
            "data": ["2024-03-01", "2024-04-01"],
        }
    ),
    "pt": pd.DataFrame(
        {
            "Preco": [380_000, 2_000],
            "Metragem": [47, 45],
            "Quartos": [2, 2],
            "Bairro": ["Moema", "Moema"],
            "Negociacao": ["venda", "aluguel"],
        }
    ),
}
EXPECTED = {
    "en": (
        {
            "price": "SalePrice",
            "area_m2": "sqft_living",
            "rooms": "bedrooms",
            "lat": "lat",
            "lon": "long",
        },
        "sqft",
        "sale",
        "%Y%m%dT%H%M%S",
    ),
    "it": (
        {"price": "Prezzo", "area_m2": "Superficie", "rooms": "Locali", "city": "Città"},
        "m2",
        "asking",
        "%d/%m/%Y",
    ),
    "es": (
        {"price": "Precio", "area_m2": "Metros", "rooms": "Habitaciones"},
        "m2",
        "rent",
        "%Y-%m",
    ),
    "pl": (
        {"price": "cena", "area_m2": "powierzchnia", "rooms": "pokoje", "city": "miasto"},
        "m2",
        "asking",
        "%Y-%m-%d",
    ),
    "pt": (
        {"price": "Preco", "area_m2": "Metragem", "rooms": "Quartos", "neighbourhood": "Bairro"},
        "m2",
        "asking",
        None,
    ),
}


@pytest.mark.parametrize("lang", list(TABLES))
def test_infers_the_mapping_in_five_languages(lang: str) -> None:
    columns, unit, kind, fmt = EXPECTED[lang]
    guess = infer_project(TABLES[lang], "data.csv")
    assert {k: guess.columns[k] for k in columns} == columns
    assert (guess.area_unit, guess.price_kind, guess.date_format) == (unit, kind, fmt)
    assert "price" in guess.checks
    assert "price_kind" in guess.checks or guess.operation is not None


def test_operation_column_is_found() -> None:
    guess = infer_project(TABLES["pt"], "data.csv")
    assert guess.operation == {"column": "Negociacao", "keep": "venda"}
    assert "aluguel" in guess.checks["operation"]
    assert guess.as_of is not None and "as_of" in guess.checks  # no date column


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["03/04/2024", "25/12/2023"], "%d/%m/%Y"),
        (["04/03/2024", "12/25/2023"], "%m/%d/%Y"),
        (["03.04.2024", "05.06.2023"], "%d.%m.%Y"),
        (["201803", "201911"], "%Y%m"),
    ],
)
def test_date_format_and_day_month_order(values: list[str], fmt: str) -> None:
    assert infer_date_format(pd.Series(values))[0] == fmt


def test_init_writes_a_project_file_that_loads(tmp_path: Path) -> None:
    data = tmp_path / "case.csv"
    TABLES["it"].to_csv(data, sep=";", index=False)
    out = tmp_path / "estimo.yaml"
    result = runner.invoke(app, ["init", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "# check:" in text and 'delimiter: ";"' in text
    config = load_config(out)
    loaded = load_dataset(config)
    assert loaded.frame["price"].tolist() == [250_000.0, 180_000.0]
    assert loaded.frame["date"].tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-15")]
    again = runner.invoke(app, ["init", str(data), "--out", str(out)])
    assert again.exit_code == 2 and "--force" in again.output


def test_init_writes_into_a_folder_it_creates(tmp_path: Path) -> None:
    data = tmp_path / "case.csv"
    TABLES["it"].to_csv(data, index=False)
    out = tmp_path / "projects" / "milano" / "estimo.yaml"
    result = runner.invoke(app, ["init", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_dataset(load_config(out)).frame["price"].tolist() == [250_000.0, 180_000.0]
