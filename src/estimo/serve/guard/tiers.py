"""What each tier sees: :func:`shape_answer` filters an answer dict for a tier.

* ``internal``: the full answer (reasons as numbers, comparables, sub-model, blend).
* ``partner``: price, both ranges, confidence, reasons in money, comparables without ids,
  exact coordinates or adjustments; no model internals (sub-model, model/comparables price,
  blend weight, FSD, bundle version).
* ``public``: what a home owner needs: the price rounded to ``public_price_step``, the 80 %
  range rounded outwards, the confidence label, the top reasons in words only, comparables
  as rounded prices, month, distance to 100 m and a few attributes; warnings and date.

Fewer exact numbers make each answer worth less to someone training a copy of the model
(``benchmarks/extraction.py`` measures how much).

Examples
--------
>>> answer = {"price": 412_345.0, "low": 371_000.0, "high": 455_001.0, "confidence": "high",
...           "fsd": 0.07, "sub_model": "city:Milano", "currency": "EUR", "warnings": []}
>>> public = shape_answer(answer, "public", price_step=5000)
>>> public["price"], public["low"], public["high"], sorted(public)
(410000.0, 370000.0, 460000.0, ['confidence', 'currency', 'high', 'low', 'price', 'warnings'])
>>> shape_answer(answer, "internal", price_step=5000) is answer
True
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["round_to", "shape_answer"]

_PARTNER_DROPS = ("sub_model", "model_price", "comps_price", "blend_weight", "fsd", "model")
_PUBLIC_KEEPS = ("price", "low", "high", "currency", "confidence", "valuation_date", "warnings")
_COMPARABLE_PUBLIC = ("area_m2", "rooms", "property_type", "condition")


def round_to(value: float | None, step: float, how: str = "nearest") -> float | None:
    """``value`` rounded to a multiple of ``step`` (``how``: nearest, down or up)."""
    if value is None or not math.isfinite(value):
        return value
    fn = {"nearest": round, "down": math.floor, "up": math.ceil}[how]
    return float(fn(value / step) * step)


def shape_answer(
    answer: dict[str, Any], tier: str, *, price_step: float = 5000.0, n_reasons: int = 3
) -> dict[str, Any]:
    """The answer a client of ``tier`` may see (``internal``: ``answer`` itself).

    Parameters
    ----------
    answer : dict
        A full answer of the service (see :mod:`estimo.serve.valuer`).
    tier : {"internal", "partner", "public"}
        The caller's tier.
    price_step : float, default 5000
        Public prices are multiples of this.
    n_reasons : int, default 3
        Reasons (their sentences only) shown to the public.
    """
    if tier == "internal":
        return answer
    if tier == "partner":
        out = {k: v for k, v in answer.items() if k not in _PARTNER_DROPS}
        if "comparables" in out:
            out["comparables"] = [_partner_comparable(c) for c in out["comparables"]]
        return out
    if tier != "public":
        raise ValueError(f"tier {tier!r} is unknown; expected internal, partner or public")
    out = {k: answer[k] for k in _PUBLIC_KEEPS if k in answer}
    out["price"] = round_to(answer.get("price"), price_step)
    out["low"] = round_to(answer.get("low"), price_step, "down")
    out["high"] = round_to(answer.get("high"), price_step, "up")
    if answer.get("comparables"):
        out["comparables"] = [_public_comparable(c, price_step) for c in answer["comparables"]]
    explanation = answer.get("explanation")
    if isinstance(explanation, dict):
        reasons = [r.get("text") for r in explanation.get("reasons", []) if r.get("text")]
        out["reasons"] = reasons[:n_reasons]
    return out


def _partner_comparable(comp: dict[str, Any]) -> dict[str, Any]:
    drop = {"id", "lat", "lon", "address", "adjustments", "time_factor"}
    return {k: v for k, v in comp.items() if k not in drop}


def _public_comparable(comp: dict[str, Any], step: float) -> dict[str, Any]:
    out: dict[str, Any] = {"price": round_to(comp.get("price"), step)}
    date = comp.get("date")
    if isinstance(date, str):
        out["month"] = date[:7]
    distance = comp.get("distance_m")
    if isinstance(distance, int | float) and math.isfinite(distance):
        out["distance_m"] = round_to(float(distance), 100.0, "up")
    attributes = comp.get("attributes") or {}
    out.update({k: attributes[k] for k in _COMPARABLE_PUBLIC if k in attributes})
    return out
