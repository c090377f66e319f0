"""The promotion gate: promote a candidate only if configured rules pass, and record why.

:func:`promote` compares the candidate with the model currently holding the alias
(``champion`` by default) fairly, on the newest labelled rows dated after both training
windows with both models scored on exactly the same rows (:mod:`estimo.promote.comparison`),
checks the data-quality summary in the candidate's manifest, and applies the rules of
:class:`estimo.config.GateConfig`:

=====================  ==================================================================
check                  passes when (defaults)
=====================  ==================================================================
``pe10_overall``       candidate PE10 - champion PE10 >= -1 point
``pe10_by_city``       no city (with >= 30 rows) clearly loses more than 3 points of PE10
                       (its drop, and its whole CI widened for judging every city at
                       once (Bonferroni), below zero)
``cod``                candidate COD within the IAAO range 5-15 %, measured robustly:
                       valuation ratios outside 1.5 IQR of the quartiles are trimmed
                       first (IAAO practice; ``ratio_trim``), and the trim is reported
``interval_coverage``  coverage of the candidate's ranges within 5 points of nominal, on
                       the rows the ratio trim keeps (skipped without ranges)
``data_quality``       no finding kind on more than its limit of the training rows
                       (``quality_limits``: e.g. 2 % for prices about x10, 2 % for
                       coordinates at (0, 0), 4 % for exact duplicates; other
                       critical/error findings 3 %); the findings above their limit
                       are named
=====================  ==================================================================

The scored rows follow the one evaluation protocol (:mod:`estimo.evaluate.protocol`):
after both training windows, properties neither model saw, first appearance, scored
against ``price_target``; ``estimo compare`` scores the same rows for the same pair.

``live_outcomes``     (with a monitoring store: ``promote(..., live_store=...)``, ``estimo
                       promote --live`` or ``gate.live_outcomes``) both models value again
                       the properties served since ``live_since`` that have an appraisal
                       or a sale (:func:`estimo.monitor.gate.live_comparison`); fails when
                       the candidate is clearly worse there (``live_must_not_lose``),
                       skipped below ``live_min_rows`` outcomes; recorded as ``live``

With no current champion the comparison checks are skipped and the others decide. Every
decision, promoted or rejected, is written as JSON and Markdown under the registry's
``decisions/`` folder; ``force=True`` with a reason promotes a rejected candidate and says
so in the record.

Examples
--------
>>> from estimo.config import GateConfig
>>> check = check_quality({"findings": [{"rule": "consistency.price_scale",
...     "severity": "error", "count": 150, "share": 0.05}]}, GateConfig())
>>> check.status, "x10" in check.message
('fail', True)
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from statistics import NormalDist
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from estimo.config import GateConfig
from estimo.evaluate.metrics import compute_metrics
from estimo.evaluate.protocol import (
    ScoringRows,
    new_property_rows,
    saved_calibrator,
    score_model,
    training_rows,
)
from estimo.evaluate.ratio_trim import TRIM_RULES, with_robust_cod
from estimo.jsonutil import to_jsonable
from estimo.promote.comparison import GateComparison, GateError, compare_for_gate
from estimo.registry import LoadedVersion, Registry
from estimo.registry.manifest import current_user, utc_now

log = logging.getLogger(__name__)

__all__ = [
    "CheckResult",
    "Decision",
    "GateError",
    "check_live",
    "check_quality",
    "evaluate_gate",
    "promote",
]

Status = Literal["pass", "fail", "skip"]


class CheckResult(BaseModel):
    """Outcome of one rule, with the numbers behind it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    status: Status
    message: str
    value: float | None = None
    limit: float | None = None
    details: list[dict[str, Any]] = Field(default_factory=list)


class Decision(BaseModel):
    """A gate decision record (written as JSON and Markdown)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    created_at: datetime
    by: str
    alias: str
    candidate: str
    champion: str | None
    outcome: Literal["promoted", "rejected", "forced"]
    passed: bool
    forced: bool = False
    reason: str = ""
    failed: list[str] = Field(default_factory=list)
    checks: list[CheckResult]
    rules: dict[str, Any]
    data: dict[str, Any] = Field(default_factory=dict)
    comparison: dict[str, Any] | None = None
    live: dict[str, Any] | None = None
    candidate_metrics: dict[str, Any] = Field(default_factory=dict)
    quality: dict[str, Any] | None = None
    record_json: str | None = None
    record_markdown: str | None = None

    @property
    def promoted(self) -> bool:
        """Whether the alias now points at the candidate."""
        return self.outcome in ("promoted", "forced")


# --------------------------------------------------------------------------- checks


def _pts(value: float) -> str:
    return f"{100 * value:+.1f} points"


def _num(value: float) -> str:
    return f"{100 * value:+.1f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def check_pe10_overall(comparison: GateComparison | None, rules: GateConfig) -> CheckResult:
    """Overall PE10 of the candidate is at most ``max_pe10_drop`` below the champion's."""
    if comparison is None:
        return CheckResult(name="pe10_overall", status="skip", message="no champion to compare")
    pe10 = comparison.overall["pe10"]
    ok = pe10["diff"] >= -rules.max_pe10_drop
    return CheckResult(
        name="pe10_overall",
        status="pass" if ok else "fail",
        value=pe10["diff"],
        limit=-rules.max_pe10_drop,
        message=(
            f"PE10 {_pct(pe10['candidate'])} vs champion {_pct(pe10['champion'])}: "
            f"{_pts(pe10['diff'])} ({100 * comparison.confidence:.0f} % CI "
            f"{_num(pe10['ci_low'])} to {_num(pe10['ci_high'])}) on {comparison.n_rows} rows; "
            f"allowed drop {100 * rules.max_pe10_drop:.1f} points"
        ),
    )


def check_pe10_by_city(comparison: GateComparison | None, rules: GateConfig) -> CheckResult:
    """No city with enough rows loses more than ``max_city_pe10_drop`` of PE10.

    With ``city_drop_must_be_clear`` (default) a city fails only when its loss is clear: the
    upper end of its confidence interval of the difference is below zero too, the interval
    widened for judging every city at once (Bonferroni: with k cities each interval has
    level ``1 - (1 - confidence) / k``, from the bootstrap interval under a normal
    approximation), so that one city in six dipping by chance does not block a better model.
    """
    if comparison is None:
        return CheckResult(name="pe10_by_city", status="skip", message="no champion to compare")
    judged = [c for c in comparison.by_city if not c["too_small"]]
    widen = _bonferroni_widening(comparison.confidence, len(judged))
    for city in judged:
        city["pe10_ci_high_joint"] = city["pe10_diff"] + widen * (
            city["pe10_ci_high"] - city["pe10_diff"]
        )
    worse = [
        c
        for c in judged
        if c["pe10_diff"] < -rules.max_city_pe10_drop
        and (not rules.city_drop_must_be_clear or c["pe10_ci_high_joint"] < 0)
    ]
    too_small = [c["city"] for c in comparison.by_city if c["too_small"]]
    note = (
        f"; not judged (< {rules.min_city_rows} rows): {', '.join(too_small)}" if too_small else ""
    )
    if not judged:
        return CheckResult(
            name="pe10_by_city",
            status="skip",
            message=f"no city has {rules.min_city_rows} comparison rows{note}",
        )
    worst = min(judged, key=lambda c: c["pe10_diff"])
    joint = f"upper end over {len(judged)} cities" if rules.city_drop_must_be_clear else ""
    if worse:
        listed = ", ".join(
            f"{c['city']} {_pts(c['pe10_diff'])} (CI {_num(c['pe10_ci_low'])} to "
            f"{_num(c['pe10_ci_high'])}"
            + (f", {joint} {_num(c['pe10_ci_high_joint'])}" if joint else "")
            + f", n={c['n']})"
            for c in sorted(worse, key=lambda c: c["pe10_diff"])
        )
        message = f"PE10 worse by more than {100 * rules.max_city_pe10_drop:.1f} points in {listed}"
    else:
        clear = " (or not clearly)" if rules.city_drop_must_be_clear else ""
        message = (
            f"every judged city within {100 * rules.max_city_pe10_drop:.1f} points{clear}; "
            f"worst {worst['city']} {_pts(worst['pe10_diff'])} (CI {_num(worst['pe10_ci_low'])} "
            f"to {_num(worst['pe10_ci_high'])}"
            + (f", {joint} {_num(worst['pe10_ci_high_joint'])}" if joint else "")
            + ")"
        )
    return CheckResult(
        name="pe10_by_city",
        status="fail" if worse else "pass",
        value=worst["pe10_diff"],
        limit=-rules.max_city_pe10_drop,
        message=message + note,
        details=to_jsonable(comparison.by_city),
    )


def _bonferroni_widening(confidence: float, k: int) -> float:
    """Factor that widens a two-sided ``confidence`` interval to the Bonferroni level for
    ``k`` simultaneous intervals (normal approximation).

    Examples
    --------
    >>> round(_bonferroni_widening(0.95, 1), 3), round(_bonferroni_widening(0.95, 6), 3)
    (1.0, 1.346)
    """
    if k <= 1:
        return 1.0
    normal = NormalDist()
    one = normal.inv_cdf(0.5 + confidence / 2)
    joint = normal.inv_cdf(1 - (1 - confidence) / (2 * k))
    return joint / one


def check_cod(metrics: dict[str, Any], rules: GateConfig, source: str) -> CheckResult:
    """The candidate's COD lies within ``cod_range`` (IAAO 5-15 % by default).

    The COD is measured robustly, as the IAAO recommends for ratio studies: valuation
    ratios outside the fences of ``ratio_trim`` are trimmed first (``cod_robust`` in
    ``metrics``, see :mod:`estimo.evaluate.ratio_trim`), so a few wrong prices among the
    newest rows do not sink a good model; the untrimmed COD is quoted beside it.
    """
    low, high = rules.cod_range
    raw = metrics.get("cod")
    cod = metrics.get("cod_robust", raw) if rules.ratio_trim != "none" else raw
    if cod is None or cod != cod:
        return CheckResult(name="cod", status="fail", message=f"no COD available ({source})")
    ok = low <= cod <= high
    how = ""
    if rules.ratio_trim != "none" and "cod_robust" in metrics:
        how = (
            f" ({metrics.get('cod_trim_rule', TRIM_RULES[rules.ratio_trim])}: "
            f"{metrics.get('cod_n_trimmed', 0)} rows; untrimmed {_pct(raw)})"
        )
    return CheckResult(
        name="cod",
        status="pass" if ok else "fail",
        value=float(cod),
        limit=high if cod > high else low,
        message=f"COD {_pct(cod)}{how} {source}; required {_pct(low)} to {_pct(high)}",
    )


def _wilson_interval(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of a share observed on ``n`` rows."""
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def check_coverage(metrics: dict[str, Any], rules: GateConfig, source: str) -> CheckResult:
    """Coverage of the candidate's ranges within ``max_coverage_gap`` of nominal, or not
    clearly outside it.

    Measured on the rows whose ratio lies in 0.5-2.0 (``coverage_robust``; all rows with
    ``ratio_trim: none``): a row whose price is wrong (typed x10) lies in no range; the
    coverage of all rows is quoted. With the number of rows (``n``) known, the check fails
    only when the coverage's 95 % interval lies wholly outside the allowed band: on 500 rows
    a coverage of 80 % is measured to about +-3.5 points, and a range is not blamed for that.

    Examples
    --------
    >>> rules = GateConfig()
    >>> check_coverage({"coverage": 0.87, "n": 300}, rules, "on test rows").status
    'pass'
    >>> check_coverage({"coverage": 0.87, "n": 20_000}, rules, "on test rows").status
    'fail'
    """
    raw = metrics.get("coverage")
    coverage = raw
    if rules.ratio_trim != "none" and metrics.get("coverage_robust") is not None:
        coverage = metrics["coverage_robust"]
    if coverage is None:
        return CheckResult(
            name="interval_coverage", status="skip", message="the model gives no price ranges"
        )
    gap = float(coverage) - rules.interval_level
    ok = abs(gap) <= rules.max_coverage_gap
    n = int(metrics.get("n") or 0)
    ci = ""
    if not ok and n > 0:
        low, high = _wilson_interval(float(coverage), n)
        band = (
            rules.interval_level - rules.max_coverage_gap,
            rules.interval_level + rules.max_coverage_gap,
        )
        ok = high >= band[0] and low <= band[1]
        ci = f", 95 % CI {_pct(low)} to {_pct(high)} on {n} rows" + (
            " (not clearly outside)" if ok else ""
        )
    how = f" (ratios outside 0.5-2 left out; all rows {_pct(raw)})" if coverage is not raw else ""
    return CheckResult(
        name="interval_coverage",
        status="pass" if ok else "fail",
        value=float(coverage),
        limit=rules.interval_level,
        message=(
            f"coverage {_pct(coverage)}{how} of nominal {_pct(rules.interval_level)} ranges "
            f"({_pts(gap)}{ci}) {source}; allowed gap {100 * rules.max_coverage_gap:.1f} points"
        ),
    )


FINDING_NAMES: dict[str, str] = {
    "consistency.price_scale": "prices about x10 or x0.1 of their group's (a zero too many "
    "or too few)",
    "consistency.price_outlier": "prices far from their group's (wrong prices)",
    "location.zero": "coordinates at (0, 0)",
    "location.swapped": "latitude and longitude swapped",
    "duplicates.exact": "exact duplicate rows",
    "completeness.missing_critical": "a critical column missing",
    "validity.range": "values outside their plausible range",
    "validity.area_per_room": "implausible area per room",
}
"""Plain names of the finding kinds the gate names when it blocks a candidate."""


def finding_limit(finding: dict[str, Any], rules: GateConfig) -> float | None:
    """The share of rows a finding may affect (None: it never blocks).

    Its kind's limit in ``quality_limits`` (``rule:column`` first, then ``rule``), else
    ``max_critical_share`` when its severity is in ``critical_severities``.

    Examples
    --------
    >>> from estimo.config import GateConfig
    >>> rules = GateConfig()
    >>> finding_limit({"rule": "location.zero", "severity": "error"}, rules)
    0.02
    >>> finding_limit({"rule": "x", "severity": "warning"}, rules) is None
    True
    """
    rule, column = finding.get("rule"), finding.get("column")
    for key in (f"{rule}:{column}", str(rule)):
        if key in rules.quality_limits:
            return float(rules.quality_limits[key])
    severities = {s.lower() for s in rules.critical_severities}
    if str(finding.get("severity", "")).lower() in severities:
        return float(rules.max_critical_share)
    return None


def check_quality(summary: dict[str, Any] | None, rules: GateConfig) -> CheckResult:
    """No finding in the manifest's quality summary affects more rows than its kind allows.

    A finding (``summary["findings"]``: dicts with ``rule``, ``column``, ``severity``,
    ``share``, ``message``) blocks the candidate when it is not marked ``resolved`` and
    its share of the training rows exceeds :func:`finding_limit` (a finding without a
    share counts as exceeding it). The limits are per kind because a listing source always
    has a few faults of each kind; many more of one kind means the source broke.
    """
    if not summary:
        status: Status = "fail" if rules.require_quality_report else "pass"
        return CheckResult(
            name="data_quality", status=status, message="no quality report in the manifest"
        )
    critical = []
    for finding in summary.get("findings") or []:
        limit = finding_limit(finding, rules)
        if limit is None or finding.get("resolved", False):
            continue
        share = finding.get("share")
        if share is None or float(share) > limit:
            critical.append({**finding, "limit": limit})
    if not critical:
        return CheckResult(
            name="data_quality",
            status="pass",
            value=0.0,
            message="no finding above its kind's limit (gate.quality_limits; others "
            f"{'/'.join(sorted(rules.critical_severities))} above "
            f"{_pct(rules.max_critical_share)} of rows)",
        )
    critical.sort(key=lambda f: -(f.get("share") or 1.0))
    listed = "; ".join(_finding_text(f) for f in critical[:8])
    return CheckResult(
        name="data_quality",
        status="fail",
        value=float(len(critical)),
        limit=0.0,
        message=f"{len(critical)} data-quality finding(s) above their limit: {listed}",
        details=to_jsonable(critical),
    )


def _finding_text(finding: dict[str, Any]) -> str:
    rule = str(finding.get("rule", "?"))
    name = FINDING_NAMES.get(rule) or finding.get("message") or rule
    share = finding.get("share")
    named = finding.get("column") and rule not in FINDING_NAMES
    where = f" in {finding['column']!r}" if named else ""
    amount = "share unknown" if share is None else f"{_pct(float(share))} of rows"
    return f"{name}{where} ({rule}): {amount}, limit {_pct(finding['limit'])}"


# --------------------------------------------------------------------------- the gate


def _trained_until(loaded: LoadedVersion) -> pd.Timestamp | None:
    until = loaded.manifest.trained_until
    if until is None and getattr(loaded.model, "trained_until_", None) is not None:
        until = pd.Timestamp(loaded.model.trained_until_)
    return until


def _training_rows(loaded: LoadedVersion, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The rows of ``frame`` in a version's training window (manifest first)."""
    window = loaded.manifest.training
    if window is not None and window.date_to is not None:
        start = pd.Timestamp(window.date_from) if window.date_from else frame["date"].min()
        rows = frame.loc[(frame["date"] >= start) & (frame["date"] <= pd.Timestamp(window.date_to))]
        return rows if len(rows) else None
    return training_rows(loaded.model, frame)


def gate_rows(
    candidate: LoadedVersion, champion: LoadedVersion | None, frame: pd.DataFrame
) -> tuple[ScoringRows, tuple[pd.DataFrame | None, pd.DataFrame | None], pd.Timestamp]:
    """The protocol's rows for the pair (:func:`estimo.evaluate.protocol.new_property_rows`):
    after both training windows, properties neither model saw, first appearance.

    Returns the rows, the training rows of (champion, candidate) and the first date scored.
    """
    ends = [d for d in (_trained_until(candidate), champion and _trained_until(champion)) if d]
    trains = (
        _training_rows(champion, frame) if champion is not None else None,
        _training_rows(candidate, frame),
    )
    seen: set[Any] = set()
    for train in trains:
        if train is not None:
            seen |= set(train["id"])
    after = max(ends) if ends else None
    rows = new_property_rows(frame, after=after, seen_ids=seen or None)
    since = after + pd.Timedelta(days=1) if after is not None else frame["date"].min()
    return rows, trains, since


def _absolute_metrics(
    candidate: LoadedVersion, rows: pd.DataFrame, rules: GateConfig
) -> tuple[dict[str, Any], str]:
    """Candidate metrics for the COD/coverage checks: on the newest rows, else its test set."""
    valued = score_model(candidate.model, rows, calibrator=saved_calibrator(candidate.model))
    scored = valued.predictions
    if len(scored) >= rules.min_rows:
        ranges = {"low": scored["low"], "high": scored["high"]} if "low" in scored else {}
        metrics = compute_metrics(scored["price_target"], scored["predicted"], **ranges)
        metrics = with_robust_cod(
            metrics, scored["price_target"], scored["predicted"], rules.ratio_trim, **ranges
        )
        return metrics, f"on {len(scored)} newest labelled rows ({valued.target})"
    test = candidate.manifest.test
    if test is not None and test.overall.get("n"):
        kind = getattr(test, "kind", "test")
        return dict(test.overall), f"on its registered {kind} set ({test.overall['n']} rows)"
    return {}, "(no labelled rows after its training window, and no test metrics registered)"


def check_live(live: dict[str, Any] | None, rules: GateConfig) -> CheckResult:
    """The candidate is not clearly worse than the champion on recent live outcomes.

    ``live`` is :func:`estimo.monitor.gate.live_comparison`'s result (None: no champion).

    Examples
    --------
    >>> live = {"n": 240, "verdict": "candidate worse", "differences": {"pe10": {
    ...     "candidate_minus_champion": -0.06, "low": -0.1, "high": -0.02}}}
    >>> check_live(live, GateConfig()).status
    'fail'
    >>> check_live({"n": 12, "verdict": "too few outcomes"}, GateConfig()).status
    'skip'
    """
    name = "live_outcomes"
    if live is None:
        return CheckResult(name=name, status="skip", message="no champion to compare")
    n = int(live.get("n", 0))
    if live.get("verdict") == "too few outcomes":
        return CheckResult(
            name=name,
            status="skip",
            message=f"only {n} live outcomes since {live.get('since') or 'the start'}; "
            f"a live verdict needs gate.live_min_rows={rules.live_min_rows}",
            value=float(n),
            limit=float(rules.live_min_rows),
        )
    pe10 = live["differences"]["pe10"]
    diff, low, high = pe10["candidate_minus_champion"], pe10["low"], pe10["high"]
    text = (
        f"PE10 candidate - champion {_pts(diff)} (CI {_num(low)} to {_num(high)}) on {n} live "
        f"outcomes since {live.get('since') or 'the start'}: {live['verdict']}"
    )
    failed = live["verdict"] == "candidate worse" and rules.live_must_not_lose
    return CheckResult(
        name=name, status="fail" if failed else "pass", message=text, value=diff, limit=0.0
    )


def evaluate_gate(
    candidate: LoadedVersion,
    champion: LoadedVersion | None,
    frame: pd.DataFrame,
    rules: GateConfig | None = None,
) -> tuple[list[CheckResult], GateComparison | None, dict[str, Any], dict[str, Any]]:
    """Run every check without changing anything.

    Returns
    -------
    checks, comparison, candidate_metrics, data
        The check results, the champion comparison (None without champion), the
        candidate's metrics used by the absolute checks, and a description of the rows.
    """
    rules = rules or GateConfig()
    chosen, trains, since = gate_rows(candidate, champion, frame)
    rows = chosen.frame
    data = {"since": f"{since:%Y-%m-%d}", "n_newest_rows": len(rows), "rule": chosen.facts["rule"]}
    comparison = None
    if champion is not None:
        if len(rows) < rules.min_rows:
            last = frame["date"].max()
            raise GateError(
                f"only {len(rows)} labelled rows are dated on/after {since:%Y-%m-%d} (after both "
                f"training windows; the data ends {last:%Y-%m-%d}); the fair comparison needs at "
                f"least gate.min_rows={rules.min_rows}: give newer data"
            )
        comparison = compare_for_gate(
            champion.model,
            candidate.model,
            rows,
            interval_level=rules.interval_level,
            min_city_rows=rules.min_city_rows,
            n_boot=rules.n_boot,
            confidence=rules.confidence,
            seed=rules.seed,
            train=trains,
            ratio_trim=rules.ratio_trim,
        )
        data.update(comparison.rows)
        metrics = comparison.candidate_metrics
        source = f"on the {comparison.n_rows} rows both models valued"
    else:
        metrics, source = _absolute_metrics(candidate, rows, rules)
    checks = [
        check_pe10_overall(comparison, rules),
        check_pe10_by_city(comparison, rules),
        check_cod(metrics, rules, source),
        check_coverage(metrics, rules, source),
        check_quality(candidate.manifest.quality, rules),
    ]
    return checks, comparison, to_jsonable(metrics), data


def promote(
    registry: Registry | str,
    candidate: str,
    frame: pd.DataFrame,
    *,
    alias: str = "champion",
    rules: GateConfig | None = None,
    force: bool = False,
    reason: str = "",
    by: str | None = None,
    data_source: str = "",
    live_store: Any = None,
    live_since: Any = None,
) -> Decision:
    """Decide whether ``candidate`` takes ``alias``; apply and record the decision.

    Parameters
    ----------
    registry : Registry or str
        The registry or its URL.
    candidate : str
        Version id, number or alias of the candidate.
    frame : pandas.DataFrame
        Canonical labelled data; the rows dated after both training windows are used.
    alias : str, default "champion"
        The alias to move.
    rules : GateConfig, optional
        Gate rules (default: :class:`~estimo.config.GateConfig` defaults).
    force : bool
        Promote even if a check fails; needs ``reason``.
    reason : str
        Why (required with ``force``); recorded.
    by : str, optional
        Who decides (default ``user@host``).
    data_source : str
        Where ``frame`` came from, for the record.
    live_store : ValuationStore or str, optional
        The monitoring store (or its URL): adds the ``live_outcomes`` check, champion and
        candidate on the same recent live outcomes, recorded as the decision's ``live``.
    live_since : date-like, optional
        Live outcomes of the valuations served since then (default: ``gate.live_days``
        before now).

    Returns
    -------
    Decision
        With ``record_json`` / ``record_markdown``: where the record was written.

    Raises
    ------
    GateError
        If ``force`` has no reason, the candidate already holds the alias, or there are
        too few newest labelled rows to compare.
    """
    from estimo.promote.record import write_decision

    registry = registry if isinstance(registry, Registry) else Registry(registry)
    rules = rules or GateConfig()
    if force and not reason.strip():
        raise GateError('--force needs --reason "..." (why the gate is overridden); none given')
    cand = registry.load(candidate)
    champion_version = registry.aliases.get(alias)
    if champion_version == cand.version:
        raise GateError(f"{cand.version} already holds alias {alias!r}; nothing to decide")
    champ = registry.load(champion_version) if champion_version else None
    checks, comparison, metrics, data = evaluate_gate(cand, champ, frame, rules)
    live = None
    if live_store is not None:
        live = _live(live_store, champ, cand, live_since, rules)
        checks.append(check_live(live, rules))
    data["source"] = data_source
    failed = [c.name for c in checks if c.status == "fail"]
    passed = not failed
    outcome = "promoted" if passed else ("forced" if force else "rejected")
    now = utc_now()
    decision = Decision(
        id=f"{now:%Y%m%dT%H%M%S%f}Z-{cand.version}-{alias}",
        created_at=now,
        by=by or current_user(),
        alias=alias,
        candidate=cand.version,
        champion=champion_version,
        outcome=outcome,
        passed=passed,
        forced=force and not passed,
        reason=reason,
        failed=failed,
        checks=checks,
        rules=rules.model_dump(mode="json"),
        data=to_jsonable(data),
        comparison=None if comparison is None else _comparison_dict(comparison),
        live=None if live is None else to_jsonable(live),
        candidate_metrics=metrics,
        quality=cand.manifest.quality,
    )
    if decision.promoted:
        registry.aliases.set(
            alias,
            cand.version,
            reason=reason or f"gate passed ({sum(c.status == 'pass' for c in checks)} checks)",
            by=decision.by,
            decision=decision.id,
            expected=champion_version,
        )
    write_decision(registry, decision)
    log.info("gate: %s %s for %s (%s)", cand.version, outcome, alias, ", ".join(failed) or "ok")
    return decision


def _live(
    store: Any,
    champion: LoadedVersion | None,
    candidate: LoadedVersion,
    since: Any,
    rules: GateConfig,
) -> dict[str, Any] | None:
    """Both models on the live outcomes of ``store`` (None without a champion)."""
    if champion is None:
        return None
    from estimo.monitor.gate import live_comparison
    from estimo.monitor.store import ValuationStore

    if since is None:
        since = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() - pd.Timedelta(
            days=rules.live_days
        )
    opened = isinstance(store, str)
    store = ValuationStore.from_url(store, upgrade=False) if opened else store
    try:
        return live_comparison(
            store,
            champion.model,
            candidate.model,
            since=since,
            min_rows=rules.live_min_rows,
            n_boot=rules.n_boot,
            confidence=rules.confidence,
            seed=rules.seed,
        )
    finally:
        if opened:
            store.dispose()


def _comparison_dict(comparison: GateComparison) -> dict[str, Any]:
    return to_jsonable(
        {
            "source": comparison.source,
            "confidence": comparison.confidence,
            "n_rows": comparison.n_rows,
            "overall": comparison.overall,
            "by_city": comparison.by_city,
            "champion_metrics": comparison.champion_metrics,
            "candidate_metrics": comparison.candidate_metrics,
            "verdict": comparison.verdict,
        }
    )
