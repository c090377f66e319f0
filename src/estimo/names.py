"""Names as people write them: one key for "Kraków", "krakow" and " KRAKOW ".

:func:`name_key` is how a city typed by an owner is matched to the city a model learned
(:class:`~estimo.property_input.PropertyContract`) and how the service names its city
bundles (:func:`estimo.serve.catalog.city_key`).

Examples
--------
>>> name_key("Kraków"), name_key(" KRAKOW "), name_key("Łódź"), name_key("São Paulo")
('krakow', 'krakow', 'lodz', 'sao-paulo')
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["name_key"]

_STROKES = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "ß": "ss", "đ": "d"})


def name_key(name: str) -> str:
    """Lower-case ASCII key of a name (accents dropped, other characters to '-')."""
    text = unicodedata.normalize("NFKD", str(name).translate(_STROKES))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")
