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
``pe10_by_city``       no city (with >= 30 rows) loses more than 3 points of PE10
``cod``                candidate COD within the IAAO range 5-15 %
``interval_coverage``  coverage of the candidate's ranges within 5 points of nominal
                       (skipped when the model has no ranges)
``data_quality``       no finding of severity critical/error on more than 0.5 % of rows
                       in the manifest's quality summary
=====================  ==================================================================

With no current champion the comparison checks are skipped and the others decide. Every
decision, promoted or rejected, is written as JSON and Markdown under the registry's
``decisions/`` folder; ``force=True`` with a reason promotes a rejected candidate and says
so in the record.

Examples
--------
>>> from estimo.config import GateConfig
>>> check_quality({"findings": [{"rule": "labels.outlier", "severity": "error",
...     "count": 90, "share": 0.03, "message": "prices x10"}]}, GateConfig()).status
'fail'
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from estimo.config import GateConfig
from estimo.evaluate.metrics import compute_metrics
from estimo.jsonutil import to_jsonable
from estimo.promote.comparison import (
    GateComparison,
    GateError,
    compare_for_gate,
    newest_labelled_rows,
)
from estimo.registry import LoadedVersion, Registry
from estimo.registry.manifest import current_user, utc_now
from estimo.registry.scoring import score_frame

log = logging.getLogger(__name__)

__all__ = ["CheckResult", "Decision", "GateError", "check_quality", "evaluate_gate", "promote"]

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
    """No city with enough rows loses more than ``max_city_pe10_drop`` of PE10."""
    if comparison is None:
        return CheckResult(name="pe10_by_city", status="skip", message="no champion to compare")
    judged = [c for c in comparison.by_city if not c["too_small"]]
    worse = [c for c in judged if c["pe10_diff"] < -rules.max_city_pe10_drop]
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
    if worse:
        listed = ", ".join(
            f"{c['city']} {_pts(c['pe10_diff'])} (CI {_num(c['pe10_ci_low'])} to "
            f"{_num(c['pe10_ci_high'])}, n={c['n']})"
            for c in sorted(worse, key=lambda c: c["pe10_diff"])
        )
        message = f"PE10 worse by more than {100 * rules.max_city_pe10_drop:.1f} points in {listed}"
    else:
        message = (
            f"every judged city within {100 * rules.max_city_pe10_drop:.1f} points; worst "
            f"{worst['city']} {_pts(worst['pe10_diff'])}"
        )
    return CheckResult(
        name="pe10_by_city",
        status="fail" if worse else "pass",
        value=worst["pe10_diff"],
        limit=-rules.max_city_pe10_drop,
        message=message + note,
        details=to_jsonable(comparison.by_city),
    )


def check_cod(metrics: dict[str, Any], rules: GateConfig, source: str) -> CheckResult:
    """The candidate's COD lies within ``cod_range`` (IAAO 5-15 % by default)."""
    low, high = rules.cod_range
    cod = metrics.get("cod")
    if cod is None:
        return CheckResult(name="cod", status="fail", message=f"no COD available ({source})")
    ok = low <= cod <= high
    return CheckResult(
        name="cod",
        status="pass" if ok else "fail",
        value=float(cod),
        limit=high if cod > high else low,
        message=f"COD {_pct(cod)} {source}; required {_pct(low)} to {_pct(high)}",
    )


def check_coverage(metrics: dict[str, Any], rules: GateConfig, source: str) -> CheckResult:
    """Coverage of the candidate's ranges within ``max_coverage_gap`` of nominal."""
    coverage = metrics.get("coverage")
    if coverage is None:
        return CheckResult(
            name="interval_coverage", status="skip", message="the model gives no price ranges"
        )
    gap = float(coverage) - rules.interval_level
    ok = abs(gap) <= rules.max_coverage_gap
    return CheckResult(
        name="interval_coverage",
        status="pass" if ok else "fail",
        value=float(coverage),
        limit=rules.interval_level,
        message=(
            f"coverage {_pct(coverage)} of nominal {_pct(rules.interval_level)} ranges "
            f"({_pts(gap)}) {source}; allowed gap {100 * rules.max_coverage_gap:.1f} points"
        ),
    )


def check_quality(summary: dict[str, Any] | None, rules: GateConfig) -> CheckResult:
    """No critical data-quality finding in the manifest's quality summary.

    A finding (``summary["findings"]``: dicts with ``severity``, ``share`` or ``count``,
    ``rule``, ``message``) is critical when its severity is in ``critical_severities``,
    it affects more than ``max_critical_share`` of rows and it is not marked ``resolved``.
    """
    if not summary:
        status: Status = "fail" if rules.require_quality_report else "pass"
        return CheckResult(
            name="data_quality", status=status, message="no quality report in the manifest"
        )
    severities = {s.lower() for s in rules.critical_severities}
    critical = []
    for finding in summary.get("findings") or []:
        severity = str(finding.get("severity", "")).lower()
        share = finding.get("share")
        big = share is None or float(share) > rules.max_critical_share
        if severity in severities and big and not finding.get("resolved", False):
            critical.append(finding)
    if not critical:
        return CheckResult(
            name="data_quality",
            status="pass",
            value=0.0,
            message=f"no {'/'.join(sorted(severities))} finding above "
            f"{_pct(rules.max_critical_share)} of rows",
        )
    listed = "; ".join(
        f"{f.get('rule', '?')}"
        + (f" on {f['column']!r}" if f.get("column") else "")
        + (f": {_pct(float(f['share']))} of rows" if f.get("share") is not None else "")
        + (f" ({f['message']})" if f.get("message") else "")
        for f in critical[:8]
    )
    return CheckResult(
        name="data_quality",
        status="fail",
        value=float(len(critical)),
        limit=0.0,
        message=f"{len(critical)} critical data-quality finding(s): {listed}",
        details=to_jsonable(critical),
    )


# --------------------------------------------------------------------------- the gate


def _trained_until(loaded: LoadedVersion) -> pd.Timestamp | None:
    until = loaded.manifest.trained_until
    if until is None and getattr(loaded.model, "trained_until_", None) is not None:
        until = pd.Timestamp(loaded.model.trained_until_)
    return until


def _absolute_metrics(
    candidate: LoadedVersion, rows: pd.DataFrame, rules: GateConfig
) -> tuple[dict[str, Any], str]:
    """Candidate metrics for the COD/coverage checks: on the newest rows, else its test set."""
    scored = score_frame(candidate.model, rows, level=rules.interval_level)
    if len(scored) >= rules.min_rows:
        ranges = {"low": scored["low"], "high": scored["high"]} if "low" in scored else {}
        metrics = compute_metrics(scored["price"], scored["predicted"], **ranges)
        return metrics, f"on {len(scored)} newest labelled rows"
    test = candidate.manifest.test
    if test is not None and test.overall.get("n"):
        return dict(test.overall), f"on its registered test set ({test.overall['n']} rows)"
    return {}, "(no labelled rows after its training window, and no test metrics registered)"


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
    ends = [d for d in (_trained_until(candidate), champion and _trained_until(champion)) if d]
    since = max(ends) + pd.Timedelta(days=1) if ends else frame["date"].min()
    rows = newest_labelled_rows(frame, since)
    data = {"since": f"{since:%Y-%m-%d}", "n_newest_rows": len(rows)}
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
            since=since,
            interval_level=rules.interval_level,
            min_city_rows=rules.min_city_rows,
            n_boot=rules.n_boot,
            confidence=rules.confidence,
            seed=rules.seed,
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
