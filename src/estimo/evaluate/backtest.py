"""Out-of-time backtest: split at a cut-off, train before it, value every property after it.

Every test row gets a valuation or, if it truly cannot be valued (its city was never seen
in training, so there is nothing to compare it with), a row in the ``unvalued`` table with
the reason; unvalued rows are counted in the metrics, never silently left out.

Examples
--------
>>> from estimo.synth import generate_market
>>> market = generate_market(3_000, seed=3)
>>> result = run_backtest(market.frame, "2023-07-01", model_params={"n_estimators": 50})
>>> result.metrics["overall"]["n"] == len(result.predictions)
True
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from estimo.evaluate.metrics import compute_metrics
from estimo.evaluate.segments import metrics_by_segment
from estimo.jsonutil import to_jsonable, write_json
from estimo.model.valuation import ValuationModel
from estimo.split import OutOfTimeSplit, out_of_time_split

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ["id", "city", "date", "price", "predicted"]


@dataclass
class Valued:
    """Predictions for the rows that could be valued, and the rows that could not."""

    predictions: pd.DataFrame
    unvalued: pd.DataFrame


@dataclass
class BacktestResult:
    """Everything a backtest produced."""

    split: OutOfTimeSplit
    model: ValuationModel
    predictions: pd.DataFrame
    unvalued: pd.DataFrame
    by_city: pd.DataFrame
    metrics: dict[str, Any]


def value_test_rows(model: ValuationModel, test: pd.DataFrame) -> Valued:
    """Value every row that the model can value; list the others with their reason."""
    known_city = test["city"].astype(str).isin(set(model.cities_))
    unvalued = test.loc[~known_city, ["id", "city", "date", "price"]].copy()
    unvalued["reason"] = [
        f"city {c!r} has no training data (known cities: {', '.join(model.cities_)})"
        for c in unvalued["city"]
    ]
    valued = test.loc[known_city]
    predictions = valued[["id", "city", "date", "price"]].copy()
    predictions["predicted"] = model.predict(valued)
    return Valued(predictions.reset_index(drop=True), unvalued.reset_index(drop=True))


def score_predictions(
    predictions: pd.DataFrame, n_unvalued: int, *, min_group_size: int = 30
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Overall metrics (with the unvalued count) and the per-city table."""
    intervals = {"low": "low", "high": "high"} if "low" in predictions else {}
    overall: dict[str, Any] = {"n": 0}
    if len(predictions):
        overall = compute_metrics(
            predictions["price"].to_numpy(float),
            predictions["predicted"].to_numpy(float),
            **{k: predictions[v].to_numpy(float) for k, v in intervals.items()},
        )
    n_total = int(overall["n"]) + n_unvalued
    overall["n_unvalued"] = n_unvalued
    overall["share_valued"] = (overall["n"] / n_total) if n_total else float("nan")
    by_city = (
        metrics_by_segment(predictions, "city", min_group_size=min_group_size, **intervals)
        if len(predictions)
        else pd.DataFrame()
    )
    return overall, by_city


def run_backtest(
    frame: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    *,
    model_params: dict[str, Any] | None = None,
    min_group_size: int = 30,
    callbacks: list[Callable] | None = None,
) -> BacktestResult:
    """Train on rows before ``cutoff`` and score the new properties after it.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical frame.
    cutoff : str or Timestamp
        First date of the test period.
    model_params : dict, optional
        :class:`ValuationModel` arguments.
    min_group_size : int
        Cities with fewer test rows are reported as too small.
    callbacks : list, optional
        LightGBM callbacks (e.g. a progress bar).
    """
    split = out_of_time_split(frame, cutoff)
    log.info("%s", split.describe())
    model = ValuationModel(**(model_params or {})).fit(split.train, callbacks=callbacks)
    valued = value_test_rows(model, split.test)
    overall, by_city = score_predictions(
        valued.predictions, len(valued.unvalued), min_group_size=min_group_size
    )
    metrics = {
        "cutoff": f"{split.cutoff:%Y-%m-%d}",
        "n_train": len(split.train),
        "n_test": len(split.test),
        "n_test_seen_ids": split.n_test_seen_ids,
        "overall": overall,
        "by_city": to_jsonable(by_city),
    }
    return BacktestResult(split, model, valued.predictions, valued.unvalued, by_city, metrics)


def write_backtest(result: BacktestResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``predictions.parquet``, ``unvalued.parquet`` and ``metrics.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "predictions": out / "predictions.parquet",
        "unvalued": out / "unvalued.parquet",
        "metrics": out / "metrics.json",
    }
    result.predictions.to_parquet(paths["predictions"], index=False)
    result.unvalued.to_parquet(paths["unvalued"], index=False)
    write_json(paths["metrics"], result.metrics)
    return paths
