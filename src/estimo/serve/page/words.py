"""The page's own words in English, Italian and Spanish (field labels come from the explainer).

Examples
--------
>>> words("it")["submit"]
'Valuta'
>>> error_message({"code": "greater_than", "limit": "0.0", "message": "..."}, "es")
'Debe ser mayor que 0.'
>>> from estimo.serve.settings import LANGUAGES
>>> sorted(WORDS) == sorted(LANGUAGES)
True
"""

from __future__ import annotations

__all__ = ["CONTRACT", "ERRORS", "WORDS", "contract_message", "error_message", "words"]

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "What is my home worth?",
        "intro": "Answer what you know; tick “I don't know” for the rest. It takes a minute.",
        "language": "Language",
        "step_where": "1. Where",
        "step_size": "2. Size and layout",
        "step_condition": "3. Condition and age",
        "step_amenities": "4. Amenities",
        "dont_know": "I don't know",
        "choose": "Choose…",
        "required": "required",
        "submit": "Value",
        "errors_title": "Please correct the fields marked below.",
        "answer": "Your valuation",
        "estimate": "Estimated value",
        "range": "Likely range",
        "range_sr": "The price is likely between {low} and {high}; our estimate is {price}.",
        "confidence": "Confidence",
        "confidence_high": "High confidence",
        "confidence_medium": "Medium confidence",
        "confidence_low": "Low confidence",
        "reasons": "Why this price",
        "waterfall_sr": "From a typical home at {base} to this home at {price}, step by step:",
        "reason": "Reason",
        "amount": "Amount",
        "typical": "Typical home",
        "this_home": "This home",
        "comparables": "Similar homes nearby",
        "blend": "How we combined them",
        "warnings": "Please note",
        "visit": "Book a visit with an agent",
        "print": "Print",
        "again": "Value another home",
        "pin_hint": (
            "Or click or tap the map to place your home (it fills in the latitude and longitude):"
        ),
        "field_lat": "Latitude",
        "field_lon": "Longitude",
        "field_area_m2": "Living area (m²)",
        "value_yes": "yes",
        "value_no": "no",
        "no_model": "No model is available right now; please try again in a minute.",
        "too_many": "Too many valuations from your connection; please try again in {seconds} s.",
        "blocked": "Valuations from your connection are paused; please contact us.",
        "captcha": "Please confirm you are a person, then press Value again.",
        "compared_with": "Compared with {reference}.",
        "comparable_line": "{what}{area}, {where}: {price} {month}",
        "of_area": " of {area}",
        "away": "{distance} away",
        "away_to": "{distance} away to the {direction}",
        "distance_unknown": "distance unknown",
        "directions": "north,north-east,east,south-east,south,south-west,west,north-west",
        "north": "N",
        "map_sr": (
            "Map of the similar homes: your home is the square in the centre, north is up, "
            "and each number is the home with that number in the list, placed by its distance "
            "and direction."
        ),
        "comparable_what": "A home",
    },
    "it": {
        "title": "Quanto vale la mia casa?",
        "intro": "Rispondi a ciò che sai; per il resto spunta “Non lo so”. Basta un minuto.",
        "language": "Lingua",
        "step_where": "1. Dove",
        "step_size": "2. Superficie e locali",
        "step_condition": "3. Stato ed età",
        "step_amenities": "4. Dotazioni",
        "dont_know": "Non lo so",
        "choose": "Scegli…",
        "required": "obbligatorio",
        "submit": "Valuta",
        "errors_title": "Correggi i campi segnalati qui sotto.",
        "answer": "La tua valutazione",
        "estimate": "Valore stimato",
        "range": "Intervallo probabile",
        "range_sr": "Il prezzo è probabilmente tra {low} e {high}; la nostra stima è {price}.",
        "confidence": "Affidabilità",
        "confidence_high": "Affidabilità alta",
        "confidence_medium": "Affidabilità media",
        "confidence_low": "Affidabilità bassa",
        "reasons": "Perché questo prezzo",
        "waterfall_sr": (
            "Da un'abitazione tipica a {base} a questa casa a {price}, passo per passo:"
        ),
        "reason": "Motivo",
        "amount": "Importo",
        "typical": "Abitazione tipica",
        "this_home": "Questa casa",
        "comparables": "Case simili in zona",
        "blend": "Come le abbiamo combinate",
        "warnings": "Da sapere",
        "visit": "Prenota una visita con un agente",
        "print": "Stampa",
        "again": "Valuta un'altra casa",
        "pin_hint": (
            "Oppure fai clic o tocca la mappa per indicare la casa "
            "(compila latitudine e longitudine):"
        ),
        "field_lat": "Latitudine",
        "field_lon": "Longitudine",
        "field_area_m2": "Superficie (m²)",
        "value_yes": "sì",
        "value_no": "no",
        "no_model": "Nessun modello disponibile ora; riprova tra un minuto.",
        "too_many": "Troppe valutazioni dalla tua connessione; riprova tra {seconds} s.",
        "blocked": "Le valutazioni dalla tua connessione sono sospese; contattaci.",
        "captcha": "Conferma di essere una persona, poi premi di nuovo Valuta.",
        "compared_with": "Rispetto a {reference}.",
        "comparable_line": "{what}{area}, {where}: {price} {month}",
        "of_area": " di {area}",
        "away": "a {distance}",
        "away_to": "a {distance} verso {direction}",
        "distance_unknown": "distanza sconosciuta",
        "directions": "nord,nord-est,est,sud-est,sud,sud-ovest,ovest,nord-ovest",
        "north": "N",
        "map_sr": (
            "Mappa delle case simili: la tua casa è il quadrato al centro, il nord è in alto "
            "e ogni numero è la casa con quel numero nell'elenco, posta secondo la distanza e "
            "la direzione."
        ),
        "comparable_what": "Una casa",
    },
    "es": {
        "title": "¿Cuánto vale mi casa?",
        "intro": "Responde lo que sepas; marca “No lo sé” para el resto. Es un minuto.",
        "language": "Idioma",
        "step_where": "1. Dónde",
        "step_size": "2. Superficie y distribución",
        "step_condition": "3. Estado y antigüedad",
        "step_amenities": "4. Equipamiento",
        "dont_know": "No lo sé",
        "choose": "Elige…",
        "required": "obligatorio",
        "submit": "Valorar",
        "errors_title": "Corrige los campos señalados abajo.",
        "answer": "Tu valoración",
        "estimate": "Valor estimado",
        "range": "Rango probable",
        "range_sr": (
            "El precio está probablemente entre {low} y {high}; nuestra estimación es {price}."
        ),
        "confidence": "Confianza",
        "confidence_high": "Confianza alta",
        "confidence_medium": "Confianza media",
        "confidence_low": "Confianza baja",
        "reasons": "Por qué este precio",
        "waterfall_sr": "De una vivienda típica a {base} a esta vivienda a {price}, paso a paso:",
        "reason": "Motivo",
        "amount": "Importe",
        "typical": "Vivienda típica",
        "this_home": "Esta vivienda",
        "comparables": "Viviendas similares cerca",
        "blend": "Cómo las combinamos",
        "warnings": "A tener en cuenta",
        "visit": "Reserva una visita con un agente",
        "print": "Imprimir",
        "again": "Valorar otra vivienda",
        "pin_hint": (
            "O haz clic o toca el mapa para situar tu vivienda (rellena la latitud y la longitud):"
        ),
        "field_lat": "Latitud",
        "field_lon": "Longitud",
        "field_area_m2": "Superficie (m²)",
        "value_yes": "sí",
        "value_no": "no",
        "no_model": "No hay ningún modelo disponible ahora; inténtalo en un minuto.",
        "too_many": "Demasiadas valoraciones desde tu conexión; inténtalo de nuevo en {seconds} s.",
        "blocked": "Las valoraciones desde tu conexión están en pausa; contáctanos.",
        "captcha": "Confirma que eres una persona y pulsa Valorar de nuevo.",
        "compared_with": "En comparación con {reference}.",
        "comparable_line": "{what}{area}, {where}: {price} {month}",
        "of_area": " de {area}",
        "away": "a {distance}",
        "away_to": "a {distance} hacia el {direction}",
        "distance_unknown": "distancia desconocida",
        "directions": "norte,noreste,este,sureste,sur,suroeste,oeste,noroeste",
        "north": "N",
        "map_sr": (
            "Mapa de las viviendas similares: tu vivienda es el cuadrado del centro, el norte "
            "está arriba y cada número es la vivienda con ese número en la lista, situada "
            "según su distancia y dirección."
        ),
        "comparable_what": "Una vivienda",
    },
}


def words(lang: str) -> dict[str, str]:
    """The page's words in ``lang`` (English for an unknown language)."""
    return WORDS.get(lang, WORDS["en"])


ERRORS: dict[str, dict[str, str]] = {
    "en": {
        "greater_than": "Must be more than {limit}.",
        "greater_than_equal": "Must be at least {limit}.",
        "less_than": "Must be less than {limit}.",
        "less_than_equal": "Must be at most {limit}.",
        "float_parsing": "Enter a number.",
        "float_type": "Enter a number.",
        "missing": "Required: please choose one.",
        "string_too_long": "Too long: at most {limit} characters.",
    },
    "it": {
        "greater_than": "Deve essere maggiore di {limit}.",
        "greater_than_equal": "Deve essere almeno {limit}.",
        "less_than": "Deve essere minore di {limit}.",
        "less_than_equal": "Deve essere al massimo {limit}.",
        "float_parsing": "Inserisci un numero.",
        "float_type": "Inserisci un numero.",
        "missing": "Obbligatorio: scegline uno.",
        "string_too_long": "Troppo lungo: al massimo {limit} caratteri.",
    },
    "es": {
        "greater_than": "Debe ser mayor que {limit}.",
        "greater_than_equal": "Debe ser al menos {limit}.",
        "less_than": "Debe ser menor que {limit}.",
        "less_than_equal": "Debe ser como máximo {limit}.",
        "float_parsing": "Introduce un número.",
        "float_type": "Introduce un número.",
        "missing": "Obligatorio: elige uno.",
        "string_too_long": "Demasiado largo: como máximo {limit} caracteres.",
    },
}
"""Field errors in words, by pydantic's error type (others keep the API's message)."""


def error_message(error: dict[str, str], lang: str) -> str:
    """A field error of :func:`~estimo.serve.page.form.parse_form` in the page's language."""
    from estimo.explain.locale import get_locale

    template = ERRORS.get(lang, ERRORS["en"]).get(error.get("code", ""))
    if template is None:
        return error["message"]
    limit = error.get("limit")
    if limit is not None:
        number = float(limit)
        limit = get_locale(lang).number(number, 0 if number.is_integer() else 2)
    return template.format(limit=limit)


CONTRACT_PATTERNS: dict[str, str] = {
    "per_room": r"expected at least (?P<min>[\d.]+) m² per room \((?P<rooms>[\d.e+]+) rooms in "
    r"(?P<area>[\d.e+]+) m² is (?P<per>[\d.]+) m² per room\)",
    "floor_over": r"expected a floor up to '\w+' \((?P<floors>[\d.e+]+)\), the building's number "
    r"of floors",
    "year_over": r"expected a year up to (?P<year>-?\d+) \(at most \d+ years after the valuation "
    r"date\)",
    "range": r"expected (?P<low>[-\d.e+]+) <= value <= (?P<high>[-\d.e+]+) \(the cleaning "
    r"policy's plausible range\)",
    "one_of": r"expected one of \[.*\] \(the values the model knows\)",
}
"""The input contract's refusals (:mod:`estimo.property_input`) that the page says in words:
the part of the message after ``"; "`` matched in full."""

CONTRACT: dict[str, dict[str, str]] = {
    "en": {
        "per_room": "Too small for {rooms} rooms: at least {min} m² per room ({per} m² now).",
        "floor_over": "Must be at most the building's number of floors ({floors}).",
        "year_over": "Must be at most {year}.",
        "range": "Must be between {low} and {high}.",
        "one_of": "Please choose one of the values offered.",
    },
    "it": {
        "per_room": "Troppo piccola per {rooms} locali: almeno {min} m² per locale (ora {per} m²).",
        "floor_over": "Deve essere al massimo il numero di piani dell'edificio ({floors}).",
        "year_over": "Deve essere al massimo {year}.",
        "range": "Deve essere tra {low} e {high}.",
        "one_of": "Scegli uno dei valori proposti.",
    },
    "es": {
        "per_room": "Demasiado pequeña para {rooms} habitaciones: al menos {min} m² por "
        "habitación ({per} m² ahora).",
        "floor_over": "Debe ser como máximo el número de plantas del edificio ({floors}).",
        "year_over": "Debe ser como máximo {year}.",
        "range": "Debe estar entre {low} y {high}.",
        "one_of": "Elige uno de los valores ofrecidos.",
    },
}
"""The contract's refusals in words, per language (``{...}``: the pattern's groups)."""


def contract_message(problem: dict[str, str], lang: str) -> str:
    """A refusal of the input contract (``InputError.problems``) in the page's language;
    the API's own message when its kind is not known.

    Examples
    --------
    >>> contract_message({"field": "area_m2", "message": "field 'area_m2' is 30; expected at "
    ...     "least 4 m² per room (8 rooms in 30 m² is 3.8 m² per room)"}, "it")
    'Troppo piccola per 8 locali: almeno 4 m² per locale (ora 3,8 m²).'
    """
    import re

    from estimo.explain.locale import get_locale

    message = str(problem.get("message", ""))
    expected = message.split("; ", 1)[1] if "; " in message else message
    for kind, pattern in CONTRACT_PATTERNS.items():
        match = re.fullmatch(pattern, expected)
        if match is None:
            continue
        locale = get_locale(lang)
        values = {}
        for name, text in match.groupdict().items():
            number = float(text)
            values[name] = locale.number(number, 0 if number.is_integer() else 1)
        return CONTRACT.get(lang, CONTRACT["en"])[kind].format(**values)
    return message
