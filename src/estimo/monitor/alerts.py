"""Alert rules over a monitoring report, and the exit code they give.

Rules (thresholds under ``monitor.alerts`` in ``estimo.yaml``), judged on the newest month
only, and only in groups that pass the minimum-group rule:

* ``drift`` (per city): the valuation error has been trending month after month
  (:mod:`~estimo.monitor.trend`): the accumulated drift exceeds ``max_drift`` and, at the
  end of the slope's interval nearer 0, still exceeds half of it (critical beyond twice);
* ``bias`` (per city and outcome kind, appraisals and sales; never asking prices, which
  sit above sale prices by design): the median ratio valuation / outcome lies, with its
  whole confidence interval, further than ``max_bias`` from 1 (critical beyond twice);
* ``pe10`` (per city and kind, as ``bias``): the PE10 interval lies entirely below ``min_pe10``;
* ``market`` (per city, its newest month with enough outcomes): the price index re-fitted on
  outcomes moved ``max_index_gap`` more (or less) than the model's since the first month of
  outcomes (critical beyond twice);
* ``feature_drift`` (per feature): PSI above ``max_psi``, or a missing rate changed by more
  than ``max_missing_change``;
* ``outside`` (per city): more than ``max_outside_share`` of the requests were outside the
  training cities, area or ranges;
* ``stale`` (per city): the model is older than the rolling backtest's retraining period.

Examples
--------
>>> a = Alert("bias", "critical", "Roma", "2024-05", "valuations 8% below sales", -0.08, 0.03)
>>> exit_code([a], fail_on="critical"), exit_code([], fail_on="warning")
(1, 0)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from estimo.config import MonitorAlerts

__all__ = ["SEVERITIES", "Alert", "evaluate_alerts", "exit_code"]

#: The outcomes bias and PE10 are judged against: what a home was worth or sold for. An
#: asking price sits above the sale price by design (the seller's markup), so a model right
#: against appraisals and sales would read as biased against it.
JUDGED_KINDS: tuple[str, ...] = ("appraisal", "sale")

#: Severities, mildest first.
SEVERITIES: tuple[str, ...] = ("warning", "critical")


@dataclass(frozen=True)
class Alert:
    """One raised alert."""

    rule: str
    severity: str
    subject: str | None
    month: str | None
    message: str
    value: float | None
    threshold: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = asdict(self)
        for key in ("value", "threshold"):
            if isinstance(out[key], float) and not math.isfinite(out[key]):
                out[key] = None
        return out


def exit_code(alerts: list[Alert], fail_on: str = "warning") -> int:
    """1 when an alert is at least ``fail_on`` severe, else 0."""
    floor = SEVERITIES.index(fail_on)
    return int(any(SEVERITIES.index(a.severity) >= floor for a in alerts))


def _bias_alerts(accuracy: pd.DataFrame, month: str, rules: MonitorAlerts) -> list[Alert]:
    rows = accuracy.loc[
        (accuracy["dimension"] == "city")
        & (accuracy["month"] == month)
        & ~accuracy["too_small"]
        & accuracy["kind"].isin(JUDGED_KINDS)
    ]
    out = []
    for r in rows.itertuples():
        low, high, ratio = r.median_ratio_low, r.median_ratio_high, r.median_ratio
        if not (math.isfinite(low) and math.isfinite(high)):
            continue
        if low > 1 + rules.max_bias or high < 1 - rules.max_bias:
            gap = min(abs(low - 1), abs(high - 1))
            severity = "critical" if gap > 2 * rules.max_bias else "warning"
            side = "above" if low > 1 else "below"
            out.append(
                Alert(
                    "bias",
                    severity,
                    r.group,
                    month,
                    f"{r.group}: valuations {abs(ratio - 1):.1%} {side} {r.kind}s in {month} "
                    f"(median ratio {ratio:.3f}, interval {low:.3f}-{high:.3f}, n={r.n})",
                    float(ratio - 1),
                    rules.max_bias,
                )
            )
        if math.isfinite(r.pe10_high) and r.pe10_high < rules.min_pe10:
            out.append(
                Alert(
                    "pe10",
                    "warning",
                    r.group,
                    month,
                    f"{r.group}: only {r.pe10:.0%} of valuations within 10% of "
                    f"{r.kind}s in {month} "
                    f"(interval up to {r.pe10_high:.0%}, threshold {rules.min_pe10:.0%})",
                    float(r.pe10),
                    rules.min_pe10,
                )
            )
    return out


def _drift_alerts(trends: pd.DataFrame, month: str, rules: MonitorAlerts) -> list[Alert]:
    out = []
    for r in trends.itertuples():
        near = min(abs(r.slope_low), abs(r.slope_high)) * r.served_months  # interval's near end
        trending = r.slope_low > 0 or r.slope_high < 0
        if r.latest_month != month or not trending:
            continue
        if abs(r.drift) <= rules.max_drift or near <= rules.max_drift / 2:
            continue
        severity = "critical" if abs(r.drift) > 2 * rules.max_drift else "warning"
        side = "under-values" if r.drift > 0 else "over-values"
        out.append(
            Alert(
                "drift",
                severity,
                r.city,
                month,
                f"{r.city}: prices are moving away from the model by {r.slope:+.1%} a month "
                f"(interval {r.slope_low:+.1%} to {r.slope_high:+.1%}); it now {side} by about "
                f"{abs(r.drift):.1%} more than when it started serving ({r.first_month})",
                float(r.drift),
                rules.max_drift,
            )
        )
    return out


def _market_alerts(market: pd.DataFrame, rules: MonitorAlerts, min_group_size: int) -> list[Alert]:
    """Per city, its newest month with at least ``min_group_size`` outcomes: outcomes are
    dated after their valuations, so the newest month of all is often partly filled (and a
    rule read there alone never fired)."""
    enough = market.loc[market["n"] >= min_group_size].sort_values(["city", "month"])
    out = []
    for r in enough.groupby("city", sort=True).tail(1).itertuples():
        if abs(r.gap) <= rules.max_index_gap:
            continue
        out.append(
            Alert(
                "market",
                "critical" if abs(r.gap) > 2 * rules.max_index_gap else "warning",
                r.city,
                r.month,
                f"{r.city}: prices moved {r.observed:+.1%} from the first month of outcomes "
                f"to {r.month}, the model assumes {r.model:+.1%}",
                float(r.gap),
                rules.max_index_gap,
            )
        )
    return out


def evaluate_alerts(
    *,
    month: str | None,
    accuracy: pd.DataFrame,
    trends: pd.DataFrame,
    market: pd.DataFrame,
    drift: pd.DataFrame,
    outside: pd.DataFrame,
    stale: pd.DataFrame,
    rules: MonitorAlerts,
    min_group_size: int = 30,
) -> list[Alert]:
    """Every alert the rules raise on the newest ``month`` (see the module docstring)."""
    if month is None:
        return []
    alerts = _drift_alerts(trends, month, rules)
    alerts += _bias_alerts(accuracy, month, rules) if len(accuracy) else []
    alerts += _market_alerts(market, rules, min_group_size) if len(market) else []
    for r in drift.itertuples():
        if math.isfinite(r.psi) and r.psi > rules.max_psi:
            alerts.append(
                Alert(
                    "feature_drift",
                    "warning",
                    r.column,
                    month,
                    f"{r.column!r} is distributed differently from the training data "
                    f"(PSI {r.psi:.2f})",
                    float(r.psi),
                    rules.max_psi,
                )
            )
        if math.isfinite(r.missing_change) and abs(r.missing_change) > rules.max_missing_change:
            alerts.append(
                Alert(
                    "feature_drift",
                    "warning",
                    r.column,
                    month,
                    f"missing rate of {r.column!r} went from {r.missing_reference:.1%} to "
                    f"{r.missing_current:.1%}",
                    float(r.missing_change),
                    rules.max_missing_change,
                )
            )
    if len(outside):
        latest = outside.loc[(outside["month"] == month) & (outside["n"] >= min_group_size)]
        for r in latest.itertuples():
            if r.share_outside > rules.max_outside_share:
                alerts.append(
                    Alert(
                        "outside",
                        "warning",
                        r.city,
                        month,
                        f"{r.city}: {r.share_outside:.0%} of {r.n} requests outside the training "
                        "cities, area or ranges",
                        float(r.share_outside),
                        rules.max_outside_share,
                    )
                )
    if rules.stale and len(stale):
        for r in stale.loc[stale["stale"].astype(bool)].itertuples():
            longest = getattr(r, "measured_up_to_months", None)
            why = (
                f"older than any age the rolling backtest measured ({int(longest)} months): "
                "retrain, or measure longer (--origins, --horizon)"
                if longest is not None and longest == longest and r.age_months > longest
                else "the rolling backtest advises retraining every "
                f"{r.retrain_every_months} months"
            )
            alerts.append(
                Alert(
                    "stale",
                    "warning",
                    r.city,
                    month,
                    f"{r.city}: the model is {r.age_months} months old; {why}",
                    float(r.age_months),
                    float(r.retrain_every_months),
                )
            )
    return alerts
