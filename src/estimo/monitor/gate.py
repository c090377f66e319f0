"""Champion against candidate on recent live outcomes, for the promotion gate.

Historical rows tell how a candidate would have done; the outcomes of the valuations the
champion actually served tell how both do on today's market. :func:`live_comparison`
takes the properties served since a date that have an appraisal or a sale, values them
again with both models at the date they were served, and compares both valuations with
the same outcomes (paired bootstrap of MdAPE, PE10 and COD,
:mod:`estimo.evaluate.paired`). The result is a JSON-ready dict for the decision record.

The promotion gate (:mod:`estimo.promote`) calls it with its models and records the result
in the decision, e.g.::

    decision.live = live_comparison(store, champion, candidate, since=..., rules=gate)

Examples
--------
>>> import pandas as pd
>>> from estimo.monitor.store import ValuationStore
>>> class Fixed:  # a model valuing every property at its area x a price per m2
...     def __init__(self, per_m2): self.per_m2 = per_m2
...     def predict(self, frame, valuation_date=None):
...         return frame["area_m2"].to_numpy() * self.per_m2
>>> store = ValuationStore.from_url("sqlite://")
>>> _ = store.record_valuations([{"request_id": f"r{i}", "served_at": "2024-05-01",
...     "property": {"id": f"P{i}", "city": "Roma", "area_m2": 50.0 + i},
...     "answer": {"price": 1.0}} for i in range(60)])
>>> _ = store.record_outcomes([{"kind": "sale", "request_id": f"r{i}", "price": 3000 * (50 + i),
...     "date": "2024-05-20", "source": "notary"} for i in range(60)])
>>> result = live_comparison(store, Fixed(2500.0), Fixed(3050.0), min_rows=50, n_boot=100)
>>> result["n"], result["verdict"], round(result["candidate"]["mdape"], 3)
(60, 'candidate better', 0.017)
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from estimo.evaluate.metrics import compute_metrics
from estimo.evaluate.paired import COMPARED_METRICS, difference, paired_bootstrap
from estimo.monitor.matching import match_outcomes
from estimo.monitor.store import ValuationStore

__all__ = ["live_comparison"]


class Valuer(Protocol):
    """Anything with ``predict(frame, valuation_date=None) -> prices``."""

    def predict(self, frame: pd.DataFrame, valuation_date: Any = None) -> np.ndarray: ...


def live_comparison(
    store: ValuationStore,
    champion: Valuer,
    candidate: Valuer,
    *,
    since: Any = None,
    kinds: tuple[str, ...] = ("sale", "appraisal"),
    min_rows: int = 100,
    match_days: int = 180,
    n_boot: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Both models on the same recent live outcomes (see the module docstring).

    Parameters
    ----------
    store : ValuationStore
        The monitoring store.
    champion, candidate : model
        Objects with ``predict(frame, valuation_date=None)`` (an engine or a pipeline).
    since : date-like, optional
        Only valuations served since this date.
    kinds : tuple of str
        Outcome kinds used as the truth.
    min_rows : int
        Fewest outcomes for a verdict.
    match_days, n_boot, confidence, seed :
        Pairing window, bootstrap resamples, interval level and seed.

    Returns
    -------
    dict
        ``source`` (``"live outcomes"``), ``since``, ``kinds``, ``n``, ``champion`` and
        ``candidate`` (metrics of :func:`~estimo.evaluate.metrics.compute_metrics`:
        ``mdape``, ``pe10``, ``cod``, ``median_ratio``), ``differences`` (per metric:
        candidate - champion with its interval and which is better) and ``verdict``
        (``"candidate better"``, ``"candidate worse"``, ``"no clear difference"`` or
        ``"too few outcomes"``).
    """
    valuations = store.valuations_frame(since)
    outcomes = store.outcomes_frame(kinds=list(kinds))
    pairs, _ = match_outcomes(valuations, outcomes, match_days)
    result: dict[str, Any] = {
        "source": "live outcomes",
        "since": None if since is None else str(pd.Timestamp(since).date()),
        "kinds": list(kinds),
        "n": int(len(pairs)),
    }
    if len(pairs) < min_rows:
        result["verdict"] = "too few outcomes"
        result["min_rows"] = min_rows
        return result
    records = store.records_for(pairs["request_id"].tolist())
    frame = pd.DataFrame([records.get(r, {}) for r in pairs["request_id"]])
    frame["date"] = pairs["served_at"].dt.normalize().to_numpy()
    actual = pairs["actual"].to_numpy(float)
    predictions = [np.asarray(model.predict(frame), dtype=float) for model in (champion, candidate)]
    for name, values in zip(("champion", "candidate"), predictions, strict=True):
        metrics = compute_metrics(actual, values)
        result[name] = {k: metrics[k] for k in ("mdape", "pe10", "cod", "median_ratio")}
    est, reps = paired_bootstrap(
        actual, predictions, tuple(COMPARED_METRICS), n_boot=n_boot, seed=seed
    )
    diffs = {m: difference(m, est[m], reps[m], confidence) for m in COMPARED_METRICS}
    result["differences"] = {
        m: {
            "candidate_minus_champion": d.diff,
            "low": d.low,
            "high": d.high,
            "better": {"a": "champion", "b": "candidate"}.get(d.better or ""),
        }
        for m, d in diffs.items()
    }
    pe10 = diffs["pe10"].better
    result["verdict"] = {"b": "candidate better", "a": "candidate worse"}.get(
        pe10 or "", "no clear difference"
    )
    return result
