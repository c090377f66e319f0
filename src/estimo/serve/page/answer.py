"""The API's answer as what the page shows: words in the page's language, charts, links.

:func:`answer_view` takes the same dict ``POST /v1/valuations`` returns, so the page's
figures are the API's figures, only formatted.
"""

from __future__ import annotations

from typing import Any

from estimo.explain.locale import get_locale
from estimo.serve.page.charts import range_bar, waterfall, waterfall_steps

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
        "reference": text.get("reference"),
        "reasons": reasons,
        "total": text.get("total"),
        "comparables_intro": text.get("comparables_intro"),
        "comparables": list(text.get("comparables", [])),
        "blend": text.get("blend"),
        "warnings": list(text.get("notes", [])) if explanation else list(answer["warnings"]),
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
    if model.get("fallback"):
        view["warnings"] = [w for w in answer["warnings"] if "global model" in w] + view["warnings"]
    return view
