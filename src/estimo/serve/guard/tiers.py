"""What each tier sees: :func:`shape_answer` filters an answer dict for a tier.

* ``internal``: the full answer (reasons as numbers, comparables, sub-model, blend).
* ``partner``: price, both ranges, confidence, reasons in money, comparables without ids,
  exact coordinates or adjustments (nor their adjusted prices); no model internals
  (sub-model, model/comparables price, blend weight and reason, FSD, bundle version), and
  no sentence quoting them: the blend in words (:func:`public_blend`), no comparable's
  sentence.
* ``public``: what a home owner needs, as :class:`PublicShaping` coarsens it: the price
  (shifted, then rounded), the 80 % range (shifted, rounded outwards), the confidence label,
  the top reasons in money rounded to the same step (with "other factors" making the sum
  add up to the public price), comparables as rounded prices, month, distance to 100 m and
  a few attributes and, when the answer carries the comparables' and the subject's
  coordinates, a coarse bearing (``bearing_deg``, rounded to 45 degrees: one of eight
  compass directions; never the coordinates or the id); warnings and date. No sentence of
  the full explanation (they quote exact figures) but the blend in one sentence of words
  (:func:`public_blend`: how much the similar homes and the model weighed, in en/it/es).

Two things make a public answer worth less to someone training a copy of the model:

* **rounding to a relative step**: the step is a "nice" number (1, 2 or 5 times a power
  of ten) at most ``relative_step`` of the price (2 %: 5,000 for a 400,000 home, 20 for a
  1,500 a month rent), so a cheap home is not rounded by a quarter of its price and a rent
  market is rounded at all; ``price_step`` fixes an absolute step instead;
* **a keyed shift**: every public price of a *cell* of the market (a city and a size band,
  e.g. 50-100 m²) is multiplied by ``1 + shift`` or ``1 - shift``, the sign drawn from a
  keyed hash (HMAC-SHA256 with a secret) of the cell. Repeating a query, or querying
  neighbours, gives the same shift, so nothing averages it out, and without the secret
  the sign of a cell cannot be computed; a surrogate trained on public answers learns the
  shifted prices. The range moves with the price, so it still holds the full answer
  whenever the shift is smaller than the range's half-width.

The cost to an honest owner is the distance of the public price from the full one (the
shift plus at most half a step); ``benchmarks/extraction.py`` measures it and what each
option takes away from an attacker.

Examples
--------
>>> answer = {"price": 412_345.0, "low": 371_000.0, "high": 455_001.0, "confidence": "high",
...           "fsd": 0.07, "sub_model": "city:Milano", "currency": "EUR", "warnings": []}
>>> public = shape_answer(answer, "public", PublicShaping(price_step=5000))
>>> public["price"], public["low"], public["high"], sorted(public)
(410000.0, 370000.0, 460000.0, ['confidence', 'currency', 'high', 'low', 'price', 'warnings'])
>>> shape_answer(answer, "public")["price"]  # relative step: 2 % of the price -> 5,000
410000.0
>>> shape_answer(answer, "internal") is answer
True
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PublicShaping",
    "coarse_bearing",
    "nice_step",
    "public_blend",
    "round_to",
    "shape_answer",
]

_PARTNER_DROPS = (
    "sub_model",
    "model_price",
    "comps_price",
    "blend_weight",
    "blend_reason",
    "fsd",
    "model",
)
_PUBLIC_KEEPS = ("price", "low", "high", "currency", "confidence", "valuation_date", "warnings")
_COMPARABLE_PUBLIC = ("area_m2", "rooms", "property_type", "condition")


#: what a partner's reasons keep: no model feature names, no log effects
_REASON_PARTNER = ("key", "label", "amount", "text")


def _partner_explanation(explanation: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The explanation without the model's internal names (each reason's ``features``,
    such as ``loc_knn``, and its ``log_effect``) and without the sentences that quote what
    the partner's fields leave out: the blend in words only (:func:`public_blend`: no model
    or comparables price, no weight), no comparable's sentence (each lists its adjustments
    in money; the comparables' own fields stay)."""
    out = dict(explanation)
    if isinstance(out.get("text"), dict):
        lang = str(out.get("language") or "en")
        out["text"] = {
            **out["text"],
            "blend": public_blend(answer, lang),
            "comparables_intro": None,
            "comparables": [],
        }
    if isinstance(out.get("reasons"), list):
        out["reasons"] = [
            {k: r[k] for k in _REASON_PARTNER if k in r} if isinstance(r, dict) else r
            for r in out["reasons"]
        ]
    return out


def round_to(value: float | None, step: float, how: str = "nearest") -> float | None:
    """``value`` rounded to a multiple of ``step`` (``how``: nearest, down or up)."""
    if value is None or not math.isfinite(value):
        return value
    fn = {"nearest": round, "down": math.floor, "up": math.ceil}[how]
    return float(fn(value / step) * step)


def nice_step(value: float, relative: float) -> float:
    """The largest 1, 2 or 5 times a power of ten that is at most ``relative * |value|``.

    Examples
    --------
    >>> nice_step(412_345, 0.02), nice_step(95_000, 0.02), nice_step(1_480, 0.02)
    (5000.0, 1000.0, 20.0)
    """
    target = abs(value) * relative
    if not math.isfinite(target) or target < 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(target))
    return float(max(m * power for m in (1, 2, 5) if m * power <= target))


@dataclass
class PublicShaping:
    """How public answers are coarsened (see the module docstring).

    Parameters
    ----------
    relative_step : float, default 0.02
        Prices are rounded to :func:`nice_step` of this share of the price.
    price_step : float, optional
        A fixed step instead (e.g. 5000).
    shift : float, default 0
        Relative size of the keyed shift (0: none; 0.08 moves every public price 8 %).
    size_band : float, default 2
        Ratio of the living-area bands of a cell (2: 25-50, 50-100, 100-200 m²...).
    secret : bytes, optional
        Key of the shift's hash (default: random per process; set it so that pods agree).
    n_reasons : int, default 3
        Reasons shown publicly (the rest go into "other factors").
    """

    relative_step: float = 0.02
    price_step: float | None = None
    shift: float = 0.0
    size_band: float = 2.0
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    n_reasons: int = 3

    def step(self, price: float) -> float:
        """The rounding step of a price."""
        return self.price_step or nice_step(price, self.relative_step)

    def cell(self, record: Any) -> str:
        """The market cell of a property: its city and size band."""
        city = str((record or {}).get("city", "")).strip().casefold()
        area = (record or {}).get("area_m2")
        band = "?"
        if isinstance(area, int | float) and area > 0 and self.size_band > 1:
            band = str(math.floor(math.log(float(area)) / math.log(self.size_band)))
        return f"{city}|{band}"

    def factor(self, record: Any) -> float:
        """``1 + shift`` or ``1 - shift`` for the property's cell (1 without a record)."""
        if not self.shift or record is None:
            return 1.0
        digest = hmac.new(self.secret, self.cell(record).encode(), hashlib.sha256).digest()
        return 1.0 + self.shift if digest[0] & 1 else 1.0 - self.shift

    def price(self, price: float, record: Any = None) -> float:
        """The public price of a full ``price``."""
        shifted = price * self.factor(record)
        return float(round_to(shifted, self.step(shifted)))  # type: ignore[arg-type]


def shape_answer(
    answer: dict[str, Any],
    tier: str,
    shaping: PublicShaping | None = None,
    record: Any = None,
) -> dict[str, Any]:
    """The answer a client of ``tier`` may see (``internal``: ``answer`` itself).

    Parameters
    ----------
    answer : dict
        A full answer of the service (see :mod:`estimo.serve.valuer`).
    tier : {"internal", "partner", "public"}
        The caller's tier.
    shaping : PublicShaping, optional
        How public answers are coarsened (default: ``PublicShaping()``).
    record : mapping, optional
        The property valued (its cell keys the public shift; no shift without it).
    """
    if tier == "internal":
        return answer
    if tier == "partner":
        out = {k: v for k, v in answer.items() if k not in _PARTNER_DROPS}
        if "comparables" in out:
            out["comparables"] = [_partner_comparable(c) for c in out["comparables"]]
        if isinstance(out.get("explanation"), dict):
            out["explanation"] = _partner_explanation(out["explanation"], answer)
        return out
    if tier != "public":
        raise ValueError(f"tier {tier!r} is unknown; expected internal, partner or public")
    shaping = shaping or PublicShaping()
    out = {k: answer[k] for k in _PUBLIC_KEEPS if k in answer}
    price = answer.get("price")
    if not isinstance(price, int | float) or not math.isfinite(price):
        return out
    factor = shaping.factor(record)
    step = shaping.step(price * factor)
    out["price"] = round_to(price * factor, step)
    for name, how in (("low", "down"), ("high", "up")):
        value = answer.get(name)
        if isinstance(value, int | float):
            out[name] = round_to(value * factor, step, how)
    if answer.get("comparables"):
        out["comparables"] = [_public_comparable(c, step, record) for c in answer["comparables"]]
    explanation = answer.get("explanation")
    if isinstance(explanation, dict) and "baseline" in explanation:
        out["explanation"] = _public_explanation(
            explanation, out["price"], factor, step, shaping.n_reasons
        )
        out["explanation"]["blend"] = public_blend(answer, out["explanation"]["language"])
        out["reasons"] = [r["text"] for r in out["explanation"]["reasons"]]
    return out


#: the public blend sentence: its frame, and the share each side weighed, in words
_BLEND_WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "none": "Our valuation is our model's price alone: we found no similar homes close "
        "enough to check it against.",
        "unchanged": "Our valuation is our model's price: we checked it against similar homes "
        "nearby, but they did not change it.",
        "both": "We combined our model's price with the prices of similar homes nearby: the "
        "model weighed {model} and the similar homes {comps}.",
        "shares": ("a little", "about a third", "about half", "about two thirds", "most"),
    },
    "it": {
        "none": "La nostra valutazione è il solo prezzo del modello: non abbiamo trovato case "
        "simili abbastanza vicine per confrontarla.",
        "unchanged": "La nostra valutazione è il prezzo del modello: l'abbiamo confrontata con "
        "case simili in zona, ma non l'hanno cambiata.",
        "both": "Abbiamo combinato il prezzo del nostro modello con i prezzi di case simili in "
        "zona: il modello ha pesato {model} e le case simili {comps}.",
        "shares": ("poco", "circa un terzo", "circa la metà", "circa due terzi", "quasi tutto"),
    },
    "es": {
        "none": "Nuestra valoración es solo el precio del modelo: no encontramos viviendas "
        "similares lo bastante cerca para contrastarla.",
        "unchanged": "Nuestra valoración es el precio del modelo: la contrastamos con viviendas "
        "similares cercanas, pero no la cambiaron.",
        "both": "Combinamos el precio de nuestro modelo con los precios de viviendas similares "
        "cercanas: el modelo pesó {model} y las viviendas similares {comps}.",
        "shares": ("poco", "un tercio", "la mitad", "dos tercios", "casi todo"),
    },
}


def _share(weight: float) -> int:
    """The word (index into ``shares``) of a weight: under 0.2, 0.4, 0.6, 0.8, else most."""
    return min(int(weight / 0.2), 4)


def public_blend(answer: dict[str, Any], lang: str = "en") -> str:
    """How the model and the similar homes were combined, in words only (no figures).

    Parameters
    ----------
    answer : dict
        A full answer (its ``blend_weight``, ``comps_price`` and ``comparables``).
    lang : str
        en, it or es (English for another language).

    Examples
    --------
    >>> public_blend({"blend_weight": 0.3, "comps_price": 1.0, "comparables": [{}]})
    "We combined our model's price with the prices of similar homes nearby: the model \
weighed about two thirds and the similar homes about a third."
    >>> public_blend({"blend_weight": 0.0, "comparables": []}, "it")[:40]
    'La nostra valutazione è il solo prezzo d'
    """
    words = _BLEND_WORDS.get(lang, _BLEND_WORDS["en"])
    weight = answer.get("blend_weight")
    weight = float(weight) if isinstance(weight, int | float) and math.isfinite(weight) else 0.0
    if not answer.get("comparables") or answer.get("comps_price") is None:
        return str(words["none"])
    if round(100 * weight) == 0:
        return str(words["unchanged"])
    weight = min(max(weight, 0.0), 1.0)
    shares = words["shares"]
    return str(words["both"]).format(
        model=shares[_share(1.0 - weight)], comps=shares[_share(weight)]
    )


def coarse_bearing(subject: Any, comp: Any, step: float = 45.0) -> float | None:
    """The compass bearing from ``subject`` to ``comp`` (degrees clockwise from north),
    rounded to ``step`` (45: one of eight directions); None without both coordinates.

    Examples
    --------
    >>> coarse_bearing({"lat": 45.0, "lon": 9.0}, {"lat": 45.01, "lon": 9.012})
    45.0
    >>> coarse_bearing({"lat": 45.0, "lon": 9.0}, {"lat": 44.99, "lon": 8.9999})
    180.0
    >>> coarse_bearing({"lat": 45.0}, {"lat": 44.99, "lon": 9.0}) is None
    True
    """
    try:
        lat1, lon1 = float(subject["lat"]), float(subject["lon"])
        lat2, lon2 = float(comp["lat"]), float(comp["lon"])
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (lat1, lon1, lat2, lon2)):
        return None
    north = lat2 - lat1
    east = (lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    if north == 0 and east == 0:
        return None
    degrees = math.degrees(math.atan2(east, north)) % 360.0
    return float(round(degrees / step) * step % 360.0)


def _public_explanation(
    explanation: dict[str, Any], price: float, factor: float, step: float, n: int
) -> dict[str, Any]:
    """Baseline and the ``n`` largest reasons, shifted and rounded to ``step``, plus "other
    factors" so that they still add up to the public price."""
    from estimo.explain.locale import get_locale

    lang = str(explanation.get("language") or "en")
    currency = str(explanation.get("currency") or "EUR")
    locale = get_locale(lang)
    reasons = [
        r for r in explanation.get("reasons", []) if isinstance(r.get("amount"), int | float)
    ]
    top = sorted((r for r in reasons if r.get("key") != "other"), key=lambda r: -abs(r["amount"]))[
        :n
    ]
    baseline = float(round_to(explanation["baseline"] * factor, step))  # type: ignore[arg-type]
    out = []
    for r in top:
        amount = float(round_to(r["amount"] * factor, step))  # type: ignore[arg-type]
        out.append({"key": r.get("key"), "label": r.get("label"), "amount": amount})
    other = next((r for r in reasons if r.get("key") == "other"), None)
    rest = price - baseline - sum(r["amount"] for r in out)
    if abs(rest) >= 0.5 or other is not None:
        label = other.get("label") if other else locale.text("other_factors")
        out.append({"key": "other", "label": label, "amount": float(rest)})
    for r in out:
        r["text"] = f"{r['label']}: {locale.money(r['amount'], currency, signed=True)}"
    return {
        "language": lang,
        "currency": currency,
        "baseline": baseline,
        "reference": explanation.get("reference"),
        "reasons": out,
    }


def _partner_comparable(comp: dict[str, Any]) -> dict[str, Any]:
    drop = {"id", "lat", "lon", "address", "adjustments", "adjusted_price", "time_factor"}
    return {k: v for k, v in comp.items() if k not in drop}


def _public_comparable(comp: dict[str, Any], step: float, subject: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"price": round_to(comp.get("price"), step)}
    date = comp.get("date")
    if isinstance(date, str):
        out["month"] = date[:7]
    distance = comp.get("distance_m")
    if isinstance(distance, int | float) and math.isfinite(distance):
        out["distance_m"] = round_to(float(distance), 100.0, "up")
    bearing = coarse_bearing(subject, comp)
    if bearing is not None:
        out["bearing_deg"] = bearing
    attributes = comp.get("attributes") or {}
    out.update({k: attributes[k] for k in _COMPARABLE_PUBLIC if k in attributes})
    return out
