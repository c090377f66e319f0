"""Cross-validated backtest: accuracy of data without time to split on.

Data without a date (an assessor's cross-section, one year of sales exported without dates,
listings scraped once) cannot be evaluated out of time. :func:`run_cv_backtest` splits the
properties into ``k`` folds (random, or whole ~2 km cells with ``spatial=True``: valuing
where the model has no nearby sales), and for each fold audits, cleans and calibrates the
other folds' rows, trains the engine on them and values the fold's properties as the
service would (the fitted cleaning policy repairs their features, never drops them). Every
property is valued once per repeat, by a model that never saw it; the predictions, the
metrics and the per-city table have the same shape as an out-of-time backtest's.

Examples
--------
>>> from estimo.synth import generate_market
>>> frame = generate_market(2_000, seed=3, faults=False).frame.drop_duplicates("id")
>>> params = {"n_estimators": 30, "learning_rate": 0.2, "min_city_rows": 300, "comps_k": 5}
>>> result = run_cv_backtest(frame, folds=3, model_params=params)
>>> result.metrics["overall"]["n"] == len(frame), result.metrics["cv"]["folds"]
(True, 3)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from estimo.config import QualityConfig
from estimo.evaluate.backtest import BacktestResult, range_level, score_predictions
from estimo.evaluate.protocol import score_model
from estimo.jsonutil import to_jsonable
from estimo.model.avm import AVM
from estimo.quality.prepare import prepare_training_data
from estimo.split import property_folds

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoldPlan:
    """How the properties were split: folds, repeats, random or spatial, and sizes."""

    folds: int
    repeats: int
    spatial: bool
    n_rows: int
    n_properties: int

    def describe(self) -> str:
        """One line for logs and reports."""
        how = "spatial (~2 km cells)" if self.spatial else "random"
        again = f", repeated {self.repeats} times" if self.repeats > 1 else ""
        return (
            f"{self.folds}-fold {how} cross-validation{again} over {self.n_properties:,} "
            f"properties ({self.n_rows:,} rows): every property valued by a model that never "
            "saw it"
        )


def run_cv_backtest(
    frame: pd.DataFrame,
    folds: int = 5,
    *,
    repeats: int = 1,
    spatial: bool = False,
    seed: int = 0,
    model_params: dict[str, Any] | None = None,
    min_group_size: int = 30,
    quality: QualityConfig | None = None,
) -> BacktestResult:
    """Value every property with a model trained on the other folds (see the module
    docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical frame.
    folds : int
        Number of folds (at least 2).
    repeats : int
        Repeats with fresh fold draws (each property is valued once per repeat).
    spatial : bool
        Hold out whole ~2 km cells instead of random properties.
    seed : int
        Seed of the first draw (repeat ``r`` uses ``seed + r``).
    model_params : dict, optional
        :class:`~estimo.model.avm.AVM` arguments.
    min_group_size : int
        Cities with fewer valued rows are reported as too small.
    quality : QualityConfig, optional
        The ``quality`` section: each fold's training rows are audited, cleaned and
        calibrated (``None``: trained on the rows as loaded).

    Returns
    -------
    BacktestResult
        ``split`` is the :class:`FoldPlan`; ``model`` and ``training_data`` are the last
        fold's; ``predictions`` has a ``fold`` and a ``repeat`` column.
    """
    frame = frame.reset_index(drop=True)
    plan = FoldPlan(folds, repeats, spatial, len(frame), int(frame["id"].nunique()))
    log.info("%s", plan.describe())
    parts, unvalued_parts, fold_metrics = [], [], []
    model: AVM | None = None
    prepared, target = None, "observed price"
    for repeat in range(repeats):
        assignment = property_folds(frame, folds, spatial=spatial, seed=seed + repeat)
        for fold in range(folds):
            held = assignment == fold
            train, test = frame.loc[~held], frame.loc[held].drop_duplicates("id")
            prepared = prepare_training_data(train, quality) if quality is not None else None
            model = AVM(**(model_params or {}))
            if prepared is None:
                model.fit(train)
            else:
                model.fit(prepared.frame, **prepared.fit_arguments(model.fit))
            test = test.reset_index(drop=True)
            valued = score_model(
                model,
                test,
                policy=prepared.policy if prepared is not None else None,
                calibrator=prepared.calibrator if prepared is not None else None,
            )
            target = valued.target
            for table in (valued.predictions, valued.unvalued):
                table["fold"], table["repeat"] = fold, repeat
            parts.append(valued.predictions)
            unvalued_parts.append(valued.unvalued)
            fold_metrics.append(
                {
                    "repeat": repeat,
                    "fold": fold,
                    "n_train": len(train),
                    "n_test": len(test),
                    "n_dropped": len(prepared.dropped) if prepared is not None else 0,
                    "validation": model.validation_.get("blend"),
                    "use_offset": model.validation_.get("use_offset", {}).get("chosen"),
                    "fit_seconds": model.fit_seconds_,
                }
            )
            log.info("fold %d/%d of repeat %d valued", fold + 1, folds, repeat + 1)
    assert model is not None  # folds >= 2
    predictions = pd.concat(parts, ignore_index=True)
    unvalued = pd.concat(unvalued_parts, ignore_index=True)
    overall, by_city = score_predictions(
        predictions, len(unvalued), min_group_size=min_group_size, range_level=range_level(model)
    )
    metrics = {
        "cv": {
            "folds": folds,
            "repeats": repeats,
            "spatial": spatial,
            "description": plan.describe(),
            "per_fold": fold_metrics,
        },
        "n_train": int(np.mean([m["n_train"] for m in fold_metrics])),
        "n_test": int(sum(m["n_test"] for m in fold_metrics)),
        "target": target,
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
    return BacktestResult(plan, model, predictions, unvalued, by_city, metrics, prepared)  # type: ignore[arg-type]
