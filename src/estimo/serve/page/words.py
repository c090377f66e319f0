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

__all__ = ["ERRORS", "WORDS", "error_message", "words"]

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
        "comparable_line": "{what} of {area}, {distance} away: {price} {month}",
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
        "comparable_line": "{what} di {area}, a {distance}: {price} {month}",
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
        "comparable_line": "{what} de {area}, a {distance}: {price} {month}",
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
