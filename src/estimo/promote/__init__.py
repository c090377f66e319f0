"""Promotion gate: fair champion/candidate comparison, configurable rules, decision records."""

from __future__ import annotations

from estimo.promote.comparison import GateComparison, GateError, compare_for_gate
from estimo.promote.gate import CheckResult, Decision, evaluate_gate, promote
from estimo.promote.record import list_decisions, render_markdown

__all__ = [
    "CheckResult",
    "Decision",
    "GateComparison",
    "GateError",
    "compare_for_gate",
    "evaluate_gate",
    "list_decisions",
    "promote",
    "render_markdown",
]
