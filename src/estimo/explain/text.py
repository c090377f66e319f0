"""Sentences: the reference point, the comparables, the blend and the confidence in words.

Every function takes already computed numbers (a :class:`~estimo.explain.reasons.ReasonSet`,
the engine's :class:`~estimo.model.valuation_result.Valuation` or anything with the same
attributes) and a :class:`~estimo.explain.labels.Labeler`, and returns plain sentences from
the locale's templates. Amounts shown together are rounded so that they add up (the
adjustments of a comparable add up to its adjusted price, to the currency unit).

Examples
--------
>>> from estimo.explain.labels import Labeler
>>> from estimo.explain.reference import ReferenceMatch
>>> match = ReferenceMatch("city_type_rooms", {"city": "Milano", "property_type": "flat",
...                        "rooms": 2}, 120, {})
>>> reference_phrase(match, Labeler("en").locale)
'a typical 2-room flat in Milano'
>>> reference_phrase(match, Labeler("it").locale)
'un appartamento tipico di 2 locali a Milano'
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from statistics import fmean, median
from typing import Any

import pandas as pd

from estimo.explain.labels import Labeler
from estimo.explain.locale import Locale
from estimo.explain.money import round_parts_list
from estimo.explain.reasons import ReasonSet
from estimo.explain.reference import ReferenceMatch

__all__ = [
    "blend_sentence",
    "comparable_sentence",
    "confidence_sentences",
    "note_sentences",
    "reason_lines",
    "reference_phrase",
    "reference_sentence",
]

SAME_BUILDING_M = 40.0
SIMILAR = 0.5  # similarity from which a comparable counts as a close match ("very similar")
SOMEWHAT = 0.2  # below it a comparable is "only somewhat similar" ("not very similar")
MANY_COMPS = 5


def reference_phrase(match: ReferenceMatch | None, locale: Locale) -> str:
    """The reference property in words ("a typical 2-room flat in Milano")."""
    if match is None or match.level == "global":
        return locale.text("reference_global")
    key = match.key
    words = locale.property_words(key.get("property_type"))
    values = {
        "city": key.get("city"),
        "rooms": key.get("rooms"),
        "rooms_phrase": _rooms_phrase(key.get("rooms"), locale),
        **words,
    }
    return locale.text(f"reference_{match.level.removeprefix('city_') or 'city'}", **values)


def english_article(number: int) -> str:
    """``a`` or ``an`` before a number said in English (an 8-room, an 11-room, an 18-room,
    an 80-room; a 3-room).

    Examples
    --------
    >>> [english_article(n) for n in (3, 8, 11, 18, 80, 100, 1)]
    ['a', 'an', 'an', 'an', 'an', 'a', 'a']
    """
    return "an" if str(number).startswith("8") or number in (11, 18) else "a"


def _rooms_phrase(rooms: Any, locale: Locale) -> str:
    """``2`` -> ``2 rooms`` / ``2 locali`` (``1 locale``), from the rooms label."""
    if not _finite(rooms):
        return ""
    n = int(float(rooms))
    template = locale.feature_entry("rooms")["value"]
    return str(template["one"] if n == 1 else template["other"]).format(v=n)


def reference_sentence(reasons: ReasonSet, valuation_date: Any, locale: Locale) -> str:
    """ "We start from the price of a typical 2-room flat in Milano at March 2024 prices: ..."."""
    return locale.text(
        "reference_sentence",
        reference=reference_phrase(reasons.reference, locale),
        month=locale.month_year(valuation_date),
        baseline=locale.money(reasons.baseline, reasons.currency),
    )


def reason_lines(reasons: ReasonSet, locale: Locale) -> list[str]:
    """One line per reason: ``"Size (95 m²): +€41,380"``."""
    return [
        locale.text(
            "reason_line", label=r.label, amount=locale.money(r.amount, reasons.currency, True)
        )
        for r in reasons.reasons
    ]


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def comparable_sentence(comp: Any, labeler: Labeler, currency: str) -> str:
    """Why a comparable is comparable, and how its price was adjusted, in two sentences.

    ``comp`` has the attributes of :class:`estimo.model.valuation_result.Comparable`:
    ``price``, ``date``, ``adjusted_price``, ``distance_m``, ``similarity``,
    ``adjustments`` (money per ``"time"``, feature or ``"location"``, ``"other"``) and
    ``attributes`` (area, rooms, year built, type, ...; ``price_kind`` when known).
    """
    locale = labeler.locale
    attrs = dict(_get(comp, "attributes", {}) or {})
    words = locale.property_words(attrs.get("property_type"))
    rooms = attrs.get("rooms")
    parts = [
        locale.text(
            "comp_rooms_noun",
            article=english_article(int(float(rooms))),
            rooms=int(float(rooms)),
            rooms_phrase=_rooms_phrase(rooms, locale),
            **words,
        )
        if _finite(rooms)
        else locale.text("comp_noun", **words)
    ]
    if _finite(attrs.get("area_m2")):
        parts.append(locale.text("comp_area", area=locale.number(float(attrs["area_m2"]))))
    if _finite(attrs.get("year_built")) and float(attrs["year_built"]) > 1000:
        parts.append(locale.text("comp_year", year=int(float(attrs["year_built"]))))
    what = " ".join(parts)
    what = what[:1].upper() + what[1:]
    distance = _get(comp, "distance_m")
    if not _finite(distance):
        where = locale.text("comp_where_unknown")
    elif float(distance) <= SAME_BUILDING_M:
        where = locale.text("comp_where_same")
    else:
        where = locale.text("comp_where", distance=locale.distance(float(distance) / 1000))
    price = round(float(_get(comp, "price")))
    kind = str(attrs.get("price_kind", "")).lower()
    when_key = {"sale": "comp_sold", "asking": "comp_listed"}.get(kind, "comp_priced")
    when = locale.text(
        when_key, month_in=locale.month_in(_get(comp, "date")), price=locale.money(price, currency)
    )
    first = locale.text("comp_line", what=what, where=where, when=when)
    similar = _similarity_sentence(comp, locale)
    sentence = f"{first} {similar} {_adjustment_sentence(comp, labeler, currency)}"
    if not _get(comp, "used", True):
        sentence += " " + locale.text("comp_not_used")
    return sentence


def _similarity_sentence(comp: Any, locale: Locale) -> str:
    similarity = float(_get(comp, "similarity", 0.0) or 0.0)
    key = "high" if similarity >= SIMILAR else ("mid" if similarity >= SOMEWHAT else "low")
    return locale.text(f"similarity_{key}")


def _adjustment_sentence(comp: Any, labeler: Labeler, currency: str) -> str:
    locale = labeler.locale
    text, money = locale.text, locale.money
    price = round(float(_get(comp, "price")))
    adjusted = round(float(_get(comp, "adjusted_price")))
    adjustments = _get(comp, "adjustments", None) or {}
    names = list(adjustments)
    amounts = round_parts_list([float(adjustments[n]) for n in names], adjusted - price)
    changes = []
    for name, amount in zip(names, amounts, strict=True):
        if amount == 0:
            continue
        shown = money(amount, currency, signed=True)
        if name == "time":
            change = abs(float(_get(comp, "time_factor", 1.0) or 1.0) - 1)
            if change < 0.0005:
                changes.append(text("adj_time_flat", amount=shown))
                continue
            key = "adj_time_up" if amount > 0 else "adj_time_down"
            pct = locale.percent(change, decimals=1 if change < 0.0095 else 0)
            changes.append(text(key, pct=pct, amount=shown))
        elif name == "other":
            changes.append(text("adj_other", amount=shown))
        else:
            label = _adjustment_label(name, labeler).lower()
            changes.append(text("adj_feature", label=label, amount=shown))
    if not changes:
        return text("comp_unadjusted", adjusted=money(adjusted, currency))
    return text("comp_adjusted", adjusted=money(adjusted, currency), changes="; ".join(changes))


def _adjustment_label(name: str, labeler: Labeler) -> str:
    if name == "location":
        return labeler.concept_label("location")
    if labeler.has_label(name):
        return labeler.label(name)
    return labeler.concept_label(labeler.concept(name))


def blend_sentence(valuation: Any, locale: Locale, currency: str | None = None) -> str:
    """How the model price and the comparables were combined, and why with that weight."""
    currency = currency or _get(valuation, "currency") or "EUR"
    price = locale.money(round(float(_get(valuation, "price"))), currency)
    model = locale.money(round(float(_get(valuation, "model_price"))), currency)
    comps_price = _get(valuation, "comps_price")
    n = len(_get(valuation, "comparables", ()) or ())
    weight = float(_get(valuation, "blend_weight", 0.0) or 0.0)
    if comps_price is None or n == 0:
        return locale.text("blend_model_only", price=price)
    used = sum(1 for c in _get(valuation, "comparables", ()) or () if _get(c, "used", True))
    if 0 < used < n:
        phrase = locale.plural("blend_comps_used_phrase", used, total=locale.number(n))
    else:
        phrase = locale.plural("blend_comps_phrase", n)
    comps = locale.money(round(float(comps_price)), currency)
    reason = _get(valuation, "blend_reason")
    if round(100 * weight) == 0:
        key = {"fixed": "blend_model_only_tested", "few": "blend_model_only_few"}.get(
            str(reason), "blend_model_only_comps"
        )
        if reason is not None and key == "blend_model_only_comps":
            key = "blend_model_only_tested"  # a learned weight of 0: the tests said so
        return locale.text(key, model=model, comps_phrase=phrase, comps=comps)
    return locale.text(
        "blend_both",
        model=model,
        comps_phrase=phrase[:1].upper() + phrase[1:],
        comps=comps,
        price=price,
        weight=locale.percent(weight),
        why=_blend_why(valuation, weight, locale),
    )


def _blend_why(valuation: Any, weight: float, locale: Locale) -> str:
    """Why the comparables got their weight.

    With the engine's ``blend_reason`` (read from the learned blend function:
    :meth:`estimo.model.blend.BlendWeights.reasons`), that reason; otherwise (a valuation
    from elsewhere) from the comparables' own numbers (count, similarity, distance, age),
    with the same similarity threshold as each comparable's own words (under 0.2: "only
    somewhat similar"), so the two never contradict each other.
    """
    reason = _get(valuation, "blend_reason")
    if reason is not None and locale.has_text(f"blend_reason_{reason}"):
        return locale.text(f"blend_reason_{reason}")
    if reason == "few":
        return locale.plural("blend_why_few", len(_get(valuation, "comparables", ()) or ()))
    comps = list(_get(valuation, "comparables", ()) or ())
    similarity = fmean([float(_get(c, "similarity", 0.0) or 0.0) for c in comps] or [math.nan])
    distances = [float(_get(c, "distance_m")) for c in comps if _finite(_get(c, "distance_m"))]
    ages = [float(_get(c, "age_months", 0.0) or 0.0) for c in comps]
    if weight >= 0.5:
        return locale.text("blend_why_high")
    reasons = []
    if len(comps) < 3:
        reasons.append(locale.plural("blend_why_few", len(comps)))
    if similarity < SOMEWHAT:
        reasons.append(locale.text("blend_why_dissimilar"))
    if distances and median(distances) > 1000:
        reasons.append(
            locale.text("blend_why_far", distance=locale.distance(median(distances) / 1000))
        )
    if ages and fmean(ages) > 9:
        reasons.append(locale.text("blend_why_old", months=locale.number(fmean(ages))))
    if not reasons:
        return locale.text("blend_why_mid" if weight >= 0.25 else "blend_why_tested")
    return locale.list_join(reasons)


def confidence_sentences(valuation: Any, locale: Locale, currency: str | None = None) -> list[str]:
    """What the range means, how sure we are and why the range is wide or narrow."""
    currency = currency or _get(valuation, "currency") or "EUR"
    price, low, high = (_get(valuation, k) for k in ("price", "low", "high"))
    if not all(_finite(v) for v in (price, low, high)) or not float(high) > float(low):
        return [locale.text("confidence_unknown")]
    price, low, high = float(price), float(low), float(high)
    out = [
        locale.text(
            "confidence_range",
            low=locale.money(round(low), currency),
            high=locale.money(round(high), currency),
            minus=locale.percent(low / price - 1),
            plus=locale.percent(high / price - 1, signed=True),
        )
    ]
    label = _get(valuation, "confidence") or "low"
    out.append(locale.text(f"confidence_{label}"))
    fsd = _get(valuation, "fsd")
    if _finite(fsd) and float(fsd) > 0:
        out.append(locale.text("confidence_fsd", fsd=locale.percent(float(fsd))))
    why = _range_reasons(valuation, label)
    if why:
        key = "confidence_narrow" if label == "high" else "confidence_wide"
        if label != "medium":
            out.append(locale.text(key, why=locale.list_join([locale.text(w) for w in why])))
    return out


def _range_reasons(valuation: Any, label: str) -> list[str]:
    comps = _get(valuation, "comparables", ()) or ()
    warnings = " ".join(str(w) for w in (_get(valuation, "warnings", ()) or ()))
    recent_and_similar = [
        c
        for c in comps
        if float(_get(c, "age_months", 0.0) or 0.0) <= 12
        and float(_get(c, "similarity", 0.0) or 0.0) >= SIMILAR
    ]
    if label == "high":
        why = ["why_model_ok"]
        # only claim close matches when the comparables really are (no contradicting note)
        if len(recent_and_similar) >= MANY_COMPS and "not very similar" not in warnings:
            why.insert(0, "why_many_comps")
        return why
    if label == "low":
        why = ["why_model_hard"]
        if "disagree" in warnings:
            why.insert(0, "why_spread")
        if not comps:
            why.insert(0, "why_no_comps")
        elif len(comps) < 3:
            why.insert(0, "why_few_comps")
        return why
    return []


_WARNING_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^feature '(?P<feature>[^']+)' was imputed$"), "warn_imputed"),
    # the cleaning policy's imputation (estimo.quality.clean: "<field> was missing; used
    # <value> (<level>)"): the owner is told the fact was assumed, as for the engine's own
    (re.compile(r"^(?P<feature>\w+) was missing; used .+ \([\w ]+\)$"), "warn_imputed"),
    (re.compile(r"^the property has no coordinates"), "warn_no_coordinates"),
    # the cleaning policy's repairs of what the owner gave (estimo.quality.clean)
    (re.compile(r"^latitude and longitude were swapped; swapped back$"), "warn_swapped"),
    (re.compile(r"^coordinates were implausible \(.+\); ignored$"), "warn_bad_coordinates"),
    (
        re.compile(
            r"^(?P<area>\S+) m² for (?P<rooms>\S+) rooms is (?P<per>\d+) m² per room, more than "
            r"the usual"
        ),
        "warn_large_rooms",
    ),
    (re.compile(r"nearest known property (?P<km>[\d.]+) km away"), "warn_outside"),
    (re.compile(r"^no comparable properties found nearby$"), "warn_no_comps"),
    (re.compile(r"^no comparables within (?P<radius>[\d.]+) km$"), "warn_none_near"),
    (re.compile(r"^only (?P<n>\d+) comparables? within (?P<radius>[\d.]+) km$"), "warn_few_near"),
    (re.compile(r"spread by about ±(?P<pct>\d+) %"), "warn_disagree"),
    (re.compile(r"^comparables are not very similar"), "warn_dissimilar"),
    (re.compile(r"^city (?P<city>.+) was not seen in training"), "warn_new_city"),
    (re.compile(r"^no city was given"), "warn_no_city"),
    (
        re.compile(
            r"^(?P<feature>\S+) (?P<value>\S+) is outside the range seen in training "
            r"\((?P<low>\S+) to (?P<high>\S+)\)$"
        ),
        "warn_unusual",
    ),
    (
        re.compile(
            r"^the valuation date is (?P<months>\d+) months after the data ends \((?P<end>[\d-]+)\)"
        ),
        "warn_past_data",
    ),
    (re.compile(r"^property farther than (?P<km>[\d.]+) km from every home"), "warn_far"),
    (re.compile(r"^out of distribution: "), "warn_ood"),
    # estimo.text.fill.FILLED_WARNING: a missing field read from the listing's description
    (
        re.compile(
            r"^(?P<feature>\w+) was missing; read (?P<value>.+) from the description "
            r'\("(?P<span>.*)"\)$'
        ),
        "warn_from_text",
    ),
    # estimo.text.fill.DISAGREE_WARNING: the description contradicts a given field
    (
        re.compile(
            r"^(?P<feature>\w+) is (?P<given>.+), but the description says (?P<value>.+) "
            r'\("(?P<span>.*)"\): the given value was used$'
        ),
        "warn_text_differs",
    ),
)


_NO_COORDINATES = next(p for p, key in _WARNING_PATTERNS if key == "warn_no_coordinates")
_BAD_COORDINATES = next(p for p, key in _WARNING_PATTERNS if key == "warn_bad_coordinates")
_COORDINATES = ("lat", "lon")


def _plain(feature: str, value: str, locale: Locale) -> str:
    """A number of a warning as the owner reads it (a year without a thousands separator)."""
    number = float(value)
    if feature == "year_built" or not math.isfinite(number):
        return f"{number:.0f}"
    return locale.number(round(number, 1) if abs(number) < 100 else round(number))


def note_sentences(warnings: Sequence[str], labeler: Labeler) -> list[str]:
    """The engine's warnings in the owner's language and words.

    Known warnings (see :func:`estimo.model.valuation_result.build_warnings`) are
    re-worded from templates, naming features by their labels; unknown ones are dropped
    from the owner's text (they stay in the valuation's JSON) so that no internal name
    reaches an owner. Each fact is told once: without coordinates, the sentence that the
    comparables were matched on features only already says where the home is unknown, so
    the imputed latitude and longitude add no sentence of their own.

    Examples
    --------
    >>> from estimo.explain.labels import Labeler
    >>> notes = note_sentences(["the property has no coordinates: comparables were matched "
    ...                         "on features only", "feature 'lat' was imputed"], Labeler("en"))
    >>> len(notes), notes[0][:40]
    (1, 'We do not know where exactly the home is')
    """
    locale = labeler.locale
    out = []
    located = not any(_NO_COORDINATES.search(str(w)) for w in warnings)
    # coordinates given but not used: that note says why, instead of "we do not know where"
    ignored = any(_BAD_COORDINATES.search(str(w)) for w in warnings)
    for warning in warnings:
        for pattern, key in _WARNING_PATTERNS:
            found = pattern.search(str(warning))
            if not found:
                continue
            groups = found.groupdict()
            if key == "warn_imputed":
                feature = groups["feature"]
                if not labeler.has_label(feature) or (feature in _COORDINATES and not located):
                    break
                out.append(locale.text(key, label=labeler.label(feature)))
            elif key == "warn_unusual":
                feature = groups["feature"]
                if not labeler.has_label(feature):
                    break
                out.append(
                    locale.text(
                        key,
                        label=labeler.label(feature),
                        **{k: _plain(feature, groups[k], locale) for k in ("value", "low", "high")},
                    )
                )
            elif key == "warn_past_data":
                month = locale.month_year(pd.Timestamp(groups["end"] + "-01"))
                out.append(
                    locale.text(key, months=locale.number(int(groups["months"])), month=month)
                )
            elif key == "warn_far" or key == "warn_outside":
                out.append(locale.text(key, distance=locale.distance(float(groups["km"]))))
            elif key == "warn_few_near":
                radius = locale.distance(float(groups["radius"]))
                out.append(locale.plural(key, int(groups["n"]), radius=radius))
            elif key == "warn_none_near":
                out.append(locale.text(key, radius=locale.distance(float(groups["radius"]))))
            elif key == "warn_new_city":
                out.append(locale.text(key, city=groups["city"].strip("'\"")))
            elif key == "warn_from_text":
                feature, value = groups["feature"], groups["value"]
                if not labeler.has_label(feature):
                    break
                if value in ("yes", "no"):
                    value = locale.text(f"word_{value}")
                out.append(
                    locale.text(key, label=labeler.label(feature), value=value, span=groups["span"])
                )
            elif key == "warn_text_differs":
                feature = groups["feature"]
                if not labeler.has_label(feature):
                    break
                given, value = groups["given"], groups["value"]
                given, value = (
                    locale.text(f"word_{v}") if v in ("yes", "no") else v for v in (given, value)
                )
                out.append(
                    locale.text(
                        key,
                        label=labeler.label(feature),
                        given=given,
                        value=value,
                        span=groups["span"],
                    )
                )
            elif key == "warn_no_coordinates" and ignored:
                pass
            elif key == "warn_large_rooms":
                out.append(
                    locale.text(
                        key,
                        area=_plain("area_m2", groups["area"], locale),
                        rooms=_plain("rooms", groups["rooms"], locale),
                        per=_plain("area_m2", groups["per"], locale),
                    )
                )
            elif key == "warn_disagree":
                out.append(locale.text(key, pct=locale.percent(int(groups["pct"]) / 100)))
            else:
                out.append(locale.text(key))
            break
    return list(dict.fromkeys(out))


def month_of(value: Any) -> pd.Timestamp:
    """The valuation date as a timestamp (today when missing)."""
    stamp = pd.Timestamp(value) if value is not None else pd.NaT
    return pd.Timestamp.today().normalize() if pd.isna(stamp) else stamp
