"""`estimo init` on data shapes a new market has: several price columns, dates as numbers
or parts, French and German names, a column of price kinds, identifiers and columns computed
from the price, CSVs with a decimal comma."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from estimo.cli import app
from estimo.config import DataConfig, load_config
from estimo.infer import infer_project, render_project
from estimo.io import load_dataset, to_canonical

runner = CliRunner()


def _houses(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Sales with a list and an original price before the sale price (Grinnell's shape)."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(800, 3000, n).round()
    sale = (area * rng.uniform(90, 130, n)).round(-2)
    listed = (sale * rng.uniform(1.0, 1.1, n)).round(-2)
    return pd.DataFrame(
        {
            "Date": rng.integers(12_800, 16_900, n),  # days since 1970-01-01
            "Address": [f"{i} Main St" for i in range(n)],
            "Bedrooms": rng.integers(1, 6, n),
            "SquareFeet": area,
            "LotSize": rng.uniform(0.1, 1.0, n).round(2),
            "YearSold": rng.integers(2005, 2016, n),
            "MonthSold": rng.integers(1, 13, n),
            "DaySold": rng.integers(1, 29, n),
            "CostPerSqFt": (sale / area).round(2),
            "OrigPrice": (listed * 1.05).round(-2),
            "ListPrice": listed,
            "SalePrice": sale,
        }
    )


def _write_and_load(frame: pd.DataFrame, tmp_path: Path, name: str = "case.parquet") -> tuple:
    data = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(data, index=False)
    out = tmp_path / "estimo.yaml"
    result = runner.invoke(app, ["init", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    config = load_config(out)
    return config, load_dataset(config)


def test_sale_price_wins_over_list_prices_whatever_the_column_order() -> None:
    guess = infer_project(_houses(), "grinnell.parquet")
    assert guess.columns["price"] == "SalePrice"
    assert guess.price_kind == "sale"


def test_a_price_column_filled_on_few_rows_is_not_the_target() -> None:
    raw = pd.DataFrame(
        {"sale_price": [np.nan] * 8 + [300_000.0, 310_000.0], "price": np.linspace(2e5, 4e5, 10)}
    )
    assert infer_project(raw, "x.csv").columns["price"] == "price"


def test_rooms_before_bedrooms_and_floor_counts_are_not_the_floor() -> None:
    raw = pd.DataFrame(
        {
            "price": [200_000, 250_000],
            "bedrooms": [2, 3],
            "rooms": [4, 5],
            "floors": [1.0, 2.0],
            "floorCount": [3, 4],
        }
    )
    guess = infer_project(raw, "x.csv")
    assert guess.columns["rooms"] == "rooms"
    assert "floor" not in guess.columns


def test_a_date_in_days_falls_back_to_year_month_day_columns(tmp_path: Path) -> None:
    guess = infer_project(_houses(), "grinnell.parquet")
    assert guess.columns["date"] == {"year": "YearSold", "month": "MonthSold", "day": "DaySold"}
    assert "no known date format" in guess.checks["date"]
    _, loaded = _write_and_load(_houses(), tmp_path)
    assert loaded.report.n_dropped == 0 and loaded.frame["date"].min().year >= 2005


def test_a_date_in_days_without_parts_leaves_the_data_undated(tmp_path: Path) -> None:
    raw = _houses().drop(columns=["YearSold", "MonthSold", "DaySold"])
    guess = infer_project(raw, "x.parquet")
    assert "date" not in guess.columns and guess.as_of is not None
    assert "'Date'" in guess.checks["as_of"]
    _, loaded = _write_and_load(raw, tmp_path)
    assert loaded.report.undated


def test_other_prices_price_derived_columns_and_identifiers_are_left_out(tmp_path: Path) -> None:
    guess = infer_project(_houses(), "grinnell.parquet")
    assert guess.extra_features is not None
    assert not {"ListPrice", "OrigPrice", "CostPerSqFt", "Address"} & set(guess.extra_features)
    assert "LotSize" in guess.extra_features
    for column in ("ListPrice", "CostPerSqFt", "Address"):
        assert column in guess.checks["extra_features"]
    config, loaded = _write_and_load(_houses(), tmp_path)  # before: refused (CostPerSqFt)
    assert "ListPrice" not in loaded.frame and "LotSize" in loaded.frame
    assert loaded.report.n_dropped == 0


def test_a_sale_to_list_percentage_is_left_out_whatever_the_column_order() -> None:
    houses = _houses()
    houses.insert(0, "SPLPPct", (100 * houses["SalePrice"] / houses["ListPrice"]).round(2))
    guess = infer_project(houses, "grinnell.parquet")
    assert "SPLPPct" not in guess.extra_features and "LotSize" in guess.extra_features
    assert "SPLPPct (computed from the price)" in guess.checks["extra_features"]


def test_a_price_of_something_else_than_the_home_is_kept() -> None:
    houses = _houses()
    rng = np.random.default_rng(5)
    houses["GaragePrice"] = rng.uniform(5_000, 15_000, len(houses)).round(-2)
    houses["valor_condominio"] = rng.uniform(100, 900, len(houses)).round()
    guess = infer_project(houses, "grinnell.parquet")
    assert {"GaragePrice", "valor_condominio", "LotSize"} <= set(guess.extra_features)
    assert "OrigPrice (another price)" in guess.checks["extra_features"]


def test_every_column_kept_when_none_is_a_problem() -> None:
    raw = pd.DataFrame({"price": [2e5, 3e5, 4e5], "area": [50, 70, 90], "garden": [0, 1, 1]})
    guess = infer_project(raw, "x.csv")
    assert guess.extra_features is None
    assert "extra_features: all" in render_project(guess)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (
            ["prix", "surface", "pieces", "ville", "date_annonce", "etage", "identifiant"],
            ["price", "area_m2", "rooms", "city", "date", "floor", "id"],
        ),
        (
            ["Kaufpreis", "Wohnfläche", "Zimmer", "Stadt", "Datum", "Etage", "Baujahr"],
            ["price", "area_m2", "rooms", "city", "date", "floor", "year_built"],
        ),
        (
            [
                "valeur_fonciere",
                "surface_reelle_bati",
                "nombre_pieces_principales",
                "nom_commune",
                "date_mutation",
                "code_postal",
                "type_local",
            ],
            ["price", "area_m2", "rooms", "city", "date", "neighbourhood", "property_type"],
        ),
    ],
)
def test_french_and_german_names(names: list[str], expected: list[str]) -> None:
    values = [[250_000, 300_000], [60, 80], [3, 4], ["Lyon", "Lyon"], ["2024-01", "2024-02"]]
    values += [[2, 3], [1990, 2001]] if names[-1] != "identifiant" else [[2, 3], ["a", "b"]]
    if names[-1] == "type_local":
        values[-2] = ["69001", "69002"]
        values[-1] = ["Maison", "Appartement"]
    guess = infer_project(pd.DataFrame(dict(zip(names, values, strict=True))), "x.csv")
    assert {f: guess.columns.get(f) for f in expected} == dict(zip(expected, names, strict=True))


def test_a_neighbourhood_word_is_not_taken_for_the_city() -> None:
    raw = pd.DataFrame({"Preis": [3e5, 4e5], "Stadtteil": ["Mitte", "Pankow"], "PLZ": [1, 2]})
    guess = infer_project(raw, "berlin.csv")
    assert guess.columns["city"] == {"value": "berlin"}
    assert guess.columns["neighbourhood"] == "Stadtteil"


def test_a_column_of_price_kinds_is_read(tmp_path: Path) -> None:
    raw = pd.DataFrame(
        {
            "price": [200_000.0, 190_000.0, 250_000.0, 240_000.0],
            "price_kind": ["asking", "sale", "asking", "sale"],
            "area": [70, 70, 90, 90],
            "date": ["2024-01-01", "2024-02-01", "2024-01-01", "2024-03-01"],
        }
    )
    guess = infer_project(raw, "x.parquet")
    assert guess.price_kind == "price_kind"
    _, loaded = _write_and_load(raw, tmp_path)
    assert loaded.frame["price_kind"].tolist() == ["asking", "sale", "asking", "sale"]


def test_a_column_of_price_kinds_with_rents_keeps_the_prices() -> None:
    raw = pd.DataFrame(
        {"price": [2e5, 1_200, 3e5], "kind": ["sale", "rent", "asking"], "area": [70, 60, 90]}
    )
    guess = infer_project(raw, "x.parquet")
    assert guess.price_kind == "kind"
    assert guess.operation == {"column": "kind", "keep": ["asking", "sale"]}
    assert "operation: {column: kind, keep: [asking, sale]}" in render_project(guess)


def test_a_semicolon_csv_with_decimal_commas(tmp_path: Path) -> None:
    raw = pd.DataFrame(
        {
            "price": [221_900.0, 538_000.0, 180_000.0],
            "lat": [47.5112, 47.721, 47.7379],
            "long": [-122.257, -122.319, -122.233],
            "area": [111.5, 239.0, 71.5],
            "date": ["2014-10-13", "2014-12-09", "2015-02-25"],
        }
    )
    data = tmp_path / "case.csv"
    raw.to_csv(data, sep=";", decimal=",", index=False)
    out = tmp_path / "estimo.yaml"
    result = runner.invoke(app, ["init", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert 'read_options: {decimal: ","}' in out.read_text()
    loaded = load_dataset(load_config(out))
    assert loaded.frame["lat"].tolist() == [47.5112, 47.721, 47.7379]
    assert loaded.frame["price"].tolist() == [221_900.0, 538_000.0, 180_000.0]


def test_thousands_commas_are_not_read_as_decimal_commas(tmp_path: Path) -> None:
    data = tmp_path / "case.csv"
    data.write_text(
        'price,area,date\n"450,000",1200,2024-01-01\n"1,250,000",2500,2024-02-01\n'
        '"385,500",980,2024-03-01\n',
        encoding="utf-8",
    )
    out = tmp_path / "estimo.yaml"
    result = runner.invoke(app, ["init", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "decimal" not in out.read_text()


def test_decimal_commas_without_read_options_are_read_and_reported(tmp_path: Path) -> None:
    data = tmp_path / "case.csv"
    pd.DataFrame(
        {"price": [1.5e5, 2.5e5 + 0.5], "city": ["a", "b"], "date": ["2024-01-01"] * 2}
    ).to_csv(data, sep=";", decimal=",", index=False)
    (tmp_path / "p.yaml").write_text(
        f"data:\n  path: {data}\n  delimiter: ';'\n  columns: {{price: price}}\n", encoding="utf-8"
    )
    loaded = load_dataset(load_config(tmp_path / "p.yaml"))
    assert loaded.frame["price"].tolist() == [150000.0, 250000.5]
    (issue,) = [i for i in loaded.report.issues if i.column == "price"]
    assert issue.count == 2 and "grouped digits" in issue.problem


def test_prices_with_currency_signs_are_read_as_numbers(tmp_path: Path) -> None:
    raw = pd.DataFrame(
        {
            "Precio": ["€350,000", "€1,250,000", "€ 99,500", "n/a"],
            "Fecha": ["2024-01-01"] * 4,
            "Ciudad": ["Madrid"] * 4,
        }
    )
    cfg = DataConfig(path="-", columns={"price": "Precio", "date": "Fecha", "city": "Ciudad"})
    loaded = to_canonical(raw, cfg, max_dropped_share=0.5)
    assert loaded.frame["price"].tolist() == [350000.0, 1250000.0, 99500.0]


def test_many_small_towns_are_one_market_with_the_towns_as_neighbourhoods() -> None:
    towns = ["Sacramento"] * 40 + [f"Town {i}" for i in range(20) for _ in range(3)]
    raw = pd.DataFrame(
        {"price": np.linspace(1e5, 5e5, len(towns)), "city": towns, "zip": ["95838"] * len(towns)}
    )
    guess = infer_project(raw, "sacramento.csv")
    assert guess.columns["city"] == {"value": "sacramento"}
    assert guess.columns["neighbourhood"] == "city"
    assert "zip" in guess.checks["neighbourhood"]


def test_a_few_cities_with_many_rows_stay_cities() -> None:
    cities = [f"City {i}" for i in range(12) for _ in range(30)]
    raw = pd.DataFrame({"price": np.linspace(1e5, 5e5, len(cities)), "city": cities})
    assert infer_project(raw, "x.csv").columns["city"] == "city"


def test_low_prices_are_rents_or_thousands() -> None:
    raw = pd.DataFrame({"price": [221.9, 538.0, 180.0], "sqft_living": [1180, 2570, 770]})
    guess = infer_project(raw, "x.csv")
    assert guess.price_kind == "rent" and "thousands" in guess.checks["price_kind"]


def test_numbered_columns_are_not_the_condition() -> None:
    raw = pd.DataFrame(
        {
            "Sale_Price": [2e5, 3e5],
            "Condition_1": ["Norm", "Feedr"],
            "Condition_2": ["Norm"] * 2,
            "Sale_Condition": ["Normal", "Family"],
        }
    )
    assert "condition" not in infer_project(raw, "ames.csv").columns


def test_a_city_big_enough_for_its_own_model_keeps_the_column_a_city() -> None:
    # a national register: one large city and many small communes
    places = ["Paris"] * 2_500 + [f"Commune {i}" for i in range(300) for _ in range(4)]
    raw = pd.DataFrame({"price": np.linspace(1e5, 5e5, len(places)), "city": places})
    assert infer_project(raw, "x.csv").columns["city"] == "city"


def test_a_table_without_a_price_says_so_in_the_file() -> None:
    guess = infer_project(pd.DataFrame({"a": ["x", "y"], "b": [1, 2]}), "x.csv")
    assert "price" not in guess.columns
    assert "# price: <column>    # check: no column looks like the price" in render_project(guess)


def test_polish_names_with_strokes_and_names_with_connecting_words_are_mapped() -> None:
    rng = np.random.default_rng(0)
    n = 300
    raw = pd.DataFrame(
        {
            "Cena": rng.uniform(1e5, 5e5, n),
            "Data": ["2024-01-01"] * n,
            "Miasto": ["Łódź"] * n,
            "Szerokość": rng.uniform(51, 52, n),
            "Długość": rng.uniform(19, 20, n),
            "Łazienki": rng.integers(1, 3, n),
            "Anno di costruzione": rng.integers(1900, 2020, n),
        }
    )
    columns = infer_project(raw, "x.csv").columns
    assert (columns["lat"], columns["lon"]) == ("Szerokość", "Długość")
    assert columns["bathrooms"] == "Łazienki"
    assert columns["year_built"] == "Anno di costruzione"


def test_dates_written_several_ways_get_no_format_that_refuses_most_of_them() -> None:
    from estimo.infer import infer_date_format

    mixed = pd.Series(["2024-03-05", "25/12/2023", "02 Mar 2026", "20240105"] * 50)
    fmt, why = infer_date_format(mixed)
    assert fmt is None and "several ways" in why
    assert infer_date_format(pd.Series(["25/12/2023", "03/04/2024"]))[0] == "%d/%m/%Y"


@pytest.mark.parametrize(
    ("encoding", "city", "column"), [("cp1252", "Forlì", "Città"), ("cp1250", "Łódź", "Miasto")]
)
def test_a_csv_saved_by_windows_is_read_and_its_encoding_written(
    tmp_path: Path, encoding: str, city: str, column: str
) -> None:
    from estimo.errors import DataError

    data = tmp_path / "case.csv"
    rows = 60
    pd.DataFrame(
        {
            "Prezzo": np.linspace(1e5, 3e5, rows),
            column: [city] * rows,
            "Data": ["2024-01-31"] * rows,
        }
    ).to_csv(data, sep=";", index=False, encoding=encoding)
    with pytest.raises(DataError, match=f"encoding: {encoding}"):
        load_dataset(load_config(_project(tmp_path, data, column)))
    out = tmp_path / "estimo.yaml"
    result = CliRunner().invoke(app, ["init", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"encoding: {encoding}" in out.read_text(encoding="utf-8")
    assert load_dataset(load_config(out)).frame["city"].iloc[0] == city


def _project(folder: Path, data: Path, city: str) -> Path:
    path = folder / "plain.yaml"
    path.write_text(
        f"data:\n  path: {data}\n  delimiter: ';'\n"
        f"  columns: {{price: Prezzo, city: {city}, date: Data}}\n",
        encoding="utf-8",
    )
    return path


def test_title_lines_above_the_header_are_skipped_and_written(tmp_path: Path) -> None:
    data = tmp_path / "export.csv"
    body = "price;city;date\n250000;Roma;2024-01-31\n180000;Milano;2024-02-15\n"
    data.write_text("Sales export, County records\nGenerated 2024-05-01\n\n" + body)
    out = tmp_path / "estimo.yaml"
    result = runner.invoke(app, ["init", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "skiprows: 3" in text and 'delimiter: ";"' in text
    loaded = load_dataset(load_config(out))
    assert loaded.frame["price"].tolist() == [250_000.0, 180_000.0]
    assert loaded.frame["city"].astype(str).tolist() == ["Roma", "Milano"]


def test_a_table_with_title_lines_and_no_skiprows_names_the_option(tmp_path: Path) -> None:
    from estimo.errors import DataError
    from estimo.io import read_table

    data = tmp_path / "export.csv"
    data.write_text("Sales export 2024\n\nprice,city\n1,a\n2,b\n")
    with pytest.raises(DataError, match=r"2 line\(s\) above its header.*skiprows: 2"):
        read_table(str(data))
    assert read_table(str(data), {"skiprows": 2})["price"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("prices", "name", "currency"),
    [
        (["1 200 000 zł", "900 000 zł"], "cena", "PLN"),
        (["R$ 450.000,00", "R$ 1.200.000,00"], "preco", "BRL"),
        ([350_000, 420_000], "price_usd", "USD"),
        (["£350,000", "£420,000"], "price", "GBP"),
        ([350_000, 420_000], "price", "EUR"),  # nothing says: EUR, to check
    ],
)
def test_the_currency_is_read_from_the_prices_or_their_column_name(
    prices: list, name: str, currency: str
) -> None:
    raw = pd.DataFrame({name: prices, "city": ["a", "b"]})
    text = render_project(infer_project(raw, "x.csv"))
    line = next(x for x in text.splitlines() if x.strip().startswith("currency:"))
    assert line.split("#")[0].split(":")[1].strip() == currency
    assert "# check:" in line


@pytest.mark.parametrize(
    ("name", "values", "fmt"),
    [
        ("sold", ["2015-03", "2015-04", "2014-12"], "%Y-%m"),
        ("closed", ["31/01/2024", "15/02/2024", "03/03/2024"], "%d/%m/%Y"),
        ("period", ["10/2014", "11/2014", "01/2015"], "%m/%Y"),
    ],
)
def test_a_date_column_is_found_by_its_values_when_its_name_says_nothing(
    tmp_path: Path, name: str, values: list[str], fmt: str
) -> None:
    """The table was read as undated (cross-validated, a flat index, the dates a feature)."""
    raw = pd.DataFrame(
        {
            "price": [350_000, 420_000, 390_000],
            name: values,
            "city": ["a", "b", "c"],
            "year_built": ["1965", "1970", "1980"],  # years alone: not the date
        }
    )
    guess = infer_project(raw, "x.csv")
    assert (guess.columns["date"], guess.date_format, guess.as_of) == (name, fmt, None)
    assert "its values are dates" in guess.checks["date"]
    data = tmp_path / "x.parquet"
    raw.to_parquet(data)
    guess.path = str(data)
    out = tmp_path / "estimo.yaml"
    out.write_text(render_project(guess))
    dates = load_dataset(load_config(out)).frame["date"]
    assert dates.notna().all() and dates.min() >= pd.Timestamp("2014-01-01")


def test_a_long_table_is_refused_with_how_to_pivot_it(tmp_path: Path) -> None:
    """One row per property per feature was trained on as listings (the audit called the
    repeated ids re-listings)."""
    wide = _houses(60)[["Date", "Bedrooms", "SquareFeet", "SalePrice"]]
    wide.insert(0, "id", range(len(wide)))
    long = wide.melt(id_vars=["id", "Date", "SalePrice"], var_name="feature", value_name="value")
    data = tmp_path / "long.csv"
    long.to_csv(data, index=False)
    result = runner.invoke(app, ["init", str(data), "--out", str(tmp_path / "estimo.yaml")])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "one row per property per feature" in text and "pivot_table" in text
    assert not (tmp_path / "estimo.yaml").exists()
    assert infer_project(wide, "x.csv").columns["id"] == "id"  # the wide table is fine
