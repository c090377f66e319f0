"""``estimo monitor``: the monitoring report over the store, its alerts and its files.

:func:`build_report` reads the store (valuations served in ``[since, until)`` and every
outcome), pairs outcomes with valuations (:mod:`~estimo.monitor.matching`) and assembles:
volume, accuracy over time (:mod:`~estimo.monitor.accuracy`), appraiser agreement
(:mod:`~estimo.monitor.agreement`), feature drift and the share of requests outside the
training envelope (needs the training rows), market drift (needs the model's price index),
staleness (needs the rolling backtest's advice and the model's training end), the alerts
(:mod:`~estimo.monitor.alerts`) and the retraining advice (:mod:`~estimo.monitor.advice`).
What cannot be computed for lack of an input is said in ``notes``, never silently skipped.

:func:`write_report` writes ``monitor.json`` (everything), ``alerts.json`` (the alerts,
the exit code and the advice, for other tools) and ``dashboard.html``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimo.config import MonitorConfig
from estimo.errors import DataError
from estimo.index import PriceIndex
from estimo.jsonutil import to_jsonable, write_json
from estimo.monitor.accuracy import accuracy_over_time
from estimo.monitor.advice import retraining_advice
from estimo.monitor.agreement import appraiser_vs_model, appraiser_vs_sale
from estimo.monitor.alerts import Alert, evaluate_alerts, exit_code
from estimo.monitor.drift import feature_drift, records_frame
from estimo.monitor.envelope import TrainingEnvelope
from estimo.monitor.market import index_gap
from estimo.monitor.matching import match_outcomes
from estimo.monitor.staleness import staleness
from estimo.monitor.store import ValuationStore
from estimo.monitor.trend import error_trends

log = logging.getLogger(__name__)

__all__ = [
    "MonitorInputs",
    "MonitorReport",
    "build_report",
    "load_inputs",
    "load_model",
    "model_facts",
    "write_report",
]


@dataclass
class MonitorInputs:
    """What live behaviour is compared with; every part is optional.

    Attributes
    ----------
    reference : DataFrame, optional
        The training rows (canonical), for feature drift and the training envelope.
    model_index : PriceIndex, optional
        The served model's price index, for market drift.
    trained_until : Timestamp, optional
        End of the served model's training data, for staleness.
    rolling_advice : dict, optional
        ``advice`` of a rolling backtest (``rolling.json``), for staleness.
    training_months : int
        Length of the model's training window, for the retraining advice.
    """

    reference: pd.DataFrame | None = None
    model_index: PriceIndex | None = None
    trained_until: pd.Timestamp | None = None
    rolling_advice: dict[str, Any] | None = None
    training_months: int = 12
    model_name: str | None = None


@dataclass
class MonitorReport:
    """Everything ``estimo monitor`` measured (see the module docstring)."""

    summary: dict[str, Any]
    volume: pd.DataFrame
    accuracy: pd.DataFrame
    trends: pd.DataFrame
    appraiser_model: pd.DataFrame
    appraiser_sale: pd.DataFrame
    drift: pd.DataFrame
    outside: pd.DataFrame
    market: pd.DataFrame
    stale: pd.DataFrame
    alerts: list[Alert]
    advice: dict[str, Any]
    exit_code: int
    notes: list[str] = field(default_factory=list)

    def flagged(self, rules: tuple[str, ...] = ("drift",)) -> set[str]:
        """Subjects (cities, features) of the alerts of some rules."""
        return {a.subject for a in self.alerts if a.rule in rules and a.subject is not None}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return to_jsonable(
            {
                "summary": self.summary,
                "alerts": [a.to_dict() for a in self.alerts],
                "exit_code": self.exit_code,
                "advice": self.advice,
                "notes": self.notes,
                "volume": self.volume,
                "accuracy": self.accuracy,
                "trends": self.trends,
                "appraiser_model": self.appraiser_model,
                "appraiser_sale": self.appraiser_sale,
                "drift": self.drift,
                "outside": self.outside,
                "market": self.market,
                "staleness": self.stale,
            }
        )


def load_model(model: str | Path) -> Any:
    """The model saved in a folder (local path or fsspec URL), loaded by its own code.

    A pipeline folder (``pipeline.json`` with the engine under ``engine/``, written by
    ``estimo train`` and served by ``estimo serve``) loads as a pipeline; an engine or plain
    model folder (``model.json``, including engines saved in the older flat layout) as
    itself (:func:`estimo.pipeline.load_bundle`).

    Raises
    ------
    DataError
        If a local ``model`` is not a folder holding ``pipeline.json`` or ``model.json``.
    """
    from estimo.bundle_folder import META_FILES
    from estimo.pipeline import load_bundle  # lazy: the engine is heavy to import

    url = str(model)
    if "://" not in url:
        folder = Path(url)
        if not folder.is_dir():
            raise DataError(
                [f"--model {url!r} is not a folder; expected a model folder (estimo train --out)"],
                "not a model folder",
            )
        if not any((folder / name).is_file() for name in META_FILES):
            raise DataError(
                [
                    f"--model {url!r} holds neither {' nor '.join(META_FILES)}; expected the "
                    "pipeline folder of `estimo train` or an engine folder"
                ],
                "not a model folder",
            )
    return load_bundle(url)


def model_facts(model: Any) -> tuple[PriceIndex | None, pd.Timestamp | None]:
    """The price index and the training end of a loaded model.

    A pipeline gives its engine's; an engine its stage's index; a plain model (no index)
    only its training end.
    """
    engine = getattr(model, "engine_", model)
    stage = getattr(engine, "stage_", None)
    index = getattr(stage, "index", None)
    until = getattr(engine, "trained_until_", None)
    return (
        index if isinstance(index, PriceIndex) else None,
        None if until is None else pd.Timestamp(until),
    )


def load_inputs(
    model: Any = None,
    reference: pd.DataFrame | None = None,
    rolling_json: str | Path | None = None,
    *,
    model_name: str | None = None,
) -> MonitorInputs:
    """Inputs from the served model, training rows and a rolling backtest's ``rolling.json``.

    Parameters
    ----------
    model : path, str or fitted model, optional
        A model folder (see :func:`load_model`) or a loaded model (pipeline, engine), e.g.
        a registry version's (:meth:`estimo.registry.Registry.load`).
    reference : DataFrame, optional
        The training rows.
    rolling_json : path, optional
        ``rolling.json`` or the folder holding it.
    model_name : str, optional
        How the notes name the model (default: the folder).

    Raises
    ------
    DataError
        If a given file is missing or unreadable, or ``model`` is not a model folder.
    """
    inputs = MonitorInputs(reference=reference)
    if reference is not None and len(reference) and "date" in reference:
        dates = pd.to_datetime(reference["date"])
        span = (dates.max().year - dates.min().year) * 12 + dates.max().month - dates.min().month
        inputs.training_months = max(int(span) + 1, 1)
    if model is not None:
        if isinstance(model, str | Path):
            model_name = model_name or str(model)
            model = load_model(model)
        inputs.model_index, inputs.trained_until = model_facts(model)
        inputs.model_name = model_name or type(model).__name__
    if rolling_json is not None:
        path = Path(rolling_json)
        if path.is_dir():
            path = path / "rolling.json"
        if not path.is_file():
            raise DataError(
                [f"--rolling {str(path)!r} does not exist; expected rolling.json or its folder"],
                "no rolling backtest",
            )
        inputs.rolling_advice = json.loads(path.read_text(encoding="utf-8")).get("advice")
    return inputs


def _months(frame: pd.DataFrame) -> pd.Series:
    """``YYYY-MM`` of each ``served_at`` (formatted once per distinct month, not per row)."""
    months = frame["served_at"].to_numpy().astype("datetime64[M]")
    codes, uniques = pd.factorize(months, sort=True)
    labels = np.array([str(u)[:7] for u in uniques], dtype=object)
    return pd.Series(labels[codes], index=frame.index)


def _volume(valuations: pd.DataFrame, months: pd.Series) -> pd.DataFrame:
    frame = valuations.assign(month=months)
    for column in ("city", "model_version", "tier"):
        frame[column] = frame[column].fillna("(missing)")
    table = frame.groupby(["month", "city", "model_version", "tier"]).size()
    return table.rename("n").reset_index()


def _served_records(
    store: ValuationStore, months: list[str], limit: int, reference: pd.DataFrame
) -> pd.DataFrame:
    parts = []
    for month in months:
        start = pd.Timestamp(f"{month}-01")
        rows = store.records_frame(start, start + pd.DateOffset(months=1), limit=limit)
        frame = records_frame(rows["record"].tolist(), reference)
        frame.index = rows.index
        frame["city"] = rows["city"].to_numpy()
        frame["_month"] = month
        parts.append(frame)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _outside_table(envelope: TrainingEnvelope, served: pd.DataFrame) -> pd.DataFrame:
    flags = envelope.outside(served)
    flags["month"] = served["_month"].to_numpy()
    flags["city"] = served["city"].fillna("(missing)").to_numpy()
    grouped = flags.groupby(["month", "city"])
    table = grouped[["outside", "unknown_city", "outside_area", "outside_range"]].mean()
    table.columns = [
        "share_outside",
        "share_unknown_city",
        "share_outside_area",
        "share_outside_range",
    ]
    table.insert(0, "n", grouped.size())
    return table.reset_index()


def build_report(
    store: ValuationStore,
    config: MonitorConfig | None = None,
    *,
    since: Any = None,
    until: Any = None,
    inputs: MonitorInputs | None = None,
) -> MonitorReport:
    """The monitoring report over ``[since, until)`` (see the module docstring).

    Raises
    ------
    DataError
        If no valuation was served in the period.
    """
    config = config or MonitorConfig()
    inputs = inputs or MonitorInputs()
    rules = config.alerts
    started = time.perf_counter()
    valuations = store.valuations_frame(since, until)
    if valuations.empty:
        raise DataError(
            [f"no valuation served between {since or 'the start'} and {until or 'now'}"],
            header="nothing to monitor",
        )
    outcomes = store.outcomes_frame()
    if until is not None:
        outcomes = outcomes.loc[outcomes["date"] < pd.Timestamp(until)]
    pairs, n_unmatched = match_outcomes(valuations, outcomes, config.match_days)
    served_month = _months(valuations)
    months = sorted(served_month.unique())
    latest = months[-1]
    notes: list[str] = []
    accuracy = accuracy_over_time(
        pairs,
        min_group_size=config.min_group_size,
        n_boot=config.n_boot,
        confidence=config.confidence,
    )
    trends = error_trends(
        pairs.loc[pairs["kind"].isin(["sale", "appraisal"])],
        min_group_size=config.min_group_size,
        confidence=config.trend_confidence,
    )
    if pairs.empty:
        notes.append("no outcome could be paired with a served valuation: no accuracy yet")
    appraiser_model = appraiser_vs_model(pairs, config.min_group_size)
    appraiser_sale = appraiser_vs_sale(pairs, config.min_group_size)

    drift = pd.DataFrame(
        columns=["column", "missing_reference", "missing_current", "psi", "missing_change"]
    )
    outside = pd.DataFrame(columns=["month", "city", "n", "share_outside"])
    if inputs.reference is not None:
        served = _served_records(store, months, config.max_drift_rows, inputs.reference)
        window = months[-config.window_months :]
        recent = served.loc[served["_month"].isin(window)].drop(columns=["_month"])
        drift = feature_drift(inputs.reference, recent)
        outside = _outside_table(TrainingEnvelope().fit(inputs.reference), served)
    else:
        notes.append("no training rows given (--reference): no feature drift, no envelope")

    market = pd.DataFrame(columns=["city", "month", "n", "observed", "model", "gap"])
    if inputs.model_index is not None:
        sold = pairs.loc[pairs["kind"].isin(["sale", "appraisal"])]
        if len(sold):
            market = index_gap(
                _with_records(store, sold), inputs.model_index, min_rows=config.min_group_size
            )
        if market.empty:
            notes.append(
                f"market drift: no city had {config.min_group_size} paired appraisals or "
                "sales to re-fit the price index on"
            )
    elif inputs.model_name is not None:
        notes.append(f"the model {inputs.model_name} has no price index: no market drift")
    else:
        notes.append("no model given (--model): no market drift")

    stale = pd.DataFrame(
        columns=["city", "age_months", "retrain_every_months", "expected_pe10_loss", "stale"]
    )
    if inputs.rolling_advice is not None and inputs.trained_until is not None:
        cities = sorted(valuations["city"].dropna().unique())
        stale = staleness(
            inputs.rolling_advice, inputs.trained_until, valuations["served_at"].max(), cities
        )
    else:
        notes.append("staleness needs a rolling backtest (--rolling) and a model (--model)")

    alerts = evaluate_alerts(
        month=latest,
        accuracy=accuracy,
        trends=trends,
        market=market,
        drift=drift,
        outside=outside,
        stale=stale,
        rules=rules,
        min_group_size=config.min_group_size,
    )
    advice = retraining_advice(
        alerts,
        accuracy,
        market,
        latest,
        inputs.training_months,
        max_bias=rules.max_bias,
        max_index_gap=rules.max_index_gap,
        trends=trends,
    )
    kinds = outcomes["kind"].value_counts()
    summary = {
        "since": f"{valuations['served_at'].min():%Y-%m-%d %H:%M}",
        "until": f"{valuations['served_at'].max():%Y-%m-%d %H:%M}",
        "latest_month": latest,
        "months": months,
        "n_valuations": len(valuations),
        "n_outcomes": {k: int(kinds.get(k, 0)) for k in ("appraisal", "sale", "asking")},
        "n_paired": len(pairs),
        "n_unpaired_outcomes": n_unmatched,
        "model_versions": sorted(valuations["model_version"].dropna().unique().tolist()),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return MonitorReport(
        summary,
        _volume(valuations, served_month),
        accuracy,
        trends,
        appraiser_model,
        appraiser_sale,
        drift,
        outside,
        market,
        stale,
        alerts,
        advice,
        exit_code(alerts, rules.fail_on),
        notes,
    )


def _with_records(store: ValuationStore, pairs: pd.DataFrame) -> pd.DataFrame:
    """Outcome prices with the served property's area and coordinates (hedonic controls)."""
    records = store.records_for(pairs["request_id"].tolist())

    def pick(name: str) -> pd.Series:
        values = [records.get(r, {}).get(name) for r in pairs["request_id"]]
        return pd.to_numeric(pd.Series(values, index=pairs.index), errors="coerce")

    return pd.DataFrame(
        {
            "id": pairs["property_id"].fillna(pairs["request_id"]),
            "city": pairs["city"],
            "date": pairs["date"],
            "price": pairs["actual"],
            "area_m2": pick("area_m2"),
            "lat": pick("lat"),
            "lon": pick("lon"),
        }
    )


def write_report(report: MonitorReport, out_dir: str | Path) -> dict[str, Path]:
    """Write ``monitor.json``, ``alerts.json`` and ``dashboard.html`` into ``out_dir``."""
    from estimo.monitor.dashboard import render_dashboard

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "monitor.json",
        "alerts": out / "alerts.json",
        "html": out / "dashboard.html",
    }
    data = report.to_dict()
    write_json(paths["json"], data)
    write_json(
        paths["alerts"],
        {
            "exit_code": report.exit_code,
            "alerts": data["alerts"],
            "advice": data["advice"],
            "summary": data["summary"],
        },
    )
    paths["html"].write_text(render_dashboard(data), encoding="utf-8")
    return paths
