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

from estimo._lazy import lazy_exports

# names -> modules, imported on first use: the service's page needs the labels without
# the explainer's pandas and LightGBM (see estimo/__init__.py for the same pattern)
_EXPORTS: dict[str, str] = {
    "Explainer": "estimo.explain.explainer",
    "Explanation": "estimo.explain.explainer",
    "GlobalReport": "estimo.explain.global_report",
    "Labeler": "estimo.explain.labels",
    "Reason": "estimo.explain.reasons",
    "ReasonSet": "estimo.explain.reasons",
    "ReferenceTable": "estimo.explain.reference",
    "allocate_money": "estimo.explain.money",
    "build_reasons": "estimo.explain.reasons",
    "check_labels": "estimo.explain.labels",
    "explain_properties": "estimo.explain.explainer",
    "global_report": "estimo.explain.global_report",
    "log_contributions": "estimo.explain.contributions",
    "missing_labels": "estimo.explain.labels",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
