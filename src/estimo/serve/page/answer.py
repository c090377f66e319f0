"""The API's answer as what the page shows: words in the page's language, charts, links.

:func:`answer_view` takes the same dict ``POST /v1/valuations`` returns, so the page's
figures are the API's figures, only formatted. The page shows the public tier's answer
(:mod:`estimo.serve.guard.tiers`: rounded price and range, the top reasons in rounded
money, comparables without addresses but with a coarse bearing, the blend in words); the
full answer's sentences (reference, comparables, blend, confidence) are used when present,
as for a page served at another tier. The comparables are drawn on a small offline map
(:mod:`.maps`) when they have a bearing, and listed with their distance and direction in
words; the warnings are said in the page's language (:mod:`estimo.serve.warnings_text`).
"""

from __future__ import annotations

from typing import Any

from estimo.explain.locale import get_locale
from estimo.serve.page.charts import range_bar, waterfall, waterfall_steps
from estimo.serve.page.maps import comparables_map
from estimo.serve.warnings_text import note

__all__ = ["answer_view"]


def answer_view(answer: dict[str, Any], lang: str, words: dict[str, str]) -> dict[str, Any]:
    """Everything the answer section of the template needs.

    Parameters
    ----------
    answer : dict
        A valuation as the API returns it (with its ``explanation``).
    lang : str
        The page's language.
    words : dict
        The page's words (:func:`estimo.serve.page.words.words`).
    """
    locale = get_locale(lang)
    currency = str(answer.get("currency") or "EUR")

    def money(value: float, signed: bool = False) -> str:
        return locale.money(value, currency, signed=signed)

    price, low, high = float(answer["price"]), float(answer["low"]), float(answer["high"])
    low_90, high_90 = answer.get("low_90"), answer.get("high_90")
    explanation = answer.get("explanation") or {}
    text = explanation.get("text") or {}
    reasons = [
        {"label": str(r.get("label", r.get("key", ""))), "amount": money(r["amount"], True)}
        for r in explanation.get("reasons", [])
    ]
    view: dict[str, Any] = {
        "price": money(price),
        "price_value": round(price),
        "low": money(low),
        "high": money(high),
        "range_svg": range_bar(price, low, high, low_90, high_90),
        "range_sr": words["range_sr"].format(low=money(low), high=money(high), price=money(price)),
        "confidence": words.get(f"confidence_{answer.get('confidence')}", answer.get("confidence")),
        "confidence_text": list(text.get("confidence", [])),
        "reference": text.get("reference") or _reference(explanation, words),
        "reasons": reasons,
        "total": text.get("total"),
        "comparables_intro": text.get("comparables_intro"),
        "comparables": list(text.get("comparables", []))
        or [_comparable(c, locale, words, money) for c in answer.get("comparables") or []],
        "comparables_map": comparables_map(answer.get("comparables") or [], words["north"]),
        "blend": text.get("blend") or explanation.get("blend"),
        "warnings": list(text.get("notes", []))
        if text
        else [note(w, lang) for w in answer.get("warnings", [])],
        "waterfall_svg": None,
        "baseline": None,
    }
    if explanation and "baseline" in explanation:
        steps = waterfall_steps(explanation["baseline"], explanation.get("reasons", []))
        labels = [words["typical"], *(r["label"] for r in reasons), words["this_home"]]
        view["waterfall_svg"] = waterfall(steps, money, labels)
        view["baseline"] = money(explanation["baseline"])
        view["waterfall_sr"] = words["waterfall_sr"].format(
            base=view["baseline"], price=money(price)
        )
    model = answer.get("model") or {}
    if model.get("fallback") and text:
        fallback = [note(w, lang) for w in answer["warnings"] if "global model" in w]
        view["warnings"] = fallback + view["warnings"]
    return view


def _reference(explanation: dict[str, Any], words: dict[str, str]) -> str | None:
    reference = explanation.get("reference")
    return words["compared_with"].format(reference=reference) if reference else None


def _comparable(comp: dict[str, Any], locale: Any, words: dict[str, str], money: Any) -> str:
    """One line of a public comparable: type, area, distance and direction, rounded price and
    month (the distance said to be unknown in words when the answer has none)."""
    kind = comp.get("property_type")
    what = locale.property_words(kind)["a"] if kind else words["comparable_what"]
    area = comp.get("area_m2")
    distance = comp.get("distance_m")
    bearing = comp.get("bearing_deg")
    month = comp.get("month") or comp.get("date")
    if isinstance(distance, int | float):
        away = locale.distance(float(distance) / 1000.0)
        if isinstance(bearing, int | float):
            direction = words["directions"].split(",")[round(float(bearing) / 45.0) % 8]
            where = words["away_to"].format(distance=away, direction=direction)
        else:
            where = words["away"].format(distance=away)
    else:
        where = words["distance_unknown"]
    return (
        words["comparable_line"]
        .format(
            what=what[:1].upper() + what[1:],
            area=words["of_area"].format(area=f"{locale.number(float(area))} m²") if area else "",
            where=where,
            price=money(float(comp["price"])) if comp.get("price") is not None else "?",
            month=locale.month_in(month) if month else "",
        )
        .strip()
    )
