"""Out-of-time backtest: split at a cut-off, train before it, value every property after it.

The model is Estimo's valuation engine (:class:`~estimo.model.avm.AVM`: price index, location
features, per-city models, comparables blend and conformal price ranges); predictions carry
``low``/``high`` (the first, default 80 % range), the other ranges (``low_90``/``high_90``),
the model and comparables values, the blend weight, the FSD and the sub-model that served
each row. The rows, the target and the valuation follow the one evaluation protocol
(:mod:`estimo.evaluate.protocol`), as every other command does.

Every test row gets a valuation or, if it truly cannot be valued (its city was never seen
in training, so there is nothing to compare it with), a row in the ``unvalued`` table with
the reason; unvalued rows are counted in the metrics, never silently left out.

Examples
--------
>>> from estimo.synth import generate_market
>>> market = generate_market(3_000, seed=3)
>>> params = {"n_estimators": 40, "learning_rate": 0.1, "min_city_rows": 300}
>>> result = run_backtest(market.frame, "2023-07-01", model_params=params)
>>> result.metrics["overall"]["n"] == len(result.predictions)
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from estimo.config import QualityConfig
from estimo.evaluate.metrics import compute_metrics
from estimo.evaluate.protocol import PRICE_TARGET, new_city_metrics, score_model
from estimo.evaluate.segments import metrics_by_segment
from estimo.jsonutil import to_jsonable, write_json
from estimo.model.avm import AVM
from estimo.pipeline import ValuationPipeline
from estimo.quality.prepare import TrainingData
from estimo.split import OutOfTimeSplit, out_of_time_split

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ["id", "city", "date", "price", "predicted", "low", "high"]


@dataclass
class BacktestResult:
    """Everything a backtest produced."""

    split: OutOfTimeSplit
    model: ValuationPipeline
    predictions: pd.DataFrame
    unvalued: pd.DataFrame
    by_city: pd.DataFrame
    metrics: dict[str, Any]
    training_data: TrainingData | None = None


def range_level(model: Any) -> float | None:
    """Nominal coverage of a model's ``low``/``high`` range (its first interval level), or
    None for a model without ranges.

    Examples
    --------
    >>> from estimo.model.avm import AVM
    >>> range_level(AVM(interval_levels=(0.8, 0.9))), range_level(object())
    (0.8, None)
    """
    levels = getattr(model, "interval_levels", None)
    return float(levels[0]) if levels else None


def score_predictions(
    predictions: pd.DataFrame,
    n_unvalued: int,
    *,
    min_group_size: int = 30,
    range_level: float | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Overall metrics (with the unvalued count) and the per-city table.

    ``range_level`` is the nominal coverage of the ``low``/``high`` range (recorded as
    ``range_level`` beside its ``coverage``; see :func:`range_level`).
    """
    intervals = {"low": "low", "high": "high"} if "low" in predictions else {}
    overall: dict[str, Any] = {"n": 0}
    actual = PRICE_TARGET if PRICE_TARGET in predictions else "price"
    if len(predictions):
        overall = compute_metrics(
            predictions[actual].to_numpy(float),
            predictions["predicted"].to_numpy(float),
            **{k: predictions[v].to_numpy(float) for k, v in intervals.items()},
        )
    if range_level is not None and "coverage" in overall:
        overall["range_level"] = float(range_level)
    n_total = int(overall["n"]) + n_unvalued
    overall["n_unvalued"] = n_unvalued
    overall["share_valued"] = (overall["n"] / n_total) if n_total else float("nan")
    by_city = (
        metrics_by_segment(
            predictions, "city", actual=actual, min_group_size=min_group_size, **intervals
        )
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
    quality: QualityConfig | None = None,
) -> BacktestResult:
    """Train on rows before ``cutoff`` and score the new properties after it.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical frame.
    cutoff : str or Timestamp
        First date of the test period.
    model_params : dict, optional
        :class:`~estimo.model.avm.AVM` arguments (the project file's ``engine`` section).
    min_group_size : int
        Cities with fewer test rows are reported as too small.
    quality : QualityConfig, optional
        The project's ``quality`` section: the training rows (never the test rows) are
        audited, cleaned and their asking prices calibrated towards sale prices
        (:func:`estimo.quality.prepare.prepare_training_data`) before the engine learns from
        them. ``None`` trains on the rows as loaded.

    Notes
    -----
    When the label calibration learned an asking-to-sale ratio, the model values properties
    at sale-equivalent prices; the test rows' asking prices are then brought to the same
    scale with the calibrator fitted on the training rows, and the metrics are computed on
    that target (``price_target`` in the predictions; ``price`` stays the observed price).
    """
    split = out_of_time_split(frame, cutoff)
    log.info("%s", split.describe())
    params = dict(model_params or {})
    pipeline = ValuationPipeline(
        engine=AVM(**params),
        quality=quality,
        currency=params.get("currency", ""),
        clean=quality is not None,
        explanations=False,
    ).fit(split.train)
    prepared = pipeline.training_data_
    model = pipeline.engine_
    # the pipeline cleans the raw test rows itself (its policy), as the service does
    valued = score_model(pipeline, split.test, policy=None, calibrator=pipeline.calibrator_)
    overall, by_city = score_predictions(
        valued.predictions,
        len(valued.unvalued),
        min_group_size=min_group_size,
        range_level=range_level(model),
    )
    new_cities = new_city_metrics(valued.unvalued)
    if new_cities is not None:  # valued by the global model, scored apart
        overall["new_cities"] = new_cities
    metrics = {
        "cutoff": f"{split.cutoff:%Y-%m-%d}",
        "n_train": len(split.train),
        "n_test": len(split.test),
        "n_test_seen_ids": split.n_test_seen_ids,
        "target": valued.target,
        "quality": prepared.summary() if prepared is not None else None,
        "overall": overall,
        "by_city": to_jsonable(by_city),
        "engine": to_jsonable(
            {
                "fit_seconds": model.fit_seconds_,
                "validation": model.validation_,
                "routing": model.routing_,
            }
        ),
    }
    return BacktestResult(
        split, pipeline, valued.predictions, valued.unvalued, by_city, metrics, prepared
    )


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
    if result.training_data is not None:
        quality_paths = result.training_data.write(out / "quality")
        paths["quality"] = quality_paths.get("html", out / "quality")
    return paths
