"""Every market: Estimo against the plain LightGBM on each shared dataset, same rows, one run.

For every dataset of ``../shared/data`` with its project file in ``examples/``:

- **plain**: the LightGBM of ``../shared/data/README.md`` (log price, 2,000 trees, learning
  rate 0.03, 63 leaves), trained on every raw column of the file (dates as days, text as
  categories) but the price and identifiers (listing id, street address), and, in a table
  holding several operations, on the rows of the operation valued only;
- **estimo**: the product's default path (``estimo backtest`` with the example project
  file: training rows audited, cleaned and calibrated, the engine fitted, test rows valued
  as the service would), scored against the same observed prices.

Dated sets are split out of time (new properties after the cut-off); sets without a date
are cross-validated over 5 folds of properties (the same folds for both). Reported:
MdAPE, PE10, share of test rows valued, coverage of the 80 % and 90 % ranges, and the
training rows the cleaning dropped (share, and per rule). King County also gets the
rolling backtest with monthly retraining (each test month valued by models, Estimo's and
the plain one, trained on everything before it).

Run from the repository root (``nice``: the machine is shared)::

    nice python benchmarks/markets.py                        # every set, full size
    nice python benchmarks/markets.py --sets perth --max-rows 8000   # development
    nice python benchmarks/markets.py --sets ames --engine use_offset=true  # another setting
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from estimo.config import engine_with
from estimo.evaluate.backtest import run_backtest
from estimo.evaluate.cv import run_cv_backtest
from estimo.evaluate.metrics import compute_metrics
from estimo.io import keep_operation, load_project, read_options_of, read_table, to_canonical
from estimo.split import out_of_time_split, property_folds

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ESTIMO_SHARED_DATA", ROOT.parent / "shared" / "data"))
FOLDS = 5


@dataclass(frozen=True)
class MarketSet:
    key: str
    project: str
    file: str
    cutoff: str | None = None  # None: cross-validation
    identifiers: tuple[str, ...] = ()


SETS = {
    s.key: s
    for s in (
        MarketSet("poland", "poland.yaml", "poland_apartments_sale.parquet", "2024-04-01", ("id",)),
        MarketSet(
            "poland_rent",
            "poland_rent.yaml",
            "poland_apartments_rent.parquet",
            "2024-04-01",
            ("id",),
        ),
        MarketSet("kc", "king_county.yaml", "kc_house_sales.parquet", "2015-02-01", ("id",)),
        MarketSet("ames", "ames.yaml", "ames_modeldata.parquet", "2009-07-01"),
        MarketSet("perth", "perth.yaml", "perth_houses_nodate.parquet", None, ("ADDRESS",)),
        MarketSet("saopaulo_sale", "saopaulo_sale.yaml", "saopaulo_properties_2019.parquet"),
        MarketSet("saopaulo_rent", "saopaulo_rent.yaml", "saopaulo_properties_2019.parquet"),
        MarketSet("sacramento", "sacramento.yaml", "sacramento.parquet"),
        MarketSet("saratoga", "saratoga.yaml", "saratoga_houses.parquet"),
    )
}


def plain_predict(
    raw_train: pd.DataFrame, raw_test: pd.DataFrame, target: str, drop: list[str]
) -> np.ndarray:
    """The data README's plain LightGBM on every raw column; predicted prices."""
    columns = [c for c in raw_train.columns if c != target and c not in drop]
    text = [c for c in columns if not pd.api.types.is_numeric_dtype(raw_train[c])]
    levels = {c: sorted(raw_train[c].dropna().astype(str).unique()) for c in text}

    def encode(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[columns].copy()
        for c in text:
            if pd.api.types.is_datetime64_any_dtype(out[c]):
                out[c] = (out[c] - pd.Timestamp("1970-01-01")).dt.days.astype(float)
                continue
            parsed = pd.to_datetime(out[c], errors="coerce", format="mixed")
            if parsed.notna().mean() > 0.9:  # a date written as text
                out[c] = (parsed - pd.Timestamp("1970-01-01")).dt.days.astype(float)
            else:
                known = out[c].astype(object).where(out[c].astype(str).isin(levels[c]))
                out[c] = pd.Categorical(known, categories=levels[c])
        return out

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
        lgb.Dataset(encode(raw_train), label=np.log(raw_train[target].to_numpy(float))),
        num_boost_round=2000,
    )
    return np.exp(booster.predict(encode(raw_test)))


def _scores(actual: np.ndarray, predicted: np.ndarray, table: pd.DataFrame | None) -> dict:
    ok = np.isfinite(predicted)
    out = compute_metrics(actual[ok], predicted[ok])
    row = {"mdape": out["mdape"], "pe10": out["pe10"], "share_valued": float(ok.mean())}
    if table is not None:
        for level, lo, hi in ((80, "low", "high"), (90, "low_90", "high_90")):
            low, high = table[lo].to_numpy(float), table[hi].to_numpy(float)
            row[f"cov{level}"] = float(np.mean((actual[ok] >= low[ok]) & (actual[ok] <= high[ok])))
    return row


def _dropped(result: Any) -> dict:
    data = result.training_data
    if data is None:
        return {"dropped_share": 0.0, "dropped_by_rule": {}}
    n_in = len(data.frame) + len(data.dropped)
    rules = data.dropped["rule"].value_counts().to_dict() if len(data.dropped) else {}
    return {"dropped_share": len(data.dropped) / n_in, "dropped_by_rule": rules}


def engine_overrides(items: list[str]) -> dict[str, Any]:
    """Engine settings from ``KEY=VALUE`` arguments (the value read as JSON, else as text)."""
    engine: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            engine[key] = json.loads(value)
        except json.JSONDecodeError:
            engine[key] = value  # a bare word: text
    return engine


def add_engine_option(parser: argparse.ArgumentParser) -> None:
    """The ``--engine KEY=VALUE`` option: an engine setting for every run."""
    parser.add_argument(
        "--engine",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an engine setting for every run (JSON value: use_offset=false, objective='\"l2\"')",
    )


def load_set(
    spec: MarketSet, max_rows: int | None, engine: dict[str, Any] | None = None
) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """The set's project file (its engine settings updated with ``engine``), raw table and
    canonical frame."""
    config = load_project(ROOT / "examples" / spec.project)
    if engine:
        config.engine = engine_with(config.engine, engine)
    config.data.path = str(SHARED / spec.file)
    raw = read_table(config.resolved_data_path(), read_options_of(config.data))
    raw, _ = keep_operation(raw, config.data)
    if max_rows is not None and len(raw) > max_rows:
        if spec.cutoff is not None and "id" in spec.identifiers:  # keep whole properties
            ids = raw["id"].drop_duplicates().sample(frac=1.0, random_state=0)
            share = max_rows / len(raw)
            raw = raw[raw["id"].isin(set(ids.iloc[: int(len(ids) * share)]))]
        else:
            raw = raw.sample(max_rows, random_state=0)
        raw = raw.reset_index(drop=True)
    loaded = to_canonical(raw, config.data)
    assert loaded.report.n_dropped == 0, f"{spec.key}: benchmark rows load without drops"
    return config, raw, loaded.frame


def run_dated(spec: MarketSet, config: Any, raw: pd.DataFrame, frame: pd.DataFrame) -> dict:
    frame = frame.assign(_row=np.arange(len(frame)))
    split = out_of_time_split(frame, spec.cutoff)
    target = config.data.columns["price"].column
    drop = [*spec.identifiers, *([config.data.operation.column] if config.data.operation else [])]
    started = time.perf_counter()
    plain = plain_predict(raw.iloc[split.train["_row"]], raw.iloc[split.test["_row"]], target, drop)
    plain_seconds = time.perf_counter() - started
    started = time.perf_counter()
    params = {**config.engine.model_dump(), "currency": config.data.currency}
    result = run_backtest(
        frame.drop(columns="_row"), spec.cutoff, model_params=params, quality=config.quality
    )
    seconds = time.perf_counter() - started
    actual = split.test["price"].to_numpy(float)
    table = result.predictions.set_index("id").reindex(split.test["id"])
    estimo = table["predicted"].to_numpy(float)
    return {
        "split": f"out of time from {spec.cutoff}",
        "n_test": len(actual),
        "plain": {**_scores(actual, plain, None), "seconds": plain_seconds},
        "estimo": {**_scores(actual, estimo, table), "seconds": seconds, **_dropped(result)},
        "validation": result.metrics["engine"]["validation"].get("kind"),
        "use_offset": result.metrics["engine"]["validation"].get("use_offset"),
        "plain_member_weight": result.metrics["engine"]["validation"]
        .get("plain_member", {})
        .get("weight"),
        "routing": {c: r["served_by"] for c, r in result.model.engine_.routing_.items()},
    }


def run_cv(spec: MarketSet, config: Any, raw: pd.DataFrame, frame: pd.DataFrame) -> dict:
    target = config.data.columns["price"].column
    drop = [*spec.identifiers, *([config.data.operation.column] if config.data.operation else [])]
    folds = property_folds(frame, FOLDS, seed=config.engine.seed)
    plain = np.full(len(frame), np.nan)
    started = time.perf_counter()
    for fold in range(FOLDS):
        held = folds == fold
        plain[held] = plain_predict(raw.loc[~held], raw.loc[held], target, drop)
    plain_seconds = time.perf_counter() - started
    started = time.perf_counter()
    params = {**config.engine.model_dump(), "currency": config.data.currency}
    result = run_cv_backtest(
        frame, FOLDS, seed=config.engine.seed, model_params=params, quality=config.quality
    )
    seconds = time.perf_counter() - started
    actual = frame["price"].to_numpy(float)
    table = result.predictions.set_index("id").reindex(frame["id"])
    estimo = table["predicted"].to_numpy(float)
    per_fold = result.metrics["cv"]["per_fold"]
    return {
        "split": f"{FOLDS}-fold cross-validation",
        "n_test": len(actual),
        "plain": {**_scores(actual, plain, None), "seconds": plain_seconds},
        "estimo": {
            **_scores(actual, estimo, table),
            "seconds": seconds,
            **_dropped(result),
            "dropped_share_max_fold": max(f["n_dropped"] / f["n_train"] for f in per_fold),
        },
        "validation": result.metrics["engine"]["validation"].get("kind"),
        "use_offset": result.metrics["engine"]["validation"].get("use_offset"),
        "plain_member_weight": result.metrics["engine"]["validation"]
        .get("plain_member", {})
        .get("weight"),
    }


def run_rolling_kc(config: Any, raw: pd.DataFrame, frame: pd.DataFrame) -> dict:
    """Monthly retraining over the test window: each month valued by models trained on
    everything before it (Estimo's default path and the plain model), pooled."""
    frame = frame.assign(_row=np.arange(len(frame)))
    target = config.data.columns["price"].column
    params = {**config.engine.model_dump(), "currency": config.data.currency}
    actual, plain, estimo = [], [], []
    for month in pd.date_range("2015-02-01", "2015-05-01", freq="MS"):
        split = out_of_time_split(frame, month)
        test = split.test[split.test["date"] < month + pd.DateOffset(months=1)]
        plain.append(
            plain_predict(raw.iloc[split.train["_row"]], raw.iloc[test["_row"]], target, ["id"])
        )
        result = run_backtest(
            frame.drop(columns="_row"), month, model_params=params, quality=config.quality
        )
        by_id = result.predictions.set_index("id")["predicted"]
        estimo.append(test["id"].map(by_id).to_numpy(float))
        actual.append(test["price"].to_numpy(float))
        print(f"  rolling {month:%Y-%m}: {len(test)} new properties")
    y = np.concatenate(actual)
    return {
        "split": "monthly retraining 2015-02..2015-05 (each month valued by models trained "
        "before it)",
        "n_test": len(y),
        "plain": _scores(y, np.concatenate(plain), None),
        "estimo": _scores(y, np.concatenate(estimo), None),
    }


def _line(key: str, r: dict) -> str:
    p, e = r["plain"], r["estimo"]
    ratio = e["mdape"] / p["mdape"]
    cov = f"{100 * e['cov80']:.1f} / {100 * e['cov90']:.1f}" if "cov80" in e else "-"
    rules = ", ".join(f"{k} {v}" for k, v in e.get("dropped_by_rule", {}).items()) or "none"
    dropped = f"{100 * e['dropped_share']:.1f} % ({rules})" if "dropped_share" in e else "-"
    plain = f"{100 * p['mdape']:.2f} / {100 * p['pe10']:.1f}"
    ours = f"{100 * e['mdape']:.2f} / {100 * e['pe10']:.1f}"
    gain = f"{100 * (e['pe10'] - p['pe10']):+.1f}"
    return (
        f"| {key} | {r['split']} | {r['n_test']:,} | {plain} | {ours} | {ratio:.3f} | {gain} "
        f"| {100 * e['share_valued']:.1f} | {cov} | {dropped} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--max-rows", type=int, default=None, help="subsample large sets")
    parser.add_argument("--no-rolling", action="store_true", help="skip King County's rolling")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    add_engine_option(parser)
    args = parser.parse_args()
    engine = engine_overrides(args.engine)
    if engine:
        print(f"engine settings: {engine}")
    results: dict[str, dict] = {}
    for key in args.sets:
        spec = SETS[key]
        started = time.perf_counter()
        config, raw, frame = load_set(spec, args.max_rows, engine)
        run = run_dated if spec.cutoff is not None else run_cv
        results[key] = run(spec, config, raw, frame)
        if key == "kc" and not args.no_rolling:
            results["kc_rolling"] = run_rolling_kc(config, raw, frame)
        print(f"{key}: {len(frame):,} rows in {time.perf_counter() - started:.0f} s", flush=True)
        print(json.dumps(results[key], default=str)[:1200], flush=True)
    print()
    print(
        "| set | split | test rows | plain MdAPE / PE10 | Estimo MdAPE / PE10 | MdAPE ratio "
        "| PE10 gain | valued % | 80 / 90 % coverage | training rows dropped |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key, r in results.items():
        print(_line(key, r))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
