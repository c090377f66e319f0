"""Rolling-origin backtest: how fast does a model go stale, and how often to retrain?

At each monthly cut-off (origin) a fresh model is trained on the rows before it, and the new
properties of the following ``horizon`` months are valued (out of time, by property, as in
:func:`estimo.split.out_of_time_split`). A row's *model age* is its month after the cut-off:
1 for the cut-off's month, 2 for the next, ... Accuracy is then pooled over the origins by
model age, overall and per city, so a reader sees how PE10 decays while prices drift, and
the report suggests a retraining period: the longest age whose PE10 stays within
``tolerance`` of a fresh (age 1) model.

Examples
--------
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> frame = generate_market(3_000, seed=3, faults=False).frame
>>> result = run_rolling_backtest(frame, n_origins=2, horizon=2,
...     factory=lambda: ValuationModel(n_estimators=20, n_jobs=1))
>>> [str(age) for age in result.by_horizon["horizon"]]
['1', '2', '(all)']
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import DataError
from estimo.evaluate.protocol import PRICE_TARGET, score_model
from estimo.evaluate.segments import ALL_LABEL, metrics_by_segment
from estimo.jsonutil import to_jsonable, write_json
from estimo.progress import step_progress
from estimo.quality.prepare import prepare_training_data
from estimo.split import out_of_time_split, parse_cutoff

log = logging.getLogger(__name__)

__all__ = [
    "RollingResult",
    "retrain_advice",
    "rolling_cutoffs",
    "run_rolling_backtest",
    "write_rolling",
]

Factory = Callable[[], Any]


@dataclass
class RollingResult:
    """Everything a rolling-origin backtest produced.

    Attributes
    ----------
    predictions : DataFrame
        ``id``, ``city``, ``date``, ``price``, ``predicted`` (and the model's other
        columns), ``price_target`` (the price scored against), ``origin`` (cut-off) and
        ``horizon`` (model age in months, 1 = the cut-off's month).
    by_horizon, by_city, by_origin : DataFrame
        :func:`~estimo.evaluate.segments.metrics_by_segment` tables by ``horizon``, by
        ``city`` x ``horizon`` and by ``origin`` x ``horizon``.
    cutoffs : list of Timestamp
    horizon : int
    advice : dict
        :func:`retrain_advice` of ``by_horizon`` (overall) and per city.
    n_unvalued : int
        Test rows of cities a model had not seen.
    """

    predictions: pd.DataFrame
    by_horizon: pd.DataFrame
    by_city: pd.DataFrame
    by_origin: pd.DataFrame
    cutoffs: list[pd.Timestamp]
    horizon: int
    advice: dict[str, Any]
    n_unvalued: int = 0
    train_sizes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the predictions)."""
        return to_jsonable(
            {
                "cutoffs": [f"{c:%Y-%m-%d}" for c in self.cutoffs],
                "horizon": self.horizon,
                "n_predictions": len(self.predictions),
                "n_unvalued": self.n_unvalued,
                "train_sizes": self.train_sizes,
                "advice": self.advice,
                "by_horizon": self.by_horizon,
                "by_city": self.by_city,
                "by_origin": self.by_origin,
            }
        )


def rolling_cutoffs(
    frame: pd.DataFrame, n_origins: int = 6, horizon: int = 3
) -> list[pd.Timestamp]:
    """The last ``n_origins`` month starts that leave ``horizon`` months of data after them.

    Raises
    ------
    DataError
        If the data covers too few months for one origin with training rows before it.

    Examples
    --------
    >>> frame = pd.DataFrame({"date": pd.date_range("2023-01-01", "2023-12-31", freq="D")})
    >>> [f"{c:%Y-%m}" for c in rolling_cutoffs(frame, n_origins=3, horizon=2)]
    ['2023-09', '2023-10', '2023-11']
    """
    for name, value in (("n_origins", n_origins), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise DataError([f"{name} is {value!r}; expected an integer >= 1"], "bad setting")
    first = pd.Timestamp(frame["date"].min())
    last_month = pd.Timestamp(frame["date"].max()).to_period("M").to_timestamp()
    final = last_month - pd.DateOffset(months=horizon - 1)
    cutoffs = [final - pd.DateOffset(months=k) for k in reversed(range(n_origins))]
    cutoffs = [pd.Timestamp(c) for c in cutoffs if c > first]
    if not cutoffs:
        raise DataError(
            [
                f"the data runs from {first:%Y-%m-%d} to {frame['date'].max():%Y-%m-%d}: too "
                f"short for a {horizon}-month horizon with training rows before the cut-off"
            ],
            header="cannot run a rolling backtest",
        )
    return cutoffs


def run_rolling_backtest(
    frame: pd.DataFrame,
    *,
    cutoffs: Sequence[str | pd.Timestamp] | None = None,
    n_origins: int = 6,
    horizon: int = 3,
    factory: Factory | None = None,
    model_params: dict[str, Any] | None = None,
    min_group_size: int = 30,
    tolerance: float = 0.02,
    progress: bool = False,
    quality: Any | None = None,
) -> RollingResult:
    """Retrain at successive monthly cut-offs and score the following months.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical frame (``id``, ``date``, ``city``, ``price`` and features).
    cutoffs : sequence of dates, optional
        The origins; default :func:`rolling_cutoffs` with ``n_origins`` and ``horizon``.
    n_origins : int, default 6
        Number of origins when ``cutoffs`` is not given.
    horizon : int, default 3
        Months scored after each cut-off (model ages 1..horizon).
    factory : callable, optional
        Returns a new unfitted estimator with ``fit(frame)`` and ``predict(frame)``; default
        ``ValuationModel(**model_params)``.
    model_params : dict, optional
        Arguments of the default :class:`~estimo.model.valuation.ValuationModel`.
    min_group_size : int, default 30
        Groups with fewer rows are reported as too small.
    tolerance : float, default 0.02
        PE10 loss (fraction) accepted before retraining; see :func:`retrain_advice`.
    progress : bool, default False
        Show a progress bar on stderr.
    quality : QualityConfig, optional
        The project's ``quality`` section: at every origin the training rows are audited,
        cleaned and calibrated (:func:`~estimo.quality.prepare.prepare_training_data`), the
        test rows valued through the fitted cleaning policy and scored against
        ``price_target``, exactly as :func:`~estimo.evaluate.backtest.run_backtest` does
        (the protocol of :mod:`estimo.evaluate.protocol`). ``None`` trains on the rows as
        loaded and scores against the observed price.

    Returns
    -------
    RollingResult
    """
    if factory is None:
        from estimo.model.valuation import ValuationModel

        params = dict(model_params or {})

        def factory() -> Any:
            return ValuationModel(**params)

    origins = (
        [parse_cutoff(c) for c in cutoffs]
        if cutoffs is not None
        else rolling_cutoffs(frame, n_origins, horizon)
    )
    parts: list[pd.DataFrame] = []
    n_unvalued = 0
    train_sizes: dict[str, int] = {}
    with step_progress(
        "rolling backtest", len(origins), enabled=progress, done="trained"
    ) as advance:
        for cutoff in origins:
            scored, skipped, n_train = _one_origin(frame, cutoff, horizon, factory, quality)
            parts.append(scored)
            n_unvalued += skipped
            train_sizes[f"{cutoff:%Y-%m-%d}"] = n_train
            advance(f"origin {cutoff:%Y-%m}")
    predictions = pd.concat(parts, ignore_index=True)
    if predictions.empty:
        raise DataError(["no test rows could be valued at any origin"], "empty rolling backtest")
    scored = {"actual": PRICE_TARGET, "min_group_size": min_group_size}
    by_horizon = metrics_by_segment(predictions, "horizon", **scored)
    by_city = metrics_by_segment(predictions, ["city", "horizon"], **scored)
    by_origin = metrics_by_segment(
        predictions.assign(origin=predictions["origin"].dt.strftime("%Y-%m-%d")),
        ["origin", "horizon"],
        include_overall=False,
        **scored,
    )
    advice: dict[str, Any] = {
        "tolerance": tolerance,
        "overall": retrain_advice(by_horizon, tolerance),
    }
    advice["by_city"] = {
        str(city): retrain_advice(table, tolerance)
        for city, table in by_city.groupby("city", sort=True)
        if city != ALL_LABEL
    }
    return RollingResult(
        predictions,
        by_horizon,
        by_city,
        by_origin,
        origins,
        horizon,
        advice,
        n_unvalued,
        train_sizes,
    )


def _one_origin(
    frame: pd.DataFrame, cutoff: pd.Timestamp, horizon: int, factory: Factory, quality: Any
) -> tuple[pd.DataFrame, int, int]:
    split = out_of_time_split(frame, cutoff)
    test = split.test.copy()
    test["horizon"] = _months_after(test["date"], cutoff)
    test = test.loc[test["horizon"] <= horizon]
    prepared = prepare_training_data(split.train, quality) if quality is not None else None
    if prepared is None:
        model = factory().fit(split.train)
    else:
        model = factory()
        model = model.fit(prepared.frame, **prepared.fit_arguments(model.fit))
    valued = score_model(
        model,
        test,
        policy=prepared.policy if prepared is not None else None,
        calibrator=prepared.calibrator if prepared is not None else None,
        carry=["horizon"],
    )
    out = valued.predictions
    out["origin"] = cutoff
    log.info(
        "origin %s: trained on %d rows, scored %d rows",
        f"{cutoff:%Y-%m-%d}",
        len(split.train),
        len(out),
    )
    return out, len(valued.unvalued), len(split.train)


def _months_after(dates: pd.Series, cutoff: pd.Timestamp) -> pd.Series:
    d = pd.to_datetime(dates)
    return (d.dt.year - cutoff.year) * 12 + (d.dt.month - cutoff.month) + 1


def retrain_advice(table: pd.DataFrame, tolerance: float = 0.02) -> dict[str, Any]:
    """Decay of PE10 with model age, and how often to retrain.

    The decay is the OLS slope of PE10 on model age (robust to one noisy month); a model is
    retrained before the fitted line falls ``tolerance`` below its value at age 1, i.e.
    every ``floor(1 + tolerance / -slope)`` months, at most the longest age measured.

    Parameters
    ----------
    table : pandas.DataFrame
        A :func:`metrics_by_segment` table with a ``horizon`` column (other rows ignored).
    tolerance : float
        Accepted PE10 loss relative to a fresh model (age 1), as a fraction.

    Returns
    -------
    dict
        ``pe10_by_age`` (age -> PE10), ``pe10_change_per_month`` (fraction per month, NaN with
        fewer than two ages), ``retrain_every_months`` (NaN without a slope) and
        ``beyond_horizon`` (True when no decay past the tolerance was measured: the model may
        be kept longer than the longest age measured).

    Examples
    --------
    >>> t = pd.DataFrame({"horizon": [1, 2, 3, 4, "(all)"], "too_small": [False] * 5,
    ...                   "pe10": [0.60, 0.59, 0.55, 0.54, 0.58]})
    >>> advice = retrain_advice(t)
    >>> advice["retrain_every_months"], round(advice["pe10_change_per_month"], 3)
    (1, -0.022)
    """
    rows = table.loc[(table["horizon"] != ALL_LABEL) & ~table["too_small"].astype(bool)]
    ages = rows["horizon"].astype(int).to_numpy()
    pe10 = rows["pe10"].astype(float).to_numpy()
    by_age = {int(a): float(v) for a, v in zip(ages, pe10, strict=True)}
    if len(by_age) < 2:
        return {
            "pe10_by_age": by_age,
            "pe10_change_per_month": float("nan"),
            "retrain_every_months": float("nan"),
            "beyond_horizon": False,
        }
    slope = float(np.polyfit(ages, pe10, 1)[0])
    longest = int(ages.max())
    every = longest if slope >= 0 else int(min(longest, np.floor(1 + tolerance / -slope)))
    beyond = slope >= 0 or 1 + tolerance / -slope > longest
    return {
        "pe10_by_age": by_age,
        "pe10_change_per_month": slope,
        "retrain_every_months": max(every, 1),
        "beyond_horizon": bool(beyond),
    }


def write_rolling(result: RollingResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``rolling.json``, ``rolling_predictions.parquet`` and ``rolling.html``.

    The HTML page holds the chart of PE10 and MdAPE by model age (overall and per city) and
    the tables; it is self-contained.
    """
    from estimo.evaluate.html import render_rolling

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "rolling.json",
        "predictions": out / "rolling_predictions.parquet",
        "html": out / "rolling.html",
    }
    write_json(paths["json"], result.to_dict())
    result.predictions.to_parquet(paths["predictions"], index=False)
    paths["html"].write_text(render_rolling(result), encoding="utf-8")
    return paths


def decay_series(result: RollingResult, metric: str = "pe10") -> dict[str, tuple[list, list]]:
    """``name -> (ages, values)`` of a metric by model age: ``(all)`` first, then each city.

    Examples
    --------
    >>> t = pd.DataFrame({"city": ["a", "a", "(all)"], "horizon": [1, 2, "(all)"],
    ...                   "too_small": [False] * 3, "pe10": [0.6, 0.5, 0.55]})
    >>> h = pd.DataFrame({"horizon": [1, 2, "(all)"], "too_small": [False] * 3,
    ...                   "pe10": [0.6, 0.5, 0.55]})
    >>> r = RollingResult(pd.DataFrame(), h, t, pd.DataFrame(), [], 2, {})
    >>> decay_series(r)
    {'(all)': ([1, 2], [0.6, 0.5]), 'a': ([1, 2], [0.6, 0.5])}
    """

    def series(table: pd.DataFrame) -> tuple[list, list]:
        ok = table.loc[(table["horizon"] != ALL_LABEL) & ~table["too_small"].astype(bool)]
        return ok["horizon"].astype(int).tolist(), ok[metric].astype(float).tolist()

    out = {ALL_LABEL: series(result.by_horizon)}
    for city, table in result.by_city.groupby("city", sort=True):
        if city != ALL_LABEL:
            out[str(city)] = series(table)
    return out
