"""The page's own words in English, Italian and Spanish (field labels come from the explainer).

Examples
--------
>>> words("it")["submit"]
'Valuta'
>>> from estimo.serve.settings import LANGUAGES
>>> sorted(WORDS) == sorted(LANGUAGES)
True
"""

from __future__ import annotations

__all__ = ["WORDS", "words"]

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
        "no_model": "No model is available right now; please try again in a minute.",
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
        "no_model": "Nessun modello disponibile ora; riprova tra un minuto.",
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
        "no_model": "No hay ningún modelo disponible ahora; inténtalo en un minuto.",
    },
}


def words(lang: str) -> dict[str, str]:
    """The page's words in ``lang`` (English for an unknown language)."""
    return WORDS.get(lang, WORDS["en"])
