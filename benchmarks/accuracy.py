"""Accuracy benchmark: the plain LightGBM baseline and Estimo's model, same split, one run.

The baseline is the one described in ``../shared/data/README.md``: LightGBM on log price,
2,000 trees, learning rate 0.03, 63 leaves, trained on every raw column of the file (the
date as a number, text columns as categories). Estimo's models are trained through the
project's own path: the example project file in ``examples/``, the canonical loader and
the out-of-time split. All are scored on exactly the same test rows.

Rows: ``plain baseline``; ``estimo single`` (the single :class:`ValuationModel`);
``estimo AVM: model`` (the engine's city/global models alone), ``estimo AVM: comps``
(the comparables value alone, on the rows that have one), ``estimo AVM: blend`` (the
final valuation), with the coverage and mean relative width of its 80 % and 90 % ranges;
``estimo backtest (cleaned)`` is the product's default path (``estimo backtest``: the
training rows audited, cleaned and weighted by the project's ``quality`` section, the test
rows' features repaired as the service would, never dropped), scored against the same
observed prices.
``seconds`` of the AVM is its whole fit (validation pass + final pass + comparables);
``final_models_seconds`` is the training of all city models and the global model of the
final pass. The drift diagnostic splits the error into the test period's market level
(median ratio per test month) and the rest (:func:`drift_diagnostic`; it reads the test
prices, so it explains a gap but is never a method).

Run from the repository root::

    python benchmarks/accuracy.py                 # Poland and King County
    python benchmarks/accuracy.py --sets kc       # one set
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from estimo.evaluate.backtest import run_backtest
from estimo.evaluate.metrics import compute_metrics
from estimo.evaluate.segments import metrics_by_segment
from estimo.io import load_project, read_table, to_canonical
from estimo.model.avm import AVM
from estimo.model.valuation import ValuationModel
from estimo.split import out_of_time_split

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BenchmarkSet:
    key: str
    project: str
    cutoff: str
    raw_date_column: str
    raw_date_format: str | None


SETS = {
    "poland": BenchmarkSet(
        "poland", "examples/poland.yaml", "2024-04-01", "snapshot_month", "%Y-%m"
    ),
    "kc": BenchmarkSet("kc", "examples/king_county.yaml", "2015-02-01", "date", None),
}


def plain_baseline(
    raw_train: pd.DataFrame,
    raw_test: pd.DataFrame,
    target: str,
    date_column: str,
    date_format: str | None,
    drop: list[str],
) -> np.ndarray:
    """The README's plain LightGBM on all raw columns; returns predicted prices."""

    def encode(frame: pd.DataFrame, categories: dict[str, list]) -> pd.DataFrame:
        out = frame.drop(columns=[target, *drop]).copy()
        dates = pd.to_datetime(out[date_column], format=date_format)
        out[date_column] = (dates - pd.Timestamp("1970-01-01")).dt.days.astype(float)
        for column, levels in categories.items():
            out[column] = pd.Categorical(out[column].astype(object), categories=levels)
        return out

    text_columns = [
        c
        for c in raw_train.columns
        if c not in (target, date_column, *drop) and not pd.api.types.is_numeric_dtype(raw_train[c])
    ]
    categories = {c: sorted(raw_train[c].dropna().astype(str).unique()) for c in text_columns}
    x_train, x_test = encode(raw_train, categories), encode(raw_test, categories)
    params = {
        "objective": "regression",
        "learning_rate": 0.03,
        "num_leaves": 63,
        "seed": 0,
        "verbosity": -1,
        "num_threads": 2,
    }
    booster = lgb.train(
        params,
        lgb.Dataset(x_train, label=np.log(raw_train[target].to_numpy(float))),
        num_boost_round=2000,
    )
    return np.exp(booster.predict(x_test))


def drift_diagnostic(dates: pd.Series, actual: np.ndarray, predicted: np.ndarray) -> str:
    """How much of the error is the test period's market level: the median ratio of
    prediction to price per test month, and the MdAPE / PE10 once the test period's overall
    median ratio is divided out.

    A diagnostic only: it reads the test prices, so no model may use it. It separates what
    the training window can teach (prices across properties) from what it cannot (where the
    market goes after the cut-off).
    """
    ratio = pd.Series(np.asarray(predicted, float) / actual)
    months = pd.to_datetime(dates).dt.strftime("%Y-%m").to_numpy()
    per_month = ratio.groupby(months).median()
    level = float(ratio.median())
    error = (ratio / level - 1).abs()
    months_text = ", ".join(f"{m} {v:.3f}" for m, v in per_month.items())
    return (
        f"median ratio per test month: {months_text}; with the test period's level divided "
        f"out ({level:.3f}): MdAPE {error.median():.4f}, PE10 {(error <= 0.1).mean():.4f}"
    )


def run_set(spec: BenchmarkSet) -> dict:
    config = load_project(ROOT / spec.project)
    raw = read_table(config.resolved_data_path())
    loaded = to_canonical(raw, config.data)
    assert loaded.report.n_dropped == 0, "benchmark sets load without dropped rows"
    frame = loaded.frame.assign(_row=np.arange(len(raw)))
    split = out_of_time_split(frame, spec.cutoff)
    print(f"\n== {spec.key}: {split.describe()}")
    raw_train, raw_test = raw.iloc[split.train["_row"]], raw.iloc[split.test["_row"]]
    target = config.data.columns["price"].column
    id_column = config.data.columns["id"].column

    start = time.perf_counter()
    baseline = plain_baseline(
        raw_train, raw_test, target, spec.raw_date_column, spec.raw_date_format, [id_column]
    )
    baseline_seconds = time.perf_counter() - start

    start = time.perf_counter()
    model = ValuationModel(**config.model.model_dump()).fit(split.train.drop(columns="_row"))
    estimo = model.predict(split.test.drop(columns="_row"))
    estimo_seconds = time.perf_counter() - start

    start = time.perf_counter()
    avm = AVM(**config.engine.model_dump(), currency=loaded.currency)
    avm.fit(split.train.drop(columns="_row"))
    avm_seconds = time.perf_counter() - start
    parts = avm.predict_table(split.test.drop(columns="_row"))
    predict_seconds = time.perf_counter() - start - avm_seconds

    start = time.perf_counter()
    product = run_backtest(
        frame.drop(columns="_row"),
        spec.cutoff,
        model_params={**config.engine.model_dump(), "currency": loaded.currency},
        quality=config.quality,
    )
    product_seconds = time.perf_counter() - start
    by_id = product.predictions.set_index("id")["predicted"]
    product_predicted = split.test["id"].map(by_id).to_numpy(float)
    valued = np.isfinite(product_predicted)  # a row the service cannot value is reported

    actual = split.test["price"].to_numpy(float)
    has_comps = np.isfinite(parts["comps"].to_numpy(float))
    rows = {
        "plain baseline": {**compute_metrics(actual, baseline), "seconds": baseline_seconds},
        "estimo single": {**compute_metrics(actual, estimo), "seconds": estimo_seconds},
        "estimo AVM: model": compute_metrics(actual, parts["model"]),
        "estimo AVM: comps": compute_metrics(actual[has_comps], parts["comps"][has_comps]),
        "estimo AVM: blend": {
            **compute_metrics(actual, parts["predicted"], low=parts["low"], high=parts["high"]),
            "seconds": avm_seconds,
        },
        "estimo backtest (cleaned)": {
            **compute_metrics(actual[valued], product_predicted[valued]),
            "seconds": product_seconds,
        },
    }
    ninety = compute_metrics(actual, parts["predicted"], low=parts["low_90"], high=parts["high_90"])
    rows["estimo AVM: blend"]["coverage90"] = ninety["coverage"]
    rows["estimo AVM: blend"]["width90"] = ninety["mean_relative_width"]
    rows["estimo AVM: blend"]["final_models_seconds"] = avm.stage_.model.train_seconds_
    rows["estimo AVM: blend"]["predict_seconds"] = predict_seconds
    columns = ["n", "mdape", "pe10", "pe20", "cod", "median_ratio", "seconds"]
    table = pd.DataFrame(rows).T
    print(table[columns].to_string(float_format=lambda v: f"{v:.4f}"))
    blend = rows["estimo AVM: blend"]
    print(
        f"ranges: 80 % coverage {blend['coverage']:.4f} "
        f"(width {blend['mean_relative_width']:.4f}), "
        f"90 % coverage {blend['coverage90']:.4f} (width {blend['width90']:.4f}); "
        f"final city+global models trained in {blend['final_models_seconds']:.1f} s; "
        f"AVM fit {avm_seconds:.1f} s, valuing the test rows {predict_seconds:.1f} s"
    )
    for name, values in (("plain baseline", baseline), ("AVM blend", parts["predicted"])):
        print(f"drift diagnostic, {name}:", drift_diagnostic(split.test["date"], actual, values))
    print("validation slice:", json.dumps(avm.validation_, default=str)[:600])
    served = {c: r["served_by"] for c, r in avm.routing_.items()}
    print("sub-model per city:", served)
    estimo = parts["predicted"].to_numpy(float)
    by_city = metrics_by_segment(
        split.test.assign(
            predicted=estimo, low=parts["low"].to_numpy(), high=parts["high"].to_numpy()
        ),
        "city",
        min_group_size=100,
        low="low",
        high="high",
    )
    ninety_city = metrics_by_segment(
        split.test.assign(
            predicted=estimo, low=parts["low_90"].to_numpy(), high=parts["high_90"].to_numpy()
        ),
        "city",
        min_group_size=100,
        low="low",
        high="high",
    )
    base_city = metrics_by_segment(
        split.test.assign(predicted=baseline), "city", min_group_size=100
    )
    cities = (
        by_city[["city", "n", "mdape", "pe10", "coverage"]]
        .merge(ninety_city[["city", "coverage"]], on="city", suffixes=("80", "90"))
        .merge(base_city[["city", "mdape", "pe10"]], on="city", suffixes=("_estimo", "_baseline"))
    )
    if len(cities) > 2:
        print(cities.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return {k: {m: float(v) for m, v in r.items()} for k, r in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    results = {key: run_set(SETS[key]) for key in args.sets}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
