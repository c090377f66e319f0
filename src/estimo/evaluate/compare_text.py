"""Markdown rendering of a :class:`~estimo.evaluate.compare.Comparison`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from estimo.evaluate.compare import Comparison

__all__ = ["comparison_markdown"]

_LABELS = {"mdape": "MdAPE", "mape": "MAPE", "cod": "COD", "median_ratio": "median ratio"}


def label(metric: str) -> str:
    """Display name of a metric (``pe10`` -> ``PE10``)."""
    return metric.upper() if metric.startswith("pe") else _LABELS.get(metric, metric)


def _pct(value: Any) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{100 * value:.1f}%"


def _pts(value: Any) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{100 * value:+.1f}"


def comparison_markdown(result: Comparison) -> str:
    """The comparison as Markdown: verdict, rows scored, overall and per-city tables."""
    name_a, name_b = result.names
    level = f"{100 * result.settings.get('level', 0.95):.0f} %"
    lines = [
        f"# Model comparison: {name_a} vs {name_b}",
        "",
        f"**Verdict.** {result.verdict}.",
        "",
        f"Scored on {result.n:,} properties both models can value ({result.scoring['rule']}; "
        f"{result.scoring['from']} to {result.scoring['to']}; "
        f"{result.scoring['n_unvalued_a']} not valued by {name_a}, "
        f"{result.scoring['n_unvalued_b']} by {name_b}).",
    ]
    if result.scoring.get("valuation_date"):
        lines.append(
            f"Actual prices brought to {result.scoring['valuation_date']} with the price index; "
            "both models value at that date."
        )
    lines += [
        "",
        f"Differences are {name_b} − {name_a} in percentage points, with {level} paired "
        f"bootstrap intervals ({result.settings.get('n_boot')} resamples).",
        "",
        f"| metric | {name_a} | {name_b} | difference | {level} CI | P({name_b} better) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m, d in result.overall.items():
        lines.append(
            f"| {label(m)} | {_pct(d.a)} | {_pct(d.b)} | {_pts(d.diff)} | "
            f"{_pts(d.low)} to {_pts(d.high)} | {d.p_b_better:.2f} |"
        )
    primary = result.settings.get("primary", "pe10")
    lines += [
        "",
        f"## Per city ({label(primary)})",
        "",
        f"| city | n | {name_a} | {name_b} | difference | {level} CI |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for _, row in result.by_city.iterrows():
        if row["too_small"]:
            lines.append(f"| {row['city']} | {row['n']} | too small | | | |")
            continue
        lines.append(
            f"| {row['city']} | {row['n']} | {_pct(row[f'{primary}_a'])} | "
            f"{_pct(row[f'{primary}_b'])} | {_pts(row[f'{primary}_diff'])} | "
            f"{_pts(row[f'{primary}_low'])} to {_pts(row[f'{primary}_high'])} |"
        )
    lines += ["", "## Features", ""]
    feats = result.features
    if feats.get("shared") is None:
        lines.append("The models do not list their features.")
    elif not feats["differ"]:
        lines.append(f"Both models use the same {len(feats['shared'])} features.")
    else:
        lines.append(
            f"Only {name_a}: {', '.join(feats['only_a']) or '—'}; "
            f"only {name_b}: {', '.join(feats['only_b']) or '—'}."
        )
        if feats.get("note"):
            lines.append(feats["note"] + ".")
    if result.ablation:
        lines += [
            "",
            "## Ablation: better method or more features?",
            "",
            f"Both models retrained on the {len(result.ablation['shared_features'])} shared "
            f"features ({name_a}′, {name_b}′) and scored on the same rows.",
            "",
            f"| metric | method ({name_b}′ − {name_a}′) | {level} CI | "
            f"extra features (rest) | {level} CI |",
            "|---|---:|---:|---:|---:|",
        ]
        for m, d in result.ablation["method"].items():
            f = result.ablation["features"][m]
            lines.append(
                f"| {label(m)} | {_pts(d['diff'])} | {_pts(d['low'])} to {_pts(d['high'])} | "
                f"{_pts(f['diff'])} | {_pts(f['low'])} to {_pts(f['high'])} |"
            )
    return "\n".join(lines) + "\n"
