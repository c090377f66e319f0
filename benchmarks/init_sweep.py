"""A new user's path: ``estimo init`` on every shared set and on the shapes a new market has.

For each case, with no hand-written project file: the data (a sample of at most
``--max-rows`` rows; Poland by listing id) is written to a temporary file, ``estimo init``
writes the project file as a new user would get it, and the product's backtest runs with
that file (out of time from ``backtest.cutoff`` or the last 20 % of dates when the data is
dated, 5-fold cross-validation by property otherwise), next to the data README's plain
LightGBM on the same test rows (``benchmarks/markets.py``'s harness: every raw column but
the price, the identifier ``init`` found and the price's leaks by the loader's own rules:
other prices such as a list price, and ratios or differences to them).

Cases: the shared sets, then King County reshaped as other markets' files come (no dates,
no coordinates, 500 rows, 300 rows with neither, dates written day first as text, yes/no
flags, a ``;`` CSV with decimal commas) and Poland with Italian and German column names.
A case whose ``init`` or backtest fails is reported with its error (that is a finding).

Run from the repository root, with ``../shared/data`` present (``nice``: the machine is
shared)::

    nice python benchmarks/init_sweep.py                         # every case, ~20 min
    nice python benchmarks/init_sweep.py --cases kc ames kc_no_dates
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from estimo.io import keep_operation, load_project, read_options_of, read_table, to_canonical
from estimo.load_checks import other_prices, price_derived_columns
from estimo.split import default_cutoff
from markets import SHARED, MarketSet, run_cv, run_dated

Reshape = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class Case:
    """One file a new user could bring: a shared set, reshaped, written as ``suffix``."""

    key: str
    file: str
    reshape: Reshape | None = None
    suffix: str = ".parquet"
    max_rows: int | None = None


def _drop(*columns: str) -> Reshape:
    return lambda raw: raw.drop(columns=[c for c in columns if c in raw])


def _day_first_dates(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.assign(date=pd.to_datetime(raw["date"]).dt.strftime("%d/%m/%Y"))


def _yes_no(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.assign(waterfront=np.where(raw["waterfront"] == 1, "yes", "no"))


def _renamed(names: dict[str, str]) -> Reshape:
    return lambda raw: raw.rename(columns=names)


ITALIAN = {
    "price": "prezzo", "city": "citta", "squareMeters": "superficie_mq", "rooms": "locali",
    "floor": "piano", "buildYear": "anno_costruzione", "latitude": "latitudine",
    "longitude": "longitudine", "snapshot_month": "data", "condition": "stato",
}  # fmt: skip
GERMAN = {
    "price": "Preis", "city": "Stadt", "squareMeters": "Wohnflaeche", "rooms": "Zimmer",
    "floor": "Etage", "buildYear": "Baujahr", "latitude": "Breitengrad",
    "longitude": "Laengengrad", "snapshot_month": "Datum", "condition": "Zustand",
}  # fmt: skip

CASES = {
    c.key: c
    for c in (
        Case("kc", "kc_house_sales.parquet"),
        Case("ames", "ames_modeldata.parquet"),
        Case("grinnell", "grinnell_houses.parquet"),
        Case("poland", "poland_apartments_sale.parquet"),
        Case("poland_rent", "poland_apartments_rent.parquet"),
        Case("perth", "perth_houses_nodate.parquet"),
        Case("saopaulo", "saopaulo_properties_2019.parquet"),
        Case("sacramento", "sacramento.parquet"),
        Case("saratoga", "saratoga_houses.parquet"),
        Case("kc_no_dates", "kc_house_sales.parquet", _drop("date")),
        Case("kc_no_coordinates", "kc_house_sales.parquet", _drop("lat", "long")),
        Case("kc_500", "kc_house_sales.parquet", max_rows=500),
        Case("kc_300_bare", "kc_house_sales.parquet", _drop("date", "lat", "long"), max_rows=300),
        Case("kc_day_first", "kc_house_sales.parquet", _day_first_dates, ".csv"),
        Case("kc_yes_no", "kc_house_sales.parquet", _yes_no),
        Case("kc_decimal_comma", "kc_house_sales.parquet", None, ".semicolon.csv"),
        Case("poland_italian", "poland_apartments_sale.parquet", _renamed(ITALIAN)),
        Case("poland_german", "poland_apartments_sale.parquet", _renamed(GERMAN)),
    )
}


def sample(raw: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """At most ``max_rows`` rows: whole listings when the table has an ``id`` (Poland's
    monthly snapshots repeat them), else rows, at random (seed 0)."""
    if len(raw) <= max_rows:
        return raw
    if "id" in raw and raw["id"].duplicated().any():
        ids = raw["id"].drop_duplicates().sample(frac=1.0, random_state=0)
        keep = set(ids.iloc[: int(len(ids) * max_rows / len(raw))])
        return raw[raw["id"].isin(keep)].reset_index(drop=True)
    return raw.sample(max_rows, random_state=0).reset_index(drop=True)


def write(raw: pd.DataFrame, folder: Path, suffix: str) -> Path:
    """The data file a user would bring: Parquet, a CSV, or a ``;`` CSV with decimal commas."""
    path = folder / f"data{'.csv' if suffix.endswith('.csv') else suffix}"
    if suffix == ".semicolon.csv":
        raw.to_csv(path, sep=";", decimal=",", index=False)
    elif suffix == ".csv":
        raw.to_csv(path, index=False)
    else:
        raw.to_parquet(path, index=False)
    return path


def price_leaks(raw: pd.DataFrame, target: str, area: str | None) -> list[str]:
    """Raw columns the plain model must not see either: other prices of the home (on the
    price's scale and following it: a list price, not a zip code) and columns computed
    from the price (a ratio to another price, a price per area: ``estimo.load_checks``'
    rules, as ``estimo init`` applies them)."""
    numeric = [
        c
        for c in raw.columns
        if c not in (target, area)
        and pd.api.types.is_numeric_dtype(raw[c])
        and not pd.api.types.is_bool_dtype(raw[c])
    ]
    frame = raw[numeric].rename(columns=str).assign(price=raw[target].to_numpy(float))
    if area is not None:
        frame["area_m2"] = pd.to_numeric(raw[area], errors="coerce").to_numpy(float)
    log_price = np.log(frame["price"].clip(lower=1e-9))
    prices = {
        name
        for name, values in other_prices(frame).items()
        if name != "area_m2" and np.log(pd.Series(values).clip(lower=1e-9)).corr(log_price) >= 0.9
    }
    return sorted(prices | set(price_derived_columns(frame, map(str, numeric))))


def run_case(case: Case, max_rows: int, folder: Path) -> dict:
    """``estimo init`` on the case's file, then the backtest and the plain model."""
    raw = pd.read_parquet(SHARED / case.file)
    raw = sample(raw, case.max_rows or max_rows)
    if case.reshape is not None:
        raw = case.reshape(raw)
    data = write(raw, folder, case.suffix)
    project = folder / "estimo.yaml"
    done = subprocess.run(
        ["estimo", "init", str(data), "--out", str(project), "--force"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"estimo init failed: {(done.stdout + done.stderr)[-400:]}")
    config = load_project(project)
    table = read_table(config.resolved_data_path(), read_options_of(config.data))
    table, _ = keep_operation(table, config.data)
    loaded = to_canonical(table, config.data)
    kept = np.setdiff1d(np.arange(len(table)), loaded.report.dropped["row"].to_numpy(int))
    table = table.iloc[kept].reset_index(drop=True)
    frame = loaded.frame.reset_index(drop=True)
    id_source = config.data.columns.get("id")
    identifiers = (id_source.column,) if id_source is not None and id_source.column else ()
    area = config.data.columns.get("area_m2")
    area_column = area.column if area is not None else None
    identifiers += tuple(price_leaks(table, config.data.columns["price"].column, area_column))
    if loaded.report.undated:
        spec = MarketSet(case.key, str(project), str(data), None, identifiers)
        return run_cv(spec, config, table, frame)
    cutoff = config.backtest.cutoff or f"{default_cutoff(frame):%Y-%m-%d}"
    spec = MarketSet(case.key, str(project), str(data), cutoff, identifiers)
    return run_dated(spec, config, table, frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--max-rows", type=int, default=30_000, help="rows per case at most")
    args = parser.parse_args()
    print("| case | split | test rows | Estimo MdAPE / PE10 | plain MdAPE / PE10 | MdAPE ratio |")
    print("|---|---|---|---|---|---|")
    for key in args.cases:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            try:
                result = run_case(CASES[key], args.max_rows, Path(tmp))
            except Exception as exc:  # a failing case is a finding, reported in its row
                print(f"| {key} | failed: {type(exc).__name__}: {str(exc)[:300]} | | | | |")
                continue
        e, p = result["estimo"], result["plain"]
        print(
            f"| {key} | {result['split']} | {result['n_test']:,} "
            f"| {100 * e['mdape']:.2f} / {100 * e['pe10']:.1f} "
            f"| {100 * p['mdape']:.2f} / {100 * p['pe10']:.1f} "
            f"| {e['mdape'] / p['mdape']:.3f} |",
            flush=True,
        )
        print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
