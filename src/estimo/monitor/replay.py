"""A monitoring replay on the synthetic market: one city drifts away from the model.

:func:`run_replay` generates a market (:func:`estimo.synth.generate_market`) and holds every
city's price level after the training window at its last training month
(:func:`hold_prices`: no city drifts away from a model whose index is flat past its data),
except one, whose prices rise ``extra_drift`` a month (:func:`drift_city_prices`). It trains
a small engine on the first ``train_months`` months (audited, cleaned and calibrated as
``estimo train`` does), then serves every later listing month by month into a monitoring
store, with outcomes: each sale, and an appraisal (by one of six appraisers, one of them
generous) for ``appraisal_share`` of the other listings. At the end of every served month
it runs the monitoring report, as a cron job would, and records which cities the ``drift``
rule flagged, and which the naive rule of a spreadsheet would flag (the newest month's
median ratio more than ``max_drift`` from 1).

``benchmarks/monitor.py`` runs it over ten seeds; :func:`demo_replay` is the short version
``estimo demo`` ends with.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimo.config import MonitorConfig, QualityConfig
from estimo.monitor.report import MonitorInputs, MonitorReport, build_report, write_report
from estimo.monitor.store import ValuationStore

log = logging.getLogger(__name__)

__all__ = ["REPLAY_MODEL", "ReplayResult", "demo_replay", "drift_city_prices", "run_replay"]

#: Engine settings of the replay: small, and an index held flat past the training data.
REPLAY_MODEL: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.1,
    "min_city_rows": 800,
    "comps": False,
    "index_damping": 0.0,
    "n_jobs": 2,
}
_APPRAISER_BIAS = {"A1": 0.0, "A2": 0.0, "A3": 0.02, "A4": -0.02, "A5": 0.0, "A6": 0.06}
_RECORD_COLUMNS = (
    "id",
    "city",
    "neighbourhood",
    "country",
    "lat",
    "lon",
    "area_m2",
    "rooms",
    "bathrooms",
    "floor",
    "year_built",
    "property_type",
    "condition",
    "has_elevator",
    "floors_in_building",
    "has_terrace",
)


@dataclass
class ReplayResult:
    """What a replay did and found.

    Attributes
    ----------
    monthly : DataFrame
        One row per served month: ``month`` (``YYYY-MM``), ``month_number`` (1 = the
        market's first month), ``drift`` (the drifting city's extra price rise so far),
        ``flagged`` (cities flagged that month, comma-separated), ``n_valuations``,
        ``n_outcomes``.
    drift_city : str
    reaches_3pct : int
        Month number at which the extra drift first reaches 3 %.
    first_flag : int or None
        First month number the drifting city was flagged.
    false_flags : list of (int, str)
        (month number, city) of every flag on a city that does not drift.
    report : MonitorReport
        The last month's report.
    store_url : str
    files : dict
        Paths of the written report, if any.
    naive_first_flag, naive_false_flags :
        The same for the naive rule (the newest month's median ratio against appraisals
        more than ``max_drift`` from 1, in cities with enough outcomes).
    """

    monthly: pd.DataFrame
    drift_city: str
    reaches_3pct: int
    first_flag: int | None
    false_flags: list[tuple[int, str]]
    report: MonitorReport
    store_url: str
    files: dict[str, Path] = field(default_factory=dict)
    naive_first_flag: int | None = None
    naive_false_flags: list[tuple[int, str]] = field(default_factory=list)

    @property
    def detected_in_time(self) -> bool:
        """Flagged within 2 months of the drift reaching 3 %."""
        return self.first_flag is not None and self.first_flag <= self.reaches_3pct + 2

    def lines(self) -> list[str]:
        """A short text account, for the command line."""
        first = "never" if self.first_flag is None else f"month {self.first_flag}"
        return [
            f"served {int(self.monthly['n_valuations'].iloc[-1]):,} valuations and recorded "
            f"{int(self.monthly['n_outcomes'].iloc[-1]):,} appraisals and sales over "
            f"{len(self.monthly)} months",
            f"{self.drift_city}'s prices drift 1 %/month faster from month "
            f"{self.monthly['month_number'].iloc[0]}; the drift reaches 3 % in month "
            f"{self.reaches_3pct}; first flagged: {first}",
            f"cities flagged without drifting: {len(self.false_flags)}",
            f"retraining advice: {self.report.advice['text']}",
        ]


def hold_prices(
    frame: pd.DataFrame, truth: pd.DataFrame, index: pd.DataFrame, after: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prices of every city after month ``after`` held at that month's index level.

    The generator's own drift, seasonality and index noise stop after ``after``; property
    and sale noise stay. A model whose index is flat past its training data is then right
    about every city's price level, and any drift it is flagged for is injected.
    """
    level = index.assign(month=pd.to_datetime(index["month"])).set_index(["city", "month"])
    level = level["index"]
    month = frame["date"].dt.to_period("M").dt.to_timestamp()
    held = month.where(month <= after, after)
    now = level.reindex(pd.MultiIndex.from_arrays([frame["city"], month])).to_numpy()
    then = level.reindex(pd.MultiIndex.from_arrays([frame["city"], held])).to_numpy()
    factor = np.where(np.isfinite(now) & np.isfinite(then), then / now, 1.0)
    frame = frame.assign(price=frame["price"].to_numpy() * factor)
    truth = truth.copy()
    for column in ("true_value", "true_sale_price", "true_asking_price"):
        if column in truth:
            truth[column] = truth[column].to_numpy() * factor
    return frame, truth


def drift_city_prices(
    frame: pd.DataFrame, truth: pd.DataFrame, city: str, monthly: float, after: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prices of ``city`` rise ``monthly`` faster every month after ``after`` (compounded).

    Examples
    --------
    >>> f = pd.DataFrame({"city": ["Roma", "Roma", "Bari"], "price": [100.0] * 3,
    ...                   "date": pd.to_datetime(["2023-01-10", "2023-03-05", "2023-03-05"])})
    >>> t = pd.DataFrame({"true_value": [100.0] * 3})
    >>> drift_city_prices(f, t, "Roma", 0.01, pd.Timestamp("2023-01-01"))[0]["price"].tolist()
    [100.0, 102.01, 100.0]
    """
    months = (frame["date"].dt.year - after.year) * 12 + (frame["date"].dt.month - after.month)
    steps = np.where(frame["city"].to_numpy() == city, np.maximum(months.to_numpy(), 0), 0)
    factor = (1.0 + monthly) ** steps
    frame = frame.assign(price=frame["price"].to_numpy() * factor)
    truth = truth.copy()
    for column in ("true_value", "true_sale_price", "true_asking_price"):
        if column in truth:
            truth[column] = truth[column].to_numpy() * factor
    return frame, truth


def _served(test: pd.DataFrame, table: pd.DataFrame, rng: np.random.Generator) -> list[dict]:
    seconds = rng.uniform(0, 86_400, len(test))
    rows = []
    records = test[[c for c in _RECORD_COLUMNS if c in test]].astype(object)
    records = records.where(records.notna(), None).to_dict("records")
    for i, (record, pred) in enumerate(zip(records, table.to_dict("records"), strict=True)):
        served_at = test["date"].iloc[i] + pd.Timedelta(seconds=float(seconds[i]))
        rows.append(
            {
                "request_id": f"req-{i:07d}",
                "served_at": served_at,
                "property": record,
                "answer": {
                    k: pred.get(k)
                    for k in ("predicted", "low", "high", "low_90", "high_90", "fsd", "sub_model")
                }
                | {"price": pred["predicted"]},
                "model_version": "v1",
                "tier": "pro" if i % 5 == 0 else "free",
            }
        )
    return rows


def _outcomes(
    test: pd.DataFrame,
    truth: pd.DataFrame,
    served: list[dict],
    appraisal_share: float,
    rng: np.random.Generator,
) -> list[dict]:
    out = []
    appraisers = list(_APPRAISER_BIAS)
    for i, row in enumerate(served):
        when = test["date"].iloc[i]
        if test["price_kind"].iloc[i] == "sale":
            out.append(
                {
                    "kind": "sale",
                    "property_id": row["property"]["id"],
                    "price": float(test["price"].iloc[i]),
                    "source": "notary",
                    "date": when + pd.Timedelta(days=float(rng.uniform(0, 10))),
                }
            )
        elif rng.random() < appraisal_share:
            who = appraisers[int(rng.integers(len(appraisers)))]
            value = truth["true_value"].iloc[i] * np.exp(rng.normal(_APPRAISER_BIAS[who], 0.05))
            out.append(
                {
                    "kind": "appraisal",
                    "request_id": row["request_id"],
                    "property_id": row["property"]["id"],
                    "price": float(value),
                    "appraiser_id": who,
                    "source": "bank",
                    "date": when + pd.Timedelta(days=float(rng.uniform(0, 5))),
                }
            )
    return out


def run_replay(
    *,
    n_properties: int = 24_000,
    seed: int = 0,
    drift_city: str = "Roma",
    extra_drift: float = 0.01,
    train_months: int = 12,
    months: int = 24,
    appraisal_share: float = 0.7,
    store_url: str | None = None,
    config: MonitorConfig | None = None,
    model_params: dict[str, Any] | None = None,
    out_dir: str | Path | None = None,
) -> ReplayResult:
    """Replay ``months - train_months`` months of serving and monitoring (module docstring).

    Parameters
    ----------
    n_properties, seed : int
        Size and seed of the synthetic market.
    drift_city : str
        The city whose prices drift.
    extra_drift : float
        Its extra price rise per month after the training window.
    train_months, months : int
        Training window and market length, in months.
    appraisal_share : float
        Share of served listings that get an appraisal.
    store_url : str, optional
        The monitoring store (default: a new SQLite file in a temporary folder).
    config : MonitorConfig, optional
        Report settings and alert rules.
    model_params : dict, optional
        Engine settings (default :data:`REPLAY_MODEL`).
    out_dir : path, optional
        Write the last report (``monitor.json``, ``alerts.json``, ``dashboard.html``) here.
    """
    from estimo.model.avm import AVM
    from estimo.quality.prepare import prepare_training_data
    from estimo.synth import generate_market

    config = config or MonitorConfig(n_boot=200)
    market = generate_market(n_properties, seed=seed, months=months, faults=False)
    boundary = market.start + pd.DateOffset(months=train_months)
    after = boundary - pd.DateOffset(months=1)  # month train_months is the last undrifted one
    frame, truth = hold_prices(market.frame, market.truth, market.index, after)
    frame, truth = drift_city_prices(frame, truth, drift_city, extra_drift, after)
    train_mask = frame["date"] < boundary
    prepared = prepare_training_data(frame.loc[train_mask].reset_index(drop=True), QualityConfig())
    model = AVM(**(model_params or REPLAY_MODEL), seed=seed)
    model.fit(prepared.frame, **prepared.fit_arguments(model.fit))
    test = frame.loc[~train_mask].reset_index(drop=True)
    test_truth = truth.loc[~train_mask].reset_index(drop=True)
    served_features = (
        prepared.policy.transform(test, mode="predict").frame if prepared.policy else test
    )
    table = model.predict_table(served_features)
    rng = np.random.default_rng(seed)
    served = _served(test, table, rng)
    outcomes = _outcomes(test, test_truth, served, appraisal_share, rng)

    if store_url is None:
        store_url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='estimo-replay-')) / 'monitor.db'}"
    store = ValuationStore.from_url(store_url, table_prefix=config.table_prefix)
    inputs = MonitorInputs(
        reference=prepared.frame,
        model_index=model.stage_.index,
        trained_until=pd.Timestamp(model.trained_until_),
        training_months=train_months,
    )
    month_of = test["date"].dt.to_period("M")
    outcome_month = pd.Series([pd.Timestamp(o["date"]).to_period("M") for o in outcomes])
    rows, false_flags, first_flag, report = [], [], None, None
    naive_false: list[tuple[int, str]] = []
    naive_first: int | None = None
    n_out = 0
    for k, period in enumerate(sorted(month_of.unique())):
        number = train_months + k + 1
        store.record_valuations([served[i] for i in np.flatnonzero(month_of == period)])
        new = [outcomes[i] for i in np.flatnonzero(outcome_month == period)]
        if new:
            store.record_outcomes(new, recorded_at=dt.datetime(2000, 1, 1))
        n_out += len(new)
        until = period.to_timestamp() + pd.DateOffset(months=1)
        report = build_report(store, config, until=until, inputs=inputs)
        flagged = report.flagged()
        if drift_city in flagged and first_flag is None:
            first_flag = number
        false_flags += [(number, c) for c in sorted(flagged) if c != drift_city]
        naive = _naive_flags(report, str(period), config)
        if drift_city in naive and naive_first is None:
            naive_first = number
        naive_false += [(number, c) for c in sorted(naive) if c != drift_city]
        rows.append(
            {
                "month": str(period),
                "month_number": number,
                "drift": (1 + extra_drift) ** (number - train_months) - 1,
                "flagged": ", ".join(sorted(flagged)),
                "n_valuations": store.count_valuations(),
                "n_outcomes": n_out,
            }
        )
        log.info("replay %s: flagged %s", period, sorted(flagged))
    assert report is not None
    reaches = train_months + int(np.ceil(np.log(1.03) / np.log(1 + extra_drift) - 1e-9))
    files = write_report(report, out_dir) if out_dir is not None else {}
    store.dispose()
    return ReplayResult(
        pd.DataFrame(rows),
        drift_city,
        reaches,
        first_flag,
        false_flags,
        report,
        store_url,
        files,
        naive_first,
        naive_false,
    )


def _naive_flags(report: MonitorReport, month: str, config: MonitorConfig) -> set[str]:
    acc = report.accuracy
    rows = acc.loc[
        (acc["dimension"] == "city")
        & (acc["kind"] == "appraisal")
        & (acc["month"] == month)
        & ~acc["too_small"].astype(bool)
    ]
    off = (rows["median_ratio"] - 1).abs() > config.alerts.max_drift
    return set(rows.loc[off, "group"])


def demo_replay(out_dir: str | Path, *, seed: int = 0, n_properties: int = 12_000) -> ReplayResult:
    """The monitoring replay ``estimo demo`` ends with; writes the dashboard into ``out_dir``.

    Print :meth:`ReplayResult.lines` and point at ``result.files["html"]``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "monitor.db"
    if db.exists():
        db.unlink()
    return run_replay(
        n_properties=n_properties,
        seed=seed,
        store_url=f"sqlite:///{db}",
        out_dir=out,
        config=MonitorConfig(n_boot=200),
    )
