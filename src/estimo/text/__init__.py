"""Facts from listing descriptions (it, es, en, pl) and contact-detail redaction.

- :func:`extract` / :func:`extract_frame`: description (+ title) to canonical fields
  (``area_m2``, ``rooms``, ``bedrooms``, ``bathrooms``, ``floor``, ``floors_in_building``,
  ``year_built``, ``condition``) and amenity flags (``has_elevator`` ...), each with a
  confidence and the span of text it came from.
- :func:`redact`: phone numbers, e-mail addresses and URLs masked; prices and areas never.
- :func:`detect_language`: a light guess among the supported languages.

Examples
--------
>>> extract("Trilocale di 80 mq, terzo piano senza ascensore").values()["has_elevator"]
False
>>> redact("Chiamare il 333 123 4567, prezzo € 250.000").text
'Chiamare il [phone], prezzo € 250.000'
"""

from estimo.text.extractor import AMENITY_FIELDS, FIELDS, extract, extract_frame
from estimo.text.facts import Extraction, Fact
from estimo.text.language import detect_language
from estimo.text.redact import Redaction, redact

__all__ = [
    "AMENITY_FIELDS",
    "FIELDS",
    "Extraction",
    "Fact",
    "Redaction",
    "detect_language",
    "extract",
    "extract_frame",
    "redact",
]
