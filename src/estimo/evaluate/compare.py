"""Fair comparison of two valuation models, with paired bootstrap confidence intervals.

:func:`compare_models` answers "is model B better than model A, by how much, and how sure
are we?" so that a retrained model is promoted on evidence, not on faith:

1. **Same rows.** Both models value exactly the same properties: labelled rows dated after
   both training windows (the newest data, so neither model has seen them, even when the
   windows differ), one row per property, minus the ids seen in training when the training
   frames are given, and only the rows *both* models can value (the intersection): the
   rows of :func:`estimo.evaluate.protocol.new_property_rows`, scored against the
   protocol's target (the sale-equivalent ``price_target`` when a calibration is known).
2. **Same valuation date.** With ``valuation_date``, every actual price is brought to that
   date with a price index (:class:`estimo.index.PriceIndex`) and both models value the
   properties at that date; without it each row is valued at its own date.
3. **Paired bootstrap.** Rows are resampled once per replicate and every metric is computed
   for both models on the same resample, so the interval of the *difference* (B − A) of
   MdAPE, PE10 and COD is much tighter than two separate intervals would suggest. Overall
   and per city (cities below ``min_group_size`` rows are "too small").
4. **Ablation.** When the feature sets differ and the training frame(s) and a factory are
   given, each model is retrained on the shared features only: the difference then splits
   into "better method" (B′ − A′, both on shared features) and "more features" (the rest).
5. **Verdict** with its uncertainty, e.g. ``"B is better: PE10 +3.1 points (95 % CI +1.8
   to +4.4); Roma worse by 2.0"``.

Differences are B − A in metric units (fractions); texts give them in percentage points.

Examples
--------
>>> from estimo.synth import generate_market
>>> from estimo.model.valuation import ValuationModel
>>> frame = generate_market(3_000, seed=5, faults=False).frame
>>> train, test = frame[frame.date < "2023-07-01"], frame[frame.date >= "2023-07-01"]
>>> a = ValuationModel(n_estimators=10, n_jobs=1).fit(train)
>>> b = ValuationModel(n_estimators=60, n_jobs=1).fit(train)
>>> result = compare_models(a, b, test, n_boot=200)
>>> result.overall["pe10"].diff > 0
True
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimo.errors import DataError
from estimo.evaluate.paired import (
    COMPARED_METRICS,
    MetricDifference,
    difference,
    paired_bootstrap,
)
from estimo.evaluate.protocol import (
    new_property_rows,
    saved_calibrator,
    scoring_target,
    training_end,
)
from estimo.jsonutil import to_jsonable, write_json
from estimo.schema import feature_columns

log = logging.getLogger(__name__)

__all__ = [
    "COMPARED_METRICS",
    "Comparison",
    "MetricDifference",
    "compare_models",
    "model_features",
    "paired_bootstrap",
]

Factory = Callable[[], Any]


@dataclass
class Comparison:
    """Result of :func:`compare_models`; :meth:`to_dict` / :meth:`to_markdown` to publish."""

    names: tuple[str, str]
    n: int
    overall: dict[str, MetricDifference]
    by_city: pd.DataFrame
    verdict: str
    winner: str | None
    scoring: dict[str, Any]
    features: dict[str, Any]
    ablation: dict[str, Any] | None
    rows: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Every number, JSON-ready (the scored rows are not included)."""
        return to_jsonable(
            {
                "names": {"a": self.names[0], "b": self.names[1]},
                "verdict": self.verdict,
                "winner": self.winner,
                "n": self.n,
                "scoring": self.scoring,
                "settings": self.settings,
                "overall": {m: vars(d) | {"better": d.better} for m, d in self.overall.items()},
                "by_city": self.by_city,
                "features": self.features,
                "ablation": self.ablation,
            }
        )

    def to_markdown(self) -> str:
        """A short Markdown report: verdict, overall table, per-city table, ablation."""
        from estimo.evaluate.compare_text import comparison_markdown

        return comparison_markdown(self)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``comparison.json``, ``comparison.md`` and ``comparison_rows.parquet``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "json": out / "comparison.json",
            "markdown": out / "comparison.md",
            "rows": out / "comparison_rows.parquet",
        }
        write_json(paths["json"], self.to_dict())
        paths["markdown"].write_text(self.to_markdown(), encoding="utf-8")
        self.rows.to_parquet(paths["rows"], index=False)
        return paths


# --------------------------------------------------------------------------- model facts


def model_features(model: Any) -> list[str] | None:
    """The input features of a fitted model, or ``None`` when it does not say.

    Reads ``feature_spec_.names`` (ValuationModel), ``stage_.feature_names_`` (AVM),
    ``features_``, ``feature_names_`` or ``feature_names_in_``, in that order.
    """
    spec = getattr(model, "feature_spec_", None)
    if spec is not None and hasattr(spec, "names"):
        return list(spec.names)
    stage_names = getattr(getattr(model, "stage_", None), "feature_names_", None)
    if stage_names is not None:
        return [str(v) for v in stage_names]
    for attr in ("features_", "feature_names_", "feature_names_in_"):
        value = getattr(model, attr, None)
        if value is not None:
            return [str(v) for v in value]
    return None


def clone_factory(model: Any) -> Factory:
    """A factory building an unfitted copy of ``model`` from its ``get_params()``."""
    params = model.get_params(deep=False)
    cls = type(model)
    return lambda: cls(**params)


def _predict_at(model: Any, rows: pd.DataFrame, valuation_date: pd.Timestamp | None) -> np.ndarray:
    if valuation_date is None:
        values = model.predict(rows)
    elif "valuation_date" in inspect.signature(model.predict).parameters:
        values = model.predict(rows, valuation_date=valuation_date)
    else:  # a model with the date as a feature values the property as of that date
        values = model.predict(rows.assign(date=valuation_date))
    return np.asarray(values, dtype=float)


def _valuable(model: Any, rows: pd.DataFrame, predicted: np.ndarray) -> np.ndarray:
    """Rows a model can value: a finite positive price, and a city it knows.

    A model's own ``can_value(frame) -> bool array`` decides when it has one (e.g. an engine
    with a country fallback); otherwise a city outside its ``cities_`` is not valued.
    """
    ok = np.isfinite(predicted) & (predicted > 0)
    if hasattr(model, "can_value"):
        return ok & np.asarray(model.can_value(rows), dtype=bool)
    cities = getattr(model, "cities_", None)
    if cities is not None:
        ok &= rows["city"].astype(str).isin(set(map(str, cities))).to_numpy()
    return ok


# --------------------------------------------------------------------------- compare


def compare_models(
    a: Any,
    b: Any,
    frame: pd.DataFrame,
    *,
    valuation_date: str | pd.Timestamp | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    min_group_size: int = 30,
    names: tuple[str, str] = ("A", "B"),
    since: str | pd.Timestamp | None = None,
    train: pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame] | None = None,
    factory: Factory | tuple[Factory, Factory] | None = None,
    ablation: bool | None = None,
    price_index: Any | None = None,
    metrics: Sequence[str] = tuple(COMPARED_METRICS),
    primary: str = "pe10",
    city_margin: float = 0.01,
    calibrator: Any | None = None,
) -> Comparison:
    """Compare two fitted models fairly on the same rows (see the module docstring).

    Parameters
    ----------
    a, b : estimator
        Fitted models with ``predict(frame)`` (A is the incumbent, B the challenger).
    frame : pandas.DataFrame
        Labelled canonical rows to score on (rows inside a training window are dropped).
    valuation_date : date, optional
        Bring every actual price to this date with the price index and have both models
        value at it; default: each row at its own date.
    n_boot : int, default 1000
        Paired bootstrap resamples.
    seed : int, default 0
        Seed of the resampling.
    level : float, default 0.95
        Confidence level of the intervals.
    min_group_size : int, default 30
        Cities with fewer scored rows get no interval ("too small").
    names : (str, str)
        Display names of A and B.
    since : date, optional
        Score rows dated on/after it; default: after the later of the two training windows
        (``trained_until_`` or the bundle's ``training_window``), else every row.
    train : DataFrame or (DataFrame, DataFrame), optional
        Training frame(s) of A and B: their ids are kept out of the scoring rows, and they
        are needed by the ablation.
    factory : callable or (callable, callable), optional
        Unfitted-estimator factories of A and B for the ablation; default (when ``train`` is
        given): a copy of each model from its ``get_params()``.
    ablation : bool, optional
        Retrain both on their shared features; default: when their feature sets differ
        (and ``train`` is given).
    price_index : PriceIndex, optional
        Index for ``valuation_date``; default: a :class:`~estimo.index.PriceIndex` fitted on
        ``frame``.
    metrics : sequence of str
        Metrics compared (default MdAPE, PE10, COD).
    primary : str, default "pe10"
        The metric the verdict is based on.
    city_margin : float, default 0.01
        Cities where B differs from A by more than this (in ``primary``, against the overall
        verdict) are named in it.
    calibrator : LabelCalibrator, optional
        Gives the price both models are scored against (``price_target`` of
        :mod:`estimo.evaluate.protocol`); default: the calibration recorded by the model
        whose training window ends last (B on a tie), else the observed price.

    Returns
    -------
    Comparison

    Raises
    ------
    DataError
        If no row is left that both models can value, or an argument is invalid.
    """
    if primary not in metrics:
        raise DataError(
            [f"primary {primary!r} is not among metrics {list(metrics)!r}"], "bad setting"
        )
    if not 0 < level < 1:
        raise DataError([f"level is {level!r}; expected a number between 0 and 1"], "bad setting")
    trains = _pair(train)
    vdate = None if valuation_date is None else pd.Timestamp(valuation_date)
    rows, scoring = _scoring_rows(a, b, frame, since, trains)
    pred_a = _predict_at(a, rows, vdate)
    pred_b = _predict_at(b, rows, vdate)
    ok_a, ok_b = _valuable(a, rows, pred_a), _valuable(b, rows, pred_b)
    both = ok_a & ok_b
    scoring.update(
        n_candidates=len(rows),
        n_unvalued_a=int((~ok_a).sum()),
        n_unvalued_b=int((~ok_b).sum()),
        n_scored=int(both.sum()),
        valuation_date=None if vdate is None else f"{vdate:%Y-%m-%d}",
    )
    if not both.any():
        raise DataError(
            [f"none of the {len(rows)} candidate rows can be valued by both models"],
            header="nothing to compare on",
        )
    scored = rows.loc[both, ["id", "city", "date", "price"]].reset_index(drop=True)
    calibrator = calibrator if calibrator is not None else _pair_calibrator(a, b)
    scored["actual"], scoring["target"] = scoring_target(rows.loc[both], calibrator)
    if vdate is not None:
        index = price_index if price_index is not None else _fit_index(frame)
        scored["actual"] = scored["actual"] * index.factor(scored["city"], scored["date"], vdate)
    scored["predicted_a"], scored["predicted_b"] = pred_a[both], pred_b[both]
    preds = [scored["predicted_a"].to_numpy(), scored["predicted_b"].to_numpy()]

    features = _feature_sets(a, b)
    ablate = _ablation_wanted(ablation, features, trains)
    ablation_out = None
    if ablate:
        preds_ablation, ablation_out = _ablation(
            a, b, rows.loc[both], vdate, trains, _pair(factory), features
        )
        preds = preds + preds_ablation
        scored["predicted_a_shared"], scored["predicted_b_shared"] = preds_ablation
    elif features["differ"]:
        features["note"] = (
            "the feature sets differ; run the ablation (compare_models(..., train=..., "
            "ablation=True) or `estimo compare --ablation`) to separate the better method "
            "from the extra features"
        )

    actual = scored["actual"].to_numpy()
    est, reps = paired_bootstrap(actual, preds, metrics, n_boot=n_boot, seed=seed)
    overall = {m: difference(m, est[m], reps[m], level) for m in metrics}
    if ablation_out is not None:
        ablation_out.update(_ablation_summary(metrics, est, reps, level))
    by_city = _by_city(scored, metrics, n_boot, seed, level, min_group_size)
    winner, verdict = _verdict(overall[primary], by_city, primary, names, city_margin, ablation_out)
    log.info("comparison on %d rows: %s", len(scored), verdict)
    settings = {
        "n_boot": n_boot,
        "seed": seed,
        "level": level,
        "min_group_size": min_group_size,
        "metrics": list(metrics),
        "primary": primary,
        "city_margin": city_margin,
    }
    return Comparison(
        names,
        len(scored),
        overall,
        by_city,
        verdict,
        winner,
        scoring,
        features,
        ablation_out,
        scored,
        settings,
    )


def _pair(value: Any) -> tuple[Any, Any]:
    if isinstance(value, tuple):
        if len(value) != 2:
            raise DataError(
                [f"expected a pair (for A, for B); got {len(value)} items"], "bad argument"
            )
        return value
    return value, value


def _fit_index(frame: pd.DataFrame) -> Any:
    from estimo.index import PriceIndex

    log.info("fitting a price index on the %d labelled rows to align valuation dates", len(frame))
    return PriceIndex().fit(frame)


def _pair_calibrator(a: Any, b: Any) -> Any | None:
    """The saved calibration of the model trained on the newer window (B on a tie)."""
    ends = [training_end(m) for m in (a, b)]
    newer = a if ends[0] is not None and (ends[1] is None or ends[0] > ends[1]) else b
    return saved_calibrator(newer) or saved_calibrator(b if newer is a else a)


def _scoring_rows(
    a: Any, b: Any, frame: pd.DataFrame, since: Any, trains: tuple[Any, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The protocol's rows (:func:`estimo.evaluate.protocol.new_property_rows`) for a pair:
    after the later of the two training windows, minus the properties either saw."""
    missing = [c for c in ("id", "date", "city", "price") if c not in frame]
    if missing:
        raise DataError(
            [f"column {missing[0]!r} is missing from the scoring frame"], "cannot compare"
        )
    ends = {name: training_end(m) for name, m in (("a", a), ("b", b))}
    known = [v for v in ends.values() if v is not None]
    seen: set[Any] = set()
    for t in {id(t): t for t in trains if t is not None}.values():
        seen |= set(t["id"])
    chosen = new_property_rows(
        frame,
        after=max(known) if known else None,
        since=since,
        seen_ids=seen if seen else None,
    )
    rows = chosen.frame
    scoring: dict[str, Any] = {
        "training_end": {k: None if v is None else f"{v:%Y-%m-%d}" for k, v in ends.items()},
        "rule": chosen.facts["rule"],
        "n_dropped_seen_in_training": chosen.facts["n_seen_in_training"],
    }
    if known and since is None and ends["a"] != ends["b"]:
        scoring["rule"] += " (the training windows differ: the later one)"
    if rows.empty:
        raise DataError(
            [
                f"no labelled rows left to score: {scoring['rule']}; the data runs from "
                f"{frame['date'].min():%Y-%m-%d} to {frame['date'].max():%Y-%m-%d}"
            ],
            header="nothing to compare on",
        )
    scoring["from"] = chosen.facts["from"]
    scoring["to"] = chosen.facts["to"]
    return rows, scoring


def _feature_sets(a: Any, b: Any) -> dict[str, Any]:
    fa, fb = model_features(a), model_features(b)
    if fa is None or fb is None:
        return {"a": fa, "b": fb, "shared": None, "only_a": None, "only_b": None, "differ": False}
    shared = [f for f in fa if f in set(fb)]
    return {
        "a": fa,
        "b": fb,
        "shared": shared,
        "only_a": [f for f in fa if f not in set(fb)],
        "only_b": [f for f in fb if f not in set(fa)],
        "differ": set(fa) != set(fb),
    }


def _ablation_wanted(ablation: bool | None, features: dict[str, Any], trains: tuple) -> bool:
    if ablation is False:
        return False
    have_train = trains[0] is not None and trains[1] is not None
    if ablation is True and not have_train:
        raise DataError(["ablation=True needs the training frame(s): pass train="], "bad argument")
    return have_train and (ablation is True or features["differ"])


def _ablation(
    a: Any,
    b: Any,
    rows: pd.DataFrame,
    vdate: pd.Timestamp | None,
    trains: tuple[pd.DataFrame, pd.DataFrame],
    factories: tuple[Factory | None, Factory | None],
    features: dict[str, Any],
) -> tuple[list[np.ndarray], dict[str, Any]]:
    shared = set(features["shared"] or [])
    preds = []
    for model, tr, make in ((a, trains[0], factories[0]), (b, trains[1], factories[1])):
        make = make or clone_factory(model)
        drop = [c for c in feature_columns(tr) if shared and c not in shared]
        refit = make().fit(tr.drop(columns=drop))
        values = _predict_at(refit, rows.drop(columns=[c for c in drop if c in rows]), vdate)
        if not (np.isfinite(values) & (values > 0)).all():
            raise DataError(
                ["a model retrained on the shared features cannot value every row"],
                "ablation failed",
            )
        preds.append(values)
    log.info("ablation: both models retrained on %d shared features", len(shared))
    return preds, {"shared_features": sorted(shared)}


def _ablation_summary(
    metrics: Sequence[str], est: dict[str, np.ndarray], reps: dict[str, np.ndarray], level: float
) -> dict[str, Any]:
    """Split B − A into method (B′ − A′) and features ((B − A) − (B′ − A′)), with CIs."""
    out: dict[str, Any] = {"method": {}, "features": {}}
    alpha = (1 - level) / 2
    for m in metrics:
        method = difference(m, est[m], reps[m], level, pair=(2, 3))
        out["method"][m] = vars(method) | {"better": method.better}
        total = (reps[m][:, 1] - reps[m][:, 0]) - (reps[m][:, 3] - reps[m][:, 2])
        total = total[np.isfinite(total)]
        point = (est[m][1] - est[m][0]) - (est[m][3] - est[m][2])
        low, high = np.quantile(total, [alpha, 1 - alpha])
        out["features"][m] = {"diff": float(point), "low": float(low), "high": float(high)}
    return out


def _by_city(
    scored: pd.DataFrame, metrics: Sequence[str], n_boot: int, seed: int, level: float, min_n: int
) -> pd.DataFrame:
    records = []
    for city, idx in sorted(scored.groupby("city", sort=True).indices.items()):
        part = scored.iloc[idx]
        record: dict[str, Any] = {"city": str(city), "n": len(part), "too_small": len(part) < min_n}
        if not record["too_small"]:
            est, reps = paired_bootstrap(
                part["actual"].to_numpy(),
                [part["predicted_a"].to_numpy(), part["predicted_b"].to_numpy()],
                metrics,
                n_boot=n_boot,
                seed=seed,
            )
            for m in metrics:
                d = difference(m, est[m], reps[m], level)
                record.update(
                    {
                        f"{m}_a": d.a,
                        f"{m}_b": d.b,
                        f"{m}_diff": d.diff,
                        f"{m}_low": d.low,
                        f"{m}_high": d.high,
                    }
                )
        records.append(record)
    columns = ["city", "n", "too_small"] + [
        f"{m}_{k}" for m in metrics for k in ("a", "b", "diff", "low", "high")
    ]
    return pd.DataFrame(records, columns=columns)


def _verdict(
    d: MetricDifference,
    by_city: pd.DataFrame,
    metric: str,
    names: tuple[str, str],
    margin: float,
    ablation: dict[str, Any] | None,
) -> tuple[str | None, str]:
    label = (
        metric.upper()
        if metric.startswith("pe")
        else {"mdape": "MdAPE", "cod": "COD"}.get(metric, metric)
    )
    name_a, name_b = names
    winner = {"a": name_a, "b": name_b, None: None}[d.better]
    if winner == name_b:
        text = f"{name_b} is better: {label} {d.points()}"
    elif winner == name_a:
        text = f"{name_a} is better: {name_b}'s {label} {d.points()}"
    else:
        text = f"no clear difference: {name_b}'s {label} {d.points()}"
    text += f", P({name_b} better) = {d.p_b_better:.2f}"
    sign = 1.0 if d.higher_is_better else -1.0
    cities = by_city.loc[~by_city["too_small"].astype(bool)]
    gains = sign * cities[f"{metric}_diff"]
    cities = cities.assign(_g=gains)  # before filtering: assigning to an empty frame adds rows
    gain_low = np.minimum(sign * cities[f"{metric}_low"], sign * cities[f"{metric}_high"])
    gain_high = np.maximum(sign * cities[f"{metric}_low"], sign * cities[f"{metric}_high"])
    # a city is named only when its own interval excludes 0 and the gap exceeds the margin
    worse = (gains < -margin) & (gain_high < 0)
    better = (gains > margin) & (gain_low > 0)
    if winner == name_b:
        notable = cities.loc[worse]
    elif winner == name_a:
        notable = cities.loc[better]
    else:
        notable = cities.loc[worse | better]
    notable = notable.sort_values("_g", key=abs, ascending=False).head(3)
    for _, row in notable.iterrows():
        word = "better" if row["_g"] > 0 else "worse"
        lo, hi = sorted((100 * abs(row[f"{metric}_low"]), 100 * abs(row[f"{metric}_high"])))
        text += (
            f"; {row['city']} {word} by {100 * abs(row[f'{metric}_diff']):.1f} "
            f"(CI {lo:.1f} to {hi:.1f})"
        )
    if ablation is not None and metric in ablation.get("method", {}):
        method, feats = ablation["method"][metric], ablation["features"][metric]
        text += (
            f". On shared features only (method): {100 * method['diff']:+.1f} points "
            f"(CI {100 * method['low']:+.1f} to {100 * method['high']:+.1f}); from the extra "
            f"features: {100 * feats['diff']:+.1f} (CI {100 * feats['low']:+.1f} to "
            f"{100 * feats['high']:+.1f})"
        )
    return winner, text
