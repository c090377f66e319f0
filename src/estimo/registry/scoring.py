"""The test report a manifest records: a registered model's metrics on labelled rows.

The rows are valued and scored by the evaluation protocol (:mod:`estimo.evaluate.protocol`);
:func:`can_value` says which rows a model can value (the gate's comparison counts them): a
model that exposes ``can_value(frame)`` (a boolean mask) decides itself, otherwise a model
with ``cities_`` values the rows of its cities.

Examples
--------
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> frame = generate_market(1_000, seed=4, faults=False).frame
>>> model = ValuationModel(n_estimators=20).fit(frame.iloc[:700])
>>> report = test_report(model, frame.iloc[700:])
>>> report.overall["n"] + report.overall["n_unvalued"] == len(frame) - 700, report.target
(True, 'observed price')
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from estimo.evaluate.metrics import compute_metrics
from estimo.evaluate.segments import metrics_by_segment
from estimo.jsonutil import to_jsonable
from estimo.registry.manifest import TestReport, data_window

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_SEGMENTS", "can_value", "test_report"]

DEFAULT_SEGMENTS: tuple[str, ...] = ("city", "property_type")
_KEEP = ["id", "city", "date", "price"]


def can_value(model: Any, frame: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the rows ``model`` can value (see the module docstring)."""
    own = getattr(model, "can_value", None)
    if callable(own):
        return np.asarray(own(frame), dtype=bool)
    cities = getattr(model, "cities_", None)
    if cities is not None and "city" in frame:
        return frame["city"].astype(str).isin(set(cities)).to_numpy()
    return np.ones(len(frame), dtype=bool)


def test_report(
    model: Any,
    test: pd.DataFrame,
    *,
    segments: Sequence[str] = DEFAULT_SEGMENTS,
    min_group_size: int = 30,
    interval_level: float | None = 0.8,
    policy: Any | None = None,
    calibrator: Any | None = None,
) -> TestReport:
    """Overall and per-segment metrics of ``model`` on a test table, with its fingerprint.

    The rows are valued and scored by the evaluation protocol
    (:func:`estimo.evaluate.protocol.score_model`): through the fitted cleaning ``policy``
    when given, against ``price_target`` (the ``calibrator``'s sale-equivalent price when
    given, else the observed price).

    Parameters
    ----------
    model : object
        A fitted model with ``cities_`` and ``predict_table(frame)`` or ``predict(frame)``
        (and optionally ``predict_interval``).
    test : pandas.DataFrame
        Canonical labelled test rows (see :func:`estimo.evaluate.protocol.new_property_rows`).
    segments : sequence of str
        Segment columns (those missing from ``test`` are skipped).
    min_group_size : int
        Smaller groups are reported as too small.
    interval_level : float, optional
        Nominal level of the ranges scored for coverage.
    policy, calibrator : optional
        The fitted cleaning policy and label calibrator of the model's training rows.
    """
    from estimo.evaluate.protocol import PRICE_TARGET, score_model

    carry = [c for c in segments if c in test and c not in ("city",)]
    valued = score_model(model, test, policy=policy, calibrator=calibrator, carry=carry)
    scored = valued.predictions
    has_range = _ranges_at(model, test, scored, interval_level)
    overall: dict[str, Any] = {"n": 0}
    if len(scored):
        overall = compute_metrics(
            scored[PRICE_TARGET].to_numpy(float),
            scored["predicted"].to_numpy(float),
            **({"low": scored["low"], "high": scored["high"]} if has_range else {}),
        )
    overall["n_unvalued"] = len(test) - len(scored)
    by_segment: dict[str, list[dict[str, Any]]] = {}
    for column in segments:
        if column not in scored or scored.empty:
            continue
        table = metrics_by_segment(
            scored,
            column,
            actual=PRICE_TARGET,
            min_group_size=min_group_size,
            **({"low": "low", "high": "high"} if has_range else {}),
        )
        by_segment[column] = to_jsonable(table)
    return TestReport(
        data=data_window(test),
        target=valued.target,
        overall=to_jsonable(overall),
        segments=by_segment,
        interval_level=interval_level if has_range else None,
    )


def _ranges_at(model: Any, test: pd.DataFrame, scored: pd.DataFrame, level: float | None) -> bool:
    """Put the ``level`` range in ``scored["low"/"high"]``; False when there is none."""
    if level is None or scored.empty:
        return False
    levels = getattr(model, "interval_levels", None)
    if "low" in scored and levels and float(levels[0]) == float(level):
        return True
    if not callable(getattr(model, "predict_interval", None)):
        return False
    rows = test.drop_duplicates("id").set_index("id").loc[scored["id"]].reset_index()
    low, high = model.predict_interval(rows, level)
    scored["low"], scored["high"] = np.asarray(low, float), np.asarray(high, float)
    return True


test_report.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
