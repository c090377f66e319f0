"""Explanations a home owner can trust: reasons in money, comparables, blend and confidence.

The layer depends only on the contract of ``docs/CONTRACTS.md``: a frame of log
contributions (one column per model feature plus ``_base``, ``_time`` and ``_comparables``,
summing per row to the log valuation) and, from the engine, its ``Valuation`` objects.

Examples
--------
>>> from estimo.explain import Explainer, allocate_money
>>> Explainer("it").labeler.label("has_terrace")
'Terrazzo'
"""

from __future__ import annotations

from estimo.explain.contributions import log_contributions
from estimo.explain.explainer import Explainer, Explanation, explain_properties
from estimo.explain.global_report import GlobalReport, global_report
from estimo.explain.labels import Labeler, check_labels, missing_labels
from estimo.explain.money import allocate_money
from estimo.explain.reasons import Reason, ReasonSet, build_reasons
from estimo.explain.reference import ReferenceTable

__all__ = [
    "Explainer",
    "Explanation",
    "GlobalReport",
    "Labeler",
    "Reason",
    "ReasonSet",
    "ReferenceTable",
    "allocate_money",
    "build_reasons",
    "check_labels",
    "explain_properties",
    "global_report",
    "log_contributions",
    "missing_labels",
]
