"""The one evaluation protocol of backtest, rolling backtest, evaluate, report, compare and
promote: which rows are scored, against which price, and how they are valued.

1. **Rows** (:func:`new_property_rows`): labelled rows (a positive price) dated after the
   training window(s), of properties never seen in training (their ``id`` is not among the
   training rows'), one row per property: its first appearance. The out-of-time split of
   :func:`estimo.split.out_of_time_split` gives exactly these rows at a cut-off.
2. **Valuation** (:func:`value_rows`): the rows are the raw rows as a user would send them;
   when the fitted cleaning policy is known it repairs and imputes them in prediction mode
   (never dropping a row), as the service does, and the model values the result through
   ``predict_table(frame)``. Rows of a city the model has never seen are listed as unvalued
   with the reason, never silently left out; a model that values any city (the engine: its
   global sub-model, ``values_new_cities``) also gives their ``predicted`` price there,
   scored apart (:func:`new_city_metrics`) so that models trained on other cities still
   compare on the same rows.
3. **Target** (:func:`scoring_target`): ``price_target`` is the price scored against: the
   observed price, or, when the label calibration learned an asking-to-sale ratio, the
   sale-equivalent price (sale prices as observed, asking prices times the learned ratio),
   the scale the model was trained to value at.

Training rows are cleaned (:func:`estimo.quality.prepare.prepare_training_data`) by every
command that trains; the scored rows never are, beyond the prediction-mode repairs.

:func:`score_model` is 2 + 3 in one call, the function every command uses; it only needs a
fitted model with ``cities_`` and ``predict_table(frame)`` (the :class:`~estimo.model.avm.AVM`
today, the saved valuation pipeline tomorrow).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"id": ["a", "b", "b", "c", "a"], "price": [1.0, 2.0, 3.0, 4.0, 5.0],
...     "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-02",
...                             "2024-03-05"])})
>>> rows = new_property_rows(frame, after="2024-01-31", seen_ids={"a"})
>>> rows.frame["id"].tolist(), rows.facts["n_seen_in_training"]
(['b', 'c'], 1)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import DataError
from estimo.evaluate.metrics import compute_metrics

log = logging.getLogger(__name__)

__all__ = [
    "PRICE_TARGET",
    "ScoringRows",
    "Valued",
    "new_city_metrics",
    "new_property_rows",
    "saved_calibrator",
    "score_model",
    "scoring_target",
    "training_end",
    "training_rows",
    "value_rows",
]

PRICE_TARGET = "price_target"
"""Column of the predictions holding the price the metrics compare with."""

_KEEP = ["id", "city", "date", "price"]


@dataclass
class ScoringRows:
    """The rows a command scores, and how they were chosen.

    Attributes
    ----------
    frame : pandas.DataFrame
        Raw labelled rows, one per property, sorted by date.
    facts : dict
        ``rule`` (a sentence), ``n_candidates`` (labelled rows in the period),
        ``n_seen_in_training``, ``n_repeats``, ``from`` / ``to``.
    """

    frame: pd.DataFrame
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Valued:
    """Predictions for the rows that could be valued, and the rows that could not."""

    predictions: pd.DataFrame
    unvalued: pd.DataFrame
    target: str = "observed price"


def new_property_rows(
    frame: pd.DataFrame,
    *,
    after: str | pd.Timestamp | None = None,
    since: str | pd.Timestamp | None = None,
    seen_ids: Iterable[Any] | None = None,
) -> ScoringRows:
    """Labelled rows after the training window(s), new properties only, first appearance.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical rows (``id``, ``date``, ``price``).
    after : date, optional
        Keep rows dated strictly after it (the end of the later training window).
    since : date, optional
        Keep rows dated on/after it (an explicit start; wins over ``after``).
    seen_ids : iterable, optional
        Ids of the training rows: their later rows are not new properties.

    Raises
    ------
    DataError
        If a required column is missing.
    """
    missing = [c for c in ("id", "date", "price") if c not in frame]
    if missing:
        raise DataError([f"column {missing[0]!r} is missing from the scoring rows"], "cannot score")
    price = pd.to_numeric(frame["price"], errors="coerce")
    rows = frame.loc[price.notna() & (price > 0)]
    if since is not None:
        start = pd.Timestamp(since)
        rows = rows.loc[rows["date"] >= start]
        rule = f"rows dated on/after {start:%Y-%m-%d}"
    elif after is not None:
        end = pd.Timestamp(after)
        rows = rows.loc[rows["date"] > end]
        rule = f"rows dated after {end:%Y-%m-%d}, the end of the training window(s)"
    else:
        rule = "every labelled row (no training window known)"
    facts: dict[str, Any] = {"n_candidates": len(rows)}
    seen = set(seen_ids) if seen_ids is not None else set()
    is_seen = rows["id"].isin(seen)
    rows = rows.loc[~is_seen].sort_values("date", kind="stable")
    first = rows.drop_duplicates("id", keep="first")
    facts.update(
        rule=rule
        + ("; properties seen in training left out" if seen else "")
        + "; one row per property (its first appearance)",
        n_seen_in_training=int(is_seen.sum()),
        n_repeats=len(rows) - len(first),
        n_rows=len(first),
    )
    if len(first):
        facts["from"] = f"{first['date'].min():%Y-%m-%d}"
        facts["to"] = f"{first['date'].max():%Y-%m-%d}"
    return ScoringRows(first.reset_index(drop=True), facts)


def training_end(model: Any) -> pd.Timestamp | None:
    """Last date of a model's training rows (``trained_until_``, else its bundle's window)."""
    end = getattr(model, "trained_until_", None)
    if end is None:
        window = (getattr(model, "bundle_extra_", None) or {}).get("training_window") or {}
        end = window.get("to")
    return None if end is None else pd.Timestamp(end)


def training_rows(model: Any, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The rows of ``frame`` inside a saved model's training window, or None if unknown."""
    window = (getattr(model, "bundle_extra_", None) or {}).get("training_window") or {}
    end = window.get("to") or getattr(model, "trained_until_", None)
    if end is None:
        return None
    start = pd.Timestamp(window["from"]) if window.get("from") else frame["date"].min()
    rows = frame.loc[(frame["date"] >= start) & (frame["date"] <= pd.Timestamp(end))]
    return rows if len(rows) else None


def saved_calibrator(model: Any) -> Any | None:
    """The label calibrator a saved model recorded (``estimo train`` keeps its learned
    ratios in the bundle), or None."""
    quality = (getattr(model, "bundle_extra_", None) or {}).get("quality") or {}
    learned = quality.get("calibration") if isinstance(quality, dict) else None
    if not learned or not learned.get("n_pairs"):
        return None
    from estimo.quality.calibrate import LabelCalibrator

    return LabelCalibrator.from_dict(learned)


def scoring_target(rows: pd.DataFrame, calibrator: Any | None = None) -> tuple[np.ndarray, str]:
    """The price each row is scored against, and a sentence saying what it is.

    Examples
    --------
    >>> rows = pd.DataFrame({"price": [100.0, 200.0]})
    >>> scoring_target(rows)
    (array([100., 200.]), 'observed price')
    """
    if calibrator is None or getattr(calibrator, "n_pairs_", 0) == 0:
        return rows["price"].to_numpy(float), "observed price"
    target = calibrator.calibrated_prices(rows).to_numpy(float)
    return target, (
        "sale-equivalent price: observed sale prices, and asking prices times the "
        f"asking-to-sale ratio learned on the training rows (global {calibrator.global_ratio_:.3f})"
    )


def rows_as_served(rows: pd.DataFrame, policy: Any | None) -> pd.DataFrame:
    """The rows as the service values them: the fitted cleaning policy repairs and imputes
    their features in prediction mode (never dropping a row); prices stay observed."""
    if policy is None:
        return rows
    served = policy.transform(rows, mode="predict").frame
    served.index = rows.index
    served["price"] = rows["price"].to_numpy()
    return served


def value_rows(model: Any, rows: pd.DataFrame, *, policy: Any | None = None) -> Valued:
    """Value every row the model can value; list the others with their reason.

    A model with ``predict_table(frame)`` adds its ranges and components to the
    predictions; any other fitted model gives ``predicted`` only (``predict(frame)``).
    Rows whose valuation is missing or not positive are unvalued too.
    """
    known_city = rows["city"].astype(str).isin(set(map(str, model.cities_)))
    keep = [c for c in _KEEP if c in rows]
    unvalued = rows.loc[~known_city, keep].copy()
    served_apart = bool(getattr(model, "values_new_cities", False))
    apart = "; the service values it with the global model (scored apart: new_cities)"
    unvalued["reason"] = [
        f"city {c!r} has no training data (known cities: {', '.join(map(str, model.cities_))})"
        + (apart if served_apart else "")
        for c in unvalued["city"]
    ]
    if served_apart and len(unvalued):
        # what the service answers for them, kept beside the scored rows
        unvalued["predicted"] = np.asarray(
            model.predict(rows_as_served(rows.loc[~known_city], policy)), dtype=float
        )
    valued = rows.loc[known_city]
    predictions = valued[keep].copy()
    if len(valued):
        served = rows_as_served(valued, policy)
        if callable(getattr(model, "predict_table", None)):
            table = model.predict_table(served).set_axis(predictions.index)
            predictions = pd.concat([predictions, table], axis=1)
        else:
            predictions["predicted"] = np.asarray(model.predict(served), dtype=float)
    else:
        predictions["predicted"] = pd.Series(dtype="float64")
    usable = np.isfinite(predictions["predicted"].to_numpy(float)) & (
        predictions["predicted"].to_numpy(float) > 0
    )
    if not usable.all():
        bad = predictions.loc[~usable, keep].assign(reason="no usable valuation (not positive)")
        unvalued = pd.concat([unvalued, bad], ignore_index=True)
        predictions = predictions.loc[usable]
    return Valued(predictions.reset_index(drop=True), unvalued.reset_index(drop=True))


def score_model(
    model: Any,
    rows: pd.DataFrame,
    *,
    policy: Any | None = None,
    calibrator: Any | None = None,
    carry: Iterable[str] = (),
) -> Valued:
    """Value ``rows`` through the cleaning policy and add the scoring target.

    Parameters
    ----------
    model : fitted model
        With ``cities_`` and ``predict_table(frame)`` (or ``predict(frame)``).
    rows : pandas.DataFrame
        Raw labelled rows (see :func:`new_property_rows`).
    policy : CleaningPolicy, optional
        The fitted cleaning policy of the model's training rows.
    calibrator : LabelCalibrator, optional
        The fitted label calibrator; gives the ``price_target`` (see :func:`scoring_target`).
    carry : iterable of str
        Further columns of ``rows`` copied into the predictions (e.g. a model age).

    Returns
    -------
    Valued
        ``predictions`` with ``price_target``; ``target`` describes it.
    """
    carry = [c for c in carry if c in rows and c not in _KEEP]
    rows = rows.reset_index(drop=True)
    valued = value_rows(model, rows, policy=policy)
    keyed = rows.drop_duplicates("id").set_index("id")
    if "predicted" in valued.unvalued and len(valued.unvalued):  # new cities, scored apart
        apart = keyed.loc[valued.unvalued["id"]].reset_index()
        valued.unvalued[PRICE_TARGET] = scoring_target(apart, calibrator)[0]
    if valued.predictions.empty:
        valued.predictions[PRICE_TARGET] = pd.Series(dtype="float64")
        for column in carry:
            valued.predictions[column] = pd.Series(dtype=rows[column].dtype)
        return valued
    scored = keyed.loc[valued.predictions["id"]].reset_index()
    target, valued.target = scoring_target(scored, calibrator)
    valued.predictions[PRICE_TARGET] = target
    for column in carry:
        valued.predictions[column] = scored[column].to_numpy()
    return valued


def new_city_metrics(unvalued: pd.DataFrame) -> dict[str, Any] | None:
    """Accuracy on the rows of cities unseen in training that the model still valued (the
    ``predicted`` and ``price_target`` columns :func:`score_model` adds to the unvalued rows
    of a model that ``values_new_cities``); None when there are none.

    Examples
    --------
    >>> rows = pd.DataFrame({"predicted": [105.0, 80.0, None], "price_target": [100.0] * 3})
    >>> round(new_city_metrics(rows)["mdape"], 3), new_city_metrics(rows)["n"]
    (0.125, 2)
    """
    if "predicted" not in unvalued or PRICE_TARGET not in unvalued:
        return None
    predicted = unvalued["predicted"].to_numpy(float)
    target = unvalued[PRICE_TARGET].to_numpy(float)
    usable = np.isfinite(predicted) & (predicted > 0) & np.isfinite(target) & (target > 0)
    if not usable.any():
        return None
    return compute_metrics(target[usable], predicted[usable])
