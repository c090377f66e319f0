"""The answer's warnings in the caller's language (the API by ``Accept-Language``, the page).

The warnings are English sentences built in several places (the input contract in
:mod:`estimo.property_input`, the cleaning policy in :mod:`estimo.quality.clean` and
:mod:`estimo.text.fill`, the engine's :mod:`estimo.model.valuation_result` and
:mod:`estimo.model.trust`, the model router's fallback). :func:`note` matches the known ones
by pattern and says them in words a home owner reads, in English, Italian or Spanish; a
warning it does not know is given as the engine wrote it. :func:`translate_warnings` is what
the API does: Italian and Spanish answers get the known warnings in words, English answers keep
the engine's sentences (what callers may already match on).

Examples
--------
>>> note("feature 'year_built' was imputed", "it")
"Anno di costruzione: dato non indicato, l'abbiamo stimato da case simili."
>>> note("out of distribution: the range was widened and the confidence lowered", "es")
'Esta vivienda es poco habitual para nuestros datos: hemos ampliado el rango y bajado la confianza.'
>>> note("floor was missing; used 2 (city)", "it")
'Piano: dato non indicato, abbiamo usato 2, il valore tipico della città.'
>>> note("a brand new warning", "it")
'a brand new warning'
>>> translate_warnings(["floor was missing; used 2 (city)"], "en")
['floor was missing; used 2 (city)']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from estimo.explain.labels import Labeler
from estimo.explain.locale import get_locale

__all__ = ["LEVELS", "NOTES", "PATTERNS", "note", "translate_warnings"]

PATTERNS: dict[str, str] = {
    "no_coordinates": r"the property has no coordinates: comparables were matched on features only",
    "outside_area": r"property outside the area seen in training "
    r"\(nearest known property (?P<km>[\d.]+) km away\)",
    "far": r"property farther than (?P<km>[\d.]+) km from every home seen in training",
    "no_comparables": r"no comparable properties found nearby",
    "none_within": r"no comparables within (?P<km>[\d.]+) km",
    "few_within": r"only (?P<n>\d+) comparables? within (?P<km>[\d.]+) km",
    "disagree": r"comparables disagree: their adjusted prices spread by about ±(?P<pct>\d+) %",
    "dissimilar": r"comparables are not very similar \(mean similarity [\d.]+\)",
    "imputed": r"feature '(?P<field>\w+)' was imputed",
    "outside_range": r"(?P<field>\w+) (?P<value>\S+) is outside the range seen in training "
    r"\((?P<low>\S+) to (?P<high>\S+)\)",
    "past_data": r"the valuation date is (?P<months>\d+) months after the data ends "
    r"\(\d{4}-\d{2}\): prices were carried forward by the price index's trend",
    "after_training": r"the valuation date \S+ is (?P<months>\d+) months after the model's "
    r"training data \(to \S+\): prices may have moved since; the range is widened",
    "out_of_distribution": r"out of distribution: the range was widened and the confidence "
    r"lowered",
    "global_no_city": r"no city was given: valued by the global model and the global price "
    r"index",
    "global_unseen_city": r"city '(?P<city>.+)' was not seen in training: valued by the "
    r"global model and the global price index",
    "global_fallback": r"the model for (?P<city>.+) could not be loaded; this valuation comes "
    r"from the global model",
    "unseen_city": r"city '(?P<city>.+)' was not in the training data; imputed from country "
    r"or overall values",
    "swapped": r"latitude and longitude were swapped; swapped back",
    "bad_coordinates": r"coordinates were implausible \(.+\); ignored",
    "implausible": r"(?P<field>\w+) (?P<value>.+) is implausible; ignored",
    "large_rooms": r"(?P<area>\S+) m² for (?P<rooms>\S+) rooms is (?P<per>\d+) m² per room, "
    r"more than the usual (?P<usual>\S+): check the area and rooms; the range is widened",
    "imputed_with": r"(?P<field>\w+) was missing; used (?P<value>.+) \((?P<level>[\w ]+)\)",
    "read_from_text": r"(?P<field>\w+) was missing; read (?P<value>.+) from the description "
    r'\("(?P<span>.*)"\)',
    "text_differs": r"(?P<field>\w+) is (?P<given>.+), but the description says (?P<value>.+) "
    r'\("(?P<span>.*)"\): the given value was used',
}
"""Each known warning kind and the pattern of its English text (matched in full)."""

_COMPILED = {kind: re.compile(pattern) for kind, pattern in PATTERNS.items()}

NOTES: dict[str, dict[str, str]] = {
    "en": {
        "no_coordinates": "Without the exact location, we matched similar homes on their "
        "features only.",
        "outside_area": "This home is outside the area we know (the nearest home we know is "
        "{km} away).",
        "far": "This home is more than {km} away from every home we know.",
        "no_comparables": "We found no similar homes nearby.",
        "none_within": "No similar homes within {km}.",
        "few_within": "Only {n} similar homes within {km}.",
        "disagree": "The similar homes' prices differ a lot from each other (about ±{pct}).",
        "dissimilar": "The similar homes are not very similar to yours.",
        "imputed": "{field} was not given: we estimated it from similar homes.",
        "outside_range": "{field} {value} is outside the range of the homes we learned from "
        "({low} to {high}).",
        "past_data": "Our data ends {months} months before the valuation date: prices were "
        "carried forward by the market's trend.",
        "after_training": "Our data ends {months} months before the valuation date: prices "
        "may have moved since, so the range is wider.",
        "out_of_distribution": "This home is unusual for our data: we widened the range and "
        "lowered the confidence.",
        "global_no_city": "Without a city, we valued the home with our general model.",
        "global_unseen_city": "We do not know {city} yet: we valued the home with our general "
        "model.",
        "global_fallback": "The model for {city} is not available right now: this valuation "
        "comes from our general model.",
        "unseen_city": "We do not know {city} yet: missing facts were estimated from wider data.",
        "swapped": "Latitude and longitude looked swapped: we swapped them back.",
        "bad_coordinates": "The coordinates did not look right, so we did not use them.",
        "implausible": "{field} {value} did not look right, so we did not use it.",
        "large_rooms": "{area} m² for {rooms} rooms is a lot per room: please check the area "
        "and the rooms; the range is wider.",
        "imputed_with": "{field} was not given: we used {value}, {level}.",
        "read_from_text": '{field} was not given: we read {value} in the description ("{span}").',
        "text_differs": '{field}: you gave {given}, but the description says {value} ("{span}"); '
        "we used {given}.",
    },
    "it": {
        "no_coordinates": "Senza la posizione esatta, abbiamo scelto le case simili solo in "
        "base alle caratteristiche.",
        "outside_area": "Questa casa è fuori dalla zona che conosciamo (la casa più vicina che "
        "conosciamo è a {km}).",
        "far": "Questa casa è a più di {km} da tutte le case che conosciamo.",
        "no_comparables": "Non abbiamo trovato case simili in zona.",
        "none_within": "Nessuna casa simile entro {km}.",
        "few_within": "Solo {n} case simili entro {km}.",
        "disagree": "I prezzi delle case simili sono molto diversi tra loro (circa ±{pct}).",
        "dissimilar": "Le case trovate non sono molto simili alla tua.",
        "imputed": "{field}: dato non indicato, l'abbiamo stimato da case simili.",
        "outside_range": "{field} {value} è fuori dall'intervallo delle case da cui abbiamo "
        "imparato (da {low} a {high}).",
        "past_data": "I nostri dati finiscono {months} mesi prima della data della valutazione: "
        "i prezzi sono stati aggiornati con l'andamento del mercato.",
        "after_training": "I nostri dati finiscono {months} mesi prima della data della "
        "valutazione: i prezzi possono essere cambiati, quindi l'intervallo è più ampio.",
        "out_of_distribution": "Questa casa è insolita per i nostri dati: abbiamo allargato "
        "l'intervallo e abbassato l'affidabilità.",
        "global_no_city": "Senza una città, abbiamo valutato la casa con il modello generale.",
        "global_unseen_city": "Non conosciamo ancora {city}: abbiamo valutato la casa con il "
        "modello generale.",
        "global_fallback": "Il modello per {city} non è disponibile ora: questa valutazione "
        "viene dal modello generale.",
        "unseen_city": "Non conosciamo ancora {city}: i dati mancanti sono stati stimati da "
        "dati più ampi.",
        "swapped": "Latitudine e longitudine sembravano invertite: le abbiamo corrette.",
        "bad_coordinates": "Le coordinate non sembravano corrette, quindi non le abbiamo usate.",
        "implausible": "{field} {value} non sembrava corretto, quindi non l'abbiamo usato.",
        "large_rooms": "{area} m² per {rooms} locali sono molti per locale: controlla la "
        "superficie e i locali; l'intervallo è più ampio.",
        "imputed_with": "{field}: dato non indicato, abbiamo usato {value}, {level}.",
        "read_from_text": "{field}: dato non indicato, abbiamo letto {value} nella descrizione "
        '("{span}").',
        "text_differs": "{field}: hai indicato {given}, ma la descrizione dice {value} "
        '("{span}"); abbiamo usato {given}.',
    },
    "es": {
        "no_coordinates": "Sin la ubicación exacta, elegimos las viviendas similares solo por "
        "sus características.",
        "outside_area": "Esta vivienda está fuera de la zona que conocemos (la vivienda más "
        "cercana que conocemos está a {km}).",
        "far": "Esta vivienda está a más de {km} de todas las viviendas que conocemos.",
        "no_comparables": "No encontramos viviendas similares cerca.",
        "none_within": "Ninguna vivienda similar a menos de {km}.",
        "few_within": "Solo {n} viviendas similares a menos de {km}.",
        "disagree": "Los precios de las viviendas similares difieren mucho entre sí (unos ±{pct}).",
        "dissimilar": "Las viviendas encontradas no se parecen mucho a la tuya.",
        "imputed": "{field}: dato no indicado, lo estimamos a partir de viviendas similares.",
        "outside_range": "{field} {value} está fuera del rango de las viviendas de las que "
        "aprendimos (de {low} a {high}).",
        "past_data": "Nuestros datos terminan {months} meses antes de la fecha de valoración: "
        "los precios se actualizaron con la tendencia del mercado.",
        "after_training": "Nuestros datos terminan {months} meses antes de la fecha de "
        "valoración: los precios pueden haber cambiado, así que el rango es más amplio.",
        "out_of_distribution": "Esta vivienda es poco habitual para nuestros datos: hemos "
        "ampliado el rango y bajado la confianza.",
        "global_no_city": "Sin una ciudad, valoramos la vivienda con el modelo general.",
        "global_unseen_city": "Aún no conocemos {city}: valoramos la vivienda con el modelo "
        "general.",
        "global_fallback": "El modelo de {city} no está disponible ahora: esta valoración viene "
        "del modelo general.",
        "unseen_city": "Aún no conocemos {city}: los datos que faltan se estimaron con datos "
        "más amplios.",
        "swapped": "La latitud y la longitud parecían invertidas: las corregimos.",
        "bad_coordinates": "Las coordenadas no parecían correctas, así que no las usamos.",
        "implausible": "{field} {value} no parecía correcto, así que no lo usamos.",
        "large_rooms": "{area} m² para {rooms} habitaciones es mucho por habitación: revisa la "
        "superficie y las habitaciones; el rango es más amplio.",
        "imputed_with": "{field}: dato no indicado, usamos {value}, {level}.",
        "read_from_text": '{field}: dato no indicado, leímos {value} en la descripción ("{span}").',
        "text_differs": "{field}: indicaste {given}, pero la descripción dice {value} "
        '("{span}"); hemos usado {given}.',
    },
}
"""Each known warning kind in words, per language (``{...}``: the pattern's groups)."""

LEVELS: dict[str, dict[str, str]] = {
    "en": {
        "neighbourhood": "the usual value in the neighbourhood",
        "city": "the usual value in the city",
        "country": "the usual value in the country",
        "global": "the usual value of all homes",
        "override": "the value set for this area",
        "other": "the usual value of similar homes",
    },
    "it": {
        "neighbourhood": "il valore tipico del quartiere",
        "city": "il valore tipico della città",
        "country": "il valore tipico del paese",
        "global": "il valore tipico di tutte le case",
        "override": "il valore fissato per questa zona",
        "other": "il valore tipico di case simili",
    },
    "es": {
        "neighbourhood": "el valor habitual del barrio",
        "city": "el valor habitual de la ciudad",
        "country": "el valor habitual del país",
        "global": "el valor habitual de todas las viviendas",
        "override": "el valor fijado para esta zona",
        "other": "el valor habitual de viviendas similares",
    },
}
"""Where the cleaning policy took an imputed value from (its rule's level), in words."""


def _formatters(lang: str) -> dict[str, Callable[[str], str]]:
    locale = get_locale(lang)
    labeler = Labeler(lang)

    def number(text: str) -> str:
        try:
            value = float(text)
        except ValueError:
            return text
        return locale.number(value, 0 if value.is_integer() else 2)

    def label(name: str) -> str:
        text = labeler.label(name)
        return text[:1].upper() + text[1:]

    return {
        "km": lambda text: locale.distance(float(text)),
        "pct": lambda text: locale.percent(float(text) / 100.0),
        "field": label,
        "value": number,
        "low": number,
        "high": number,
        "area": number,
        "rooms": number,
        "level": lambda text: LEVELS[lang if lang in LEVELS else "en"].get(
            text, LEVELS[lang if lang in LEVELS else "en"]["other"]
        ),
    }


def note(warning: Any, lang: str) -> str:
    """One warning in ``lang``'s words (as written when its kind is unknown)."""
    text = str(warning).strip()
    words = NOTES.get(lang, NOTES["en"])
    for kind, pattern in _COMPILED.items():
        match = pattern.fullmatch(text)
        if match is None:
            continue
        formatters = _formatters(lang)
        found = {name: value for name, value in match.groupdict().items() if value is not None}
        groups = {name: formatters.get(name, str)(value) for name, value in found.items()}
        field = found.get("field")
        if field is not None:  # a field's values in its own words: "sì", "1976", "appartamento"
            for name in ("value", "given", "low", "high"):
                if name in found:
                    groups[name] = _value_in_words(field, found[name], lang, groups[name])
        return words[kind].format(**groups)
    return text


def _value_in_words(field: str, text: str, lang: str, as_number: str) -> str:
    """A value a warning quotes for ``field``: a year without a thousands separator, a yes or
    no and a category in ``lang``'s words, other numbers as ``as_number``.

    Examples
    --------
    >>> _value_in_words("year_built", "1976", "it", "1.976")
    '1976'
    >>> _value_in_words("has_elevator", "no", "it", "no"), _value_in_words("condition",
    ...     "renovated", "es", "renovated")
    ('senza ascensore', 'reformado')
    """
    if "year" in field:
        try:
            return str(int(float(text)))
        except ValueError:
            return text
    locale = get_locale(lang)
    entry = locale.feature_entry(field)
    if text in ("yes", "no") and text in entry:
        return str(entry[text])
    try:
        float(text)
    except ValueError:
        return locale.value_word(field, text)
    return as_number


def translate_warnings(warnings: Sequence[Any], lang: str) -> list[str]:
    """The warnings of an API answer in ``lang``: the known ones in words for Italian and
    Spanish (:func:`note`), each said once; English answers and unknown warnings keep the
    engine's text."""
    if lang not in NOTES or lang == "en":
        return [str(w) for w in warnings]
    return list(dict.fromkeys(note(w, lang) for w in warnings))
