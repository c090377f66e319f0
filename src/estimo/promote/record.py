"""Decision records of the promotion gate: JSON for machines, Markdown for people.

Both files go to the registry's ``decisions/`` folder, named after the decision id
(``<UTC time>-<candidate>-<alias>``), and are never modified afterwards.

Examples
--------
>>> from estimo.promote.gate import CheckResult, Decision
>>> from datetime import datetime, UTC
>>> d = Decision(id="x", created_at=datetime(2024, 1, 1, tzinfo=UTC), by="me", alias="champion",
...     candidate="v2", champion="v1", outcome="rejected", passed=False, failed=["cod"],
...     checks=[CheckResult(name="cod", status="fail", message="COD 19.0 %")], rules={})
>>> print(render_markdown(d).splitlines()[0])
# Gate decision: v2 rejected for `champion`
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from estimo.registry import Registry
from estimo.registry._fs import to_url, write_atomic

if TYPE_CHECKING:
    from estimo.promote.gate import Decision

__all__ = ["list_decisions", "render_markdown", "write_decision"]

_ICON = {"pass": "PASS", "fail": "FAIL", "skip": "skip"}


def _pct(value: Any, signed: bool = False) -> str:
    if value is None or value != value:
        return "–"
    return f"{100 * float(value):+.1f}" if signed else f"{100 * float(value):.1f}"


def render_markdown(decision: Decision) -> str:
    """The decision as a Markdown page with every number."""
    lines = [
        f"# Gate decision: {decision.candidate} {decision.outcome} for `{decision.alias}`",
        "",
        f"- decision id: `{decision.id}`",
        f"- when: {decision.created_at:%Y-%m-%d %H:%M:%S} UTC, by {decision.by}",
        f"- candidate: {decision.candidate}; champion before: {decision.champion or 'none'}",
        f"- outcome: **{decision.outcome}**"
        + (f" (checks failed: {', '.join(decision.failed)})" if decision.failed else ""),
    ]
    if decision.forced:
        lines.append(f"- **forced** despite failed checks; reason: {decision.reason}")
    elif decision.reason:
        lines.append(f"- reason: {decision.reason}")
    data = decision.data
    if data:
        lines.append(
            f"- data: {data.get('source') or 'given frame'}; rows dated from {data.get('since')}"
            f" ({data.get('n_newest_rows')} newest labelled rows"
            + (f", {data['n_compared']} valued by both models" if "n_compared" in data else "")
            + ")"
            + (f"; fingerprint `{data['fingerprint']}`" if data.get("fingerprint") else "")
        )
    lines += [
        "",
        "## Checks",
        "",
        "| check | result | value | limit | detail |",
        "|---|---|---|---|---|",
    ]
    for check in decision.checks:
        lines.append(
            f"| {check.name} | {_ICON[check.status]} | {_num(check.value)} | "
            f"{_num(check.limit)} | {check.message.replace('|', '/')} |"
        )
    if decision.comparison:
        lines += _comparison_lines(decision.comparison)
    if decision.live:
        lines += _live_lines(decision.live)
    if decision.candidate_metrics:
        m = decision.candidate_metrics
        lines += [
            "",
            "## Candidate on the decision rows",
            "",
            f"n {m.get('n')}, MdAPE {_pct(m.get('mdape'))} %, PE10 {_pct(m.get('pe10'))} %, "
            f"PE20 {_pct(m.get('pe20'))} %, COD {_pct(m.get('cod'))} %, median ratio "
            f"{_num(m.get('median_ratio'))}, PRD {_num(m.get('prd'))}"
            + (f", coverage {_pct(m['coverage'])} %" if m.get("coverage") is not None else ""),
        ]
    lines += ["", "## Rules", "", "```json", _json(decision.rules), "```", ""]
    return "\n".join(lines)


def _live_lines(live: dict[str, Any]) -> list[str]:
    """The champion and the candidate on recent live outcomes."""
    head = (
        f"## On live outcomes ({live['n']} {' and '.join(live['kinds'])} outcomes of the "
        f"valuations served since {live.get('since') or 'the start'}): {live['verdict']}"
    )
    if "differences" not in live:
        return ["", head]
    lines = [
        "",
        head,
        "",
        "| metric | champion | candidate | difference (points) | CI | better |",
        "|---|---|---|---|---|---|",
    ]
    for name, d in live["differences"].items():
        lines.append(
            f"| {name} | {_pct(live['champion'].get(name))} % | "
            f"{_pct(live['candidate'].get(name))} % | "
            f"{_pct(d['candidate_minus_champion'], True)} | {_pct(d['low'], True)} to "
            f"{_pct(d['high'], True)} | {d['better'] or '–'} |"
        )
    return lines


def _comparison_lines(comparison: dict[str, Any]) -> list[str]:
    level = f"{100 * comparison['confidence']:.0f} %"
    lines = [
        "",
        f"## Champion vs candidate ({comparison['n_rows']} rows, {comparison['source']})",
        "",
        f"| metric | champion | candidate | difference (points) | {level} CI |",
        "|---|---|---|---|---|",
    ]
    for name, values in comparison["overall"].items():
        lines.append(
            f"| {name} | {_pct(values['champion'])} % | {_pct(values['candidate'])} % | "
            f"{_pct(values['diff'], True)} | {_pct(values['ci_low'], True)} to "
            f"{_pct(values['ci_high'], True)} |"
        )
    lines += [
        "",
        "| city | n | PE10 champion | PE10 candidate | diff | CI | MdAPE diff | COD diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for city in comparison["by_city"]:
        if city["too_small"]:
            lines.append(f"| {city['city']} | {city['n']} | too small | | | | | |")
            continue
        lines.append(
            f"| {city['city']} | {city['n']} | {_pct(city['pe10_champion'])} % | "
            f"{_pct(city['pe10_candidate'])} % | {_pct(city['pe10_diff'], True)} | "
            f"{_pct(city['pe10_ci_low'], True)} to {_pct(city['pe10_ci_high'], True)} | "
            f"{_pct(city['mdape_diff'], True)} | {_pct(city['cod_diff'], True)} |"
        )
    return lines


def _num(value: Any) -> str:
    return "–" if value is None or value != value else f"{float(value):.4g}"


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2)


def _stem(decision_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", decision_id)


def write_decision(registry: Registry, decision: Decision) -> Decision:
    """Write ``<id>.json`` and ``<id>.md`` under ``decisions/``; set their URLs on ``decision``."""
    stem = f"{registry.decisions_path}/{_stem(decision.id)}"
    decision.record_json = to_url(registry.fs, f"{stem}.json")
    decision.record_markdown = to_url(registry.fs, f"{stem}.md")
    write_atomic(registry.fs, f"{stem}.md", render_markdown(decision).encode("utf-8"))
    write_atomic(registry.fs, f"{stem}.json", decision.model_dump_json(indent=2).encode("utf-8"))
    return decision


def list_decisions(registry: Registry) -> list[Decision]:
    """Every recorded decision, oldest first."""
    from estimo.promote.gate import Decision

    if not registry.fs.exists(registry.decisions_path):
        return []
    paths = sorted(registry.fs.glob(f"{registry.decisions_path}/*.json"))
    return [Decision.model_validate_json(registry.fs.cat_file(p)) for p in paths]
